/* Where requests may travel in clear text. Shared by the configuration (the endpoint key) and
 * the AWS client (the endpoint environment variables), so both apply one rule. */
#pragma once

#include <stdbool.h>

/* Whether requests may go to host (as a URL writes it: a name, an IPv4 address or a bracketed
 * IPv6 one) over plain http: only on loopback (127.0.0.0/8, ::1, localhost). Anywhere else
 * signed requests and session tokens would cross a network in clear text (I9). */
bool endpoint_plain_http_allowed(const char *host);

/* Why an http:// endpoint elsewhere is refused, for messages. */
#define ENDPOINT_PLAIN_HTTP_REFUSED                                                             \
        "plain http is allowed only to loopback (127.0.0.0/8, ::1, localhost): signed "          \
        "requests and session tokens must not cross a network in clear text; use https"
