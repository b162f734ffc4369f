/* The loopback rule for plain http (endpoint.h). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <strings.h>

#include "endpoint.h"

bool endpoint_plain_http_allowed(const char *host)
{
        unsigned char a[16];
        char bare[INET6_ADDRSTRLEN];
        size_t len = strlen(host);

        if (strcasecmp(host, "localhost") == 0)
                return true;
        if (inet_pton(AF_INET, host, a) == 1)
                return a[0] == 127;
        if (len >= 2 && host[0] == '[' && host[len - 1] == ']') {
                host++;
                len -= 2;
        }
        if (len >= sizeof(bare))
                return false;
        memcpy(bare, host, len);
        bare[len] = '\0';
        return inet_pton(AF_INET6, bare, a) == 1 && memcmp(a, &in6addr_loopback, 16) == 0;
}
