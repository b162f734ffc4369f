/* appstream_parse_error(): the x-amzn-ErrorType header and the body of a failed response. The
 * input is "HEADER\nBODY"; without a line break it is all body and there is no header. The
 * code that comes back, if any, is non-empty, carries no ":..." suffix and no blanks around
 * it, and comes from the header whenever the header is not empty. */
#include <ctype.h>

#include "appstream.h"
#include "fuzz.h"

static void check_code(const char *code)
{
        size_t len;

        if (!code)
                return;
        len = strlen(code);
        FUZZ_CHECK(len > 0);
        FUZZ_CHECK(strchr(code, ':') == NULL);
        FUZZ_CHECK(!isspace((unsigned char)code[0]) && !isspace((unsigned char)code[len - 1]));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        const uint8_t *nl = memchr(data, '\n', size);
        char *header = nl ? fuzz_string(data, (size_t)(nl - data)) : NULL;
        const uint8_t *body = nl ? nl + 1 : data;
        size_t body_len = size - (size_t)(body - data);
        char *code = NULL, *message = NULL, *header_code = NULL, *header_message = NULL;

        appstream_parse_error(header, (const char *)body, body_len, &code, &message);
        check_code(code);
        if (header && header[0]) {
                /* The body does not matter to the code then. */
                appstream_parse_error(header, NULL, 0, &header_code, &header_message);
                FUZZ_CHECK(header_message == NULL);
                FUZZ_CHECK((code == NULL) == (header_code == NULL));
                FUZZ_CHECK(!code || strcmp(code, header_code) == 0);
        }
        free(code);
        free(message);
        free(header_code);
        free(header_message);
        free(header);
        return 0;
}
