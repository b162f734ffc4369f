/* Command lines without a shell: notify_command is split into words here, once, when the
 * configuration is loaded, so that a bad one is a configuration error naming its line and
 * the program gets exactly the words the operator wrote. The rules are Python's
 * shlex.split() (POSIX mode), which credential_process in the AWS files follows too, so an
 * operator meets one quoting dialect: blanks separate words; '...' keeps everything inside
 * literally; "..." keeps everything but a backslash before '"' or '\'; outside quotes a
 * backslash keeps the next character; '' or "" is an empty word. Nothing else is special:
 * no variables, no globs, no ';' or '$(...)'. */
#pragma once

#include <stddef.h>

/* Splits text into words. On success returns 0 with *ret_argv a NULL-terminated vector owned
 * by the caller (cmdline_free()) and *ret_n its length (0 for a blank text). Returns -EINVAL
 * on an unclosed quote or a trailing backslash, -ENOMEM; *ret_argv is untouched then. */
int cmdline_split(const char *text, char ***ret_argv, size_t *ret_n);

/* Frees a vector from cmdline_split(); accepts NULL. */
void cmdline_free(char **argv);
