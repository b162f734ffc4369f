/* The parts of the AppStream client that read and check text: responses, errors, endpoints.
 * Kept apart from the transport so that tests and fuzzers reach them directly. */
#include "appstream.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void builder_clear(struct builder *b)
{
        free(b->name);
        free(b->arn);
        free(b->state);
        free(b->agent_version);
        free(b->state_reason_code);
        free(b->state_reason_message);
        free(b->instance_type);
        free(b->platform);
        memset(b, 0, sizeof(*b));
}

void builder_list_free(struct builder_list *list)
{
        if (!list)
                return;
        for (size_t i = 0; i < list->n; i++)
                builder_clear(&list->items[i]);
        free(list->items);
        list->items = NULL;
        list->n = 0;
}

/* ---- DescribeImageBuilders pages ----
 *
 * A page is read in one pass over its text, without building a tree: the members a builder
 * needs are copied, everything else is only checked to be well-formed. Building and freeing
 * cJSON trees of members nobody reads was 60% of the instructions of a steady reconcile pass
 * (bench/README.md). It accepts what cJSON_ParseWithLength accepted: a leading UTF-8 byte
 * order mark, anything after the top-level value, at most NESTING_LIMIT levels; the first of
 * duplicate members counts, as with cJSON_GetObjectItemCaseSensitive. Only malformed JSON that
 * cJSON let through is refused: a \u escape without four hex digits (cJSON read U+0000) and a
 * number without digits where the grammar wants them ("1e", "-"). */

#define NESTING_LIMIT 1000
#define KEY_MAX 256

struct reader {
        const char *p, *end;
        unsigned depth;
};

static void skip_space(struct reader *r)
{
        while (r->p < r->end && (unsigned char)*r->p <= ' ')
                r->p++;
}

/* Consumes c, after any whitespace, when it comes next. */
static bool take(struct reader *r, char c)
{
        skip_space(r);
        if (r->p < r->end && *r->p == c) {
                r->p++;
                return true;
        }
        return false;
}

static bool next_is(struct reader *r, char c)
{
        skip_space(r);
        return r->p < r->end && *r->p == c;
}

static int hex4(const char *s, unsigned *ret)
{
        unsigned v = 0;

        for (int i = 0; i < 4; i++) {
                int c = (unsigned char)s[i], d;

                if (c >= '0' && c <= '9')
                        d = c - '0';
                else if (c >= 'a' && c <= 'f')
                        d = c - 'a' + 10;
                else if (c >= 'A' && c <= 'F')
                        d = c - 'A' + 10;
                else
                        return -EBADMSG;
                v = v << 4 | (unsigned)d;
        }
        *ret = v;
        return 0;
}

/* Decodes the \u escape whose 'u' is at s (a surrogate pair takes two) as UTF-8 into out, when
 * out is not NULL, with its length in *ret_len. Returns how many characters from the 'u' on
 * the escape took, or -EBADMSG; as in cJSON, a lone low surrogate or a high one without its
 * pair is an error. */
static int decode_unicode(const char *s, const char *stop, char *out, size_t *ret_len)
{
        unsigned cp, low;
        int used = 5;
        size_t n;

        if (stop - s < 5 || hex4(s + 1, &cp) < 0 || (cp >= 0xDC00 && cp <= 0xDFFF))
                return -EBADMSG;
        if (cp >= 0xD800 && cp <= 0xDBFF) {
                if (stop - s < 11 || s[5] != '\\' || s[6] != 'u' || hex4(s + 7, &low) < 0 ||
                    low < 0xDC00 || low > 0xDFFF)
                        return -EBADMSG;
                cp = 0x10000 + ((cp & 0x3FF) << 10 | (low & 0x3FF));
                used = 11;
        }
        n = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
        if (out) {
                static const unsigned char lead[] = {0, 0, 0xC0, 0xE0, 0xF0};

                for (size_t i = n - 1; i > 0; i--) {
                        out[i] = (char)(0x80 | (cp & 0x3F));
                        cp >>= 6;
                }
                out[0] = (char)(lead[n] | cp);
        }
        *ret_len = n;
        return used;
}

/* The closing quote of the string whose opening quote is at r->p, or NULL when it has none;
 * *ret_escaped says whether the string holds an escape. memchr() does the scanning. */
static const char *string_end(const struct reader *r, bool *ret_escaped)
{
        const char *s = r->p + 1;

        *ret_escaped = false;
        for (;;) {
                const char *quote = memchr(s, '"', (size_t)(r->end - s));
                const char *escape;

                if (!quote)
                        return NULL;
                escape = memchr(s, '\\', (size_t)(quote - s));
                if (!escape)
                        return quote;
                *ret_escaped = true;
                s = escape + 2; /* past the escaped character, perhaps the quote found */
        }
}

/* Decodes the string from r->p (its opening quote) to stop (its closing one) into out, NUL
 * terminated, when out is not NULL; out must hold stop - r->p bytes, as decoding never
 * lengthens. Escapes are checked either way. Returns 0 or -EBADMSG. */
static int decode_string(struct reader *r, const char *stop, bool escaped, char *out)
{
        const char *s = r->p + 1;
        size_t n = 0;

        if (!escaped) {
                n = (size_t)(stop - s);
                if (out)
                        memcpy(out, s, n);
                s = stop;
        }
        for (; s < stop; s++) {
                static const char plain[] = "\"\"\\\\//b\bf\fn\nr\rt\t";
                const char *e;
                size_t len;
                int used;

                if (*s != '\\') {
                        if (out)
                                out[n] = *s;
                        n++;
                        continue;
                }
                s++;
                if (*s == 'u') {
                        used = decode_unicode(s, stop, out ? out + n : NULL, &len);
                        if (used < 0)
                                return used;
                        n += len;
                        s += used - 1;
                        continue;
                }
                e = memchr(plain, *s, sizeof(plain) - 1);
                if (!e || (e - plain) % 2)
                        return -EBADMSG;
                if (out)
                        out[n] = e[1];
                n++;
        }
        if (out)
                out[n] = '\0';
        r->p = stop + 1;
        return 0;
}

static int skip_string(struct reader *r)
{
        bool escaped;
        const char *stop = string_end(r, &escaped);

        if (stop && !escaped) {
                r->p = stop + 1;
                return 0;
        }
        return stop ? decode_string(r, stop, true, NULL) : -EBADMSG;
}

/* A string into buf when it fits, else checked and read as "" (matching no name we look for). */
static int read_short_string(struct reader *r, char *buf, size_t size)
{
        bool escaped;
        const char *stop = string_end(r, &escaped);

        if (!stop)
                return -EBADMSG;
        if ((size_t)(stop - r->p) > size) {
                buf[0] = '\0';
                return decode_string(r, stop, escaped, NULL);
        }
        return decode_string(r, stop, escaped, buf);
}

static int skip_value(struct reader *r);

static int skip_number(struct reader *r)
{
        const char *s = r->p;
        size_t digits = 0;

        if (s < r->end && *s == '-')
                s++;
        for (; s < r->end && *s >= '0' && *s <= '9'; s++)
                digits++;
        if (digits && s < r->end && *s == '.') {
                for (digits = 0, s++; s < r->end && *s >= '0' && *s <= '9'; s++)
                        digits++;
        }
        if (digits && s < r->end && (*s == 'e' || *s == 'E')) {
                s++;
                if (s < r->end && (*s == '+' || *s == '-'))
                        s++;
                for (digits = 0; s < r->end && *s >= '0' && *s <= '9'; s++)
                        digits++;
        }
        if (!digits)
                return -EBADMSG;
        r->p = s;
        return 0;
}

static int skip_literal(struct reader *r, const char *word)
{
        size_t n = strlen(word);

        if ((size_t)(r->end - r->p) < n || memcmp(r->p, word, n) != 0)
                return -EBADMSG;
        r->p += n;
        return 0;
}

/* Opens an object or array: its bracket, nesting, and whether it is empty (*ret_empty). */
static int open_container(struct reader *r, char open, char close, bool *ret_empty)
{
        if (!take(r, open) || r->depth >= NESTING_LIMIT)
                return -EBADMSG;
        r->depth++;
        *ret_empty = take(r, close);
        if (*ret_empty)
                r->depth--;
        return 0;
}

static int close_container(struct reader *r, char close)
{
        if (!take(r, close))
                return -EBADMSG;
        r->depth--;
        return 0;
}

/* Calls member() for each member of the object at r->p, with its key (decoded, or "" when
 * too long to be one we look for) and r->p at its value, which member() must consume. */
static int read_object(struct reader *r, int (*member)(struct reader *, const char *, void *),
                       void *ctx)
{
        char key[KEY_MAX];
        bool empty;
        int q = open_container(r, '{', '}', &empty);

        if (q < 0 || empty)
                return q;
        do {
                if (!next_is(r, '"'))
                        return -EBADMSG;
                q = read_short_string(r, key, sizeof(key));
                if (q < 0)
                        return q;
                if (!take(r, ':'))
                        return -EBADMSG;
                q = member(r, key, ctx);
                if (q < 0)
                        return q;
        } while (take(r, ','));
        return close_container(r, '}');
}

static int read_array(struct reader *r, int (*element)(struct reader *, void *), void *ctx)
{
        bool empty;
        int q = open_container(r, '[', ']', &empty);

        if (q < 0 || empty)
                return q;
        do {
                q = element(r, ctx);
                if (q < 0)
                        return q;
        } while (take(r, ','));
        return close_container(r, ']');
}

static int skip_member(struct reader *r, const char *key, void *ctx)
{
        (void)key;
        (void)ctx;
        return skip_value(r);
}

static int skip_element(struct reader *r, void *ctx)
{
        (void)ctx;
        return skip_value(r);
}

static int skip_value(struct reader *r)
{
        skip_space(r);
        if (r->p >= r->end)
                return -EBADMSG;
        switch (*r->p) {
        case '"':
                return skip_string(r);
        case '{':
                return read_object(r, skip_member, NULL);
        case '[':
                return read_array(r, skip_element, NULL);
        case 't':
                return skip_literal(r, "true");
        case 'f':
                return skip_literal(r, "false");
        case 'n':
                return skip_literal(r, "null");
        default:
                return skip_number(r);
        }
}

/* A copy of the value at r->p into *ret when it is a string; any other value is skipped and
 * leaves *ret NULL. Fails on malformed text or allocation. */
static int read_text(struct reader *r, char **ret)
{
        const char *stop;
        bool escaped;
        char *text;
        int q;

        if (!next_is(r, '"'))
                return skip_value(r);
        stop = string_end(r, &escaped);
        if (!stop)
                return -EBADMSG;
        text = malloc((size_t)(stop - r->p));
        if (!text)
                return -ENOMEM;
        q = decode_string(r, stop, escaped, text);
        if (q < 0) {
                free(text);
                return q;
        }
        *ret = text;
        return 0;
}

static int read_latest(struct reader *r, enum latest_flag *ret)
{
        char text[16];
        int q;

        if (!next_is(r, '"'))
                return skip_value(r);
        q = read_short_string(r, text, sizeof(text));
        if (q < 0)
                return q;
        if (strcmp(text, "TRUE") == 0)
                *ret = LATEST_TRUE;
        else if (strcmp(text, "FALSE") == 0)
                *ret = LATEST_FALSE;
        return 0;
}

/* The members of a builder that are read, each only from its first occurrence. */
enum builder_field {
        FIELD_NAME,
        FIELD_ARN,
        FIELD_STATE,
        FIELD_VERSION,
        FIELD_TYPE,
        FIELD_PLATFORM,
        FIELD_LATEST,
        FIELD_REASON,
        FIELD_REASON_CODE,
        FIELD_REASON_MESSAGE,
};

struct builder_reader {
        struct builder *b;
        unsigned seen; /* 1 << enum builder_field */
};

/* Whether key is field's name, met for the first time in this builder (marking it met). */
static bool first_seen(struct builder_reader *br, enum builder_field field, const char *key,
                       const char *name)
{
        if (key[0] != name[0] || (br->seen & 1u << field) || strcmp(key, name) != 0)
                return false;
        br->seen |= 1u << field;
        return true;
}

static int reason_member(struct reader *r, const char *key, void *ctx)
{
        struct builder_reader *br = ctx;

        if (first_seen(br, FIELD_REASON_CODE, key, "Code"))
                return read_text(r, &br->b->state_reason_code);
        if (first_seen(br, FIELD_REASON_MESSAGE, key, "Message"))
                return read_text(r, &br->b->state_reason_message);
        return skip_value(r);
}

static int builder_member(struct reader *r, const char *key, void *ctx)
{
        static const struct {
                enum builder_field field;
                const char *name;
                size_t offset;
        } texts[] = {
            {FIELD_NAME, "Name", offsetof(struct builder, name)},
            {FIELD_ARN, "Arn", offsetof(struct builder, arn)},
            {FIELD_STATE, "State", offsetof(struct builder, state)},
            {FIELD_VERSION, "AppstreamAgentVersion", offsetof(struct builder, agent_version)},
            {FIELD_TYPE, "InstanceType", offsetof(struct builder, instance_type)},
            {FIELD_PLATFORM, "Platform", offsetof(struct builder, platform)},
        };
        struct builder_reader *br = ctx;

        for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
                if (first_seen(br, texts[i].field, key, texts[i].name))
                        return read_text(r, (char **)((char *)br->b + texts[i].offset));
        if (first_seen(br, FIELD_LATEST, key, "LatestAppstreamAgentVersion"))
                return read_latest(r, &br->b->latest);
        if (first_seen(br, FIELD_REASON, key, "StateChangeReason") && next_is(r, '{'))
                return read_object(r, reason_member, br);
        return skip_value(r);
}

struct page_reader {
        struct builder_list *list;
        size_t cap;
        char *token;
        bool seen_builders, seen_token;
        bool not_array;  /* ImageBuilders is neither an array nor null */
        bool not_object; /* ImageBuilders holds something other than an object */
};

/* Appends the builder whose object is at r->p; a builder without a name is read and dropped,
 * since it can be neither acted on nor reported usefully. */
static int page_element(struct reader *r, void *ctx)
{
        struct page_reader *pr = ctx;
        struct builder_list *list = pr->list;
        struct builder_reader br;
        int q;

        if (!next_is(r, '{')) {
                pr->not_object = true;
                return skip_value(r);
        }
        if (list->n == pr->cap) {
                /* A page is 25 builders unless asked otherwise: one allocation per page. */
                size_t cap = list->n + 32;
                struct builder *items = realloc(list->items, cap * sizeof(*items));

                if (!items)
                        return -ENOMEM;
                list->items = items;
                pr->cap = cap;
        }
        br = (struct builder_reader){.b = &list->items[list->n]};
        memset(br.b, 0, sizeof(*br.b));
        q = read_object(r, builder_member, &br);
        if (q < 0 || !br.b->name) {
                builder_clear(br.b);
                return q;
        }
        list->n++;
        return 0;
}

static int page_member(struct reader *r, const char *key, void *ctx)
{
        struct page_reader *pr = ctx;

        if (!pr->seen_builders && strcmp(key, "ImageBuilders") == 0) {
                pr->seen_builders = true;
                if (next_is(r, '['))
                        return read_array(r, page_element, pr);
                pr->not_array = !next_is(r, 'n') || skip_literal(r, "null") < 0;
                return pr->not_array ? skip_value(r) : 0;
        }
        if (!pr->seen_token && strcmp(key, "NextToken") == 0) {
                pr->seen_token = true;
                return read_text(r, &pr->token);
        }
        return skip_value(r);
}

/* Reads the page; on any failure list is back to its first `kept` builders. */
static int read_page(struct reader *r, struct page_reader *pr, size_t kept, char *err,
                     size_t err_size)
{
        int q;

        if (!next_is(r, '{')) {
                q = skip_value(r);
                snprintf(err, err_size,
                         q == 0 ? "response is not a JSON object" : "response is not valid JSON");
                return -EBADMSG;
        }
        q = read_object(r, page_member, pr);
        if (q == -EBADMSG)
                snprintf(err, err_size, "response is not valid JSON");
        else if (q == 0 && pr->not_array)
                snprintf(err, err_size, "ImageBuilders is not an array");
        else if (q == 0 && pr->not_object)
                snprintf(err, err_size, "ImageBuilders holds a member that is not an object");
        if (q == 0 && (pr->not_array || pr->not_object))
                q = -EBADMSG;
        if (q < 0) {
                while (pr->list->n > kept)
                        builder_clear(&pr->list->items[--pr->list->n]);
                free(pr->token);
                pr->token = NULL;
        }
        return q;
}

int appstream_parse_builders(const char *body, size_t len, struct builder_list *list,
                             char **ret_next_token, char *err, size_t err_size)
{
        struct reader r = {.p = body ? body : "", .end = body ? body + len : ""};
        struct page_reader pr = {.list = list, .cap = list->n};
        int q;

        if (r.end - r.p >= 3 && memcmp(r.p, "\xEF\xBB\xBF", 3) == 0)
                r.p += 3;
        q = read_page(&r, &pr, list->n, err, err_size);
        if (q < 0)
                return q;
        /* An empty NextToken ends the listing as an absent one does. */
        if (pr.token && !*pr.token) {
                free(pr.token);
                pr.token = NULL;
        }
        *ret_next_token = pr.token;
        return 0;
}

/* "aws.protocoltests#FooError:http://internal..." -> "FooError", as Smithy's JSON protocols
 * say: keep what is before the first ':', then what is after the last '#' of that. */
static char *sanitize_code(const char *raw)
{
        size_t len = strcspn(raw, ":");
        const char *start = raw;

        for (size_t i = 0; i < len; i++)
                if (raw[i] == '#')
                        start = raw + i + 1;
        len -= (size_t)(start - raw);
        while (len && isspace((unsigned char)start[len - 1]))
                len--;
        while (len && isspace((unsigned char)*start)) {
                start++;
                len--;
        }
        return len ? strndup(start, len) : NULL;
}

static const char *string_member(const cJSON *obj, const char *a, const char *b)
{
        const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, a);

        if (!cJSON_IsString(item) && b)
                item = cJSON_GetObjectItemCaseSensitive(obj, b);
        return cJSON_IsString(item) ? item->valuestring : NULL;
}

void appstream_parse_error(const char *error_type_header, const char *body, size_t len,
                           char **ret_code, char **ret_message)
{
        cJSON *root = body && len ? cJSON_ParseWithLength(body, len) : NULL;
        const char *raw = NULL, *message = NULL;

        if (cJSON_IsObject(root)) {
                raw = string_member(root, "__type", "code");
                message = string_member(root, "message", "Message");
        }
        if (error_type_header && *error_type_header)
                raw = error_type_header;
        *ret_code = raw ? sanitize_code(raw) : NULL;
        *ret_message = message ? strdup(message) : NULL;
        cJSON_Delete(root);
}

/* Regions look like "eu-central-1", "us-gov-west-1", "cn-north-1". */
static bool region_is_valid(const char *region)
{
        const char *p = region;
        int parts = 0;

        if (!region || !*region || strlen(region) > 32)
                return false;
        while (*p) {
                size_t n = strspn(p, "abcdefghijklmnopqrstuvwxyz0123456789");

                if (n == 0)
                        return false;
                parts++;
                p += n;
                if (*p == '-')
                        p++;
                else if (*p)
                        return false;
                else
                        break;
        }
        return parts >= 3 && isdigit((unsigned char)p[-1]) && isalpha((unsigned char)region[0]);
}

/* source names where url came from, so that a bad one can be found and fixed. */
static int check_url(const char *url, const char *source, char *err, size_t err_size)
{
        CURLU *u = curl_url();
        char *scheme = NULL, *host = NULL;
        int r = 0;

        if (!u)
                return -ENOMEM;
        if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
            curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
            curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || !*host ||
            (strcmp(scheme, "https") != 0 && strcmp(scheme, "http") != 0)) {
                snprintf(err, err_size, "%s is not an http(s) URL: '%s'", source, url);
                r = -EINVAL;
        }
        curl_free(scheme);
        curl_free(host);
        curl_url_cleanup(u);
        return r;
}

int appstream_resolve_endpoint(const char *config_endpoint, const char *region, char **ret_url,
                               char *err, size_t err_size)
{
        static const char *const env[] = {"AWS_ENDPOINT_URL_APPSTREAM", "AWS_ENDPOINT_URL"};
        const char *chosen = config_endpoint, *source = "the configured endpoint";
        char *url;
        int r;

        if (!region_is_valid(region)) {
                snprintf(err, err_size, "not a valid AWS region: '%s'", region ? region : "");
                return -EINVAL;
        }
        for (size_t i = 0; i < 2 && (!chosen || !*chosen); i++) {
                chosen = getenv(env[i]);
                source = env[i];
        }
        if (chosen && *chosen) {
                r = check_url(chosen, source, err, err_size);
                if (r < 0)
                        return r;
                url = strdup(chosen);
        } else if (asprintf(&url, "https://appstream2.%s.amazonaws.com%s", region,
                            strncmp(region, "cn-", 3) == 0 ? ".cn" : "") < 0)
                url = NULL;
        if (!url)
                return -ENOMEM;
        *ret_url = url;
        return 0;
}
