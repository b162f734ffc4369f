/* Standard retry mode, as the AWS SDKs specify it (and botocore's retries/standard.py and
 * aws-sdk-go-v2's aws/retry implement it). */
#include "retry.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* botocore's list (retries/standard.py), which holds DynamoDB's own throttling answers:
 * ProvisionedThroughputExceededException and RequestLimitExceeded (a table's or an account's
 * throughput), ThrottlingException (the control plane), LimitExceededException (too many
 * control-plane operations at once) and TransactionInProgressException (an earlier request
 * with the same client token is still running, which botocore's legacy DynamoDB policy
 * "still_processing" also retries). */
static const char *const throttling_codes[] = {
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottledException",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "TransactionInProgressException",
    "RequestLimitExceeded",
    "BandwidthLimitExceeded",
    "LimitExceededException",
    "RequestThrottled",
    "SlowDown",
    "PriorRequestNotComplete",
    "EC2ThrottledException",
    "RequestLimitExceededException", /* AppStream */
};

static const char *const timeout_codes[] = {"RequestTimeout", "RequestTimeoutException"};
static const char *const expired_codes[] = {"ExpiredTokenException", "ExpiredToken"};
static const char *const skew_definite_codes[] = {"RequestTimeTooSkewed", "RequestExpired",
                                                  "RequestInTheFuture"};
static const char *const skew_possible_codes[] = {"InvalidSignatureException",
                                                  "SignatureDoesNotMatch", "AuthFailure"};
static const char *const try_later_codes[] = {"ConcurrentModificationException"};

#define IN_LIST(code, list) in_list(code, list, sizeof(list) / sizeof(*(list)))

static bool in_list(const char *code, const char *const *list, size_t n)
{
        for (size_t i = 0; i < n; i++)
                if (strcmp(code, list[i]) == 0)
                        return true;
        return false;
}

static enum retry_class classify_code(const char *code)
{
        if (IN_LIST(code, throttling_codes))
                return RETRY_CLASS_THROTTLING;
        if (IN_LIST(code, timeout_codes))
                return RETRY_CLASS_TIMEOUT;
        if (IN_LIST(code, expired_codes))
                return RETRY_CLASS_EXPIRED_CREDENTIALS;
        if (IN_LIST(code, skew_definite_codes))
                return RETRY_CLASS_SKEW_DEFINITE;
        if (IN_LIST(code, skew_possible_codes))
                return RETRY_CLASS_SKEW_POSSIBLE;
        if (IN_LIST(code, try_later_codes))
                return RETRY_CLASS_TRY_LATER;
        return RETRY_CLASS_NOT_RETRYABLE;
}

static enum retry_class classify_transport(enum http_failure failure)
{
        switch (failure) {
        case HTTP_ERR_CONNECT:
        case HTTP_ERR_TRANSFER:
                return RETRY_CLASS_TRANSIENT;
        case HTTP_ERR_TIMEOUT:
                return RETRY_CLASS_TIMEOUT;
        case HTTP_OK:
        case HTTP_ERR_RESOLVE:
        case HTTP_ERR_TLS:
        case HTTP_ERR_TOO_LARGE:
        case HTTP_ERR_CANCELLED:
                break;
        }
        return RETRY_CLASS_NOT_RETRYABLE;
}

enum retry_class retry_classify(enum http_failure failure, long status, const char *error_code)
{
        if (failure != HTTP_OK)
                return classify_transport(failure);
        if (status >= 200 && status < 300)
                return RETRY_CLASS_SUCCESS;
        if (error_code && *error_code) {
                enum retry_class cls = classify_code(error_code);
                if (cls != RETRY_CLASS_NOT_RETRYABLE)
                        return cls;
        }
        if (status == 500 || status == 502 || status == 503 || status == 504)
                return RETRY_CLASS_TRANSIENT;
        return RETRY_CLASS_NOT_RETRYABLE;
}

const char *retry_class_name(enum retry_class cls)
{
        switch (cls) {
        case RETRY_CLASS_SUCCESS:
                return "success";
        case RETRY_CLASS_NOT_RETRYABLE:
                return "not retryable";
        case RETRY_CLASS_TRANSIENT:
                return "transient";
        case RETRY_CLASS_THROTTLING:
                return "throttling";
        case RETRY_CLASS_TIMEOUT:
                return "timeout";
        case RETRY_CLASS_EXPIRED_CREDENTIALS:
                return "expired credentials";
        case RETRY_CLASS_SKEW_DEFINITE:
                return "clock skew";
        case RETRY_CLASS_SKEW_POSSIBLE:
                return "possible clock skew";
        case RETRY_CLASS_TRY_LATER:
                return "try later";
        }
        return "unknown";
}

/* ---- configuration ---- */

static int parse_max_attempts(const char *text, unsigned *ret)
{
        unsigned long v = 0;

        for (const char *p = text; *p; p++) {
                if (*p < '0' || *p > '9')
                        return -EINVAL;
                v = v * 10 + (unsigned long)(*p - '0');
                if (v > UINT_MAX)
                        return -EINVAL;
        }
        if (v < 1)
                return -EINVAL;
        *ret = (unsigned)v;
        return 0;
}

static const char *const mode_names[] = {
    [RETRY_MODE_STANDARD] = "standard",
    [RETRY_MODE_LEGACY] = "legacy",
    [RETRY_MODE_ADAPTIVE] = "adaptive",
};

const char *retry_mode_name(enum retry_mode mode)
{
        return (size_t)mode < sizeof(mode_names) / sizeof(*mode_names) ? mode_names[mode]
                                                                       : "unknown";
}

int retry_config_from_env(const char *max_attempts, const char *mode, struct retry_config *ret,
                          char *err, size_t err_size)
{
        struct retry_config c = {.max_attempts = RETRY_DEFAULT_MAX_ATTEMPTS,
                                 .mode = RETRY_MODE_STANDARD};

        if (max_attempts && *max_attempts && parse_max_attempts(max_attempts, &c.max_attempts)) {
                snprintf(err, err_size,
                         "AWS_MAX_ATTEMPTS: '%s' is not a whole number of at least 1",
                         max_attempts);
                return -EINVAL;
        }
        if (mode && *mode) {
                size_t i = 0;
                while (i < sizeof(mode_names) / sizeof(*mode_names) &&
                       strcasecmp(mode, mode_names[i]) != 0)
                        i++;
                if (i == sizeof(mode_names) / sizeof(*mode_names)) {
                        snprintf(err, err_size,
                                 "AWS_RETRY_MODE: unknown mode '%s' (expected standard, legacy "
                                 "or adaptive)",
                                 mode);
                        return -EINVAL;
                }
                c.mode = (enum retry_mode)i;
        }
        *ret = c;
        return 0;
}

/* ---- quota and decisions ---- */

void retry_quota_init(struct retry_quota *q)
{
        q->available = RETRY_QUOTA_MAX;
}

static void quota_add(struct retry_quota *q, unsigned amount)
{
        q->available =
            q->available + amount > RETRY_QUOTA_MAX ? RETRY_QUOTA_MAX : q->available + amount;
}

double retry_backoff_s(unsigned retry, double random01)
{
        double cap = RETRY_MAX_BACKOFF_S;

        if (isnan(random01) || random01 < 0)
                random01 = 0;
        if (random01 > 1)
                random01 = 1;
        /* 2^(n-1) first passes the cap at n = 6; stop doubling there */
        if (retry <= 5)
                cap = retry ? (double)(1u << (retry - 1)) : 1;
        return random01 * cap;
}

static bool class_retryable(enum retry_class cls)
{
        switch (cls) {
        case RETRY_CLASS_TRANSIENT:
        case RETRY_CLASS_THROTTLING:
        case RETRY_CLASS_TIMEOUT:
        case RETRY_CLASS_EXPIRED_CREDENTIALS:
        case RETRY_CLASS_SKEW_DEFINITE:
        case RETRY_CLASS_SKEW_POSSIBLE:
                return true;
        case RETRY_CLASS_SUCCESS:
        case RETRY_CLASS_NOT_RETRYABLE:
        case RETRY_CLASS_TRY_LATER:
                break;
        }
        return false;
}

static bool is_skew(enum retry_class cls)
{
        return cls == RETRY_CLASS_SKEW_DEFINITE || cls == RETRY_CLASS_SKEW_POSSIBLE;
}

static enum retry_stop retry_obstacle(const struct retry_config *cfg,
                                      const struct retry_quota *quota,
                                      const struct retry_operation *op, enum retry_class cls,
                                      bool skew_candidate, unsigned cost)
{
        if (!class_retryable(cls))
                return RETRY_STOP_NOT_RETRYABLE;
        if (is_skew(cls) && !skew_candidate)
                return RETRY_STOP_NOT_SKEW;
        if (op->attempts >= cfg->max_attempts)
                return RETRY_STOP_MAX_ATTEMPTS;
        if (quota->available < cost)
                return RETRY_STOP_QUOTA;
        return RETRY_STOP_NONE;
}

void retry_decide(const struct retry_config *cfg, struct retry_quota *quota,
                  struct retry_operation *op, enum retry_class cls, bool skew_candidate,
                  double random01, struct retry_decision *ret)
{
        unsigned cost = cls == RETRY_CLASS_TIMEOUT ? RETRY_TIMEOUT_COST : RETRY_COST;

        *ret = (struct retry_decision){.action = RETRY_ACTION_FAIL};
        op->attempts++;
        if (cls == RETRY_CLASS_SUCCESS) {
                quota_add(quota, op->held_cost ? op->held_cost : RETRY_SUCCESS_INCREMENT);
                op->held_cost = 0;
                ret->action = RETRY_ACTION_DONE;
                return;
        }
        if (cls == RETRY_CLASS_TRY_LATER) {
                ret->action = RETRY_ACTION_LATER;
                return;
        }
        ret->stop = retry_obstacle(cfg, quota, op, cls, skew_candidate, cost);
        if (ret->stop != RETRY_STOP_NONE)
                return;

        quota->available -= cost;
        op->held_cost = cost;
        ret->action = RETRY_ACTION_RETRY;
        ret->delay_s = is_skew(cls) ? 0 : retry_backoff_s(op->attempts, random01);
        ret->refresh_credentials = cls == RETRY_CLASS_EXPIRED_CREDENTIALS;
}
