/* AWS Signature Version 4 for header-signed requests, on OpenSSL 3.
 *
 * The signature is built in stages that can each be checked on their own against the AWS test
 * suite: canonical request, string to sign, signing key, signature, Authorization header.
 * sigv4_sign() runs them all. Nothing here reads a clock: the signing time is always an
 * argument (Unix seconds, already corrected for clock skew). Secrets and the keys derived from
 * them are wiped from memory once used. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http.h"

#define SIGV4_ALGORITHM "AWS4-HMAC-SHA256"
#define SIGV4_HEX_LEN 64 /* a SHA-256 digest or a signature in lowercase hex */
#define SIGV4_KEY_LEN 32 /* a derived signing key */
#define SIGV4_AMZ_DATE_LEN 16

struct sigv4_credentials {
        const char *access_key_id;
        const char *secret_access_key;
        const char *session_token; /* NULL when none */
};

struct sigv4_request {
        const char *method;
        const char *path;                  /* as sent, e.g. "/" */
        const char *query;                 /* raw query string without '?', or NULL */
        const struct http_header *headers; /* as sent; must include Host; never Authorization */
        size_t n_headers;
        const void *body;
        size_t body_len;
};

/* The signing key depends only on the secret, the day, the region and the service. A client
 * that signs many requests keeps one of these and hands it to the signer in sigv4_params, so
 * that the key is derived (four HMACs) once a day rather than for every request. Zero it to
 * start; sigv4_key_cache_clear() wipes the key and the copy of the secret and frees them. */
struct sigv4_key_cache {
        char *secret;   /* the secret the key was derived from; owned, wiped when dropped */
        char scope[96]; /* "YYYYMMDD/region/service" of the key */
        unsigned char key[SIGV4_KEY_LEN];
};

void sigv4_key_cache_clear(struct sigv4_key_cache *cache);

struct sigv4_params {
        const char *region;
        const char *service;
        int64_t time;          /* Unix seconds, already corrected for clock skew */
        bool normalize_path;   /* true for every service but S3 */
        bool sign_body_header; /* also emit and sign x-amz-content-sha256 */
        /* S3 only: sign the path exactly as sent. Every other service signs the path URI-encoded
         * once more (a path sent as "/a%20b" is signed as "/a%2520b"). */
        bool skip_path_encoding;
        struct sigv4_key_cache *key_cache; /* NULL: derive the key for this request alone */
};

/* The headers a caller must send, exactly as returned, besides its own. */
struct sigv4_signature {
        char amz_date[SIGV4_AMZ_DATE_LEN + 1]; /* X-Amz-Date, "20150830T123600Z" */
        char *authorization;                   /* the Authorization header value */
        char *content_sha256; /* x-amz-content-sha256 when sign_body_header, else NULL */
};

/* Signs a request. The signer itself adds X-Amz-Date and, when there is a session token,
 * X-Amz-Security-Token (its value is creds->session_token) to the signed headers; the caller
 * must send them exactly as returned. Every header in req is signed except User-Agent, Expect
 * and X-Amzn-Trace-Id, which intermediaries may rewrite (the AWS SDKs leave them out too).
 *
 * Borrows req, creds and params. On success returns 0 and fills *ret, whose strings are owned
 * by the caller and released with sigv4_signature_clear(). Returns -EINVAL when a required
 * field is missing, Host is absent, req already carries one of the headers the signer owns
 * (Authorization, X-Amz-Date, X-Amz-Security-Token, X-Amz-Content-SHA256), the time cannot be
 * written as a four-digit year, or a name that goes into the credential scope contains '/' or
 * whitespace; -ENOMEM; -EIO when OpenSSL fails. *ret is untouched on failure. */
int sigv4_sign(const struct sigv4_request *req, const struct sigv4_credentials *creds,
               const struct sigv4_params *params, struct sigv4_signature *ret);

/* Frees the strings of sig and zeroes it. Accepts NULL and a zeroed signature. */
void sigv4_signature_clear(struct sigv4_signature *sig);

/* Stage 0: formats time as X-Amz-Date ("YYYYMMDDTHHMMSSZ", UTC) into ret. Returns 0, or
 * -EINVAL when the year is outside 0001..9999. */
int sigv4_format_amz_date(int64_t time, char ret[SIGV4_AMZ_DATE_LEN + 1]);

/* Lowercase hex SHA-256 of len bytes at data (data may be NULL when len is 0) into ret.
 * Returns 0 or -EIO. */
int sigv4_sha256_hex(const void *data, size_t len, char ret[SIGV4_HEX_LEN + 1]);

/* Stage 1 result. */
struct sigv4_canonical {
        char *request;        /* the canonical request text, owned */
        char *signed_headers; /* "host;x-amz-date", owned */
        char payload_hash[SIGV4_HEX_LEN + 1];
        char amz_date[SIGV4_AMZ_DATE_LEN + 1];
};

/* Stage 1: the canonical request of req signed at params->time, with the headers the signer
 * adds (X-Amz-Date; X-Amz-Security-Token: session_token unless session_token is NULL;
 * x-amz-content-sha256 when params->sign_body_header). Pass a NULL session_token for a token
 * that is sent but deliberately left unsigned. Borrows every argument. On success returns 0
 * and fills *ret (owned by the caller, sigv4_canonical_clear()); errors as sigv4_sign(). */
int sigv4_canonical_request(const struct sigv4_request *req, const char *session_token,
                            const struct sigv4_params *params, struct sigv4_canonical *ret);

/* Frees the strings of c and zeroes it. Accepts NULL and a zeroed value. */
void sigv4_canonical_clear(struct sigv4_canonical *c);

/* Stage 2: the string to sign for a canonical request, with the credential scope taken from
 * params (time, region, service). Borrows its arguments. On success returns 0 and *ret is a
 * string owned by the caller (free()). Returns -EINVAL, -ENOMEM or -EIO. */
int sigv4_string_to_sign(const char *canonical_request, const struct sigv4_params *params,
                         char **ret);

/* Stage 3: the signing key, HMAC-SHA256 chained over "AWS4" + secret, the date, the region,
 * the service and "aws4_request". Borrows its arguments. The caller owns the key in ret and
 * should wipe it (OPENSSL_cleanse) after use; every intermediate buffer is wiped here.
 * Returns 0, -EINVAL, -ENOMEM or -EIO (ret then holds no key material). */
int sigv4_signing_key(const char *secret_access_key, const struct sigv4_params *params,
                      unsigned char ret[SIGV4_KEY_LEN]);

/* Stage 4: the signature, lowercase hex HMAC-SHA256 of string_to_sign under key, into ret.
 * Borrows its arguments. Returns 0 or -EIO. */
int sigv4_signature_hex(const unsigned char key[SIGV4_KEY_LEN], const char *string_to_sign,
                        char ret[SIGV4_HEX_LEN + 1]);

/* Stage 5: the Authorization header value
 * "AWS4-HMAC-SHA256 Credential=AKID/20150830/region/service/aws4_request,
 * SignedHeaders=..., Signature=...". Borrows its arguments. On success returns 0 and *ret is
 * owned by the caller (free()). Returns -EINVAL or -ENOMEM. */
int sigv4_authorization(const char *access_key_id, const struct sigv4_params *params,
                        const char *signed_headers, const char *signature_hex, char **ret);
