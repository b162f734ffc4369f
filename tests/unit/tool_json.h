/* Shared by the tool_*.c programs that print JSON lines for the Python checks. */
#pragma once

#include <stdio.h>

/* s as a JSON string on stdout: quotes, backslashes and control characters escaped. */
static inline void tool_print_json_string(const char *s)
{
        putchar('"');
        for (; *s; s++) {
                if (*s == '"' || *s == '\\')
                        printf("\\%c", *s);
                else if ((unsigned char)*s < 0x20 || *s == 0x7f)
                        printf("\\u%04x", (unsigned char)*s);
                else
                        putchar(*s);
        }
        putchar('"');
}
