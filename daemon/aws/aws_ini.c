/* The INI dialect of the AWS shared files, parsed as botocore parses it: Python's configparser
 * in strict raw mode, then botocore's nested "key =" blocks (aws_ini.h). */
#include "aws_ini.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "aws_common.h"
#include "fileio.h"

#define AWS_INI_MAX_SIZE (1024 * 1024)

/* Python's str.isspace() over ASCII, which both str.strip() and the regex \s follow. */
static bool py_isspace(unsigned char c)
{
        return c == ' ' || (c >= '\t' && c <= '\r') || (c >= 0x1c && c <= 0x1f);
}

static void section_clear(struct aws_ini_section *s)
{
        for (size_t i = 0; i < s->n_entries; i++) {
                free(s->entries[i].key);
                aws_wipe_free(s->entries[i].value);
        }
        free(s->entries);
        free(s->name);
        *s = (struct aws_ini_section){0};
}

void aws_ini_free(struct aws_ini *ini)
{
        if (!ini)
                return;
        for (size_t i = 0; i < ini->n_sections; i++)
                section_clear(&ini->sections[i]);
        free(ini->sections);
        free(ini);
}

const struct aws_ini_section *aws_ini_find(const struct aws_ini *ini, const char *name)
{
        if (!ini || !name)
                return NULL;
        for (size_t i = 0; i < ini->n_sections; i++)
                if (strcmp(ini->sections[i].name, name) == 0)
                        return &ini->sections[i];
        return NULL;
}

static struct aws_ini_entry *section_entry(const struct aws_ini_section *s, const char *key)
{
        for (size_t i = 0; i < s->n_entries; i++)
                if (strcmp(s->entries[i].key, key) == 0)
                        return &s->entries[i];
        return NULL;
}

const char *aws_ini_get(const struct aws_ini_section *section, const char *key)
{
        const struct aws_ini_entry *e;

        if (!section || !key)
                return NULL;
        e = section_entry(section, key);
        return e ? e->value : NULL;
}

/* The parser mirrors configparser.RawConfigParser._read(): the same state (current section,
 * current option, indentation of the line that began it) and the same decisions per line. */
struct ini_parser {
        const char *name;
        struct aws_ini *ini;
        struct aws_ini_section defaults;
        struct aws_ini_section *cur; /* NULL before the first header */
        struct aws_ini_entry *opt;   /* the option continuation lines extend */
        size_t indent_level;
        unsigned line;
        char *err;
        size_t err_size;
};

static int parse_fail(struct ini_parser *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int parse_fail(struct ini_parser *p, const char *fmt, ...)
{
        char what[200];
        va_list ap;

        va_start(ap, fmt);
        (void)vsnprintf(what, sizeof(what), fmt, ap);
        va_end(ap);
        aws_set_error(p->err, p->err_size, "%s:%u: %s", p->name, p->line, what);
        return -EINVAL;
}

int aws_ini_append(char **value, const char *prefix, const char *text, size_t len)
{
        size_t old = strlen(*value), plen = strlen(prefix);
        char *n = malloc(old + plen + len + 1);

        if (!n)
                return -ENOMEM;
        memcpy(n, *value, old);
        memcpy(n + old, prefix, plen);
        memcpy(n + old + plen, text, len);
        n[old + plen + len] = '\0';
        aws_wipe_free(*value);
        *value = n;
        return 0;
}

static int section_add(struct aws_ini_section *s, const char *key, size_t key_len,
                       const char *value, size_t value_len, unsigned line)
{
        struct aws_ini_entry *n, *e;

        n = realloc(s->entries, (s->n_entries + 1) * sizeof(*n));
        if (!n)
                return -ENOMEM;
        s->entries = n;
        e = &s->entries[s->n_entries];
        *e = (struct aws_ini_entry){.line = line};
        e->key = strndup(key, key_len);
        e->value = strndup(value, value_len);
        if (!e->key || !e->value) {
                free(e->key);
                aws_wipe_free(e->value);
                return -ENOMEM;
        }
        s->n_entries++;
        return 0;
}

static int start_section(struct ini_parser *p, const char *name, size_t len)
{
        struct aws_ini_section *n;
        char *copy;

        if (len == 7 && memcmp(name, "DEFAULT", 7) == 0) {
                p->cur = &p->defaults;
                p->opt = NULL;
                return 0;
        }
        copy = strndup(name, len);
        if (!copy)
                return -ENOMEM;
        if (aws_ini_find(p->ini, copy)) {
                free(copy);
                return parse_fail(p, "section [%.*s] appears more than once", (int)len, name);
        }
        n = realloc(p->ini->sections, (p->ini->n_sections + 1) * sizeof(*n));
        if (!n) {
                free(copy);
                return -ENOMEM;
        }
        p->ini->sections = n;
        p->cur = &n[p->ini->n_sections++];
        *p->cur = (struct aws_ini_section){.name = copy};
        p->opt = NULL;
        return 0;
}

/* configparser's OPTCRE: the key ends at the first '=' or ':'. */
static int parse_option(struct ini_parser *p, const char *v, size_t len)
{
        const char *delim = NULL;
        size_t key_len, i;
        char key[256];
        int r;

        for (i = 0; i < len && !delim; i++)
                if (v[i] == '=' || v[i] == ':')
                        delim = v + i;
        if (!delim)
                return parse_fail(p, "expected 'key = value' (or a [section] header)");
        key_len = (size_t)(delim - v);
        while (key_len > 0 && py_isspace((unsigned char)v[key_len - 1]))
                key_len--;
        if (key_len == 0)
                return parse_fail(p, "a key is missing before '%c'", *delim);
        if (key_len >= sizeof(key))
                return parse_fail(p, "key is longer than %zu characters", sizeof(key) - 1);
        for (i = 0; i < key_len; i++)
                key[i] = (char)tolower((unsigned char)v[i]);
        key[key_len] = '\0';
        if (section_entry(p->cur, key))
                return parse_fail(p, "key '%s' appears more than once in [%s]", key,
                                  p->cur == &p->defaults ? "DEFAULT" : p->cur->name);
        delim++;
        while (delim < v + len && py_isspace((unsigned char)*delim))
                delim++;
        r = section_add(p->cur, key, key_len, delim, (size_t)(v + len - delim), p->line);
        if (r < 0)
                return r;
        p->opt = &p->cur->entries[p->cur->n_entries - 1];
        return 0;
}

static bool is_comment(const char *v)
{
        return v[0] == '#' || v[0] == ';';
}

static int parse_line(struct ini_parser *p, const char *line, size_t len)
{
        size_t start = 0, end = len, indent;
        const char *v;
        size_t vlen;

        while (start < len && py_isspace((unsigned char)line[start]))
                start++;
        while (end > start && py_isspace((unsigned char)line[end - 1]))
                end--;
        v = line + start;
        vlen = end - start;
        if (vlen > 0 && is_comment(v))
                return 0;
        if (vlen == 0) {
                /* A blank line inside a value is kept until the final rstrip. */
                if (p->cur && p->opt)
                        return aws_ini_append(&p->opt->value, "\n", "", 0);
                return 0;
        }
        indent = start;
        if (p->cur && p->opt && indent > p->indent_level)
                return aws_ini_append(&p->opt->value, "\n", v, vlen);
        p->indent_level = indent;
        if (v[0] == '[') {
                const char *close = memrchr(v, ']', vlen);

                /* SECTCRE is \[(.+)\] matched at the start: the last ']' ends the name. */
                if (close && close - v >= 2)
                        return start_section(p, v + 1, (size_t)(close - v - 1));
        }
        if (!p->cur)
                return parse_fail(p, "no [section] header before the first key");
        return parse_option(p, v, vlen);
}

static void rstrip(char *s)
{
        size_t n = strlen(s);

        while (n > 0 && py_isspace((unsigned char)s[n - 1]))
                s[--n] = '\0';
}

static bool nested_line_break(char c)
{
        /* str.splitlines() separators that can survive inside one physical line */
        return c == '\n' || c == '\v' || c == '\f' || (c >= 0x1c && c <= 0x1e);
}

/* botocore's _parse_nested(): every non-blank line of a value that starts on the line after
 * its key must be "key = value". */
static int check_nested(struct ini_parser *p, const struct aws_ini_section *s,
                        const struct aws_ini_entry *e)
{
        const char *c = e->value;

        if (c[0] != '\n')
                return 0;
        while (*c) {
                const char *eol = c;
                bool blank = true, has_eq = false;

                while (*eol && !nested_line_break(*eol)) {
                        blank = blank && py_isspace((unsigned char)*eol);
                        has_eq = has_eq || *eol == '=';
                        eol++;
                }
                if (!blank && !has_eq) {
                        p->line = e->line;
                        return parse_fail(p,
                                          "the nested value of '%s' in [%s] has a line "
                                          "without '='",
                                          e->key, s->name);
                }
                c = *eol ? eol + 1 : eol;
        }
        return 0;
}

static int finish_sections(struct ini_parser *p)
{
        int r;

        for (size_t i = 0; i < p->defaults.n_entries; i++)
                rstrip(p->defaults.entries[i].value);
        for (size_t i = 0; i < p->ini->n_sections; i++) {
                struct aws_ini_section *s = &p->ini->sections[i];

                for (size_t j = 0; j < s->n_entries; j++)
                        rstrip(s->entries[j].value);
                for (size_t j = 0; j < p->defaults.n_entries; j++) {
                        const struct aws_ini_entry *d = &p->defaults.entries[j];

                        if (section_entry(s, d->key))
                                continue;
                        r = section_add(s, d->key, strlen(d->key), d->value, strlen(d->value),
                                        d->line);
                        if (r < 0)
                                return r;
                }
                for (size_t j = 0; j < s->n_entries; j++) {
                        r = check_nested(p, s, &s->entries[j]);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

/* Length of the UTF-8 sequence starting at s (at most n bytes), or 0 when it is invalid. */
static size_t utf8_seq_len(const unsigned char *s, size_t n)
{
        size_t len;
        uint32_t cp;

        if (s[0] < 0x80)
                return 1;
        if (s[0] >= 0xc2 && s[0] <= 0xdf)
                len = 2, cp = s[0] & 0x1f;
        else if (s[0] >= 0xe0 && s[0] <= 0xef)
                len = 3, cp = s[0] & 0x0f;
        else if (s[0] >= 0xf0 && s[0] <= 0xf4)
                len = 4, cp = s[0] & 0x07;
        else
                return 0;
        if (len > n)
                return 0;
        for (size_t i = 1; i < len; i++) {
                if ((s[i] & 0xc0) != 0x80)
                        return 0;
                cp = (cp << 6) | (s[i] & 0x3f);
        }
        if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
            (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
                return 0;
        return len;
}

static int check_bytes(struct ini_parser *p, const char *text, size_t len)
{
        p->line = 1;
        for (size_t i = 0; i < len;) {
                size_t n = utf8_seq_len((const unsigned char *)text + i, len - i);

                if (n == 0)
                        return parse_fail(p, "not valid UTF-8");
                if (text[i] == '\0')
                        return parse_fail(p, "contains a NUL byte");
                if (text[i] == '\n' || (text[i] == '\r' && (i + 1 >= len || text[i + 1] != '\n')))
                        p->line++;
                i += n;
        }
        return 0;
}

static int parse_lines(struct ini_parser *p, const char *text, size_t len)
{
        size_t pos = 0;
        int r;

        p->line = 0;
        while (pos < len) {
                size_t eol = pos;

                /* Python's universal newlines: \n, \r\n and a lone \r all end a line. */
                while (eol < len && text[eol] != '\n' && text[eol] != '\r')
                        eol++;
                p->line++;
                r = parse_line(p, text + pos, eol - pos);
                if (r < 0)
                        return r;
                if (eol < len && text[eol] == '\r' && eol + 1 < len && text[eol + 1] == '\n')
                        eol++;
                pos = eol + 1;
        }
        return 0;
}

int aws_ini_parse(const char *text, size_t len, const char *name, struct aws_ini **ret, char *err,
                  size_t err_size)
{
        struct ini_parser p = {.name = name ? name : "(string)", .err = err, .err_size = err_size};
        int r;

        p.ini = calloc(1, sizeof(*p.ini));
        if (!p.ini)
                return -ENOMEM;
        r = check_bytes(&p, text, len);
        if (r == 0)
                r = parse_lines(&p, text, len);
        if (r == 0)
                r = finish_sections(&p);
        section_clear(&p.defaults);
        if (r < 0) {
                if (r == -ENOMEM)
                        aws_set_error(err, err_size, "%s: out of memory", p.name);
                aws_ini_free(p.ini);
                return r;
        }
        *ret = p.ini;
        return 0;
}

static int read_small_file(const char *path, char **ret, size_t *ret_len, char *err,
                           size_t err_size)
{
        struct stat st;
        int fd, r;

        /* Anything but a regular file is never opened or waited for, and counts as missing:
         * botocore asks os.path.isfile() before it reads a shared file, and a profile must
         * resolve as it resolves it. */
        fd = fileio_open(path, O_RDONLY, 0, &st, NULL, 0);
        if (fd < 0)
                return -ENOENT;
        r = fileio_read_fd(fd, AWS_INI_MAX_SIZE, ret, ret_len);
        close(fd);
        if (r == -EFBIG)
                aws_set_error(err, err_size, "%s: larger than %d bytes", path, AWS_INI_MAX_SIZE);
        else if (r < 0)
                aws_set_error(err, err_size, "%s: %s", path, strerror(-r));
        return r;
}

int aws_ini_load(const char *path, struct aws_ini **ret, char *err, size_t err_size)
{
        char *text;
        size_t len;
        int r;

        r = read_small_file(path, &text, &len, err, err_size);
        if (r < 0)
                return r;
        r = aws_ini_parse(text, len, path, ret, err, err_size);
        OPENSSL_cleanse(text, len);
        free(text);
        return r;
}
