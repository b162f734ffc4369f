/* How the read-only commands show targets: the identity columns in front of a table's own
 * (none for the single target, so its tables stay as they were; ACCOUNT only when asked), the
 * identity in --json, and plan's summary of a target in its four kinds. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "targets.h"
#include "targets_view.h"
#include "test.h"

static const char *const header[] = {"NAME", "AGENT"};

static char *print_to_string(const struct table *t)
{
        char *text = NULL;
        size_t size = 0;
        FILE *out = open_memstream(&text, &size);

        table_print(t, out);
        fclose(out);
        return text;
}

static char *render(const struct targets_columns *c, const struct target *targets, size_t n)
{
        struct table *t = targets_view_table(c, 2, header);
        char *text;

        ASSERT_TRUE(t != NULL);
        for (size_t i = 0; i < n; i++) {
                const char *row[] = {"ib-1", i ? NULL : "06-19-2023"};

                ASSERT_EQ_INT(targets_view_add_row(t, c, &targets[i], 2, row, NULL), 0);
        }
        text = print_to_string(t);
        table_free(t);
        return text;
}

static const struct target targets[] = {
    {.name = "prod/eu-west-1", .account_id = "111122223333", .region = "eu-west-1"},
    {.name = "dev/us-east-1", .region = "us-east-1"},
};

static void test_columns(void)
{
        char *text;

        /* The single target: the table's own columns, exactly. */
        text = render(&(struct targets_columns){0}, targets, 1);
        ASSERT_STREQ(text, "NAME  AGENT\n"
                           "ib-1  06-19-2023\n");
        free(text);

        text = render(&(struct targets_columns){.named = true}, targets, 2);
        ASSERT_STREQ(text, "TARGET          REGION     NAME  AGENT\n"
                           "prod/eu-west-1  eu-west-1  ib-1  06-19-2023\n"
                           "dev/us-east-1   us-east-1  ib-1  -\n");
        free(text);

        /* An account only some targets know is "-" for the others. */
        text = render(&(struct targets_columns){.named = true, .accounts = true}, targets, 2);
        ASSERT_STREQ(text, "TARGET          ACCOUNT       REGION     NAME  AGENT\n"
                           "prod/eu-west-1  111122223333  eu-west-1  ib-1  06-19-2023\n"
                           "dev/us-east-1   -             us-east-1  ib-1  -\n");
        free(text);
}

static void test_styles_follow_their_cells(void)
{
        const struct targets_columns c = {.named = true};
        const enum table_style styles[] = {TABLE_PLAIN, TABLE_BAD};
        const char *row[] = {"ib-1", "06-19-2023"};
        struct table *t = targets_view_table(&c, 2, header);
        char *text;

        table_set_colour(t, true);
        ASSERT_EQ_INT(targets_view_add_row(t, &c, &targets[1], 2, row, styles), 0);
        text = print_to_string(t);
        /* the red is on the AGENT cell, not shifted onto an identity column */
        ASSERT_TRUE(strstr(text, "\033[31m06-19-2023\033[0m") != NULL);
        ASSERT_TRUE(strstr(text, "\033[31mus-east-1") == NULL);
        free(text);
        table_free(t);
}

static void test_json(void)
{
        cJSON *o = targets_view_json(&targets[0], NULL);
        char *text = cJSON_PrintUnformatted(o);

        ASSERT_STREQ(text, "{\"name\":\"prod/eu-west-1\",\"account_id\":\"111122223333\","
                           "\"region\":\"eu-west-1\",\"error\":null}");
        free(text);
        cJSON_Delete(o);

        o = targets_view_json(&targets[1], "cannot describe image builders");
        text = cJSON_PrintUnformatted(o);
        ASSERT_STREQ(text, "{\"name\":\"dev/us-east-1\",\"account_id\":null,"
                           "\"region\":\"us-east-1\","
                           "\"error\":\"cannot describe image builders\"}");
        free(text);
        cJSON_Delete(o);
}

static void test_plan_summary(void)
{
        /* every decision once: each falls in exactly one kind */
        struct decision d[DECISION_START_UPDATE + 1];
        struct policy_plan plan = {.decisions = d,
                                   .n_decisions = DECISION_START_UPDATE + 1,
                                   .in_flight = 2,
                                   .free_slots = 1};
        struct targets_plan_counts c;
        char line[256], *text;
        cJSON *o;

        for (int k = 0; k <= DECISION_START_UPDATE; k++)
                d[k] = (struct decision){.builder = "ib", .kind = (enum decision_kind)k};
        targets_view_count(&plan, &c);
        ASSERT_EQ_INT(c.builders, 20);
        ASSERT_EQ_INT(c.compliant, 1);
        ASSERT_EQ_INT(c.updating, 4);
        ASSERT_EQ_INT(c.waiting, 9);
        ASSERT_EQ_INT(c.left_alone, 6);
        ASSERT_EQ_INT(c.compliant + c.updating + c.waiting + c.left_alone, c.builders);

        ASSERT_STREQ(targets_view_plan_line("prod/eu-west-1", &plan, line, sizeof(line)),
                     "prod/eu-west-1: 20 builders: 1 compliant, 4 updating, 9 waiting, 6 left "
                     "alone; 2 operation(s) in flight, 1 slot(s) free");
        o = targets_view_plan_summary(&plan);
        text = cJSON_PrintUnformatted(o);
        ASSERT_STREQ(text, "{\"builders\":20,\"compliant\":1,\"updating\":4,\"waiting\":9,"
                           "\"left_alone\":6}");
        free(text);
        cJSON_Delete(o);

        plan.n_decisions = 1;
        d[0].kind = DECISION_HELD;
        plan.in_flight = plan.free_slots = 0;
        ASSERT_STREQ(targets_view_plan_line("dev/us-east-1", &plan, line, sizeof(line)),
                     "dev/us-east-1: 1 builder: 0 compliant, 0 updating, 1 waiting, 0 left "
                     "alone; 0 operation(s) in flight, 0 slot(s) free");
}

int main(void)
{
        test_columns();
        test_styles_follow_their_cells();
        test_json();
        test_plan_summary();
        return test_summary("test_targets_view");
}
