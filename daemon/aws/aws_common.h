/* Small things every AWS module needs, kept once: an error line written into a caller's
 * buffer, freeing a string that may hold a secret, a digest of a string, and the CRC-32 that
 * DynamoDB puts on its answers. */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* Formats one line into err; does nothing when err is NULL or err_size 0. */
void aws_set_error(char *err, size_t err_size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Overwrites s (a key, a token, a file that held them) before freeing it; accepts NULL. */
void aws_wipe_free(char *s);

/* A 64-bit FNV-1a digest of s: how a listing recognises a NextToken or a rejected name it has
 * met before without keeping copies of what may be megabytes. Not for security: a collision
 * only makes a hostile answer fail (or go unlogged) sooner. */
uint64_t aws_digest(const char *s);

/* The CRC-32 of len bytes at data (the IEEE polynomial, reflected, as zlib's crc32() and
 * Python's binascii.crc32() compute it): what DynamoDB's x-amz-crc32 header gives for the body
 * of an answer. zlib would be a build dependency for these few lines: libcurl links it, but
 * its development files are not among the project's. */
uint32_t aws_crc32(const void *data, size_t len);
