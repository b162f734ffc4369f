/* The word splitter of notify_command (cmdline.h). aws/ has one for credential_process
 * (aws_profile_shlex_split()) that wipes what it copies, since its commands may carry
 * secrets, with the AWS layer's helpers; core/ may not use aws/, so this is its libc-only
 * counterpart with the same rules. */
#include "cmdline.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct words {
        char **v;
        size_t n;
        char *word; /* the word being built, as long as the text at most */
        size_t len;
        bool in_word; /* a word has begun, even an empty quoted one */
};

static int end_word(struct words *w)
{
        char **grown;
        char *copy;

        if (!w->in_word)
                return 0;
        /* The word is not NUL-terminated: copied by length, not as a string. */
        copy = malloc(w->len + 1);
        if (!copy)
                return -ENOMEM;
        memcpy(copy, w->word, w->len);
        copy[w->len] = '\0';
        grown = realloc(w->v, (w->n + 2) * sizeof(*grown));
        if (!grown) {
                free(copy);
                return -ENOMEM;
        }
        grown[w->n++] = copy;
        grown[w->n] = NULL;
        w->v = grown;
        w->len = 0;
        w->in_word = false;
        return 0;
}

static void add(struct words *w, char c)
{
        w->word[w->len++] = c;
        w->in_word = true;
}

/* Reads the quoted part that begins at *s (the opening quote) into the word; returns -EINVAL
 * when it is not closed. */
static int quoted(struct words *w, const char **s)
{
        char quote = **s;
        const char *p = *s + 1;

        w->in_word = true;
        for (; *p && *p != quote; p++) {
                if (quote == '"' && *p == '\\' && (p[1] == '"' || p[1] == '\\'))
                        p++;
                add(w, *p);
        }
        if (!*p)
                return -EINVAL;
        *s = p + 1;
        return 0;
}

static int split(struct words *w, const char *text)
{
        const char *s = text;
        int r = 0;

        while (*s && r == 0) {
                if (strchr(" \t\n\r\f\v", *s)) {
                        r = end_word(w);
                        s++;
                } else if (*s == '\'' || *s == '"') {
                        r = quoted(w, &s);
                } else if (*s == '\\') {
                        if (!s[1])
                                return -EINVAL;
                        add(w, s[1]);
                        s += 2;
                } else {
                        add(w, *s++);
                }
        }
        return r < 0 ? r : end_word(w);
}

int cmdline_split(const char *text, char ***ret_argv, size_t *ret_n)
{
        struct words w = {.v = calloc(1, sizeof(char *)), .word = malloc(strlen(text) + 1)};
        int r = w.v && w.word ? split(&w, text) : -ENOMEM;

        free(w.word);
        if (r < 0) {
                cmdline_free(w.v);
                return r;
        }
        *ret_argv = w.v;
        *ret_n = w.n;
        return 0;
}

void cmdline_free(char **argv)
{
        if (!argv)
                return;
        for (char **p = argv; *p; p++)
                free(*p);
        free(argv);
}
