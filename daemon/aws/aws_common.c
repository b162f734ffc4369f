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

/* Four bits at a time: a 16-entry table is small enough to write out, and fast enough for
 * bodies that DynamoDB caps at a few megabytes. */
uint32_t aws_crc32(const void *data, size_t len)
{
        static const uint32_t table[16] = {
            0x00000000, 0x1db71064, 0x3b6e20c8, 0x26d930ac, 0x76dc4190, 0x6b6b51f4,
            0x4db26158, 0x5005713c, 0xedb88320, 0xf00f9344, 0xd6d6a3e8, 0xcb61b38c,
            0x9b64c2b0, 0x86d3d2d4, 0xa00ae278, 0xbdbdf21c,
        };
        const unsigned char *p = data;
        uint32_t crc = 0xffffffffu;

        for (size_t i = 0; i < len; i++) {
                crc ^= p[i];
                crc = (crc >> 4) ^ table[crc & 0xf];
                crc = (crc >> 4) ^ table[crc & 0xf];
        }
        return crc ^ 0xffffffffu;
}
