/* Two small things every AWS module needs, kept once: an error line written into a caller's
 * buffer, and freeing a string that may hold a secret. */
#pragma once

#include <stddef.h>

/* Formats one line into err; does nothing when err is NULL or err_size 0. */
void aws_set_error(char *err, size_t err_size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Overwrites s (a key, a token, a file that held them) before freeing it; accepts NULL. */
void aws_wipe_free(char *s);
