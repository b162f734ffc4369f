/* Runs the credentials chain once with STS answered in-process, for check_creds_roles_parity.py:
 * every AssumeRole and AssumeRoleWithWebIdentity (and IAM Identity Center's GetRoleCredentials)
 * is answered at once with credentials whose key id names the role ("ASIA" + the role's name
 * in capitals), and recorded with the key id that signed it. Prints one JSON line: r, source, access_key_id and the calls, or r and error.
 *   tool_creds_roles [--profile NAME]
 * Instance metadata and containers are refused by the same transport, so nothing leaves the
 * process. */
#include <ctype.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "creds.h"
#include "tool_json.h"

struct pending {
        uv_timer_t timer;
        http_done_fn done;
        void *userdata;
        long status;
        char body[2048];
};

static char calls[8192] = "";

/* The value of name in a form body, %XX decoded, into buf. */
static const char *form_value(const char *body, const char *name, char *buf, size_t size)
{
        size_t n = strlen(name), len = 0;
        const char *p = body;

        buf[0] = '\0';
        while (p && *p) {
                if (strncmp(p, name, n) == 0 && p[n] == '=') {
                        for (p += n + 1; *p && *p != '&' && len + 1 < size; p++) {
                                unsigned v;

                                if (*p == '%' && sscanf(p + 1, "%2x", &v) == 1) {
                                        buf[len++] = (char)v;
                                        p += 2;
                                } else {
                                        buf[len++] = *p == '+' ? ' ' : *p;
                                }
                        }
                        buf[len] = '\0';
                        return buf;
                }
                p = strchr(p, '&');
                p = p ? p + 1 : NULL;
        }
        return buf;
}

static void signer_of(const struct http_request *req, char *buf, size_t size)
{
        snprintf(buf, size, "%s", "");
        for (size_t i = 0; i < req->n_headers; i++) {
                const char *cred;

                if (strcmp(req->headers[i].name, "Authorization") != 0)
                        continue;
                cred = strstr(req->headers[i].value, "Credential=");
                if (cred)
                        snprintf(buf, size, "%.*s", (int)strcspn(cred + 11, "/"), cred + 11);
        }
}

static void on_timer(uv_timer_t *t)
{
        struct pending *p = t->data;
        struct http_response resp = {.status = p->status, .body = p->body,
                                     .body_len = strlen(p->body)};

        if (p->status == 0) {
                resp.failure = HTTP_ERR_CONNECT;
                resp.error = "refused by the test transport";
        }
        p->done(&resp, p->userdata);
        uv_close((uv_handle_t *)t, (uv_close_cb)free);
}

static void answer(const struct http_request *req, struct pending *p)
{
        char action[64], role[512], signer[128], key[80] = "ASIA", external[128], name[128];
        const char *slash;
        size_t len = strlen(calls), k = 4;

        form_value(req->body, "Action", action, sizeof(action));
        form_value(req->body, "RoleArn", role, sizeof(role));
        form_value(req->body, "ExternalId", external, sizeof(external));
        form_value(req->body, "RoleSessionName", name, sizeof(name));
        signer_of(req, signer, sizeof(signer));
        slash = strrchr(role, '/');
        for (const char *c = slash ? slash + 1 : role; *c && k + 1 < sizeof(key); c++)
                key[k++] = (char)toupper((unsigned char)*c);
        key[k] = '\0';
        snprintf(calls + len, sizeof(calls) - len,
                 "%s{\"action\": \"%s\", \"role\": \"%s\", \"signed_by\": \"%s\", "
                 "\"external_id\": \"%s\"}",
                 len ? ", " : "", action, role, signer, external);
        p->status = 200;
        snprintf(p->body, sizeof(p->body),
                 "<%sResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><%sResult>"
                 "<Credentials><AccessKeyId>%s</AccessKeyId><SecretAccessKey>s</SecretAccessKey>"
                 "<SessionToken>t</SessionToken><Expiration>2099-01-01T00:00:00Z</Expiration>"
                 "</Credentials></%sResult><ResponseMetadata><RequestId>r</RequestId>"
                 "</ResponseMetadata></%sResponse>",
                 action, action, key, action, action);
}

/* GetRoleCredentials: the key names the role too ("ASIA" + role name). */
static void answer_sso(const struct http_request *req, struct pending *p)
{
        char role[128], account[32], key[80] = "ASIA";
        const char *query = strchr(req->url, '?');
        size_t len = strlen(calls), k = 4;

        form_value(query ? query + 1 : "", "role_name", role, sizeof(role));
        form_value(query ? query + 1 : "", "account_id", account, sizeof(account));
        for (const char *c = role; *c && k + 1 < sizeof(key); c++)
                key[k++] = (char)toupper((unsigned char)*c);
        key[k] = '\0';
        snprintf(calls + len, sizeof(calls) - len,
                 "%s{\"action\": \"GetRoleCredentials\", \"role\": \"%s/%s\", "
                 "\"signed_by\": \"\", \"external_id\": \"\"}",
                 len ? ", " : "", account, role);
        p->status = 200;
        snprintf(p->body, sizeof(p->body),
                 "{\"roleCredentials\": {\"accessKeyId\": \"%s\", \"secretAccessKey\": \"s\", "
                 "\"sessionToken\": \"t\", \"expiration\": 4070908800000}}",
                 key);
}

static int send_fn(void *userdata, const struct http_request *req, http_done_fn done,
                   void *done_userdata)
{
        struct pending *p = calloc(1, sizeof(*p));

        if (!p)
                return -1;
        p->done = done;
        p->userdata = done_userdata;
        if (req->body && strstr(req->url, "://sts."))
                answer(req, p);
        else if (strstr(req->url, "://portal.sso.") && strstr(req->url, "/federation/credentials"))
                answer_sso(req, p);
        uv_timer_init(userdata, &p->timer);
        p->timer.data = p;
        uv_timer_start(&p->timer, on_timer, 0, 0);
        return 0;
}

static void on_done(int r, const struct aws_credentials *creds, const char *error, void *userdata)
{
        (void)userdata;
        if (r == 0) {
                printf("{\"r\": 0, \"source\": \"%s\", \"access_key_id\": ", creds->source);
                tool_print_json_string(creds->access_key_id);
        } else {
                printf("{\"r\": %d, \"error\": ", r);
                tool_print_json_string(error ? error : "");
        }
        printf(", \"calls\": [%s]}\n", calls);
}

int main(int argc, char **argv)
{
        static const struct option longopts[] = {{"profile", required_argument, NULL, 'p'},
                                                 {NULL, 0, NULL, 0}};
        struct creds_chain_options opts = {.region = "us-east-1"};
        struct creds_transport transport = {.send = send_fn};
        struct creds_chain *chain;
        uv_loop_t loop;
        int c;

        while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
                if (c != 'p')
                        return 2;
                opts.profile = optarg;
        }
        uv_loop_init(&loop);
        transport.userdata = &loop;
        opts.loop = &loop;
        opts.transport = &transport;
        if (creds_chain_new(&opts, &chain) < 0 || creds_chain_get(chain, on_done, NULL) < 0)
                return 1;
        uv_run(&loop, UV_RUN_DEFAULT);
        creds_chain_free(chain);
        uv_run(&loop, UV_RUN_DEFAULT);
        return uv_loop_close(&loop) == 0 ? 0 : 1;
}
