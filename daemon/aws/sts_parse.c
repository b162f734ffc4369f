/* STS answers, read with libexpat. Only the few leaves the daemon needs are kept, each found by
 * its full element path, so that an element of the same name elsewhere in the document (a
 * <Code> inside something new) cannot stand in for it. A document type declaration is refused
 * outright: STS never sends one, and refusing it closes the door on entity tricks.
 *
 * Why libexpat rather than libxml2: these answers are a few hundred bytes of flat elements, and
 * a streaming parser with no DOM, no network and no catalogue is all they need; expat is small,
 * maintained, in every Debian system already (apt and systemd pull it in), and its defaults
 * never load external entities. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <expat.h>

#include "aws_common.h"
#include "sts.h"

#define STS_MAX_DEPTH 8
#define STS_MAX_PATH 256
#define STS_MAX_FIELD (32 * 1024) /* a session token is a few KiB at most */

enum field {
        F_ACCESS_KEY_ID,
        F_SECRET,
        F_TOKEN,
        F_EXPIRATION,
        F_CODE,
        F_MESSAGE,
        F_REQUEST_ID,
        F_ACCOUNT,
        F_ARN,
        F_USER_ID,
        F_COUNT,
};

/* What each field is called in messages: where it sits under the result element. */
static const char *const field_names[F_COUNT] = {
    [F_ACCESS_KEY_ID] = "Credentials/AccessKeyId",
    [F_SECRET] = "Credentials/SecretAccessKey",
    [F_TOKEN] = "Credentials/SessionToken",
    [F_EXPIRATION] = "Credentials/Expiration",
    [F_ACCOUNT] = "Account",
    [F_ARN] = "Arn",
    [F_USER_ID] = "UserId",
};

struct reader {
        XML_Parser parser;
        char path[STS_MAX_PATH];
        size_t path_len[STS_MAX_DEPTH]; /* path length before each open element, to pop */
        unsigned depth;
        char wanted[F_COUNT][STS_MAX_PATH]; /* the path of each field */
        char *text[F_COUNT];
        size_t text_len[F_COUNT];
        int capturing; /* the field whose element is open, or -1 */
        char root[64]; /* the root element's name */
        int r;
        const char *why;
};

const char *sts_action_name(enum sts_action action)
{
        switch (action) {
        case STS_ASSUME_ROLE:
                return "AssumeRole";
        case STS_ASSUME_ROLE_WITH_WEB_IDENTITY:
                return "AssumeRoleWithWebIdentity";
        case STS_GET_CALLER_IDENTITY:
                break;
        }
        return "GetCallerIdentity";
}

/* The fields a success answer to action must carry: [first, last]. */
static void result_fields(enum sts_action action, enum field *first, enum field *last)
{
        *first = action == STS_GET_CALLER_IDENTITY ? F_ACCOUNT : F_ACCESS_KEY_ID;
        *last = action == STS_GET_CALLER_IDENTITY ? F_USER_ID : F_EXPIRATION;
}

void sts_answer_clear(struct sts_answer *a)
{
        if (!a)
                return;
        aws_wipe_free(a->access_key_id);
        aws_wipe_free(a->secret_access_key);
        aws_wipe_free(a->session_token);
        free(a->expiration);
        free(a->error_code);
        free(a->error_message);
        free(a->request_id);
        free(a->account);
        free(a->arn);
        free(a->user_id);
        memset(a, 0, sizeof(*a));
}

static void stop(struct reader *rd, int r, const char *why)
{
        if (rd->r == 0) {
                rd->r = r;
                rd->why = why;
        }
        (void)XML_StopParser(rd->parser, XML_FALSE);
}

static void on_start(void *userdata, const XML_Char *name, const XML_Char **attrs)
{
        struct reader *rd = userdata;
        size_t len = strlen(rd->path), n = strlen(name);

        (void)attrs;
        if (rd->depth == 0)
                (void)snprintf(rd->root, sizeof(rd->root), "%s", name);
        if (rd->depth >= STS_MAX_DEPTH || len + 1 + n >= sizeof(rd->path)) {
                stop(rd, -EINVAL, "elements nested deeper than STS nests them");
                return;
        }
        rd->path_len[rd->depth++] = len;
        rd->path[len] = '/';
        memcpy(rd->path + len + 1, name, n + 1);
        rd->capturing = -1;
        for (int f = 0; f < F_COUNT; f++)
                if (strcmp(rd->path, rd->wanted[f]) == 0) {
                        rd->capturing = f;
                        rd->text_len[f] = 0;
                        if (rd->text[f])
                                rd->text[f][0] = '\0';
                }
}

static void on_end(void *userdata, const XML_Char *name)
{
        struct reader *rd = userdata;

        (void)name;
        rd->capturing = -1;
        if (rd->depth == 0)
                return;
        rd->depth--;
        rd->path[rd->path_len[rd->depth]] = '\0';
}

static void on_text(void *userdata, const XML_Char *s, int len)
{
        struct reader *rd = userdata;
        int f = rd->capturing;
        char *grown;
        size_t need;

        if (f < 0 || len <= 0)
                return;
        need = rd->text_len[f] + (size_t)len + 1;
        if (need > STS_MAX_FIELD) {
                stop(rd, -EINVAL, "a field longer than 32 KiB");
                return;
        }
        /* Grown by copying so that no stale copy of a secret is left behind by realloc. */
        grown = malloc(need);
        if (!grown) {
                stop(rd, -ENOMEM, "out of memory");
                return;
        }
        if (rd->text[f])
                memcpy(grown, rd->text[f], rd->text_len[f]);
        memcpy(grown + rd->text_len[f], s, (size_t)len);
        grown[need - 1] = '\0';
        aws_wipe_free(rd->text[f]);
        rd->text[f] = grown;
        rd->text_len[f] = need - 1;
}

static void on_doctype(void *userdata, const XML_Char *name, const XML_Char *sysid,
                       const XML_Char *pubid, int has_internal_subset)
{
        (void)name;
        (void)sysid;
        (void)pubid;
        (void)has_internal_subset;
        stop(userdata, -EINVAL, "a document type declaration, which STS never sends");
}

/* Fields not wanted for this action keep an empty path, which no element has. */
static void set_paths(struct reader *rd, enum sts_action action)
{
        const char *name = sts_action_name(action);
        enum field first, last;

        result_fields(action, &first, &last);
        for (int f = first; f <= (int)last; f++)
                (void)snprintf(rd->wanted[f], STS_MAX_PATH, "/%sResponse/%sResult/%s", name, name,
                               field_names[f]);
        (void)snprintf(rd->wanted[F_CODE], STS_MAX_PATH, "/ErrorResponse/Error/Code");
        (void)snprintf(rd->wanted[F_MESSAGE], STS_MAX_PATH, "/ErrorResponse/Error/Message");
        (void)snprintf(rd->wanted[F_REQUEST_ID], STS_MAX_PATH, "%s",
                       "/ErrorResponse/RequestId");
}

static int parse(struct reader *rd, const char *body, size_t len, char *err, size_t err_size)
{
        rd->parser = XML_ParserCreate("UTF-8");
        if (!rd->parser)
                return -ENOMEM;
        XML_SetUserData(rd->parser, rd);
        XML_SetElementHandler(rd->parser, on_start, on_end);
        XML_SetCharacterDataHandler(rd->parser, on_text);
        XML_SetStartDoctypeDeclHandler(rd->parser, on_doctype);
        if (len > (size_t)INT32_MAX) {
                XML_ParserFree(rd->parser);
                aws_set_error(err, err_size, "the answer is too large");
                return -EINVAL;
        }
        if (XML_Parse(rd->parser, body, (int)len, XML_TRUE) == XML_STATUS_ERROR && rd->r == 0) {
                aws_set_error(err, err_size, "the answer is not well-formed XML (%s at line %lu)",
                              XML_ErrorString(XML_GetErrorCode(rd->parser)),
                              (unsigned long)XML_GetCurrentLineNumber(rd->parser));
                rd->r = -EINVAL;
                rd->why = NULL;
        }
        XML_ParserFree(rd->parser);
        if (rd->r < 0 && rd->why)
                aws_set_error(err, err_size, "the answer has %s", rd->why);
        return rd->r;
}

static char *take(struct reader *rd, enum field f)
{
        char *t = rd->text[f];

        rd->text[f] = NULL;
        return t;
}

static void free_reader(struct reader *rd)
{
        for (int f = 0; f < F_COUNT; f++)
                aws_wipe_free(rd->text[f]);
}

static bool is_account_id(const char *s)
{
        return strlen(s) == 12 && strspn(s, "0123456789") == 12;
}

static int fill_success(struct reader *rd, enum sts_action action, struct sts_answer *ret,
                        char *err, size_t err_size)
{
        enum field first, last;
        char root[80];

        (void)snprintf(root, sizeof(root), "%sResponse", sts_action_name(action));
        if (strcmp(rd->root, root) != 0) {
                aws_set_error(err, err_size, "a 2xx answer whose root element is <%s>, not <%s>",
                              rd->root, root);
                return -EINVAL;
        }
        result_fields(action, &first, &last);
        for (int f = first; f <= (int)last; f++)
                if (!rd->text[f] || !rd->text[f][0]) {
                        aws_set_error(err, err_size, "a 2xx answer without %s", field_names[f]);
                        return -EINVAL;
                }
        /* The account is what a target is known by: anything else is not an account. */
        if (action == STS_GET_CALLER_IDENTITY && !is_account_id(rd->text[F_ACCOUNT])) {
                aws_set_error(err, err_size, "a 2xx answer whose Account is not 12 digits");
                return -EINVAL;
        }
        ret->access_key_id = take(rd, F_ACCESS_KEY_ID);
        ret->secret_access_key = take(rd, F_SECRET);
        ret->session_token = take(rd, F_TOKEN);
        ret->expiration = take(rd, F_EXPIRATION);
        ret->account = take(rd, F_ACCOUNT);
        ret->arn = take(rd, F_ARN);
        ret->user_id = take(rd, F_USER_ID);
        return 0;
}

static int fill_error(struct reader *rd, long status, struct sts_answer *ret, char *err,
                      size_t err_size)
{
        if (strcmp(rd->root, "ErrorResponse") != 0 || !rd->text[F_CODE] || !rd->text[F_CODE][0]) {
                aws_set_error(err, err_size, "HTTP %ld without an STS ErrorResponse", status);
                return -EINVAL;
        }
        ret->error_code = take(rd, F_CODE);
        ret->error_message = take(rd, F_MESSAGE);
        return 0;
}

int sts_parse_response(enum sts_action action, long status, const char *body, size_t len,
                       struct sts_answer *ret, char *err, size_t err_size)
{
        const char *name = sts_action_name(action);
        struct reader rd = {.capturing = -1};
        struct sts_answer a = {0};
        bool success = status >= 200 && status < 300;
        int r;

        set_paths(&rd, action);
        if (success)
                (void)snprintf(rd.wanted[F_REQUEST_ID], STS_MAX_PATH,
                               "/%sResponse/ResponseMetadata/RequestId", name);
        r = parse(&rd, body, len, err, err_size);
        if (r == 0)
                r = success ? fill_success(&rd, action, &a, err, err_size)
                            : fill_error(&rd, status, &a, err, err_size);
        if (r == 0)
                a.request_id = take(&rd, F_REQUEST_ID);
        free_reader(&rd);
        if (r < 0) {
                sts_answer_clear(&a);
                return r;
        }
        *ret = a;
        return 0;
}

bool sts_code_rejects_caller(const char *code)
{
        static const char *const codes[] = {
            "InvalidClientTokenId", "SignatureDoesNotMatch",      "ExpiredToken",
            "IncompleteSignature",  "MissingAuthenticationToken",
        };

        for (size_t i = 0; code && i < sizeof(codes) / sizeof(codes[0]); i++)
                if (strcmp(code, codes[i]) == 0)
                        return true;
        return false;
}

char *sts_session_name(const char *text, char *buf, size_t size)
{
        size_t n = 0;

        for (const char *c = text; *c && n < 64 && n + 1 < size; c++, n++)
                buf[n] = (strchr("+=,.@_-", *c) && *c) || (*c >= 'a' && *c <= 'z') ||
                                 (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9')
                             ? *c
                             : '-';
        if (size)
                buf[n] = '\0';
        return buf;
}
