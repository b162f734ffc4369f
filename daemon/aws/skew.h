/* Clock-skew correction. SigV4 signatures carry their time, and AWS refuses a request signed
 * more than about five minutes away from its own clock. A host whose clock is off therefore
 * learns the offset from the Date header of responses and signs at client time + offset, as the
 * AWS SDKs do. One struct skew serves a whole client (every request to the same service).
 * Pure: every time is an argument, in Unix seconds of the client's wall clock. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "retry.h"

/* A response whose round trip took longer than this gives no sample: the server wrote its Date
 * somewhere inside the round trip, so the sample may be off by up to half of it, and a sample
 * off by minutes would do more harm than none. */
#define SKEW_MAX_TRUSTED_ROUND_TRIP_S 60
/* A signature error is blamed on the clock only when the offset exceeds this (SigV4 allows
 * five minutes either way). */
#define SKEW_POSSIBLE_THRESHOLD_S 240

struct skew {
        int64_t offset_s; /* server clock minus client clock; zero-initialised means none */
};

/* The signing time for a request sent at client_time. */
int64_t skew_apply(const struct skew *s, int64_t client_time);

/* Parses an HTTP Date value in any of the three forms HTTP allows: IMF-fixdate
 * ("Thu, 01 Jan 2026 00:05:01 GMT"), RFC 850 ("Thursday, 01-Jan-26 00:05:01 GMT") and asctime
 * ("Thu Jan  1 00:05:01 2026"). Names match in any letter case, surrounding whitespace is
 * ignored, and the weekday is not checked against the date. A two-digit RFC 850 year is placed
 * as RFC 9110 says: the most recent matching year not more than 50 years after reference_time.
 * Returns 0 and the Unix time in *ret, or -EINVAL (*ret untouched). */
int skew_parse_http_date(const char *text, int64_t reference_time, int64_t *ret);

/* One response, as the HTTP layer saw it. */
struct skew_response {
        int64_t sent;     /* client time when the request was sent */
        int64_t received; /* client time when the response arrived */
        const char *date; /* the Date header, NULL when absent */
        const char *age;  /* the Age header, NULL when absent */
};

enum skew_sample {
        SKEW_SAMPLE_RECORDED, /* the offset now follows this response */
        SKEW_SAMPLE_NO_DATE,  /* no Date header */
        SKEW_SAMPLE_BAD_DATE, /* a Date header that does not parse */
        SKEW_SAMPLE_CACHED,   /* an Age header: the Date is a cache's, not the server's clock */
        SKEW_SAMPLE_SLOW,     /* round trip negative or longer than the trusted maximum */
};

/* Learns from a response, success or error: offset = Date - midpoint(sent, received), whole
 * seconds, replacing the previous offset (a stale offset is corrected as soon as a response
 * shows it). Responses without a usable Date, cached ones and slow ones leave the offset
 * alone. Borrows r. */
enum skew_sample skew_observe(struct skew *s, const struct skew_response *r);

/* Whether a failed attempt of class cls, whose response skew_observe() judged as sample,
 * should be retried at once with the corrected clock: only when that response just set the
 * offset (without a fresh Date the retry would be signed exactly as wrongly), and then always
 * for a definite skew error, and for a possible one only when the offset exceeds
 * SKEW_POSSIBLE_THRESHOLD_S either way. */
bool skew_retry_candidate(const struct skew *s, enum retry_class cls, enum skew_sample sample);
