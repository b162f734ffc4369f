/* version_parse(): any text. What it accepts is exactly "MM-DD-YYYY", so formatting the result
 * must give the text back; and every day of the accepted years must survive format and parse. */
#include "fuzz.h"
#include "version.h"

static void check_text(const char *text)
{
        struct agent_version v, back;
        char buf[16];

        if (!version_parse(text, &v))
                return;
        FUZZ_CHECK(strcmp(version_format(v, buf, sizeof(buf)), text) == 0);
        FUZZ_CHECK(version_parse(buf, &back));
        FUZZ_CHECK(version_compare(v, back) == 0);
}

/* The input's first four bytes as a day between the first and the last accepted date. */
static void check_day(const uint8_t *data, size_t size)
{
        struct agent_version first, last, v, back;
        char buf[16];
        uint32_t raw;

        if (size < sizeof(raw))
                return;
        FUZZ_CHECK(version_parse("01-01-2000", &first) && version_parse("12-31-2999", &last));
        memcpy(&raw, data, sizeof(raw));
        v.days = first.days + (int)(raw % (uint32_t)(last.days - first.days + 1));
        FUZZ_CHECK(version_parse(version_format(v, buf, sizeof(buf)), &back));
        FUZZ_CHECK(back.days == v.days);
        FUZZ_CHECK(version_compare(v, first) >= 0 && version_compare(v, last) <= 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char *text = fuzz_string(data, size);

        check_text(text);
        check_day(data, size);
        free(text);
        return 0;
}
