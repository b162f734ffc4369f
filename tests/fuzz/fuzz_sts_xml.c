/* sts_parse_response(): an STS answer, as a success (first byte even) or as an error status
 * (odd), to AssumeRole, AssumeRoleWithWebIdentity (bit 1) or GetCallerIdentity (bit 2).
 * Whatever the bytes, the reader either refuses them or gives back exactly what a caller relies
 * on: on success, all four credential fields non-empty (GetCallerIdentity: a 12-digit account,
 * an ARN and a user id) and no error code; on an error status, a non-empty code and no
 * credentials. */
#include "fuzz.h"
#include "sts.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct sts_answer a = {0};
        enum sts_action action;
        long status;
        char err[256];
        int r;

        if (size == 0)
                return 0;
        status = data[0] % 2 ? 403 : 200;
        action = data[0] & 4   ? STS_GET_CALLER_IDENTITY
                 : data[0] & 2 ? STS_ASSUME_ROLE_WITH_WEB_IDENTITY
                               : STS_ASSUME_ROLE;
        r = sts_parse_response(action, status, (const char *)data + 1, size - 1, &a, err,
                               sizeof(err));
        if (r < 0) {
                FUZZ_CHECK(err[0] != '\0');
                return 0;
        }
        if (status == 200 && action == STS_GET_CALLER_IDENTITY) {
                FUZZ_CHECK(a.account && strlen(a.account) == 12 &&
                           strspn(a.account, "0123456789") == 12 && a.arn && a.arn[0] &&
                           a.user_id && a.user_id[0] && !a.access_key_id && !a.error_code);
        } else if (status == 200) {
                FUZZ_CHECK(a.access_key_id && a.access_key_id[0] && a.secret_access_key &&
                           a.secret_access_key[0] && a.session_token && a.session_token[0] &&
                           a.expiration && a.expiration[0] && !a.error_code);
        } else {
                FUZZ_CHECK(a.error_code && a.error_code[0] && !a.access_key_id);
        }
        sts_answer_clear(&a);
        return 0;
}
