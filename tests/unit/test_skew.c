/* Clock skew: HTTP date parsing, offset samples, and the cross-SDK clock-skew cases
 * (aws-sdk-go-v2's clock-skew-test-cases) replayed through a simulated client retry loop that
 * uses the retry, skew and sigv4 modules together. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "retry.h"
#include "sigv4.h"
#include "skew.h"
#include "test.h"

#define JAN_1_2026 INT64_C(1767225600)

/* ---- HTTP dates ---- */

struct date_case {
        const char *text;
        int64_t reference; /* for two-digit years */
        int want_r;
        int64_t want;
};

static const struct date_case date_cases[] = {
    {"Thu, 01 Jan 2026 00:05:01 GMT", JAN_1_2026, 0, JAN_1_2026 + 301},
    {"Thursday, 01-Jan-26 00:05:01 GMT", JAN_1_2026, 0, JAN_1_2026 + 301},
    {"Thu Jan  1 00:05:01 2026", JAN_1_2026, 0, JAN_1_2026 + 301},
    {"Sun, 06 Nov 1994 08:49:37 GMT", JAN_1_2026, 0, 784111777},
    {"Sunday, 06-Nov-94 08:49:37 GMT", JAN_1_2026, 0, 784111777},
    {"Sunday, 06-Nov-1994 08:49:37 GMT", JAN_1_2026, 0, 784111777},
    {"Sun Nov  6 08:49:37 1994", JAN_1_2026, 0, 784111777},
    {"Wed Nov 16 08:49:37 1994", JAN_1_2026, 0, 784975777},
    {"Sun Nov 6 08:49:37 1994", JAN_1_2026, 0, 784111777},
    /* two-digit years: at most 50 years ahead of the reference, else the century before */
    {"Wednesday, 01-Jan-76 00:00:00 GMT", JAN_1_2026, 0, 3345062400},
    {"Saturday, 01-Jan-77 00:00:00 GMT", JAN_1_2026, 0, 220924800},
    {"Saturday, 01-Jan-77 00:00:00 GMT", 0, 0, 220924800},
    {"Saturday, 01-Jan-00 00:00:00 GMT", 0, 0, 946684800},
    {"Saturday, 01-Jan-00 00:00:00 GMT", JAN_1_2026, 0, 946684800},
    {"Friday, 01-Jan-99 00:00:00 GMT", JAN_1_2026, 0, 915148800},
    /* letter case and surrounding whitespace */
    {"thu, 01 JAN 2026 00:05:01 gmt", JAN_1_2026, 0, JAN_1_2026 + 301},
    {" \tThu, 01 Jan 2026 00:05:01 GMT\t ", JAN_1_2026, 0, JAN_1_2026 + 301},
    {"Thu, 1 Jan 2026 00:05:01 GMT", JAN_1_2026, 0, JAN_1_2026 + 301},
    /* the weekday is not checked against the date */
    {"Mon, 01 Jan 2026 00:05:01 GMT", JAN_1_2026, 0, JAN_1_2026 + 301},
    /* calendar */
    {"Thu, 29 Feb 2024 12:00:00 GMT", JAN_1_2026, 0, 1709208000},
    {"Tue, 29 Feb 2000 12:00:00 GMT", JAN_1_2026, 0, 951825600},
    {"Wed, 31 Dec 2025 23:59:60 GMT", JAN_1_2026, 0, JAN_1_2026},
    {"Sat, 29 Feb 2025 12:00:00 GMT", JAN_1_2026, -EINVAL, 0},
    {"Mon, 29 Feb 2100 12:00:00 GMT", JAN_1_2026, -EINVAL, 0},
    {"Thu, 31 Apr 2026 00:00:00 GMT", JAN_1_2026, -EINVAL, 0},
    {"Thu, 00 Jan 2026 00:00:00 GMT", JAN_1_2026, -EINVAL, 0},
    {"Thu, 32 Jan 2026 00:00:00 GMT", JAN_1_2026, -EINVAL, 0},
    {"Thu, 01 Jan 2026 24:00:00 GMT", JAN_1_2026, -EINVAL, 0},
    {"Thu, 01 Jan 2026 00:60:00 GMT", JAN_1_2026, -EINVAL, 0},
    {"Thu, 01 Jan 2026 00:00:61 GMT", JAN_1_2026, -EINVAL, 0},
    /* malformed */
    {"", JAN_1_2026, -EINVAL, 0},
    {"   ", JAN_1_2026, -EINVAL, 0},
    {"garbage", JAN_1_2026, -EINVAL, 0},
    {"1767225901", JAN_1_2026, -EINVAL, 0},
    {"2026-01-01T00:05:01Z", JAN_1_2026, -EINVAL, 0},
    {"Thu, 01 Jan 2026 00:05:01", JAN_1_2026, -EINVAL, 0},
    {"Thu, 01 Jan 2026 00:05:01 UTC", JAN_1_2026, -EINVAL, 0},
    {"Thu, 01 Jan 2026 00:05:01 GMT+1", JAN_1_2026, -EINVAL, 0},
    {"Thu, 01 Jan 2026 00:05:01 GMT x", JAN_1_2026, -EINVAL, 0},
    {"Thu, 01 Foo 2026 00:05:01 GMT", JAN_1_2026, -EINVAL, 0},
    {"Thu, 01 Jan 26 00:05:01 GMT", JAN_1_2026, -EINVAL, 0},
    {"Thu, 001 Jan 2026 00:05:01 GMT", JAN_1_2026, -EINVAL, 0},
    {"Thu, 01 Jan 2026 0:05:01 GMT", JAN_1_2026, -EINVAL, 0},
    {"Thu,  01 Jan 2026 00:05:01 GMT", JAN_1_2026, -EINVAL, 0},
    {"Thu 01 Jan 2026 00:05:01 GMT", JAN_1_2026, -EINVAL, 0},
    {"Xyz, 01 Jan 2026 00:05:01 GMT", JAN_1_2026, -EINVAL, 0},
    {"Thursday, 01 Jan 2026 00:05:01 GMT", JAN_1_2026, -EINVAL, 0},
    {"Thursday, 01-Jan-202 00:05:01 GMT", JAN_1_2026, -EINVAL, 0},
    {"Thu, 01-Jan-26 00:05:01 GMT", JAN_1_2026, -EINVAL, 0},
    {"Thu Jan  1 00:05:01 26", JAN_1_2026, -EINVAL, 0},
    {"Thu Jan   1 00:05:01 2026", JAN_1_2026, -EINVAL, 0},
    {"Thu Jan  1 00:05:01 2026 GMT", JAN_1_2026, -EINVAL, 0},
};

static void test_parse_dates(void)
{
        for (size_t i = 0; i < sizeof(date_cases) / sizeof(*date_cases); i++) {
                const struct date_case *c = &date_cases[i];
                int64_t got = -1;
                int before = test_failed_checks;
                ASSERT_EQ_INT(skew_parse_http_date(c->text, c->reference, &got), c->want_r);
                ASSERT_EQ_INT(got, c->want_r == 0 ? c->want : -1);
                if (test_failed_checks != before)
                        fprintf(stderr, "  date \"%s\"\n", c->text);
        }
        int64_t t = -1;
        ASSERT_EQ_INT(skew_parse_http_date(NULL, JAN_1_2026, &t), -EINVAL);
        ASSERT_EQ_INT(t, -1);
}

/* ---- samples ---- */

struct sample_case {
        int64_t sent, received;
        const char *date, *age;
        enum skew_sample want;
        int64_t want_offset; /* starting from an offset of 7 */
};

static const struct sample_case sample_cases[] = {
    {0, 2, "Thu, 01 Jan 2026 00:05:01 GMT", NULL, SKEW_SAMPLE_RECORDED, 300},
    {0, 3, "Thu, 01 Jan 2026 00:05:01 GMT", NULL, SKEW_SAMPLE_RECORDED, 300},
    {0, 0, "Wed, 31 Dec 2025 23:55:00 GMT", NULL, SKEW_SAMPLE_RECORDED, -300},
    {0, 60, "Thu, 01 Jan 2026 00:00:30 GMT", NULL, SKEW_SAMPLE_RECORDED, 0},
    {0, 61, "Thu, 01 Jan 2026 00:00:30 GMT", NULL, SKEW_SAMPLE_SLOW, 7},
    {10, 9, "Thu, 01 Jan 2026 00:00:30 GMT", NULL, SKEW_SAMPLE_SLOW, 7},
    {0, 2, NULL, NULL, SKEW_SAMPLE_NO_DATE, 7},
    {0, 2, "yesterday", NULL, SKEW_SAMPLE_BAD_DATE, 7},
    {0, 2, "Thu, 01 Jan 2026 00:05:01 GMT", "0", SKEW_SAMPLE_CACHED, 7},
    {0, 2, "Thu, 01 Jan 2026 00:05:01 GMT", "17280", SKEW_SAMPLE_CACHED, 7},
};

static void test_samples(void)
{
        for (size_t i = 0; i < sizeof(sample_cases) / sizeof(*sample_cases); i++) {
                const struct sample_case *c = &sample_cases[i];
                struct skew s = {7};
                struct skew_response r = {JAN_1_2026 + c->sent, JAN_1_2026 + c->received, c->date,
                                          c->age};
                int before = test_failed_checks;
                ASSERT_EQ_INT(skew_observe(&s, &r), c->want);
                ASSERT_EQ_INT(s.offset_s, c->want_offset);
                if (test_failed_checks != before)
                        fprintf(stderr, "  sample case %zu\n", i);
        }
}

static void test_candidates(void)
{
        static const struct {
                int64_t offset;
                enum retry_class cls;
                enum skew_sample sample;
                bool want;
        } cases[] = {
            {0, RETRY_CLASS_SKEW_DEFINITE, SKEW_SAMPLE_RECORDED, true},
            {300, RETRY_CLASS_SKEW_DEFINITE, SKEW_SAMPLE_RECORDED, true},
            {300, RETRY_CLASS_SKEW_DEFINITE, SKEW_SAMPLE_NO_DATE, false},
            {300, RETRY_CLASS_SKEW_DEFINITE, SKEW_SAMPLE_BAD_DATE, false},
            {300, RETRY_CLASS_SKEW_DEFINITE, SKEW_SAMPLE_CACHED, false},
            {300, RETRY_CLASS_SKEW_DEFINITE, SKEW_SAMPLE_SLOW, false},
            {240, RETRY_CLASS_SKEW_POSSIBLE, SKEW_SAMPLE_RECORDED, false},
            {241, RETRY_CLASS_SKEW_POSSIBLE, SKEW_SAMPLE_RECORDED, true},
            {-240, RETRY_CLASS_SKEW_POSSIBLE, SKEW_SAMPLE_RECORDED, false},
            {-241, RETRY_CLASS_SKEW_POSSIBLE, SKEW_SAMPLE_RECORDED, true},
            {900, RETRY_CLASS_SKEW_POSSIBLE, SKEW_SAMPLE_NO_DATE, false},
            {900, RETRY_CLASS_THROTTLING, SKEW_SAMPLE_RECORDED, false},
            {900, RETRY_CLASS_NOT_RETRYABLE, SKEW_SAMPLE_RECORDED, false},
        };

        for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
                struct skew s = {cases[i].offset};
                ASSERT_EQ_INT(skew_retry_candidate(&s, cases[i].cls, cases[i].sample),
                              cases[i].want);
        }
}

/* ---- the cross-SDK cases ---- */

/* One scripted attempt: client times ("HH:MM:SS" on 2026-01-01, client clock), the signing
 * time the client must use, and the response the server gives. */
struct attempt_spec {
        const char *send, *recv, *signing;
        long status;
        const char *code; /* AWS error code, NULL on success */
        const char *date; /* Date header, NULL when absent */
        const char *age;  /* Age header, NULL when absent */
};

struct op_spec {
        struct attempt_spec attempts[3];
        size_t n_attempts;
        int64_t want_skew; /* after the operation */
        bool want_success;
};

struct skew_case {
        const char *name;
        unsigned max_attempts;
        int64_t initial_skew;
        struct op_spec ops[2];
        size_t n_ops;
};

static const struct skew_case skew_cases[] = {
    {"1 clocks agree",
     3,
     0,
     {{{{"00:00:00", "00:00:02", "00:00:00", 200, NULL, "Thu, 01 Jan 2026 00:00:01 GMT", NULL}},
       1,
       0,
       true}},
     1},
    {"2 definite skew error, retry succeeds, skew persists",
     3,
     0,
     {{{{"00:00:00", "00:00:02", "00:00:00", 403, "RequestTimeTooSkewed",
         "Thu, 01 Jan 2026 00:05:01 GMT", NULL},
        {"00:00:02", "00:00:04", "00:05:02", 200, NULL, "Thu, 01 Jan 2026 00:05:03 GMT", NULL}},
       2,
       300,
       true},
      {{{"00:01:00", "00:01:02", "00:06:00", 200, NULL, "Thu, 01 Jan 2026 00:06:01 GMT", NULL}},
       1,
       300,
       true}},
     2},
    {"3 one attempt allowed: skew recorded, error returned",
     1,
     0,
     {{{{"00:00:00", "00:00:02", "00:00:00", 403, "RequestTimeTooSkewed",
         "Thu, 01 Jan 2026 00:05:01 GMT", NULL}},
       1,
       300,
       false}},
     1},
    {"4 a slow response does not update the skew",
     3,
     0,
     {{{{"00:00:00", "00:16:00", "00:00:00", 200, NULL, "Thu, 01 Jan 2026 00:10:00 GMT", NULL}},
       1,
       0,
       true},
      {{{"00:17:00", "00:17:02", "00:17:00", 200, NULL, "Thu, 01 Jan 2026 00:22:01 GMT", NULL}},
       1,
       300,
       true}},
     2},
    {"5 a stale skew is corrected silently",
     3,
     300,
     {{{{"00:00:00", "00:00:02", "00:05:00", 200, NULL, "Thu, 01 Jan 2026 00:00:01 GMT", NULL}},
       1,
       0,
       true}},
     1},
    {"6 possible skew error below the threshold is not retried",
     3,
     0,
     {{{{"00:00:00", "00:00:02", "00:00:00", 400, "InvalidSignatureException",
         "Thu, 01 Jan 2026 00:02:01 GMT", NULL}},
       1,
       120,
       false}},
     1},
    {"7 possible skew error above the threshold is retried",
     3,
     0,
     {{{{"00:00:00", "00:00:02", "00:00:00", 400, "InvalidSignatureException",
         "Thursday, 01-Jan-26 00:05:01 GMT", NULL},
        {"00:00:02", "00:00:04", "00:05:02", 200, NULL, "Thu Jan  1 00:05:03 2026", NULL}},
       2,
       300,
       true}},
     1},
    {"8 skew error without a Date is not retried",
     3,
     0,
     {{{{"00:00:00", "00:00:02", "00:00:00", 403, "RequestTimeTooSkewed", NULL, NULL}},
       1,
       0,
       false}},
     1},
    {"9 a cached response does not update the skew",
     3,
     0,
     {{{{"16:51:00", "16:51:02", "16:51:00", 200, NULL, "Thu, 01 Jan 2026 12:03:01 GMT", "17280"}},
       1,
       0,
       true},
      {{{"16:51:10", "16:51:12", "16:51:10", 200, NULL, "Thu, 01 Jan 2026 16:56:11 GMT", NULL}},
       1,
       300,
       true}},
     2},
    {"10 a cached response does not poison the skew",
     3,
     0,
     {{{{"16:51:00", "16:51:02", "16:51:00", 200, NULL, "Thu, 01 Jan 2026 12:03:01 GMT", "17280"}},
       1,
       0,
       true},
      {{{"16:51:10", "16:51:12", "16:51:10", 200, NULL, "Thu, 01 Jan 2026 16:51:11 GMT", NULL}},
       1,
       0,
       true}},
     2},
};

static int64_t clock_time(const char *hms)
{
        int h = 0, m = 0, s = 0;
        if (sscanf(hms, "%2d:%2d:%2d", &h, &m, &s) != 3)
                return -1;
        return JAN_1_2026 + h * 3600 + m * 60 + s;
}

/* The X-Amz-Date the signer produces for this attempt must be the expected signing time. */
static void check_signed_date(int64_t signing, int64_t want)
{
        static const struct http_header headers[] = {
            {"Host", "appstream2.eu-central-1.amazonaws.com"},
            {"Content-Type", "application/x-amz-json-1.1"},
            {"X-Amz-Target", "PhotonAdminProxyService.DescribeImageBuilders"},
        };
        struct sigv4_request req = {"POST", "/", NULL, headers, 3, "{}", 2};
        struct sigv4_credentials creds = {"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                                          NULL};
        struct sigv4_params params = {
            .region = "eu-central-1", .service = "appstream", .time = signing, .normalize_path = true};
        struct sigv4_signature sig = {0};
        char want_date[SIGV4_AMZ_DATE_LEN + 1] = "";

        ASSERT_EQ_INT(sigv4_format_amz_date(want, want_date), 0);
        ASSERT_EQ_INT(sigv4_sign(&req, &creds, &params, &sig), 0);
        ASSERT_STREQ(sig.amz_date, want_date);
        sigv4_signature_clear(&sig);
}

/* The client's retry loop for one operation, against the scripted responses. Returns whether
 * the operation succeeded; every scripted attempt must be used, and no more. */
static bool run_operation(const struct op_spec *spec, const struct retry_config *cfg,
                          struct retry_quota *quota, struct skew *skew)
{
        struct retry_operation op = {0};
        struct retry_decision d = {.action = RETRY_ACTION_FAIL};
        size_t used = 0;

        while (used < spec->n_attempts) {
                const struct attempt_spec *a = &spec->attempts[used++];
                int64_t sent = clock_time(a->send);
                int64_t signing = skew_apply(skew, sent);
                ASSERT_EQ_INT(signing, clock_time(a->signing));
                check_signed_date(signing, clock_time(a->signing));

                struct skew_response r = {sent, clock_time(a->recv), a->date, a->age};
                enum skew_sample sample = skew_observe(skew, &r);
                enum retry_class cls = retry_classify(HTTP_OK, a->status, a->code);
                bool candidate = skew_retry_candidate(skew, cls, sample);
                retry_decide(cfg, quota, &op, cls, candidate, 0.5, &d);
                if (d.action != RETRY_ACTION_RETRY)
                        break;
                /* the scripted retry goes out when the response came in */
                ASSERT_TRUE(d.delay_s == 0);
        }
        ASSERT_EQ_INT(used, spec->n_attempts);
        ASSERT_TRUE(d.action != RETRY_ACTION_RETRY);
        return d.action == RETRY_ACTION_DONE;
}

static void test_cross_sdk_cases(void)
{
        for (size_t i = 0; i < sizeof(skew_cases) / sizeof(*skew_cases); i++) {
                const struct skew_case *c = &skew_cases[i];
                struct retry_config cfg = {.max_attempts = c->max_attempts};
                struct retry_quota quota;
                struct skew skew = {c->initial_skew};
                int before = test_failed_checks;

                retry_quota_init(&quota);
                for (size_t j = 0; j < c->n_ops; j++) {
                        bool ok = run_operation(&c->ops[j], &cfg, &quota, &skew);
                        ASSERT_EQ_INT(ok, c->ops[j].want_success);
                        ASSERT_EQ_INT(skew.offset_s, c->ops[j].want_skew);
                }
                if (test_failed_checks != before)
                        fprintf(stderr, "  in clock-skew case \"%s\"\n", c->name);
        }
}

int main(void)
{
        test_parse_dates();
        test_samples();
        test_candidates();
        test_cross_sdk_cases();
        return test_summary("test_skew");
}
