/* libcurl's multi interface on libuv, after curl's docs/examples/multi-uv.c.
 *
 * curl tells us which sockets to watch (socket callback) and when to wake it (timer
 * callback); libuv watches them and we hand every event back through
 * curl_multi_socket_action(), then drain curl_multi_info_read() for finished transfers.
 * curl is never called from inside its own callbacks: the timer callback only arms a uv timer. */
#include "http.h"

#include <curl/curl.h>
#include <openssl/crypto.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#define DEFAULT_TIMEOUT_MS 30000L
#define DEFAULT_CONNECT_TIMEOUT_MS 10000L
#define DEFAULT_MAX_RESPONSE (8u << 20)
#define DEFAULT_MAX_IN_FLIGHT 64
#define MAX_RESPONSE_HEADERS 64
#define MAX_HEADER_LINE 8192

struct socket_watch {
        uv_poll_t poll;
        curl_socket_t fd;
        struct http_client *client;
        struct socket_watch *next, *prev;
};

/* Transfers in order of arrival, with their number. */
struct transfer_list {
        struct transfer *head, *tail;
        size_t n;
};

struct transfer {
        struct http_client *client;
        CURL *easy;
        struct curl_slist *headers;
        http_done_fn done;
        void *userdata;

        char *body;
        size_t body_len, body_cap, body_max;
        bool too_large;
        bool sensitive;
        enum http_priority priority;

        char *header_names[MAX_RESPONSE_HEADERS];
        char *header_values[MAX_RESPONSE_HEADERS];
        size_t n_headers;

        char errbuf[CURL_ERROR_SIZE];
        struct transfer_list *list; /* the client's running or waiting list */
        struct transfer *next, *prev;
};

struct http_client {
        uv_loop_t *loop;
        CURLM *multi;
        uv_timer_t timer;
        char *ca_file;
        long timeout_ms, connect_timeout_ms;
        size_t max_response_size;
        size_t max_in_flight;
        /* Transfers handed to curl. Others wait, one list per priority, each first come first
         * served, for one of these to finish: curl never sees them, so their timeouts only
         * start when they do. */
        struct transfer_list running, waiting[HTTP_PRIORITIES];
        size_t max_waiting; /* the most that ever waited at once */
        bool closing;       /* in http_client_free(): nothing waiting starts any more */
        struct socket_watch *watches;
        unsigned open_handles; /* uv handles not yet closed; the client is freed at zero */
        char send_error[160];  /* what the last failed http_send() could not do */
        int poll_error;        /* while on_poll() hands curl an error: why (a uv error), or 0 */
};

/* Response handed to done callbacks: the public struct plus what header lookup needs. */
struct response_view {
        struct http_response pub;
        const struct transfer *transfer;
};

static void client_release_handle(struct http_client *client);
static void check_finished(struct http_client *client);

static void watch_closed(uv_handle_t *handle)
{
        struct socket_watch *w = handle->data;
        struct http_client *client = w->client;

        free(w);
        client_release_handle(client);
}

static void watch_release(struct socket_watch *w)
{
        struct http_client *client = w->client;

        if (w->prev)
                w->prev->next = w->next;
        else
                client->watches = w->next;
        if (w->next)
                w->next->prev = w->prev;
        uv_poll_stop(&w->poll);
        uv_close((uv_handle_t *)&w->poll, watch_closed);
}

/* Why uv_poll reported an error on fd: the socket's pending error (a reset, a refusal), as a
 * uv error code. libuv reports every POLLERR as UV_EBADF, which says nothing; 0 when the socket
 * tells nothing more either. */
static int socket_error(curl_socket_t fd, int status)
{
        int error = 0;
        socklen_t len = sizeof(error);

        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len) == 0 && error != 0)
                return uv_translate_sys_error(error);
        return status == UV_EBADF ? 0 : status;
}

static void on_poll(uv_poll_t *poll, int status, int events)
{
        struct socket_watch *w = poll->data;
        struct http_client *client = w->client;
        int flags = 0;
        int running;

        if (status < 0) {
                flags = CURL_CSELECT_ERR;
                client->poll_error = socket_error(w->fd, status);
        } else {
                if (events & UV_READABLE)
                        flags |= CURL_CSELECT_IN;
                if (events & UV_WRITABLE)
                        flags |= CURL_CSELECT_OUT;
        }
        /* A transfer this fails ends here, in check_finished(): the error it gets is the one
         * just read (curl itself would only say "select/poll returned error"). */
        (void)curl_multi_socket_action(client->multi, w->fd, flags, &running);
        check_finished(client);
        client->poll_error = 0;
}

static struct socket_watch *watch_new(struct http_client *client, curl_socket_t fd)
{
        struct socket_watch *w = calloc(1, sizeof(*w));

        if (!w)
                return NULL;
        if (uv_poll_init_socket(client->loop, &w->poll, fd) < 0) {
                free(w);
                return NULL;
        }
        w->fd = fd;
        w->client = client;
        w->poll.data = w;
        w->next = client->watches;
        if (client->watches)
                client->watches->prev = w;
        client->watches = w;
        client->open_handles++;
        return w;
}

/* CURLMOPT_SOCKETFUNCTION. Also called during curl_multi_cleanup() and for sockets curl
 * opens on its own (DNS resolver, connection cache), so it must work for any of them. */
static int on_curl_socket(CURL *easy, curl_socket_t fd, int what, void *clientp, void *socketp)
{
        struct http_client *client = clientp;
        struct socket_watch *w = socketp;
        int events = 0;

        (void)easy;
        if (what == CURL_POLL_REMOVE) {
                if (w) {
                        (void)curl_multi_assign(client->multi, fd, NULL);
                        watch_release(w);
                }
                return 0;
        }
        if (!w) {
                w = watch_new(client, fd);
                if (!w)
                        return -1;
                (void)curl_multi_assign(client->multi, fd, w);
        }
        if (what & CURL_POLL_IN)
                events |= UV_READABLE;
        if (what & CURL_POLL_OUT)
                events |= UV_WRITABLE;
        return uv_poll_start(&w->poll, events, on_poll) < 0 ? -1 : 0;
}

static void on_timer(uv_timer_t *timer)
{
        struct http_client *client = timer->data;
        int running;

        (void)curl_multi_socket_action(client->multi, CURL_SOCKET_TIMEOUT, 0, &running);
        check_finished(client);
}

/* CURLMOPT_TIMERFUNCTION: only (re)arms the uv timer; -1 means stop it. */
static int on_curl_timer(CURLM *multi, long timeout_ms, void *clientp)
{
        struct http_client *client = clientp;

        (void)multi;
        if (timeout_ms < 0)
                return uv_timer_stop(&client->timer) < 0 ? -1 : 0;
        return uv_timer_start(&client->timer, on_timer, (uint64_t)timeout_ms, 0) < 0 ? -1 : 0;
}

/* Room for the whole body at once when the response says how long it is (a describe page is
 * some 35 KiB: growing to it by doubling copied it four times), else a start of 4 KiB. */
static size_t first_capacity(const struct transfer *t)
{
        curl_off_t length = -1;

        if (curl_easy_getinfo(t->easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &length) == CURLE_OK &&
            length > 0 && (curl_off_t)t->body_max >= length)
                return (size_t)length + 1;
        return 4096;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *userdata)
{
        struct transfer *t = userdata;
        size_t n = size * nmemb;
        size_t need;

        if (n > t->body_max - t->body_len) {
                t->too_large = true;
                return 0; /* aborts the transfer with CURLE_WRITE_ERROR */
        }
        need = t->body_len + n + 1;
        if (need > t->body_cap) {
                size_t cap = t->body_cap ? t->body_cap : first_capacity(t);
                char *p;

                while (cap < need)
                        cap *= 2;
                p = realloc(t->body, cap);
                if (!p)
                        return 0;
                t->body = p;
                t->body_cap = cap;
        }
        memcpy(t->body + t->body_len, data, n);
        t->body_len += n;
        t->body[t->body_len] = '\0';
        return n;
}

static void headers_reset(struct transfer *t)
{
        for (size_t i = 0; i < t->n_headers; i++) {
                free(t->header_names[i]);
                free(t->header_values[i]);
        }
        t->n_headers = 0;
}

static char *trimmed_copy(const char *s, size_t len)
{
        while (len && (*s == ' ' || *s == '\t')) {
                s++;
                len--;
        }
        while (len && (s[len - 1] == ' ' || s[len - 1] == '\t' || s[len - 1] == '\r' ||
                       s[len - 1] == '\n'))
                len--;
        return strndup(s, len);
}

/* Keeps the headers of the final response only: a new status line (after 100 Continue, a
 * proxy's CONNECT reply or a redirect) starts the list again. */
static size_t on_header(char *data, size_t size, size_t nmemb, void *userdata)
{
        struct transfer *t = userdata;
        size_t n = size * nmemb;
        const char *colon;

        if (n >= 5 && strncmp(data, "HTTP/", 5) == 0) {
                headers_reset(t);
                return n;
        }
        colon = memchr(data, ':', n);
        if (!colon || n > MAX_HEADER_LINE || t->n_headers == MAX_RESPONSE_HEADERS)
                return n;
        t->header_names[t->n_headers] = trimmed_copy(data, (size_t)(colon - data));
        t->header_values[t->n_headers] = trimmed_copy(colon + 1, n - (size_t)(colon - data) - 1);
        if (!t->header_names[t->n_headers] || !t->header_values[t->n_headers]) {
                free(t->header_names[t->n_headers]);
                free(t->header_values[t->n_headers]);
                return 0;
        }
        t->n_headers++;
        return n;
}

static enum http_failure classify(CURLcode code, bool too_large)
{
        switch (code) {
        case CURLE_OK:
                return HTTP_OK;
        case CURLE_COULDNT_RESOLVE_HOST:
        case CURLE_COULDNT_RESOLVE_PROXY:
                return HTTP_ERR_RESOLVE;
        case CURLE_COULDNT_CONNECT:
                return HTTP_ERR_CONNECT;
        case CURLE_OPERATION_TIMEDOUT:
                return HTTP_ERR_TIMEOUT;
        case CURLE_SSL_CONNECT_ERROR:
        case CURLE_PEER_FAILED_VERIFICATION:
        case CURLE_SSL_CERTPROBLEM:
        case CURLE_SSL_CIPHER:
        case CURLE_SSL_CACERT_BADFILE:
        case CURLE_SSL_ISSUER_ERROR:
        case CURLE_SSL_CRL_BADFILE:
        case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
        case CURLE_SSL_INVALIDCERTSTATUS:
                return HTTP_ERR_TLS;
        case CURLE_FILESIZE_EXCEEDED:
                return HTTP_ERR_TOO_LARGE;
        case CURLE_WRITE_ERROR:
                return too_large ? HTTP_ERR_TOO_LARGE : HTTP_ERR_TRANSFER;
        default:
                return HTTP_ERR_TRANSFER;
        }
}

static void list_append(struct transfer_list *l, struct transfer *t)
{
        t->list = l;
        t->next = NULL;
        t->prev = l->tail;
        if (l->tail)
                l->tail->next = t;
        else
                l->head = t;
        l->tail = t;
        l->n++;
}

static void list_remove(struct transfer *t)
{
        struct transfer_list *l = t->list;

        if (t->prev)
                t->prev->next = t->next;
        else
                l->head = t->next;
        if (t->next)
                t->next->prev = t->prev;
        else
                l->tail = t->prev;
        t->list = NULL;
        t->next = t->prev = NULL;
        l->n--;
}

/* Hands t to curl, which starts its clock (CURLOPT_TIMEOUT_MS counts from here), and moves it
 * to the running list. Returns 0, or -ENOMEM when curl will not take it (t is left as it was). */
static int transfer_start(struct transfer *t)
{
        struct http_client *client = t->client;

        if (curl_multi_add_handle(client->multi, t->easy) != CURLM_OK)
                return -ENOMEM;
        if (t->list)
                list_remove(t);
        list_append(&client->running, t);
        return 0;
}

static size_t waiting_count(const struct http_client *client)
{
        size_t n = 0;

        for (size_t i = 0; i < HTTP_PRIORITIES; i++)
                n += client->waiting[i].n;
        return n;
}

/* The transfer to start next: the oldest of the most urgent that wait; NULL when none does. */
static struct transfer *next_waiting(struct http_client *client)
{
        static const enum http_priority order[] = {HTTP_PRIORITY_URGENT, HTTP_PRIORITY_NORMAL,
                                                   HTTP_PRIORITY_BACKGROUND};

        for (size_t i = 0; i < HTTP_PRIORITIES; i++)
                if (client->waiting[order[i]].head)
                        return client->waiting[order[i]].head;
        return NULL;
}

static void transfer_wait(struct transfer *t)
{
        struct http_client *client = t->client;
        size_t waiting;

        list_append(&client->waiting[t->priority], t);
        waiting = waiting_count(client);
        if (waiting > client->max_waiting)
                client->max_waiting = waiting;
}

static void transfer_free(struct transfer *t)
{
        if (!t)
                return;
        if (t->easy)
                curl_easy_cleanup(t->easy);
        if (t->sensitive) {
                for (struct curl_slist *l = t->headers; l; l = l->next)
                        OPENSSL_cleanse(l->data, strlen(l->data));
                if (t->body)
                        OPENSSL_cleanse(t->body, t->body_cap);
        }
        curl_slist_free_all(t->headers);
        headers_reset(t);
        free(t->body);
        free(t);
}

static void transfer_complete(struct transfer *t, CURLcode code, bool cancelled);

/* Starts waiting transfers, in next_waiting()'s order, while fewer than max_in_flight run.
 * One that curl will not take fails at once, as it would have in http_send(). */
static void start_waiting(struct http_client *client)
{
        struct transfer *t;

        while (!client->closing && (t = next_waiting(client)) &&
               client->running.n < client->max_in_flight) {
                if (transfer_start(t) < 0)
                        transfer_complete(t, CURLE_OUT_OF_MEMORY, false);
        }
}

/* Detaches t from curl and the client, reports the outcome, and frees it; a running transfer
 * then makes room for a waiting one. The callback may start new requests. */
static void transfer_complete(struct transfer *t, CURLcode code, bool cancelled)
{
        struct http_client *client = t->client;
        bool was_running = t->list == &client->running;
        struct response_view view = {.transfer = t};
        struct http_response *r = &view.pub;
        double total = 0;

        if (was_running)
                (void)curl_multi_remove_handle(client->multi, t->easy);
        list_remove(t);
        r->failure = cancelled ? HTTP_ERR_CANCELLED : classify(code, t->too_large);
        if (r->failure == HTTP_OK)
                (void)curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &r->status);
        else if (cancelled)
                r->error = "request cancelled";
        else if (r->failure == HTTP_ERR_TOO_LARGE)
                r->error = "response larger than the size limit";
        else if (t->client->poll_error && (code == CURLE_SEND_ERROR || code == CURLE_RECV_ERROR))
                r->error = uv_strerror(t->client->poll_error);
        else
                r->error = t->errbuf[0] ? t->errbuf : curl_easy_strerror(code);
        (void)curl_easy_getinfo(t->easy, CURLINFO_TOTAL_TIME, &total);
        r->elapsed_s = total;
        r->body = t->body ? t->body : "";
        r->body_len = t->body_len;
        t->done(r, t->userdata);
        transfer_free(t);
        if (was_running)
                start_waiting(client);
}

static void check_finished(struct http_client *client)
{
        CURLMsg *msg;
        int left;

        while ((msg = curl_multi_info_read(client->multi, &left))) {
                struct transfer *t = NULL;

                if (msg->msg != CURLMSG_DONE)
                        continue;
                (void)curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&t);
                transfer_complete(t, msg->data.result, false);
        }
}

const char *http_response_header(const struct http_response *response, const char *name)
{
        const struct transfer *t = ((const struct response_view *)response)->transfer;

        for (size_t i = 0; i < t->n_headers; i++)
                if (strcasecmp(t->header_names[i], name) == 0)
                        return t->header_values[i];
        return NULL;
}

static int build_headers(struct transfer *t, const struct http_request *req)
{
        char line[MAX_HEADER_LINE];

        for (size_t i = 0; i < req->n_headers; i++) {
                struct curl_slist *l;
                int n = snprintf(line, sizeof(line), "%s: %s", req->headers[i].name,
                                 req->headers[i].value);

                if (n < 0 || (size_t)n >= sizeof(line))
                        return -EINVAL;
                l = curl_slist_append(t->headers, line);
                if (!l)
                        return -ENOMEM;
                t->headers = l;
        }
        /* Signed requests must go out exactly as signed: no 100-continue round trip. */
        t->headers = curl_slist_append(t->headers, "Expect:");
        return t->headers ? 0 : -ENOMEM;
}

/* One curl_easy_setopt() of configure_easy(); the first that fails is named in the client's
 * send_error, so that "cannot send" says which option libcurl refused and why. */
static bool set_option(struct transfer *t, bool ok, const char *name, CURLcode code)
{
        if (ok && code != CURLE_OK)
                snprintf(t->client->send_error, sizeof(t->client->send_error),
                         "setting %s: %s", name, curl_easy_strerror(code));
        return ok && code == CURLE_OK;
}

#define SET(option, value) ok = set_option(t, ok, #option, curl_easy_setopt(e, option, value))

static int configure_easy(struct transfer *t, const struct http_request *req)
{
        struct http_client *c = t->client;
        CURL *e = t->easy;
        long timeout = req->timeout_ms ? req->timeout_ms : c->timeout_ms;
        long connect = req->connect_timeout_ms ? req->connect_timeout_ms : c->connect_timeout_ms;
        bool ok = true;

        SET(CURLOPT_URL, req->url);
        SET(CURLOPT_PROTOCOLS_STR, "http,https");
        SET(CURLOPT_PRIVATE, t);
        SET(CURLOPT_ERRORBUFFER, t->errbuf);
        SET(CURLOPT_NOSIGNAL, 1L);
        SET(CURLOPT_TIMEOUT_MS, timeout);
        SET(CURLOPT_CONNECTTIMEOUT_MS, connect);
        SET(CURLOPT_SSL_VERIFYPEER, 1L);
        SET(CURLOPT_SSL_VERIFYHOST, 2L);
        if (c->ca_file)
                SET(CURLOPT_CAINFO, c->ca_file);
        if (req->no_proxy)
                SET(CURLOPT_NOPROXY, "*");
        SET(CURLOPT_TCP_KEEPALIVE, 1L);
        SET(CURLOPT_USERAGENT, "appstream-agent-reconciler/" RECONCILER_VERSION);
        SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)t->body_max);
        SET(CURLOPT_WRITEFUNCTION, on_body);
        SET(CURLOPT_WRITEDATA, t);
        SET(CURLOPT_HEADERFUNCTION, on_header);
        SET(CURLOPT_HEADERDATA, t);
        SET(CURLOPT_HTTPHEADER, t->headers);
        if (req->body || strcmp(req->method, "GET") != 0) {
                SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
                SET(CURLOPT_COPYPOSTFIELDS, req->body ? req->body : "");
        }
        if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "POST") != 0)
                SET(CURLOPT_CUSTOMREQUEST, req->method);
        return ok ? 0 : -EINVAL;
}

#undef SET

const char *http_client_send_error(const struct http_client *client)
{
        return client->send_error;
}

int http_send(struct http_client *client, const struct http_request *req, http_done_fn done,
              void *userdata)
{
        struct transfer *t;
        int r;

        if (!client || !req || !req->url || !req->method || !done ||
            (unsigned)req->priority >= HTTP_PRIORITIES)
                return -EINVAL;
        snprintf(client->send_error, sizeof(client->send_error), "%s", strerror(ENOMEM));
        t = calloc(1, sizeof(*t));
        if (!t)
                return -ENOMEM;
        t->client = client;
        t->done = done;
        t->userdata = userdata;
        t->sensitive = req->sensitive;
        t->priority = req->priority;
        t->body_max = req->max_response_size ? req->max_response_size : client->max_response_size;
        t->easy = curl_easy_init();
        if (!t->easy) {
                r = -ENOMEM;
                goto fail;
        }
        r = build_headers(t, req);
        if (r < 0)
                goto fail;
        r = configure_easy(t, req);
        if (r < 0)
                goto fail;
        /* Behind any that wait already, even when one has just finished and left room. */
        if (waiting_count(client) > 0 || client->running.n >= client->max_in_flight) {
                transfer_wait(t);
                return 0;
        }
        r = transfer_start(t);
        if (r < 0)
                goto fail;
        return 0;
fail:
        transfer_free(t);
        return r;
}

size_t http_client_pending(const struct http_client *client)
{
        return client ? client->running.n + waiting_count(client) : 0;
}

void http_client_get_stats(const struct http_client *client, struct http_client_stats *ret)
{
        *ret = (struct http_client_stats){
            .in_flight = client->running.n,
            .queued = waiting_count(client),
            .max_queued = client->max_waiting,
        };
}

int http_client_new(uv_loop_t *loop, const struct http_client_options *opts,
                    struct http_client **ret)
{
        struct http_client *c;
        const char *ca = opts && opts->ca_file ? opts->ca_file : getenv("AWS_CA_BUNDLE");

        c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        c->loop = loop;
        c->timeout_ms = opts && opts->timeout_ms ? opts->timeout_ms : DEFAULT_TIMEOUT_MS;
        c->connect_timeout_ms = opts && opts->connect_timeout_ms ? opts->connect_timeout_ms
                                                                 : DEFAULT_CONNECT_TIMEOUT_MS;
        c->max_response_size = opts && opts->max_response_size ? opts->max_response_size
                                                               : DEFAULT_MAX_RESPONSE;
        c->max_in_flight = opts && opts->max_in_flight ? opts->max_in_flight
                                                       : DEFAULT_MAX_IN_FLIGHT;
        if (ca && *ca && !(c->ca_file = strdup(ca)))
                goto fail;
        c->multi = curl_multi_init();
        if (!c->multi)
                goto fail;
        if (uv_timer_init(loop, &c->timer) < 0)
                goto fail;
        c->timer.data = c;
        c->open_handles = 1;
        (void)curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, on_curl_socket);
        (void)curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
        (void)curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer);
        (void)curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
        *ret = c;
        return 0;
fail:
        if (c->multi)
                curl_multi_cleanup(c->multi);
        free(c->ca_file);
        free(c);
        return -ENOMEM;
}

/* The client outlives its last uv handle: it is freed when that one has closed. */
static void client_release_handle(struct http_client *client)
{
        if (--client->open_handles > 0)
                return;
        free(client->ca_file);
        free(client);
}

static void timer_closed(uv_handle_t *handle)
{
        client_release_handle(handle->data);
}

void http_client_free(struct http_client *client)
{
        if (!client)
                return;
        /* The running first, then the waiting in the order they would have started; a
         * callback's new request is cancelled too. */
        client->closing = true;
        while (client->running.head || next_waiting(client)) {
                struct transfer *t = client->running.head;

                transfer_complete(t ? t : next_waiting(client), CURLE_OK, true);
        }
        /* Closes cached connections; the socket callback releases their watches. */
        curl_multi_cleanup(client->multi);
        client->multi = NULL;
        while (client->watches)
                watch_release(client->watches);
        uv_timer_stop(&client->timer);
        uv_close((uv_handle_t *)&client->timer, timer_closed);
}

int http_url_host_path(const char *url, char **ret_host, char **ret_path)
{
        CURLU *u = curl_url();
        char *host = NULL, *port = NULL, *path = NULL;
        int r = -EINVAL;

        *ret_host = *ret_path = NULL;
        if (!u)
                return -ENOMEM;
        if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
            curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK && *host &&
            curl_url_get(u, CURLUPART_PATH, &path, 0) == CURLUE_OK) {
                (void)curl_url_get(u, CURLUPART_PORT, &port, CURLU_NO_DEFAULT_PORT);
                r = port ? asprintf(ret_host, "%s:%s", host, port) : asprintf(ret_host, "%s", host);
                r = r < 0 ? -ENOMEM : 0;
                if (r == 0 && !(*ret_path = strdup(path && *path ? path : "/"))) {
                        free(*ret_host);
                        *ret_host = NULL;
                        r = -ENOMEM;
                }
        }
        curl_free(host);
        curl_free(port);
        curl_free(path);
        curl_url_cleanup(u);
        return r;
}
