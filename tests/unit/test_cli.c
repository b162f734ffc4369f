/* The command line's --target: taken by the commands that show targets, refused with a usage
 * error by those where it would be silently lost, and never empty. */
#include <errno.h>
#include <string.h>

#include "cli.h"
#include "test.h"

static int parse(struct cli_options *o, char *err, const char *a, const char *b, const char *c)
{
        char *argv[] = {"appstream-agent-reconciler", (char *)a, (char *)b, (char *)c, NULL};
        int argc = 1 + (a != NULL) + (b != NULL) + (c != NULL);

        err[0] = '\0';
        return cli_parse(argc, argv, o, err, 256);
}

static void test_target_option(void)
{
        static const char *const showing[] = {"list", "plan", "status", "images"};
        static const char *const others[] = {"run", "once", "check-config", "pause", "resume"};
        struct cli_options o;
        char err[256];

        for (size_t i = 0; i < 4; i++) {
                ASSERT_EQ_INT(parse(&o, err, showing[i], "--target", "prod/*"), 0);
                ASSERT_STREQ(o.target, "prod/*");
                ASSERT_EQ_INT(parse(&o, err, "--target=dev", showing[i], NULL), 0);
                ASSERT_STREQ(o.target, "dev");
        }
        ASSERT_EQ_INT(parse(&o, err, "list", NULL, NULL), 0);
        ASSERT_TRUE(o.target == NULL);
        for (size_t i = 0; i < 5; i++) {
                ASSERT_EQ_INT(parse(&o, err, others[i], "--target", "prod"), -EINVAL);
                ASSERT_STREQ(err, "option '--target' is only for the list, plan, status and "
                                  "images commands");
        }
        /* no command is run, and run takes no --target */
        ASSERT_EQ_INT(parse(&o, err, "--target", "prod", NULL), -EINVAL);
        ASSERT_EQ_INT(parse(&o, err, "list", "--target", ""), -EINVAL);
        ASSERT_STREQ(err, "option '--target' needs a GLOB, not an empty string");
        ASSERT_EQ_INT(parse(&o, err, "list", "--target", NULL), -EINVAL);
        ASSERT_STREQ(err, "option '--target' needs a value");
        ASSERT_TRUE(strstr(cli_usage(), "--target GLOB") != NULL);
}

int main(void)
{
        test_target_option();
        return test_summary("test_cli");
}
