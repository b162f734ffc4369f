/* Shared by the libFuzzer targets: the entry points libFuzzer calls, the input as a C string,
 * and a check that stops the run, as a crash, when a property of the code under test fails. */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* The input as a NUL-terminated string, which ends early if the input holds a NUL byte.
 * Owned by the caller (free()). */
static inline char *fuzz_string(const uint8_t *data, size_t size)
{
        char *s = malloc(size + 1);

        if (!s)
                abort();
        memcpy(s, data, size);
        s[size] = '\0';
        return s;
}

/* abort() is what libFuzzer records as a crash, with the input that caused it. */
#define FUZZ_CHECK(cond)                                                                           \
        do {                                                                                       \
                if (!(cond)) {                                                                     \
                        fprintf(stderr, "%s:%d: property does not hold: %s\n", __FILE__, __LINE__, \
                                #cond);                                                            \
                        abort();                                                                   \
                }                                                                                  \
        } while (0)
