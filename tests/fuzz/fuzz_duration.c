/* duration_parse(): any text. An accepted duration formats into the canonical spelling, which
 * parses back to the same seconds and formats to itself; and every non-negative count of
 * seconds survives format and parse, INT64_MAX included. */
#include "duration.h"
#include "fuzz.h"

static void check_round_trip(int64_t seconds)
{
        char buf[64], again[64];
        int64_t back = -1;

        duration_format(seconds, buf, sizeof(buf));
        FUZZ_CHECK(duration_parse(buf, &back) == 0);
        FUZZ_CHECK(back == seconds);
        FUZZ_CHECK(strcmp(duration_format(back, again, sizeof(again)), buf) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char *text = fuzz_string(data, size);
        int64_t seconds = -1, raw;

        if (duration_parse(text, &seconds) == 0) {
                FUZZ_CHECK(seconds >= 0);
                check_round_trip(seconds);
        } else {
                FUZZ_CHECK(seconds == -1); /* untouched on failure */
        }
        if (size >= sizeof(raw)) {
                memcpy(&raw, data, sizeof(raw));
                check_round_trip(raw & INT64_MAX);
        }
        free(text);
        return 0;
}
