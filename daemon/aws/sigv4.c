/* AWS Signature Version 4, following the published algorithm and the AWS SigV4 test suite.
 * Where the published text is silent, this behaves as botocore does (header values have every
 * run of whitespace collapsed, User-Agent and friends are left unsigned). */
#include "sigv4.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#define SCOPE_TERMINATOR "aws4_request"

/* A growable string; the first failed allocation sticks, so callers check once at the end. */
struct strbuf {
        char *data;
        size_t len;
        size_t cap;
        bool failed;
};

static void strbuf_append(struct strbuf *b, const char *s, size_t n)
{
        if (b->failed)
                return;
        if (b->len + n + 1 > b->cap) {
                size_t cap = b->cap ? b->cap : 256;
                while (cap < b->len + n + 1)
                        cap *= 2;
                char *p = realloc(b->data, cap);
                if (!p) {
                        b->failed = true;
                        return;
                }
                b->data = p;
                b->cap = cap;
        }
        memcpy(b->data + b->len, s, n);
        b->len += n;
        b->data[b->len] = '\0';
}

static void strbuf_puts(struct strbuf *b, const char *s)
{
        strbuf_append(b, s, strlen(s));
}

static void strbuf_putc(struct strbuf *b, char c)
{
        strbuf_append(b, &c, 1);
}

/* Hands the string over to the caller: 0 with *ret owned by the caller, or -ENOMEM. */
static int strbuf_take(struct strbuf *b, char **ret)
{
        if (!b->failed && !b->data)
                strbuf_append(b, "", 0);
        if (b->failed) {
                free(b->data);
                *b = (struct strbuf){0};
                return -ENOMEM;
        }
        *ret = b->data;
        *b = (struct strbuf){0};
        return 0;
}

static bool is_unreserved(unsigned char c)
{
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
               c == '-' || c == '.' || c == '_' || c == '~';
}

static bool is_space(unsigned char c)
{
        return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

static char ascii_lower(char c)
{
        return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* RFC 3986 percent-encoding of everything outside the unreserved set (and '/' when
 * keep_slash), with uppercase hex as SigV4 requires. */
static void uri_encode(struct strbuf *b, const char *s, size_t n, bool keep_slash)
{
        static const char hex[] = "0123456789ABCDEF";

        for (size_t i = 0; i < n; i++) {
                unsigned char c = (unsigned char)s[i];
                if (is_unreserved(c) || (keep_slash && c == '/')) {
                        strbuf_putc(b, (char)c);
                } else {
                        char esc[3] = {'%', hex[c >> 4], hex[c & 0xf]};
                        strbuf_append(b, esc, sizeof(esc));
                }
        }
}

static void hex_lower(const unsigned char *in, size_t n, char *out)
{
        static const char hex[] = "0123456789abcdef";

        for (size_t i = 0; i < n; i++) {
                out[2 * i] = hex[in[i] >> 4];
                out[2 * i + 1] = hex[in[i] & 0xf];
        }
        out[2 * n] = '\0';
}

int sigv4_sha256_hex(const void *data, size_t len, char ret[SIGV4_HEX_LEN + 1])
{
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int md_len = 0;

        if (!EVP_Digest(len ? data : "", len, md, &md_len, EVP_sha256(), NULL) ||
            md_len != SIGV4_HEX_LEN / 2)
                return -EIO;
        hex_lower(md, md_len, ret);
        return 0;
}

static int hmac_sha256(const void *key, size_t key_len, const void *data, size_t len,
                       unsigned char out[SIGV4_KEY_LEN])
{
        unsigned int out_len = 0;

        if (!HMAC(EVP_sha256(), key, (int)key_len, data, len, out, &out_len) ||
            out_len != SIGV4_KEY_LEN) {
                OPENSSL_cleanse(out, SIGV4_KEY_LEN);
                return -EIO;
        }
        return 0;
}

int sigv4_format_amz_date(int64_t time, char ret[SIGV4_AMZ_DATE_LEN + 1])
{
        /* 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z */
        if (time < INT64_C(-62135596800) || time > INT64_C(253402300799))
                return -EINVAL;
        time_t t = (time_t)time;
        struct tm tm;
        if (!gmtime_r(&t, &tm))
                return -EINVAL;
        int n =
            snprintf(ret, SIGV4_AMZ_DATE_LEN + 1, "%04d%02d%02dT%02d%02d%02dZ", tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
        return n == SIGV4_AMZ_DATE_LEN ? 0 : -EINVAL;
}

/* Region, service and access key id go into the slash-separated credential scope. */
static bool scope_part_ok(const char *s)
{
        if (!s || !*s)
                return false;
        for (; *s; s++)
                if (*s == '/' || *s == ',' || is_space((unsigned char)*s) ||
                    (unsigned char)*s < 0x20)
                        return false;
        return true;
}

static bool params_ok(const struct sigv4_params *params)
{
        return params && scope_part_ok(params->region) && scope_part_ok(params->service);
}

/* ---- canonical path ---- */

struct segment {
        const char *s;
        size_t n;
};

/* Removes "." and ".." segments and empty ones (duplicate slashes), keeping a trailing slash,
 * as the AWS SDKs do for every service but S3. */
static int append_normalized_path(struct strbuf *b, const char *path, bool encode)
{
        size_t max = 1;
        for (const char *p = path; *p; p++)
                max += *p == '/';
        struct segment *segs = calloc(max, sizeof(*segs));
        if (!segs)
                return -ENOMEM;

        size_t n = 0;
        for (const char *p = path; *p;) {
                size_t len = strcspn(p, "/");
                if (len == 2 && p[0] == '.' && p[1] == '.') {
                        if (n > 0)
                                n--;
                } else if (len > 0 && !(len == 1 && p[0] == '.')) {
                        segs[n++] = (struct segment){p, len};
                }
                p += len;
                if (*p == '/')
                        p++;
        }

        strbuf_putc(b, '/');
        for (size_t i = 0; i < n; i++) {
                if (i > 0)
                        strbuf_putc(b, '/');
                if (encode)
                        uri_encode(b, segs[i].s, segs[i].n, false);
                else
                        strbuf_append(b, segs[i].s, segs[i].n);
        }
        if (n > 0 && path[strlen(path) - 1] == '/')
                strbuf_putc(b, '/');
        free(segs);
        return 0;
}

static int append_canonical_path(struct strbuf *b, const char *path,
                                 const struct sigv4_params *params)
{
        bool encode = !params->skip_path_encoding;

        if (params->normalize_path)
                return append_normalized_path(b, path, encode);
        if (encode)
                uri_encode(b, path, strlen(path), true);
        else
                strbuf_puts(b, path);
        return 0;
}

/* ---- canonical query string ---- */

struct query_param {
        char *key; /* encoded */
        char *value;
};

static int hex_value(char c)
{
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

/* Decodes %XX escapes (a '%' not followed by two hex digits stays literal) and re-encodes, so
 * that a parameter signs the same whether the caller sent it encoded or raw. '+' is not a
 * space here: SigV4 treats it as a literal plus. */
static int canonical_query_part(const char *s, size_t n, char **ret)
{
        char *raw = malloc(n + 1);
        if (!raw)
                return -ENOMEM;
        size_t len = 0;
        for (size_t i = 0; i < n; i++) {
                int hi = i + 2 < n && s[i] == '%' ? hex_value(s[i + 1]) : -1;
                int lo = hi >= 0 ? hex_value(s[i + 2]) : -1;
                if (hi >= 0 && lo >= 0) {
                        raw[len++] = (char)(hi << 4 | lo);
                        i += 2;
                } else {
                        raw[len++] = s[i];
                }
        }
        struct strbuf b = {0};
        uri_encode(&b, raw, len, false);
        free(raw);
        return strbuf_take(&b, ret);
}

static int compare_query_params(const void *a, const void *b)
{
        const struct query_param *x = a, *y = b;
        int r = strcmp(x->key, y->key);
        return r ? r : strcmp(x->value, y->value);
}

static void free_query_params(struct query_param *params, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                free(params[i].key);
                free(params[i].value);
        }
        free(params);
}

static int parse_query(const char *query, struct query_param **ret, size_t *ret_n)
{
        size_t max = 1;
        for (const char *p = query; *p; p++)
                max += *p == '&';
        struct query_param *params = calloc(max, sizeof(*params));
        if (!params)
                return -ENOMEM;

        size_t n = 0;
        for (const char *p = query; *p;) {
                size_t len = strcspn(p, "&");
                if (len > 0) {
                        const char *eq = memchr(p, '=', len);
                        size_t key_len = eq ? (size_t)(eq - p) : len;
                        const char *value = eq ? eq + 1 : p + len;
                        int r = canonical_query_part(p, key_len, &params[n].key);
                        if (r == 0)
                                r = canonical_query_part(value, len - (size_t)(value - p),
                                                         &params[n].value);
                        n++;
                        if (r < 0) {
                                free_query_params(params, n);
                                return r;
                        }
                }
                p += len;
                if (*p == '&')
                        p++;
        }
        *ret = params;
        *ret_n = n;
        return 0;
}

/* Parameters sorted by encoded name, then by encoded value; an absent query is an empty
 * line. */
static int append_canonical_query(struct strbuf *b, const char *query)
{
        if (!query || !*query)
                return 0;

        struct query_param *params;
        size_t n;
        int r = parse_query(query, &params, &n);
        if (r < 0)
                return r;
        qsort(params, n, sizeof(*params), compare_query_params);
        for (size_t i = 0; i < n; i++) {
                if (i > 0)
                        strbuf_putc(b, '&');
                strbuf_puts(b, params[i].key);
                strbuf_putc(b, '=');
                strbuf_puts(b, params[i].value);
        }
        free_query_params(params, n);
        return 0;
}

/* ---- canonical headers ---- */

struct canon_header {
        char *name;  /* lowercase */
        char *value; /* trimmed, whitespace runs collapsed */
        size_t order;
};

struct header_set {
        struct canon_header *items;
        size_t n;
        size_t cap;
};

static const char *const unsigned_headers[] = {"user-agent", "expect", "x-amzn-trace-id"};
static const char *const signer_headers[] = {"authorization", "x-amz-date", "x-amz-security-token",
                                             "x-amz-content-sha256"};

#define NAME_IN(name, list) name_in(name, list, sizeof(list) / sizeof(*(list)))

static bool name_in(const char *name, const char *const *list, size_t n)
{
        for (size_t i = 0; i < n; i++)
                if (strcasecmp(name, list[i]) == 0)
                        return true;
        return false;
}

static void header_set_free(struct header_set *set)
{
        for (size_t i = 0; i < set->n; i++) {
                free(set->items[i].name);
                free(set->items[i].value);
        }
        free(set->items);
        *set = (struct header_set){0};
}

static char *lowercase_name(const char *name)
{
        size_t n = strlen(name);
        char *s = malloc(n + 1);
        if (!s)
                return NULL;
        for (size_t i = 0; i <= n; i++)
                s[i] = ascii_lower(name[i]);
        return s;
}

static bool header_name_ok(const char *name)
{
        if (!name || !*name)
                return false;
        for (const unsigned char *p = (const unsigned char *)name; *p; p++)
                if (*p <= 0x20 || *p >= 0x7f || *p == ':')
                        return false;
        return true;
}

/* Trimall: no whitespace at either end, every inner run of whitespace (folded lines included)
 * becomes one space. */
static char *trimmed_value(const char *value)
{
        char *s = malloc(strlen(value) + 1);
        if (!s)
                return NULL;
        size_t n = 0;
        bool pending_space = false;
        for (const char *p = value; *p; p++) {
                if (is_space((unsigned char)*p)) {
                        pending_space = n > 0;
                        continue;
                }
                if (pending_space)
                        s[n++] = ' ';
                pending_space = false;
                s[n++] = *p;
        }
        s[n] = '\0';
        return s;
}

static int header_set_add(struct header_set *set, const char *name, const char *value)
{
        if (set->n == set->cap) {
                size_t cap = set->cap ? set->cap * 2 : 16;
                struct canon_header *items = realloc(set->items, cap * sizeof(*items));
                if (!items)
                        return -ENOMEM;
                set->items = items;
                set->cap = cap;
        }
        struct canon_header *h = &set->items[set->n];
        h->name = lowercase_name(name);
        h->value = trimmed_value(value);
        h->order = set->n;
        if (!h->name || !h->value) {
                free(h->name);
                free(h->value);
                return -ENOMEM;
        }
        set->n++;
        return 0;
}

static int compare_headers(const void *a, const void *b)
{
        const struct canon_header *x = a, *y = b;
        int r = strcmp(x->name, y->name);
        if (r)
                return r;
        return x->order < y->order ? -1 : x->order > y->order;
}

/* The caller's headers (checked, minus the unsigned ones) and the signer's own. */
static int collect_headers(const struct sigv4_request *req, const char *session_token,
                           const struct sigv4_canonical *c, bool sign_body, struct header_set *set)
{
        bool has_host = false;
        int r;

        for (size_t i = 0; i < req->n_headers; i++) {
                const struct http_header *h = &req->headers[i];
                if (!header_name_ok(h->name) || !h->value || NAME_IN(h->name, signer_headers))
                        return -EINVAL;
                if (NAME_IN(h->name, unsigned_headers))
                        continue;
                has_host |= strcasecmp(h->name, "host") == 0;
                r = header_set_add(set, h->name, h->value);
                if (r < 0)
                        return r;
        }
        if (!has_host)
                return -EINVAL;
        r = header_set_add(set, "x-amz-date", c->amz_date);
        if (r == 0 && session_token)
                r = header_set_add(set, "x-amz-security-token", session_token);
        if (r == 0 && sign_body)
                r = header_set_add(set, "x-amz-content-sha256", c->payload_hash);
        return r;
}

/* Appends "name:v1,v2\n" per distinct name (values joined in the order sent), then a blank
 * line and the signed header list; the list alone goes to *ret_signed. */
static int append_canonical_headers(struct strbuf *b, struct header_set *set, char **ret_signed)
{
        struct strbuf names = {0};

        qsort(set->items, set->n, sizeof(*set->items), compare_headers);
        for (size_t i = 0; i < set->n; i++) {
                bool same = i > 0 && strcmp(set->items[i - 1].name, set->items[i].name) == 0;
                if (same) {
                        strbuf_putc(b, ',');
                } else {
                        if (i > 0) {
                                strbuf_putc(b, '\n');
                                strbuf_putc(&names, ';');
                        }
                        strbuf_puts(b, set->items[i].name);
                        strbuf_putc(b, ':');
                        strbuf_puts(&names, set->items[i].name);
                }
                strbuf_puts(b, set->items[i].value);
        }
        strbuf_puts(b, "\n\n");
        strbuf_puts(b, names.data ? names.data : "");
        return strbuf_take(&names, ret_signed);
}

/* ---- stage 1 ---- */

static bool request_ok(const struct sigv4_request *req)
{
        return req && req->method && *req->method && req->path && req->path[0] == '/' &&
               (req->headers || req->n_headers == 0) && (req->body || req->body_len == 0);
}

static int build_canonical(const struct sigv4_request *req, const char *session_token,
                           const struct sigv4_params *params, struct sigv4_canonical *c,
                           struct strbuf *b)
{
        struct header_set set = {0};

        int r = collect_headers(req, session_token, c, params->sign_body_header, &set);
        if (r == 0) {
                strbuf_puts(b, req->method);
                strbuf_putc(b, '\n');
                r = append_canonical_path(b, req->path, params);
        }
        if (r == 0) {
                strbuf_putc(b, '\n');
                r = append_canonical_query(b, req->query);
        }
        if (r == 0) {
                strbuf_putc(b, '\n');
                r = append_canonical_headers(b, &set, &c->signed_headers);
        }
        if (r == 0) {
                strbuf_putc(b, '\n');
                strbuf_puts(b, c->payload_hash);
        }
        header_set_free(&set);
        return r;
}

int sigv4_canonical_request(const struct sigv4_request *req, const char *session_token,
                            const struct sigv4_params *params, struct sigv4_canonical *ret)
{
        struct sigv4_canonical c = {0};
        struct strbuf b = {0};

        if (!request_ok(req) || !params_ok(params) || !ret)
                return -EINVAL;
        int r = sigv4_format_amz_date(params->time, c.amz_date);
        if (r == 0)
                r = sigv4_sha256_hex(req->body, req->body_len, c.payload_hash);
        if (r == 0)
                r = build_canonical(req, session_token, params, &c, &b);
        if (r == 0)
                r = strbuf_take(&b, &c.request);
        if (r < 0) {
                free(b.data);
                sigv4_canonical_clear(&c);
                return r;
        }
        *ret = c;
        return 0;
}

void sigv4_canonical_clear(struct sigv4_canonical *c)
{
        if (!c)
                return;
        free(c->request);
        free(c->signed_headers);
        *c = (struct sigv4_canonical){0};
}

/* ---- stages 2 to 5 ---- */

static void append_scope(struct strbuf *b, const char *amz_date, const struct sigv4_params *params)
{
        strbuf_append(b, amz_date, 8);
        strbuf_putc(b, '/');
        strbuf_puts(b, params->region);
        strbuf_putc(b, '/');
        strbuf_puts(b, params->service);
        strbuf_puts(b, "/" SCOPE_TERMINATOR);
}

int sigv4_string_to_sign(const char *canonical_request, const struct sigv4_params *params,
                         char **ret)
{
        char amz_date[SIGV4_AMZ_DATE_LEN + 1];
        char hash[SIGV4_HEX_LEN + 1];

        if (!canonical_request || !params_ok(params) || !ret)
                return -EINVAL;
        int r = sigv4_format_amz_date(params->time, amz_date);
        if (r < 0)
                return r;
        r = sigv4_sha256_hex(canonical_request, strlen(canonical_request), hash);
        if (r < 0)
                return r;

        struct strbuf b = {0};
        strbuf_puts(&b, SIGV4_ALGORITHM "\n");
        strbuf_puts(&b, amz_date);
        strbuf_putc(&b, '\n');
        append_scope(&b, amz_date, params);
        strbuf_putc(&b, '\n');
        strbuf_puts(&b, hash);
        return strbuf_take(&b, ret);
}

/* kDate = HMAC("AWS4" + secret, date), then region, service and "aws4_request" in turn. */
static int derive_key(const char *secret, const char *date8, const struct sigv4_params *params,
                      unsigned char key[SIGV4_KEY_LEN])
{
        size_t secret_len = strlen(secret);
        unsigned char *seed = malloc(4 + secret_len);
        unsigned char k[SIGV4_KEY_LEN];

        if (!seed)
                return -ENOMEM;
        memcpy(seed, "AWS4", 4);
        memcpy(seed + 4, secret, secret_len);
        int r = hmac_sha256(seed, 4 + secret_len, date8, 8, key);
        OPENSSL_cleanse(seed, 4 + secret_len);
        free(seed);

        const char *chain[] = {params->region, params->service, SCOPE_TERMINATOR};
        for (size_t i = 0; i < sizeof(chain) / sizeof(*chain) && r == 0; i++) {
                r = hmac_sha256(key, SIGV4_KEY_LEN, chain[i], strlen(chain[i]), k);
                memcpy(key, k, SIGV4_KEY_LEN);
        }
        OPENSSL_cleanse(k, sizeof(k));
        if (r < 0)
                OPENSSL_cleanse(key, SIGV4_KEY_LEN);
        return r;
}

int sigv4_signing_key(const char *secret_access_key, const struct sigv4_params *params,
                      unsigned char ret[SIGV4_KEY_LEN])
{
        char amz_date[SIGV4_AMZ_DATE_LEN + 1];

        if (!secret_access_key || !*secret_access_key || !params_ok(params) || !ret)
                return -EINVAL;
        int r = sigv4_format_amz_date(params->time, amz_date);
        if (r < 0)
                return r;
        return derive_key(secret_access_key, amz_date, params, ret);
}

int sigv4_signature_hex(const unsigned char key[SIGV4_KEY_LEN], const char *string_to_sign,
                        char ret[SIGV4_HEX_LEN + 1])
{
        unsigned char mac[SIGV4_KEY_LEN];

        if (!key || !string_to_sign || !ret)
                return -EINVAL;
        int r = hmac_sha256(key, SIGV4_KEY_LEN, string_to_sign, strlen(string_to_sign), mac);
        if (r == 0)
                hex_lower(mac, sizeof(mac), ret);
        OPENSSL_cleanse(mac, sizeof(mac));
        return r;
}

int sigv4_authorization(const char *access_key_id, const struct sigv4_params *params,
                        const char *signed_headers, const char *signature_hex, char **ret)
{
        char amz_date[SIGV4_AMZ_DATE_LEN + 1];

        if (!scope_part_ok(access_key_id) || !params_ok(params) || !signed_headers ||
            !*signed_headers || !signature_hex || !ret)
                return -EINVAL;
        int r = sigv4_format_amz_date(params->time, amz_date);
        if (r < 0)
                return r;

        struct strbuf b = {0};
        strbuf_puts(&b, SIGV4_ALGORITHM " Credential=");
        strbuf_puts(&b, access_key_id);
        strbuf_putc(&b, '/');
        append_scope(&b, amz_date, params);
        strbuf_puts(&b, ", SignedHeaders=");
        strbuf_puts(&b, signed_headers);
        strbuf_puts(&b, ", Signature=");
        strbuf_puts(&b, signature_hex);
        return strbuf_take(&b, ret);
}

/* ---- all stages ---- */

void sigv4_key_cache_clear(struct sigv4_key_cache *cache)
{
        if (!cache)
                return;
        if (cache->secret) {
                OPENSSL_cleanse(cache->secret, strlen(cache->secret));
                free(cache->secret);
        }
        OPENSSL_cleanse(cache, sizeof(*cache));
}

/* Stage 3 through params->key_cache when there is one. A failure to remember the key is not
 * an error: the request is signed all the same, and the next one derives the key again. */
static int signing_key(const char *secret, const struct sigv4_params *params,
                       unsigned char key[SIGV4_KEY_LEN])
{
        struct sigv4_key_cache *cache = params->key_cache;
        char amz_date[SIGV4_AMZ_DATE_LEN + 1], scope[sizeof(cache->scope)];
        int r, n;

        if (!cache || !params_ok(params) || sigv4_format_amz_date(params->time, amz_date) < 0)
                return sigv4_signing_key(secret, params, key);
        n = snprintf(scope, sizeof(scope), "%.8s/%s/%s", amz_date, params->region, params->service);
        if (n < 0 || (size_t)n >= sizeof(scope))
                return sigv4_signing_key(secret, params, key);
        if (cache->secret && strcmp(cache->scope, scope) == 0 &&
            strcmp(cache->secret, secret) == 0) {
                memcpy(key, cache->key, SIGV4_KEY_LEN);
                return 0;
        }
        r = sigv4_signing_key(secret, params, key);
        if (r < 0)
                return r;
        sigv4_key_cache_clear(cache);
        cache->secret = strdup(secret);
        if (cache->secret) {
                memcpy(cache->scope, scope, sizeof(scope));
                memcpy(cache->key, key, SIGV4_KEY_LEN);
        }
        return 0;
}

static int sign_canonical(const struct sigv4_canonical *c, const struct sigv4_credentials *creds,
                          const struct sigv4_params *params, char **ret_authorization)
{
        unsigned char key[SIGV4_KEY_LEN];
        char signature[SIGV4_HEX_LEN + 1];
        char *sts = NULL;

        int r = sigv4_string_to_sign(c->request, params, &sts);
        if (r == 0)
                r = signing_key(creds->secret_access_key, params, key);
        if (r == 0) {
                r = sigv4_signature_hex(key, sts, signature);
                OPENSSL_cleanse(key, sizeof(key));
        }
        if (r == 0)
                r = sigv4_authorization(creds->access_key_id, params, c->signed_headers, signature,
                                        ret_authorization);
        free(sts);
        return r;
}

int sigv4_sign(const struct sigv4_request *req, const struct sigv4_credentials *creds,
               const struct sigv4_params *params, struct sigv4_signature *ret)
{
        struct sigv4_canonical c = {0};
        struct sigv4_signature sig = {0};

        if (!creds || !scope_part_ok(creds->access_key_id) || !creds->secret_access_key ||
            !*creds->secret_access_key || !ret)
                return -EINVAL;
        int r = sigv4_canonical_request(req, creds->session_token, params, &c);
        if (r == 0)
                r = sign_canonical(&c, creds, params, &sig.authorization);
        if (r == 0 && params->sign_body_header) {
                sig.content_sha256 = strdup(c.payload_hash);
                if (!sig.content_sha256)
                        r = -ENOMEM;
        }
        if (r == 0)
                memcpy(sig.amz_date, c.amz_date, sizeof(sig.amz_date));
        sigv4_canonical_clear(&c);
        if (r < 0) {
                sigv4_signature_clear(&sig);
                return r;
        }
        *ret = sig;
        return 0;
}

void sigv4_signature_clear(struct sigv4_signature *sig)
{
        if (!sig)
                return;
        free(sig->authorization);
        free(sig->content_sha256);
        *sig = (struct sigv4_signature){0};
}
