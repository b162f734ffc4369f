/* The AWS SDKs' "standard" retry mode, as pure decisions: which failures are worth another
 * attempt, how long to wait (full jitter), and the client-wide retry quota that stops a
 * struggling service from being hammered. The caller runs the loop, supplies the randomness and
 * does the waiting; nothing here reads a clock or keeps global state. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "http.h"

#define RETRY_DEFAULT_MAX_ATTEMPTS 3
#define RETRY_MAX_BACKOFF_S 20.0
#define RETRY_QUOTA_MAX 500
#define RETRY_COST 5
#define RETRY_TIMEOUT_COST 10
#define RETRY_SUCCESS_INCREMENT 1

/* AWS_RETRY_MODE. Every mode behaves as standard: adaptive's client-side rate limiting is not
 * implemented, and legacy is kept only so that a shared environment does not fail start-up.
 * So DynamoDB gets no legacy settings either (botocore's _retry.json: 10 attempts, 50 ms
 * doubling): botocore's standard mode gives it the same 3 attempts and backoff as any service,
 * and a lease holder must learn within a fraction of its lease whether a renewal went
 * through, where 10 attempts could wait 25 s. What standard mode does for DynamoDB alone, the
 * check of x-amz-crc32, is the JSON engine's (aws_json.h). */
enum retry_mode {
        RETRY_MODE_STANDARD,
        RETRY_MODE_LEGACY,
        RETRY_MODE_ADAPTIVE,
};

struct retry_config {
        unsigned max_attempts; /* first attempt included; at least 1 */
        enum retry_mode mode;
};

/* Builds the configuration from the values of AWS_MAX_ATTEMPTS and AWS_RETRY_MODE (NULL or
 * empty when unset: 3 attempts, standard). max_attempts must be a decimal number of at least
 * 1 (digits only); the mode is standard, legacy or adaptive, in any letter case. Borrows its
 * arguments. Returns 0, or -EINVAL with a one-line message in err naming the variable and the
 * rejected value; *ret is untouched on failure. */
int retry_config_from_env(const char *max_attempts, const char *mode, struct retry_config *ret,
                          char *err, size_t err_size);

const char *retry_mode_name(enum retry_mode mode);

enum retry_class {
        RETRY_CLASS_SUCCESS,             /* a 2xx response */
        RETRY_CLASS_NOT_RETRYABLE,       /* the error is the answer */
        RETRY_CLASS_TRANSIENT,           /* 500/502/503/504, connection lost or refused */
        RETRY_CLASS_THROTTLING,          /* the service asked us to slow down */
        RETRY_CLASS_TIMEOUT,             /* our timeout, or the service's request timeout */
        RETRY_CLASS_EXPIRED_CREDENTIALS, /* refresh the credentials, then retry */
        RETRY_CLASS_SKEW_DEFINITE,       /* the service says our clock is off */
        RETRY_CLASS_SKEW_POSSIBLE,       /* a signature error that a wrong clock also causes */
        RETRY_CLASS_TRY_LATER,           /* AppStream's ConcurrentModificationException */
};

/* Classifies one attempt's outcome: the transport result, the HTTP status (used only when
 * failure is HTTP_OK) and the AWS error code from the body or x-amzn-ErrorType, without any
 * "namespace#" prefix (NULL when none). The error code wins over the status, so a 503 SlowDown
 * is throttling and a 400 RequestTimeout a timeout.
 *
 * A name that does not resolve (HTTP_ERR_RESOLVE) is not retried: the transport cannot tell a
 * passing resolver hiccup from a wrong region or endpoint, and the AWS SDKs do not retry a name
 * that does not exist; the reconciler's next poll tries again anyway. TLS failures, an
 * oversized response and cancellation are not retried either. */
enum retry_class retry_classify(enum http_failure failure, long status, const char *error_code);

const char *retry_class_name(enum retry_class cls);

/* The client-wide retry quota ("retry tokens"). Zero-initialised is not valid: use
 * retry_quota_init(). */
struct retry_quota {
        unsigned available;
};

void retry_quota_init(struct retry_quota *q);

/* One operation's retry loop. Zero-initialise before the first attempt. */
struct retry_operation {
        unsigned attempts;  /* attempts whose outcome has been decided */
        unsigned held_cost; /* quota taken for the retry now in flight; refunded on success */
};

enum retry_action {
        RETRY_ACTION_DONE,  /* success: the operation is over */
        RETRY_ACTION_RETRY, /* attempt again after delay_s */
        RETRY_ACTION_FAIL,  /* give up and report the error */
        RETRY_ACTION_LATER, /* not an error of ours: hand the builder back to the reconciler */
};

enum retry_stop {
        RETRY_STOP_NONE,          /* retrying, or nothing to stop */
        RETRY_STOP_NOT_RETRYABLE, /* the class is never retried */
        RETRY_STOP_MAX_ATTEMPTS,  /* the attempts are used up */
        RETRY_STOP_QUOTA,         /* the retry quota cannot pay for another retry */
        RETRY_STOP_NOT_SKEW,      /* a skew error the response does not let us correct */
};

struct retry_decision {
        enum retry_action action;
        enum retry_stop stop;     /* why a retryable class was not retried */
        double delay_s;           /* for RETRY_ACTION_RETRY */
        bool refresh_credentials; /* fetch new credentials before the retry */
};

/* Decides what follows one attempt of op whose outcome is cls. skew_candidate says whether
 * the clock-skew module judged a skew error correctable (see skew_retry_candidate()); it is
 * ignored for other classes. random01 is a uniform random number in [0, 1).
 *
 * Success refunds the quota taken for the retry that succeeded, or adds
 * RETRY_SUCCESS_INCREMENT when the first attempt succeeded (never above RETRY_QUOTA_MAX).
 * A retry takes RETRY_COST from the quota (RETRY_TIMEOUT_COST after a timeout) and is refused
 * when the quota cannot pay. Retries wait random01 * min(2^(n-1), 20) seconds before retry n,
 * except a skew retry, which goes at once: the clock offset, not the service, was at fault.
 * ConcurrentModificationException is handed back (RETRY_ACTION_LATER) without touching the
 * quota. Borrows cfg; updates *quota and *op; fills *ret. */
void retry_decide(const struct retry_config *cfg, struct retry_quota *quota,
                  struct retry_operation *op, enum retry_class cls, bool skew_candidate,
                  double random01, struct retry_decision *ret);

/* The full-jitter delay before retry n (n counted from 1): random01 * min(2^(n-1), 20), in
 * seconds. n = 0 counts as 1; random01 outside [0, 1] (or NaN) is clamped to that range. */
double retry_backoff_s(unsigned retry, double random01);
