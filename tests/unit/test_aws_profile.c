/* The shared config/credentials file parser: configparser's rules as botocore uses them,
 * botocore's profile map, shlex splitting and path expansion. check_creds_parity.py compares
 * the same code with botocore itself on a larger corpus. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "aws_profile.h"
#include "test_creds_fake.h"

static struct aws_ini *parse(const char *text)
{
        struct aws_ini *ini = NULL;
        char err[256] = "";
        int r = aws_ini_parse(text, strlen(text), "t.ini", &ini, err, sizeof(err));

        if (r < 0)
                fprintf(stderr, "  unexpected parse error: %s\n", err);
        ASSERT_EQ_INT(r, 0);
        return ini;
}

/* Parses text expecting failure; returns the message. */
static const char *parse_error(const char *text)
{
        static char err[256];
        struct aws_ini *ini = NULL;

        err[0] = '\0';
        ASSERT_EQ_INT(aws_ini_parse(text, strlen(text), "t.ini", &ini, err, sizeof(err)), -EINVAL);
        ASSERT_TRUE(ini == NULL);
        return err;
}

static const char *get(const struct aws_ini *ini, const char *section, const char *key)
{
        return aws_ini_get(aws_ini_find(ini, section), key);
}

static void test_basics(void)
{
        struct aws_ini *ini = parse("# a comment\n"
                                    "; another\n"
                                    "[default]\n"
                                    "  aws_access_key_id = AKIDEXAMPLE  \n"
                                    "AWS_Secret_Access_Key:secret\n"
                                    "region=eu-central-1 ; not a comment\n"
                                    "   # indented comment\n"
                                    "empty =\n"
                                    "\n"
                                    "[profile dev]\n"
                                    "a = b = c\n"
                                    "x: y = z\n");

        ASSERT_EQ_INT(ini->n_sections, 2);
        ASSERT_STREQ(ini->sections[0].name, "default");
        ASSERT_STREQ(ini->sections[1].name, "profile dev");
        ASSERT_STREQ(get(ini, "default", "aws_access_key_id"), "AKIDEXAMPLE");
        ASSERT_STREQ(get(ini, "default", "aws_secret_access_key"), "secret");
        ASSERT_STREQ(get(ini, "default", "region"), "eu-central-1 ; not a comment");
        ASSERT_STREQ(get(ini, "default", "empty"), "");
        ASSERT_STREQ(get(ini, "profile dev", "a"), "b = c");
        ASSERT_STREQ(get(ini, "profile dev", "x"), "y = z");
        ASSERT_TRUE(get(ini, "default", "AWS_ACCESS_KEY_ID") == NULL);
        ASSERT_TRUE(aws_ini_find(ini, "Default") == NULL);
        aws_ini_free(ini);
}

static void test_continuations(void)
{
        struct aws_ini *ini = parse("[s]\n"
                                    "long = first\n"
                                    "   second\n"
                                    "\n"
                                    "\tthird\n"
                                    "# a comment does not end it\n"
                                    "  fourth\n"
                                    "next = 1\n"
                                    "\n"
                                    "\n"
                                    "s3 =\n"
                                    "  addressing_style = path\n"
                                    "  signature_version = s3v4\n"
                                    "[t]\n"
                                    "  indented = key\n"
                                    "    continued\n");

        ASSERT_STREQ(get(ini, "s", "long"), "first\nsecond\n\nthird\nfourth");
        ASSERT_STREQ(get(ini, "s", "next"), "1");
        ASSERT_STREQ(get(ini, "s", "s3"), "\naddressing_style = path\nsignature_version = s3v4");
        ASSERT_STREQ(get(ini, "t", "indented"), "key\ncontinued");
        aws_ini_free(ini);

        /* A nested block (a value starting on the next line) needs '=' on every line. */
        ASSERT_TRUE(strstr(parse_error("[s]\ns3 =\n  no equals sign here\n"),
                           "t.ini:2: the nested value of 's3' in [s]"));
}

static void test_default_section(void)
{
        struct aws_ini *ini = parse("[DEFAULT]\n"
                                    "region = us-east-1\n"
                                    "output = json\n"
                                    "[a]\n"
                                    "region = eu-west-1\n"
                                    "[b]\n"
                                    "[DEFAULT]\n"
                                    "extra = 1\n");

        ASSERT_EQ_INT(ini->n_sections, 2);
        ASSERT_TRUE(aws_ini_find(ini, "DEFAULT") == NULL);
        ASSERT_STREQ(get(ini, "a", "region"), "eu-west-1");
        ASSERT_STREQ(get(ini, "a", "output"), "json");
        ASSERT_STREQ(get(ini, "b", "region"), "us-east-1");
        ASSERT_STREQ(get(ini, "b", "extra"), "1");
        aws_ini_free(ini);
}

static void test_line_endings_and_headers(void)
{
        struct aws_ini *ini = parse("[crlf]\r\nk = v\r\n  more\r\n[cr]\rk = w\r[a]b] trailing\n"
                                    "k = x\n[x] = y\nk = z\n");

        ASSERT_STREQ(get(ini, "crlf", "k"), "v\nmore");
        ASSERT_STREQ(get(ini, "cr", "k"), "w");
        /* configparser's header pattern ends at the last ']' and ignores what follows */
        ASSERT_STREQ(get(ini, "a]b", "k"), "x");
        ASSERT_STREQ(get(ini, "x", "k"), "z");
        aws_ini_free(ini);
}

static void test_errors(void)
{
        static const char nul[] = "[s]\nk = v\0x\n";
        struct aws_ini *ini = NULL;
        char err[256];

        ASSERT_TRUE(strstr(parse_error("k = v\n[s]\n"), "t.ini:1: no [section] header"));
        ASSERT_TRUE(strstr(parse_error("[s]\n[t]\n[s]\n"), "t.ini:3: section [s] appears"));
        ASSERT_TRUE(strstr(parse_error("[s]\nKey = 1\nkey = 2\n"),
                           "t.ini:3: key 'key' appears more than once in [s]"));
        ASSERT_TRUE(strstr(parse_error("[DEFAULT]\nk = 1\n[DEFAULT]\nk = 2\n"), "t.ini:4:"));
        ASSERT_TRUE(strstr(parse_error("[s]\nk = v\nAKIDSECRETLINE\n"), "t.ini:3: expected"));
        ASSERT_TRUE(strstr(parse_error("[s]\n= v\n"), "t.ini:2: a key is missing"));
        ASSERT_TRUE(strstr(parse_error("[]\n"), "t.ini:1:"));
        ASSERT_TRUE(strstr(parse_error("[s]\nk = \xff\n"), "t.ini:2: not valid UTF-8"));
        /* a line with no delimiter could be a pasted secret: never echo it */
        ASSERT_TRUE(strstr(parse_error("[s]\nwJalrXUtnFEMI\n"), "wJalrXUtnFEMI") == NULL);
        ASSERT_EQ_INT(aws_ini_parse(nul, sizeof(nul) - 1, "t.ini", &ini, err, sizeof(err)),
                      -EINVAL);
        ASSERT_TRUE(strstr(err, "t.ini:2: contains a NUL byte") != NULL);

        /* an empty file and one with only comments are valid and empty */
        ini = parse("");
        ASSERT_EQ_INT(ini->n_sections, 0);
        aws_ini_free(ini);
        ini = parse("# nothing\n\n; here\n");
        ASSERT_EQ_INT(ini->n_sections, 0);
        aws_ini_free(ini);
}

static void test_shlex(void)
{
        static const struct {
                const char *in;
                int n;
                const char *words[5];
        } cases[] = {
            {"/usr/bin/get-creds --profile dev", 3, {"/usr/bin/get-creds", "--profile", "dev"}},
            {"  spaced\t\targs  ", 2, {"spaced", "args"}},
            {"'single quoted' \"double quoted\"", 2, {"single quoted", "double quoted"}},
            {"a'b'\"c\"d", 1, {"abcd"}},
            {"'' \"\" x", 3, {"", "", "x"}},
            {"back\\ slash \\'q", 2, {"back slash", "'q"}},
            {"\"in \\\"dq\\\" \\\\ \\n\"", 1, {"in \"dq\" \\ \\n"}},
            {"'no \\escape in single'", 1, {"no \\escape in single"}},
            {"# not a comment", 4, {"#", "not", "a", "comment"}},
            {"", 0, {NULL}},
        };
        char **argv;
        size_t n;

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                ASSERT_EQ_INT(aws_profile_shlex_split(cases[i].in, &argv, &n), 0);
                ASSERT_EQ_INT(n, cases[i].n);
                for (int j = 0; j < cases[i].n && j < (int)n; j++)
                        ASSERT_STREQ(argv[j], cases[i].words[j]);
                ASSERT_TRUE(argv[n] == NULL);
                aws_profile_strv_free(argv);
        }
        ASSERT_EQ_INT(aws_profile_shlex_split("unclosed 'quote", &argv, &n), -EINVAL);
        ASSERT_EQ_INT(aws_profile_shlex_split("unclosed \"quote", &argv, &n), -EINVAL);
        ASSERT_EQ_INT(aws_profile_shlex_split("trailing\\", &argv, &n), -EINVAL);
}

static void test_expand_path(void)
{
        char *out;

        setenv("HOME", "/home/op/", 1);
        setenv("CREDS_TEST_DIR", "/srv/aws", 1);
        unsetenv("CREDS_TEST_UNSET");
        ASSERT_EQ_INT(aws_profile_expand_path("~/.aws/config", &out), 0);
        ASSERT_STREQ(out, "/home/op/.aws/config");
        free(out);
        ASSERT_EQ_INT(aws_profile_expand_path("$CREDS_TEST_DIR/config", &out), 0);
        ASSERT_STREQ(out, "/srv/aws/config");
        free(out);
        ASSERT_EQ_INT(aws_profile_expand_path("${CREDS_TEST_DIR}x/$CREDS_TEST_UNSET/${}/$", &out),
                      0);
        ASSERT_STREQ(out, "/srv/awsx/$CREDS_TEST_UNSET/${}/$");
        free(out);
        ASSERT_EQ_INT(aws_profile_expand_path("~", &out), 0);
        ASSERT_STREQ(out, "/home/op");
        free(out);
        ASSERT_EQ_INT(aws_profile_expand_path("~no-such-user-here/x", &out), 0);
        ASSERT_STREQ(out, "~no-such-user-here/x");
        free(out);
        ASSERT_EQ_INT(aws_profile_expand_path("~root/x", &out), 0);
        ASSERT_STREQ(out, "/root/x");
        free(out);
        ASSERT_EQ_INT(aws_profile_expand_path("relative/~x", &out), 0);
        ASSERT_STREQ(out, "relative/~x");
        free(out);
}

static void test_profile_map(void)
{
        const char *config = write_file("config", 0600,
                                        "[default]\nregion = us-east-1\n"
                                        "[profile dev]\nregion = eu-west-1\noutput = json\n"
                                        "[profile \"with space\"]\nregion = ap-south-1\n"
                                        "[profiles quirk]\nregion = sa-east-1\n"
                                        "[plain]\nregion = nowhere\n"
                                        "[profile a b c]\nregion = ignored\n"
                                        "[sso-session s]\nsso_region = x\n"
                                        "[profile default]\nregion = us-west-2\n");
        const char *credentials = write_file("credentials", 0600,
                                             "[dev]\nregion = eu-north-1\n"
                                             "[plain]\naws_access_key_id = A\n"
                                             "[profile dev]\nk = v\n");
        struct aws_profile_files *f;
        char err[256];

        ASSERT_EQ_INT(aws_profile_files_load_paths(config, credentials, &f, err, sizeof(err)), 0);
        /* the later [profile default] replaces [default], as botocore's dict does */
        ASSERT_STREQ(aws_profile_get(f, "default", "region"), "us-west-2");
        /* the credentials file wins key by key */
        ASSERT_STREQ(aws_profile_get(f, "dev", "region"), "eu-north-1");
        ASSERT_STREQ(aws_profile_get(f, "dev", "output"), "json");
        ASSERT_STREQ(aws_profile_get(f, "with space", "region"), "ap-south-1");
        ASSERT_STREQ(aws_profile_get(f, "quirk", "region"), "sa-east-1");
        ASSERT_TRUE(aws_profile_config_section(f, "plain") == NULL);
        ASSERT_TRUE(aws_profile_get(f, "plain", "region") == NULL);
        ASSERT_TRUE(aws_profile_exists(f, "plain"));
        ASSERT_TRUE(aws_profile_exists(f, "profile dev"));
        ASSERT_TRUE(!aws_profile_exists(f, "a b c"));
        ASSERT_TRUE(!aws_profile_exists(f, "s"));
        ASSERT_TRUE(!aws_profile_exists(f, "nope"));
        aws_profile_files_free(f);

        /* missing files are empty, not errors */
        ASSERT_EQ_INT(
            aws_profile_files_load_paths("/nonexistent/c", scratch_dir(), &f, err, sizeof(err)), 0);
        ASSERT_TRUE(f->config == NULL && f->credentials == NULL);
        ASSERT_TRUE(!aws_profile_exists(f, "default"));
        aws_profile_files_free(f);
}

static void test_load_limits(void)
{
        struct aws_ini *ini = NULL;
        char err[256], *big;
        const char *path;
        FILE *fp;

        ASSERT_EQ_INT(aws_ini_load("/nonexistent/file", &ini, err, sizeof(err)), -ENOENT);
        ASSERT_EQ_INT(aws_ini_load(scratch_dir(), &ini, err, sizeof(err)), -ENOENT);
        path = write_file("big", 0600, "[s]\n");
        fp = fopen(path, "a");
        big = calloc(1, 1024 * 1024);
        memset(big, '#', 1024 * 1024 - 1);
        fputs(big, fp);
        fclose(fp);
        free(big);
        ASSERT_EQ_INT(aws_ini_load(path, &ini, err, sizeof(err)), -EFBIG);
        ASSERT_TRUE(strstr(err, path) != NULL);
        path = write_file("bad", 0600, "[s]\nno delimiter\n");
        ASSERT_EQ_INT(aws_ini_load(path, &ini, err, sizeof(err)), -EINVAL);
        ASSERT_TRUE(strncmp(err, path, strlen(path)) == 0 && strstr(err, ":2: "));
}

static void test_region(void)
{
        char err[256], *region = NULL;

        clean_aws_env();
        setenv("HOME", scratch_dir(), 1);
        setenv("AWS_CONFIG_FILE",
               write_file("rconfig", 0600,
                          "[default]\nregion = eu-central-1\n"
                          "[profile admin]\nregion = us-east-2\n"
                          "[profile noregion]\noutput = json\n"),
               1);
        setenv("AWS_SHARED_CREDENTIALS_FILE",
               write_file("rcredentials", 0600, "[fromcreds]\nregion = ca-central-1\n"), 1);

        ASSERT_EQ_INT(aws_profile_region(NULL, &region, err, sizeof(err)), 0);
        ASSERT_STREQ(region, "eu-central-1");
        free(region);
        ASSERT_EQ_INT(aws_profile_region("admin", &region, err, sizeof(err)), 0);
        ASSERT_STREQ(region, "us-east-2");
        free(region);
        setenv("AWS_PROFILE", "fromcreds", 1);
        ASSERT_EQ_INT(aws_profile_region(NULL, &region, err, sizeof(err)), 0);
        ASSERT_STREQ(region, "ca-central-1");
        free(region);
        region = (char *)"untouched";
        ASSERT_EQ_INT(aws_profile_region("noregion", &region, err, sizeof(err)), 0);
        ASSERT_TRUE(region == NULL);
        ASSERT_EQ_INT(aws_profile_region("missing", &region, err, sizeof(err)), -ENOENT);
        ASSERT_TRUE(strstr(err, "'missing' could not be found") != NULL);

        /* no files at all: the default profile simply has no region */
        setenv("AWS_CONFIG_FILE", "/nonexistent/config", 1);
        unsetenv("AWS_PROFILE");
        ASSERT_EQ_INT(aws_profile_region(NULL, &region, err, sizeof(err)), 0);
        ASSERT_TRUE(region == NULL);

        setenv("AWS_CONFIG_FILE", write_file("rbad", 0600, "region = x\n"), 1);
        ASSERT_EQ_INT(aws_profile_region(NULL, &region, err, sizeof(err)), -EINVAL);
        ASSERT_TRUE(strstr(err, "rbad:1: ") != NULL);
        clean_aws_env();
}

int main(void)
{
        alarm(60);
        clean_aws_env();
        scratch_dir();
        test_basics();
        test_continuations();
        test_default_section();
        test_line_endings_and_headers();
        test_errors();
        test_shlex();
        test_expand_path();
        test_profile_map();
        test_load_limits();
        test_region();
        remove_scratch();
        return test_summary("test_aws_profile");
}
