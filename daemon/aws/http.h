/* Asynchronous HTTP(S) on the event loop: libcurl's multi interface driven by libuv.
 * This is the only module that calls curl_multi_*. TLS peer and host verification are always
 * on; AWS_CA_BUNDLE (or an explicit CA file) replaces the system trust store, and proxies come
 * from libcurl's own handling of the usual environment variables. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

struct http_client;

struct http_header {
        const char *name;
        const char *value;
};

/* Which of the requests waiting for room goes out first: the oldest urgent one, else the
 * oldest normal one, else the oldest in the background. Nothing on the wire is overtaken; the
 * order only matters while max_in_flight are there, in a burst. (Credentials, refreshed up to
 * five minutes ahead of their expiry, can wait there without harm.) */
enum http_priority {
        HTTP_PRIORITY_NORMAL = 0,
        /* The next step of something under way, whose wait holds a resource elsewhere (a
         * builder stopped, a slot of the organization's total). */
        HTTP_PRIORITY_URGENT,
        /* Work whose results are needed later, not now, or which begins more requests of its
         * own: behind it, those that finish what others began go first. */
        HTTP_PRIORITY_BACKGROUND,
        HTTP_PRIORITIES
};

struct http_request {
        const char *method; /* "GET", "PUT", "POST" */
        const char *url;
        const struct http_header *headers; /* copied by http_send() */
        size_t n_headers;
        const char *body; /* copied by http_send(); may be NULL */
        size_t body_len;
        long timeout_ms;          /* whole transfer; 0 means the client default */
        long connect_timeout_ms;  /* 0 means the client default */
        size_t max_response_size; /* body cap; 0 means the client default */
        bool no_proxy;            /* never through a proxy: instance and container metadata */
        bool sensitive;           /* headers or body carry secrets: wipe copies when done */
        enum http_priority priority; /* its place in the queue; 0 is normal */
};

enum http_failure {
        HTTP_OK = 0,          /* a response was received; see status */
        HTTP_ERR_RESOLVE,     /* the host name did not resolve */
        HTTP_ERR_CONNECT,     /* refused, unreachable, reset before a response */
        HTTP_ERR_TIMEOUT,     /* connect or transfer timeout */
        HTTP_ERR_TLS,         /* handshake or certificate verification failed */
        HTTP_ERR_TOO_LARGE,   /* response body exceeded max_response_size */
        HTTP_ERR_TRANSFER,    /* connection dropped mid-response, malformed HTTP, ... */
        HTTP_ERR_CANCELLED,   /* the client was shut down before completion */
};

struct http_response {
        enum http_failure failure;
        const char *error; /* human-readable cause when failure != HTTP_OK */
        long status;       /* HTTP status code, 0 when failure != HTTP_OK */
        const char *body;  /* NUL-terminated; never NULL */
        size_t body_len;
        double elapsed_s; /* from the start of the transfer to its end: its wait in the
                           * client's queue is not counted */
};

/* Called once per request, on the loop thread. It may start new requests but must not free
 * the client. The response and everything it points to is
 * owned by the client and valid only during the call. */
typedef void (*http_done_fn)(const struct http_response *response, void *userdata);

struct http_client_options {
        const char *ca_file;      /* NULL: AWS_CA_BUNDLE if set, else the system store */
        long timeout_ms;          /* default per-request timeout */
        long connect_timeout_ms;  /* default connect timeout */
        size_t max_response_size; /* default body cap */
        /* Requests on the wire at once, across all who share the client; more wait, by their
         * priority, then first come first served. 0 means 64: each one in flight holds a
         * connection (a socket, a TLS session), so 64 stay well inside the usual limit of
         * 1,024 open files and a burst of every target at once is 64 TLS handshakes, not
         * hundreds, while the short API calls of hundreds of targets still go through many at
         * a time. */
        size_t max_in_flight;
};

/* Creates a client on loop. opts may be NULL for defaults. On success *ret is owned by the
 * caller and released with http_client_free(). Returns 0 or a negative errno. */
int http_client_new(uv_loop_t *loop, const struct http_client_options *opts,
                    struct http_client **ret);

/* Why the last http_send() on client failed ("setting CURLOPT_CAINFO: ..."), for messages;
 * borrowed until the next http_send(). */
const char *http_client_send_error(const struct http_client *client);

/* Starts a request, or queues it when max_in_flight are on the wire: it then starts, in the
 * order of enum http_priority and else first come first served, as earlier ones finish, and
 * its timeouts count from that start, not from this call. done is always called later from the
 * loop (never from inside this call), exactly once. Returns 0, or a negative errno if the
 * request could not be set up (done is then not called; http_client_send_error() says why). */
int http_send(struct http_client *client, const struct http_request *request, http_done_fn done,
              void *userdata);

/* Finds a response header by case-insensitive name; NULL when absent. Valid only during the
 * done callback. */
const char *http_response_header(const struct http_response *response, const char *name);

/* The Host header and the request path of url as a signer needs them: "host[:port]" (the
 * port only when the URL names one) and the path, "/" when empty. Both are owned by the
 * caller. Returns 0, -EINVAL (not a URL with a host) or -ENOMEM. */
int http_url_host_path(const char *url, char **ret_host, char **ret_path);

/* Number of transfers not yet completed: on the wire or queued. */
size_t http_client_pending(const struct http_client *client);

/* A client's load, for metrics. */
struct http_client_stats {
        size_t in_flight;  /* requests on the wire now, at most max_in_flight */
        size_t queued;     /* requests waiting for one of those to finish */
        size_t max_queued; /* the most that ever waited at once, since the client was made */
};

/* Fills *ret with client's counters. */
void http_client_get_stats(const struct http_client *client, struct http_client_stats *ret);

/* Cancels every pending request (each done callback runs with HTTP_ERR_CANCELLED, those on
 * the wire first, then the queued ones in order, which never reach the wire), closes
 * the client's libuv handles and frees it once they are closed. Accepts NULL. The loop must
 * run afterwards for the handles to finish closing. */
void http_client_free(struct http_client *client);
