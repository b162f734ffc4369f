/* The AWS shared config and credentials files, parsed the way botocore parses them. Parity
 * with botocore matters more than elegance here: a file that the AWS CLI accepts must give
 * the same profiles, and a file it rejects must be rejected, so that an operator can test a
 * profile with `aws sts get-caller-identity` and trust the daemon to see the same thing. */
#include "aws_profile.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "fileio.h"

#define AWS_INI_MAX_SIZE (1024 * 1024)

static void set_err(char *err, size_t err_size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t err_size, const char *fmt, ...)
{
        va_list ap;

        if (!err || err_size == 0)
                return;
        va_start(ap, fmt);
        (void)vsnprintf(err, err_size, fmt, ap);
        va_end(ap);
}

/* Python's str.isspace() over ASCII, which both str.strip() and the regex \s follow. */
static bool py_isspace(unsigned char c)
{
        return c == ' ' || (c >= '\t' && c <= '\r') || (c >= 0x1c && c <= 0x1f);
}

static void wipe_free(char *s)
{
        if (!s)
                return;
        OPENSSL_cleanse(s, strlen(s));
        free(s);
}

static void section_clear(struct aws_ini_section *s)
{
        for (size_t i = 0; i < s->n_entries; i++) {
                free(s->entries[i].key);
                wipe_free(s->entries[i].value);
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
        set_err(p->err, p->err_size, "%s:%u: %s", p->name, p->line, what);
        return -EINVAL;
}

static int append_text(char **value, const char *prefix, const char *text, size_t len)
{
        size_t old = strlen(*value), plen = strlen(prefix);
        char *n = malloc(old + plen + len + 1);

        if (!n)
                return -ENOMEM;
        memcpy(n, *value, old);
        memcpy(n + old, prefix, plen);
        memcpy(n + old + plen, text, len);
        n[old + plen + len] = '\0';
        wipe_free(*value);
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
                wipe_free(e->value);
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
                        return append_text(&p->opt->value, "\n", "", 0);
                return 0;
        }
        indent = start;
        if (p->cur && p->opt && indent > p->indent_level)
                return append_text(&p->opt->value, "\n", v, vlen);
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
                        set_err(err, err_size, "%s: out of memory", p.name);
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
                set_err(err, err_size, "%s: larger than %d bytes", path, AWS_INI_MAX_SIZE);
        else if (r < 0)
                set_err(err, err_size, "%s: %s", path, strerror(-r));
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

void aws_profile_strv_free(char **strv)
{
        if (!strv)
                return;
        for (char **s = strv; *s; s++)
                wipe_free(*s);
        free(strv);
}

struct strv_builder {
        char **v;
        size_t n;
        char *tok; /* the word being built */
        size_t tok_len;
        bool in_word; /* a word has started, possibly empty ('' or "") */
};

static int tok_push(struct strv_builder *b, char c)
{
        char *n = realloc(b->tok, b->tok_len + 2);

        if (!n)
                return -ENOMEM;
        b->tok = n;
        b->tok[b->tok_len++] = c;
        b->tok[b->tok_len] = '\0';
        b->in_word = true;
        return 0;
}

static int word_end(struct strv_builder *b)
{
        char **n;

        if (!b->in_word)
                return 0;
        n = realloc(b->v, (b->n + 2) * sizeof(*n));
        if (!n)
                return -ENOMEM;
        b->v = n;
        b->v[b->n++] = b->tok ? b->tok : strdup("");
        b->v[b->n] = NULL;
        b->tok = NULL;
        b->tok_len = 0;
        b->in_word = false;
        return b->v[b->n - 1] ? 0 : -ENOMEM;
}

/* One character of shlex's posix-mode state machine. state is 0 (between or inside unquoted
 * words), '\'' or '"'. *pos is advanced past what was consumed. */
static int shlex_step(struct strv_builder *b, const char *text, size_t *pos, char *state)
{
        char c = text[*pos];

        (*pos)++;
        if (*state == '\'') {
                if (c == '\'')
                        *state = 0;
                return c == '\'' ? 0 : tok_push(b, c);
        }
        if (c == '\\') {
                char next = text[*pos];

                if (next == '\0')
                        return -EINVAL;
                (*pos)++;
                b->in_word = true;
                if (*state == '"' && next != '"' && next != '\\' && tok_push(b, '\\') < 0)
                        return -ENOMEM;
                return tok_push(b, next);
        }
        if (*state == '"') {
                if (c == '"')
                        *state = 0;
                return c == '"' ? 0 : tok_push(b, c);
        }
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
                return word_end(b);
        if (c == '\'' || c == '"') {
                *state = c;
                b->in_word = true;
                return 0;
        }
        return tok_push(b, c);
}

int aws_profile_shlex_split(const char *text, char ***ret_argv, size_t *ret_n)
{
        struct strv_builder b = {0};
        size_t pos = 0;
        char state = 0;
        int r = 0;

        b.v = calloc(1, sizeof(*b.v));
        if (!b.v)
                return -ENOMEM;
        while (r == 0 && text[pos])
                r = shlex_step(&b, text, &pos, &state);
        if (r == 0 && state)
                r = -EINVAL;
        if (r == 0)
                r = word_end(&b);
        wipe_free(b.tok);
        if (r < 0) {
                aws_profile_strv_free(b.v);
                return r;
        }
        *ret_argv = b.v;
        *ret_n = b.n;
        return 0;
}

static bool is_word_char(char c)
{
        return isalnum((unsigned char)c) || c == '_';
}

/* os.path.expandvars(): $NAME or ${NAME}; unset variables are left as written. */
static int expand_vars(const char *path, char **ret)
{
        char *out = strdup("");
        int r = 0;

        if (!out)
                return -ENOMEM;
        for (const char *c = path; *c && r == 0;) {
                const char *name = NULL, *next = c + 1, *value;
                size_t name_len = 0;

                if (c[0] == '$' && c[1] == '{' && strchr(c + 2, '}')) {
                        name = c + 2;
                        name_len = (size_t)(strchr(c + 2, '}') - name);
                        next = name + name_len + 1;
                } else if (c[0] == '$' && is_word_char(c[1])) {
                        name = c + 1;
                        while (is_word_char(name[name_len]))
                                name_len++;
                        next = name + name_len;
                }
                if (name) {
                        char var[256];

                        (void)snprintf(var, sizeof(var), "%.*s", (int)name_len, name);
                        value = name_len > 0 && name_len < sizeof(var) ? getenv(var) : NULL;
                        if (value) {
                                r = append_text(&out, value, "", 0);
                                c = next;
                                continue;
                        }
                }
                r = append_text(&out, "", c, (size_t)(next - c));
                c = next;
        }
        if (r < 0) {
                free(out);
                return r;
        }
        *ret = out;
        return 0;
}

static const char *home_of(const char *user, size_t user_len, char *buf, size_t size)
{
        struct passwd pw, *found = NULL;
        char name[256];

        if (user_len == 0) {
                const char *home = getenv("HOME");

                if (home)
                        return home;
                if (getpwuid_r(getuid(), &pw, buf, size, &found) != 0 || !found)
                        return NULL;
                return found->pw_dir;
        }
        if (user_len >= sizeof(name))
                return NULL;
        memcpy(name, user, user_len);
        name[user_len] = '\0';
        if (getpwnam_r(name, &pw, buf, size, &found) != 0 || !found)
                return NULL;
        return found->pw_dir;
}

/* os.path.expanduser(): a leading ~ or ~user; an unknown user leaves the path as it is. */
static int expand_user(const char *path, char **ret)
{
        char buf[4096];
        const char *slash, *home;
        size_t home_len;

        if (path[0] != '~') {
                *ret = strdup(path);
                return *ret ? 0 : -ENOMEM;
        }
        slash = strchr(path, '/');
        if (!slash)
                slash = path + strlen(path);
        home = home_of(path + 1, (size_t)(slash - path - 1), buf, sizeof(buf));
        if (!home) {
                *ret = strdup(path);
                return *ret ? 0 : -ENOMEM;
        }
        home_len = strlen(home);
        while (home_len > 0 && home[home_len - 1] == '/')
                home_len--;
        if (home_len == 0 && *slash == '\0')
                *ret = strdup("/");
        else if (asprintf(ret, "%.*s%s", (int)home_len, home, slash) < 0)
                *ret = NULL;
        return *ret ? 0 : -ENOMEM;
}

int aws_profile_expand_path(const char *path, char **ret)
{
        char *vars;
        int r;

        r = expand_vars(path, &vars);
        if (r < 0)
                return r;
        r = expand_user(vars, ret);
        free(vars);
        return r;
}

void aws_profile_files_free(struct aws_profile_files *files)
{
        if (!files)
                return;
        free(files->config_path);
        free(files->credentials_path);
        aws_ini_free(files->config);
        aws_ini_free(files->credentials);
        free(files);
}

static int load_one(const char *path, char **ret_path, struct aws_ini **ret_ini, char *err,
                    size_t err_size)
{
        int r;

        if (!path)
                return 0;
        r = aws_profile_expand_path(path, ret_path);
        if (r < 0)
                return r;
        r = aws_ini_load(*ret_path, ret_ini, err, err_size);
        return r == -ENOENT ? 0 : r;
}

int aws_profile_files_load_paths(const char *config_path, const char *credentials_path,
                                 struct aws_profile_files **ret, char *err, size_t err_size)
{
        struct aws_profile_files *f;
        int r;

        f = calloc(1, sizeof(*f));
        if (!f)
                return -ENOMEM;
        r = load_one(config_path, &f->config_path, &f->config, err, err_size);
        if (r == 0)
                r = load_one(credentials_path, &f->credentials_path, &f->credentials, err,
                             err_size);
        if (r < 0) {
                if (r == -ENOMEM)
                        set_err(err, err_size, "reading the AWS shared files: out of memory");
                aws_profile_files_free(f);
                return r;
        }
        *ret = f;
        return 0;
}

int aws_profile_files_load(struct aws_profile_files **ret, char *err, size_t err_size)
{
        const char *config = getenv("AWS_CONFIG_FILE");
        const char *credentials = getenv("AWS_SHARED_CREDENTIALS_FILE");

        return aws_profile_files_load_paths(config ? config : "~/.aws/config",
                                            credentials ? credentials : "~/.aws/credentials", ret,
                                            err, err_size);
}

/* botocore's build_profile_map(): a section whose name starts with "profile" and splits (as
 * shlex) into exactly two words names the second word; "default" names itself. */
static bool section_names_profile(const char *section, const char *profile)
{
        char **words;
        size_t n;
        bool match;

        if (strcmp(section, "default") == 0)
                return strcmp(profile, "default") == 0;
        if (strncmp(section, "profile", 7) != 0)
                return false;
        if (aws_profile_shlex_split(section, &words, &n) < 0)
                return false;
        match = n == 2 && strcmp(words[1], profile) == 0;
        aws_profile_strv_free(words);
        return match;
}

const struct aws_ini_section *aws_profile_config_section(const struct aws_profile_files *files,
                                                         const char *profile)
{
        const struct aws_ini_section *found = NULL;

        if (!files || !files->config || !profile)
                return NULL;
        for (size_t i = 0; i < files->config->n_sections; i++)
                if (section_names_profile(files->config->sections[i].name, profile))
                        found = &files->config->sections[i];
        return found;
}

const struct aws_ini_section *aws_profile_credentials_section(const struct aws_profile_files *files,
                                                              const char *profile)
{
        if (!files)
                return NULL;
        return aws_ini_find(files->credentials, profile);
}

const char *aws_profile_get(const struct aws_profile_files *files, const char *profile,
                            const char *key)
{
        const char *v = aws_ini_get(aws_profile_credentials_section(files, profile), key);

        return v ? v : aws_ini_get(aws_profile_config_section(files, profile), key);
}

bool aws_profile_exists(const struct aws_profile_files *files, const char *profile)
{
        return aws_profile_credentials_section(files, profile) ||
               aws_profile_config_section(files, profile);
}

const char *aws_profile_name(const char *profile)
{
        const char *env;

        if (profile)
                return profile;
        env = getenv("AWS_PROFILE");
        return env && *env ? env : "default";
}

int aws_profile_region(const char *profile, char **ret_region, char *err, size_t err_size)
{
        struct aws_profile_files *files;
        const char *name = aws_profile_name(profile), *region;
        char *copy = NULL;
        int r;

        r = aws_profile_files_load(&files, err, err_size);
        if (r < 0)
                return r;
        if (strcmp(name, "default") != 0 && !aws_profile_exists(files, name)) {
                set_err(err, err_size, "the config profile '%s' could not be found in %s or %s",
                        name, files->config_path, files->credentials_path);
                aws_profile_files_free(files);
                return -ENOENT;
        }
        region = aws_profile_get(files, name, "region");
        if (region && region[0] != '\n' && region[0] != '\0') {
                copy = strdup(region);
                if (!copy) {
                        aws_profile_files_free(files);
                        return -ENOMEM;
                }
        }
        aws_profile_files_free(files);
        *ret_region = copy;
        return 0;
}
