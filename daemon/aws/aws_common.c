/* Helpers shared by the AWS modules (aws_common.h). */
#include "aws_common.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

void aws_set_error(char *err, size_t err_size, const char *fmt, ...)
{
        va_list ap;

        if (!err || err_size == 0)
                return;
        va_start(ap, fmt);
        (void)vsnprintf(err, err_size, fmt, ap);
        va_end(ap);
}

void aws_wipe_free(char *s)
{
        if (!s)
                return;
        OPENSSL_cleanse(s, strlen(s));
        free(s);
}

uint64_t aws_digest(const char *s)
{
        uint64_t h = 0xcbf29ce484222325ULL;

        for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
                h ^= *p;
                h *= 0x100000001b3ULL;
        }
        return h;
}
