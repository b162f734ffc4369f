/* hold_parse_until() and hold_evaluate(): any tag value. White space around a value changes
 * nothing; a value read as an end holds until then and not a second longer, and the end that
 * hold_describe() shows reads back as the same time; any other value holds for ever. */
#include "calendar.h"
#include "fuzz.h"
#include "hold.h"

#define KEY "appstream-agent-reconciler:hold"

static void evaluate(const char *value, int64_t now, struct hold *ret)
{
        struct tag item = {.key = (char *)KEY, .value = (char *)value};
        struct tag_list tags = {.items = &item, .n = 1};

        hold_evaluate(&tags, KEY, now, ret);
}

static void check_padded(const char *text, bool parsed, int64_t until)
{
        size_t len = strlen(text);
        char *padded = malloc(len + 5);
        int64_t again = 0;

        if (!padded)
                abort();
        snprintf(padded, len + 5, " \t%s\n ", text);
        FUZZ_CHECK(hold_parse_until(padded, &again) == parsed);
        FUZZ_CHECK(!parsed || again == until);
        free(padded);
}

/* "... (until 2026-12-24 13:45[:30] UTC)" read back with hold_parse_until(). An end at
 * exactly 1970-01-01T00:00Z, held only by a clock before it, is shown as no end (until 0). */
static void check_shown_end(const struct hold *h)
{
        char line[512], when[32];
        const char *at;
        int64_t back;

        if (h->until == 0)
                return;
        hold_describe(h, line, sizeof(line));
        at = strstr(line, " (until ");
        FUZZ_CHECK(at != NULL);
        if (h->until < calendar_days_from_civil(0, 1, 1) * 86400 ||
            h->until >= calendar_days_from_civil(10000, 1, 1) * 86400)
                return;
        snprintf(when, sizeof(when), "%.*sZ", (int)strcspn(at + 8, "U") - 1, at + 8);
        FUZZ_CHECK(hold_parse_until(when, &back) && back == h->until);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char *text = fuzz_string(data, size);
        int64_t until = 0;
        bool parsed = hold_parse_until(text, &until);
        struct hold h;

        check_padded(text, parsed, until);
        evaluate(text, parsed ? until - 1 : INT64_MAX, &h);
        FUZZ_CHECK(h.held && !h.expired && h.until == (parsed ? until : 0));
        if (parsed) {
                check_shown_end(&h);
                evaluate(text, until, &h);
                FUZZ_CHECK(!h.held && h.expired && h.until == until);
        }
        free(text);
        return 0;
}
