/* Standard retry mode: classification of every listed code, status and transport outcome,
 * backoff bounds and caps, the retry quota (cost, exhaustion, refunds, refill), the decision
 * loop, and AWS_MAX_ATTEMPTS / AWS_RETRY_MODE parsing. */
#include <errno.h>
#include <math.h>
#include <string.h>

#include "retry.h"
#include "test.h"

struct class_case {
        enum http_failure failure;
        long status;
        const char *code;
        enum retry_class want;
};

static const struct class_case class_cases[] = {
    /* success */
    {HTTP_OK, 200, NULL, RETRY_CLASS_SUCCESS},
    {HTTP_OK, 204, NULL, RETRY_CLASS_SUCCESS},
    {HTTP_OK, 299, "ThrottlingException", RETRY_CLASS_SUCCESS},
    /* statuses without a code */
    {HTTP_OK, 500, NULL, RETRY_CLASS_TRANSIENT},
    {HTTP_OK, 502, NULL, RETRY_CLASS_TRANSIENT},
    {HTTP_OK, 503, NULL, RETRY_CLASS_TRANSIENT},
    {HTTP_OK, 504, "", RETRY_CLASS_TRANSIENT},
    {HTTP_OK, 501, NULL, RETRY_CLASS_NOT_RETRYABLE},
    {HTTP_OK, 505, NULL, RETRY_CLASS_NOT_RETRYABLE},
    {HTTP_OK, 429, NULL, RETRY_CLASS_NOT_RETRYABLE},
    {HTTP_OK, 400, NULL, RETRY_CLASS_NOT_RETRYABLE},
    {HTTP_OK, 403, NULL, RETRY_CLASS_NOT_RETRYABLE},
    {HTTP_OK, 404, NULL, RETRY_CLASS_NOT_RETRYABLE},
    {HTTP_OK, 301, NULL, RETRY_CLASS_NOT_RETRYABLE},
    /* a code the lists do not know falls back to the status */
    {HTTP_OK, 400, "ValidationException", RETRY_CLASS_NOT_RETRYABLE},
    {HTTP_OK, 400, "ResourceNotFoundException", RETRY_CLASS_NOT_RETRYABLE},
    {HTTP_OK, 500, "InternalFailure", RETRY_CLASS_TRANSIENT},
    {HTTP_OK, 503, "ServiceUnavailable", RETRY_CLASS_TRANSIENT},
    /* throttling */
    {HTTP_OK, 400, "Throttling", RETRY_CLASS_THROTTLING},
    {HTTP_OK, 400, "ThrottlingException", RETRY_CLASS_THROTTLING},
    {HTTP_OK, 400, "ThrottledException", RETRY_CLASS_THROTTLING},
    {HTTP_OK, 400, "RequestThrottledException", RETRY_CLASS_THROTTLING},
    {HTTP_OK, 429, "TooManyRequestsException", RETRY_CLASS_THROTTLING},
    {HTTP_OK, 400, "ProvisionedThroughputExceededException", RETRY_CLASS_THROTTLING},
    {HTTP_OK, 400, "TransactionInProgressException", RETRY_CLASS_THROTTLING},
    {HTTP_OK, 503, "RequestLimitExceeded", RETRY_CLASS_THROTTLING},
    {HTTP_OK, 400, "BandwidthLimitExceeded", RETRY_CLASS_THROTTLING},
    {HTTP_OK, 400, "LimitExceededException", RETRY_CLASS_THROTTLING},
    {HTTP_OK, 400, "RequestThrottled", RETRY_CLASS_THROTTLING},
    {HTTP_OK, 503, "SlowDown", RETRY_CLASS_THROTTLING},
    {HTTP_OK, 400, "PriorRequestNotComplete", RETRY_CLASS_THROTTLING},
    {HTTP_OK, 400, "EC2ThrottledException", RETRY_CLASS_THROTTLING},
    {HTTP_OK, 400, "RequestLimitExceededException", RETRY_CLASS_THROTTLING},
    /* DynamoDB: its throttling codes as it sends them, its answers that are no failure of the
     * call, and its InternalServerError, transient by its status */
    {HTTP_OK, 400, "ProvisionedThroughputExceededException", RETRY_CLASS_THROTTLING},
    {HTTP_OK, 400, "RequestLimitExceeded", RETRY_CLASS_THROTTLING},
    {HTTP_OK, 400, "LimitExceededException", RETRY_CLASS_THROTTLING},
    {HTTP_OK, 400, "ConditionalCheckFailedException", RETRY_CLASS_NOT_RETRYABLE},
    {HTTP_OK, 400, "TransactionConflictException", RETRY_CLASS_NOT_RETRYABLE},
    {HTTP_OK, 400, "ItemCollectionSizeLimitExceededException", RETRY_CLASS_NOT_RETRYABLE},
    {HTTP_OK, 500, "InternalServerError", RETRY_CLASS_TRANSIENT},
    /* codes are case-sensitive, as AWS sends them */
    {HTTP_OK, 400, "throttlingexception", RETRY_CLASS_NOT_RETRYABLE},
    /* timeouts */
    {HTTP_ERR_TIMEOUT, 0, NULL, RETRY_CLASS_TIMEOUT},
    {HTTP_OK, 400, "RequestTimeout", RETRY_CLASS_TIMEOUT},
    {HTTP_OK, 408, "RequestTimeoutException", RETRY_CLASS_TIMEOUT},
    /* expired credentials */
    {HTTP_OK, 400, "ExpiredTokenException", RETRY_CLASS_EXPIRED_CREDENTIALS},
    {HTTP_OK, 400, "ExpiredToken", RETRY_CLASS_EXPIRED_CREDENTIALS},
    /* clock skew */
    {HTTP_OK, 403, "RequestTimeTooSkewed", RETRY_CLASS_SKEW_DEFINITE},
    {HTTP_OK, 400, "RequestExpired", RETRY_CLASS_SKEW_DEFINITE},
    {HTTP_OK, 400, "RequestInTheFuture", RETRY_CLASS_SKEW_DEFINITE},
    {HTTP_OK, 400, "InvalidSignatureException", RETRY_CLASS_SKEW_POSSIBLE},
    {HTTP_OK, 403, "SignatureDoesNotMatch", RETRY_CLASS_SKEW_POSSIBLE},
    {HTTP_OK, 401, "AuthFailure", RETRY_CLASS_SKEW_POSSIBLE},
    /* AppStream's "someone else is changing this builder" */
    {HTTP_OK, 400, "ConcurrentModificationException", RETRY_CLASS_TRY_LATER},
    /* the code wins over the status */
    {HTTP_OK, 500, "ConcurrentModificationException", RETRY_CLASS_TRY_LATER},
    {HTTP_OK, 500, "ExpiredTokenException", RETRY_CLASS_EXPIRED_CREDENTIALS},
    /* transports; status and code are ignored without a response */
    {HTTP_ERR_CONNECT, 0, NULL, RETRY_CLASS_TRANSIENT},
    {HTTP_ERR_TRANSFER, 0, NULL, RETRY_CLASS_TRANSIENT},
    {HTTP_ERR_TRANSFER, 200, "ThrottlingException", RETRY_CLASS_TRANSIENT},
    {HTTP_ERR_RESOLVE, 0, NULL, RETRY_CLASS_NOT_RETRYABLE},
    {HTTP_ERR_TLS, 0, NULL, RETRY_CLASS_NOT_RETRYABLE},
    {HTTP_ERR_TOO_LARGE, 0, NULL, RETRY_CLASS_NOT_RETRYABLE},
    {HTTP_ERR_CANCELLED, 0, NULL, RETRY_CLASS_NOT_RETRYABLE},
};

static void test_classify(void)
{
        for (size_t i = 0; i < sizeof(class_cases) / sizeof(*class_cases); i++) {
                const struct class_case *c = &class_cases[i];
                enum retry_class got = retry_classify(c->failure, c->status, c->code);
                if (got != c->want)
                        fprintf(stderr, "  case %zu: failure %d, status %ld, code %s: %s\n", i,
                                c->failure, c->status, c->code ? c->code : "(none)",
                                retry_class_name(got));
                ASSERT_EQ_INT(got, c->want);
        }
}

static void test_backoff(void)
{
        static const struct {
                unsigned retry;
                double cap;
        } caps[] = {{0, 1},  {1, 1},  {2, 2},   {3, 4},   {4, 8},           {5, 16},
                    {6, 20}, {7, 20}, {31, 20}, {32, 20}, {4000000000u, 20}};
        static const double randoms[] = {0, 0.25, 0.5, 0.999999};

        for (size_t i = 0; i < sizeof(caps) / sizeof(*caps); i++) {
                for (size_t j = 0; j < sizeof(randoms) / sizeof(*randoms); j++) {
                        double got = retry_backoff_s(caps[i].retry, randoms[j]);
                        ASSERT_TRUE(fabs(got - randoms[j] * caps[i].cap) < 1e-9);
                        ASSERT_TRUE(got >= 0 && got < caps[i].cap);
                }
        }
        ASSERT_TRUE(retry_backoff_s(3, -0.5) == 0);
        ASSERT_TRUE(retry_backoff_s(3, NAN) == 0);
        ASSERT_TRUE(retry_backoff_s(3, 7.0) == 4);
        ASSERT_TRUE(retry_backoff_s(9, 1.0) == RETRY_MAX_BACKOFF_S);
}

static struct retry_config config(unsigned max_attempts)
{
        return (struct retry_config){.max_attempts = max_attempts, .mode = RETRY_MODE_STANDARD};
}

/* One operation from start to end: classes of consecutive attempts, and what must follow. */
struct loop_step {
        enum retry_class cls;
        bool skew_candidate;
        enum retry_action action;
        enum retry_stop stop;
        unsigned quota_after;
};

static void run_loop(const char *name, unsigned max_attempts, unsigned quota_before,
                     const struct loop_step *steps, size_t n)
{
        struct retry_config cfg = config(max_attempts);
        struct retry_quota q = {quota_before};
        struct retry_operation op = {0};
        int before = test_failed_checks;

        for (size_t i = 0; i < n; i++) {
                struct retry_decision d;
                retry_decide(&cfg, &q, &op, steps[i].cls, steps[i].skew_candidate, 0.5, &d);
                ASSERT_EQ_INT(d.action, steps[i].action);
                ASSERT_EQ_INT(d.stop, steps[i].stop);
                ASSERT_EQ_INT(q.available, steps[i].quota_after);
                ASSERT_EQ_INT(op.attempts, i + 1);
                ASSERT_EQ_INT(d.refresh_credentials,
                              steps[i].cls == RETRY_CLASS_EXPIRED_CREDENTIALS &&
                                  d.action == RETRY_ACTION_RETRY);
                if (d.action == RETRY_ACTION_RETRY) {
                        bool skew = steps[i].cls == RETRY_CLASS_SKEW_DEFINITE ||
                                    steps[i].cls == RETRY_CLASS_SKEW_POSSIBLE;
                        ASSERT_TRUE(d.delay_s == (skew ? 0 : retry_backoff_s(op.attempts, 0.5)));
                } else {
                        ASSERT_TRUE(d.delay_s == 0);
                }
        }
        if (test_failed_checks != before)
                fprintf(stderr, "  in loop \"%s\"\n", name);
}

#define RUN_LOOP(name, max, quota, ...)                                                            \
        do {                                                                                       \
                static const struct loop_step steps_[] = {__VA_ARGS__};                            \
                run_loop(name, max, quota, steps_, sizeof(steps_) / sizeof(*steps_));              \
        } while (0)

static void test_loops(void)
{
        RUN_LOOP("first attempt succeeds at full quota", 3, 500,
                 {RETRY_CLASS_SUCCESS, false, RETRY_ACTION_DONE, RETRY_STOP_NONE, 500});
        RUN_LOOP("first attempt succeeds below full quota", 3, 480,
                 {RETRY_CLASS_SUCCESS, false, RETRY_ACTION_DONE, RETRY_STOP_NONE, 481});
        RUN_LOOP("transient, then success refunds the retry", 3, 500,
                 {RETRY_CLASS_TRANSIENT, false, RETRY_ACTION_RETRY, RETRY_STOP_NONE, 495},
                 {RETRY_CLASS_SUCCESS, false, RETRY_ACTION_DONE, RETRY_STOP_NONE, 500});
        RUN_LOOP("timeouts cost 10, the successful one is refunded", 3, 500,
                 {RETRY_CLASS_TIMEOUT, false, RETRY_ACTION_RETRY, RETRY_STOP_NONE, 490},
                 {RETRY_CLASS_TIMEOUT, false, RETRY_ACTION_RETRY, RETRY_STOP_NONE, 480},
                 {RETRY_CLASS_SUCCESS, false, RETRY_ACTION_DONE, RETRY_STOP_NONE, 490});
        RUN_LOOP("only the last retry is refunded", 4, 500,
                 {RETRY_CLASS_THROTTLING, false, RETRY_ACTION_RETRY, RETRY_STOP_NONE, 495},
                 {RETRY_CLASS_TIMEOUT, false, RETRY_ACTION_RETRY, RETRY_STOP_NONE, 485},
                 {RETRY_CLASS_TRANSIENT, false, RETRY_ACTION_RETRY, RETRY_STOP_NONE, 480},
                 {RETRY_CLASS_SUCCESS, false, RETRY_ACTION_DONE, RETRY_STOP_NONE, 485});
        RUN_LOOP("three attempts by default, then the error", 3, 500,
                 {RETRY_CLASS_THROTTLING, false, RETRY_ACTION_RETRY, RETRY_STOP_NONE, 495},
                 {RETRY_CLASS_THROTTLING, false, RETRY_ACTION_RETRY, RETRY_STOP_NONE, 490},
                 {RETRY_CLASS_THROTTLING, false, RETRY_ACTION_FAIL, RETRY_STOP_MAX_ATTEMPTS, 490});
        RUN_LOOP("one attempt allowed", 1, 500,
                 {RETRY_CLASS_TRANSIENT, false, RETRY_ACTION_FAIL, RETRY_STOP_MAX_ATTEMPTS, 500});
        RUN_LOOP(
            "not retryable", 3, 500,
            {RETRY_CLASS_NOT_RETRYABLE, false, RETRY_ACTION_FAIL, RETRY_STOP_NOT_RETRYABLE, 500});
        RUN_LOOP("quota too low for a retry", 3, 4,
                 {RETRY_CLASS_TRANSIENT, false, RETRY_ACTION_FAIL, RETRY_STOP_QUOTA, 4});
        RUN_LOOP("quota pays a retry but not a timeout retry", 3, 9,
                 {RETRY_CLASS_TIMEOUT, false, RETRY_ACTION_FAIL, RETRY_STOP_QUOTA, 9});
        RUN_LOOP("quota pays exactly", 3, 10,
                 {RETRY_CLASS_TIMEOUT, false, RETRY_ACTION_RETRY, RETRY_STOP_NONE, 0},
                 {RETRY_CLASS_TRANSIENT, false, RETRY_ACTION_FAIL, RETRY_STOP_QUOTA, 0});
        RUN_LOOP("expired credentials: refresh, retry", 3, 500,
                 {RETRY_CLASS_EXPIRED_CREDENTIALS, false, RETRY_ACTION_RETRY, RETRY_STOP_NONE, 495},
                 {RETRY_CLASS_SUCCESS, false, RETRY_ACTION_DONE, RETRY_STOP_NONE, 500});
        RUN_LOOP("skew error the clock module cannot correct", 3, 500,
                 {RETRY_CLASS_SKEW_DEFINITE, false, RETRY_ACTION_FAIL, RETRY_STOP_NOT_SKEW, 500});
        RUN_LOOP("possible skew the clock module cannot blame", 3, 500,
                 {RETRY_CLASS_SKEW_POSSIBLE, false, RETRY_ACTION_FAIL, RETRY_STOP_NOT_SKEW, 500});
        RUN_LOOP("skew corrected: retried at once", 3, 500,
                 {RETRY_CLASS_SKEW_DEFINITE, true, RETRY_ACTION_RETRY, RETRY_STOP_NONE, 495},
                 {RETRY_CLASS_SKEW_POSSIBLE, true, RETRY_ACTION_RETRY, RETRY_STOP_NONE, 490},
                 {RETRY_CLASS_SUCCESS, false, RETRY_ACTION_DONE, RETRY_STOP_NONE, 495});
        RUN_LOOP(
            "skew retries count against max attempts", 2, 500,
            {RETRY_CLASS_SKEW_DEFINITE, true, RETRY_ACTION_RETRY, RETRY_STOP_NONE, 495},
            {RETRY_CLASS_SKEW_DEFINITE, true, RETRY_ACTION_FAIL, RETRY_STOP_MAX_ATTEMPTS, 495});
        RUN_LOOP(
            "candidate flag means nothing outside skew", 3, 500,
            {RETRY_CLASS_NOT_RETRYABLE, true, RETRY_ACTION_FAIL, RETRY_STOP_NOT_RETRYABLE, 500});
        RUN_LOOP("concurrent modification goes back to the reconciler", 3, 500,
                 {RETRY_CLASS_TRY_LATER, false, RETRY_ACTION_LATER, RETRY_STOP_NONE, 500});
        RUN_LOOP("try later even after a retry, quota untouched", 3, 500,
                 {RETRY_CLASS_TRANSIENT, false, RETRY_ACTION_RETRY, RETRY_STOP_NONE, 495},
                 {RETRY_CLASS_TRY_LATER, false, RETRY_ACTION_LATER, RETRY_STOP_NONE, 495});
}

/* The quota drains under sustained failures, refuses retries when empty, and fills up again
 * one token per first-attempt success. */
static void test_quota_exhaustion_and_refill(void)
{
        struct retry_config cfg = config(1000);
        struct retry_quota q;
        struct retry_operation op = {0};
        struct retry_decision d;
        unsigned retries = 0;

        retry_quota_init(&q);
        ASSERT_EQ_INT(q.available, RETRY_QUOTA_MAX);
        for (;;) {
                retry_decide(&cfg, &q, &op, RETRY_CLASS_TRANSIENT, false, 0.1, &d);
                if (d.action != RETRY_ACTION_RETRY)
                        break;
                retries++;
        }
        ASSERT_EQ_INT(retries, RETRY_QUOTA_MAX / RETRY_COST);
        ASSERT_EQ_INT(d.stop, RETRY_STOP_QUOTA);
        ASSERT_EQ_INT(q.available, 0);

        /* A failed operation refunds nothing; a fresh one cannot retry either. */
        struct retry_operation op2 = {0};
        retry_decide(&cfg, &q, &op2, RETRY_CLASS_THROTTLING, false, 0.1, &d);
        ASSERT_EQ_INT(d.action, RETRY_ACTION_FAIL);
        ASSERT_EQ_INT(d.stop, RETRY_STOP_QUOTA);

        for (unsigned i = 0; i < RETRY_COST; i++) {
                struct retry_operation ok = {0};
                retry_decide(&cfg, &q, &ok, RETRY_CLASS_SUCCESS, false, 0.1, &d);
                ASSERT_EQ_INT(d.action, RETRY_ACTION_DONE);
        }
        ASSERT_EQ_INT(q.available, RETRY_COST);
        struct retry_operation op3 = {0};
        retry_decide(&cfg, &q, &op3, RETRY_CLASS_THROTTLING, false, 0.1, &d);
        ASSERT_EQ_INT(d.action, RETRY_ACTION_RETRY);
        ASSERT_EQ_INT(q.available, 0);
        retry_decide(&cfg, &q, &op3, RETRY_CLASS_SUCCESS, false, 0.1, &d);
        ASSERT_EQ_INT(q.available, RETRY_COST);

        for (unsigned i = 0; i < 2 * RETRY_QUOTA_MAX; i++) {
                struct retry_operation ok = {0};
                retry_decide(&cfg, &q, &ok, RETRY_CLASS_SUCCESS, false, 0.1, &d);
        }
        ASSERT_EQ_INT(q.available, RETRY_QUOTA_MAX);
}

struct env_case {
        const char *max_attempts;
        const char *mode;
        int want_r;
        unsigned want_max;
        enum retry_mode want_mode;
        const char *want_in_err; /* for failures: text the message must contain */
};

static const struct env_case env_cases[] = {
    {NULL, NULL, 0, 3, RETRY_MODE_STANDARD, NULL},
    {"", "", 0, 3, RETRY_MODE_STANDARD, NULL},
    {"1", NULL, 0, 1, RETRY_MODE_STANDARD, NULL},
    {"5", "standard", 0, 5, RETRY_MODE_STANDARD, NULL},
    {"10", "adaptive", 0, 10, RETRY_MODE_ADAPTIVE, NULL},
    {"007", "legacy", 0, 7, RETRY_MODE_LEGACY, NULL},
    {"4294967295", "STANDARD", 0, 4294967295u, RETRY_MODE_STANDARD, NULL},
    {NULL, "Adaptive", 0, 3, RETRY_MODE_ADAPTIVE, NULL},
    {"0", NULL, -EINVAL, 0, 0, "AWS_MAX_ATTEMPTS: '0'"},
    {"-1", NULL, -EINVAL, 0, 0, "AWS_MAX_ATTEMPTS: '-1'"},
    {"abc", NULL, -EINVAL, 0, 0, "AWS_MAX_ATTEMPTS: 'abc'"},
    {"3x", NULL, -EINVAL, 0, 0, "AWS_MAX_ATTEMPTS: '3x'"},
    {" 3", NULL, -EINVAL, 0, 0, "AWS_MAX_ATTEMPTS: ' 3'"},
    {"3.0", NULL, -EINVAL, 0, 0, "AWS_MAX_ATTEMPTS: '3.0'"},
    {"+3", NULL, -EINVAL, 0, 0, "AWS_MAX_ATTEMPTS: '+3'"},
    {"4294967296", NULL, -EINVAL, 0, 0, "AWS_MAX_ATTEMPTS: '4294967296'"},
    {"99999999999999999999999", NULL, -EINVAL, 0, 0, "AWS_MAX_ATTEMPTS"},
    {"3", "fast", -EINVAL, 0, 0, "AWS_RETRY_MODE: unknown mode 'fast'"},
    {NULL, "standard ", -EINVAL, 0, 0, "AWS_RETRY_MODE: unknown mode 'standard '"},
    {"2", "standard-ish", -EINVAL, 0, 0, "expected standard, legacy or adaptive"},
};

static void test_env(void)
{
        for (size_t i = 0; i < sizeof(env_cases) / sizeof(*env_cases); i++) {
                const struct env_case *c = &env_cases[i];
                struct retry_config cfg = {.max_attempts = 12345, .mode = RETRY_MODE_LEGACY};
                char err[256] = "";
                int before = test_failed_checks;
                int r = retry_config_from_env(c->max_attempts, c->mode, &cfg, err, sizeof(err));
                ASSERT_EQ_INT(r, c->want_r);
                if (c->want_r == 0) {
                        ASSERT_EQ_INT(cfg.max_attempts, c->want_max);
                        ASSERT_EQ_INT(cfg.mode, c->want_mode);
                        ASSERT_STREQ(err, "");
                } else {
                        ASSERT_EQ_INT(cfg.max_attempts, 12345);
                        ASSERT_TRUE(strstr(err, c->want_in_err) != NULL);
                }
                if (test_failed_checks != before)
                        fprintf(stderr, "  env case %zu: \"%s\" / \"%s\": %s\n", i,
                                c->max_attempts ? c->max_attempts : "(unset)",
                                c->mode ? c->mode : "(unset)", err);
        }
        ASSERT_STREQ(retry_mode_name(RETRY_MODE_ADAPTIVE), "adaptive");
        ASSERT_STREQ(retry_class_name(RETRY_CLASS_SKEW_POSSIBLE), "possible clock skew");
}

int main(void)
{
        test_classify();
        test_backoff();
        test_loops();
        test_quota_exhaustion_and_refill();
        test_env();
        return test_summary("test_retry");
}
