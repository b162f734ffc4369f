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

#include "aws_common.h"
#include "aws_ini.h"

void aws_profile_strv_free(char **strv)
{
        if (!strv)
                return;
        for (char **s = strv; *s; s++)
                aws_wipe_free(*s);
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
        aws_wipe_free(b.tok);
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
                                r = aws_ini_append(&out, value, "", 0);
                                c = next;
                                continue;
                        }
                }
                r = aws_ini_append(&out, "", c, (size_t)(next - c));
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
                        aws_set_error(err, err_size, "reading the AWS shared files: out of memory");
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

/* botocore's build_profile_map(): a section whose name starts with kind ("profile",
 * "sso-session") and splits (as shlex) into exactly two words names the second word. */
static bool section_names(const char *section, const char *kind, const char *name)
{
        char **words;
        size_t n;
        bool match;

        if (strncmp(section, kind, strlen(kind)) != 0)
                return false;
        if (aws_profile_shlex_split(section, &words, &n) < 0)
                return false;
        match = n == 2 && strcmp(words[1], name) == 0;
        aws_profile_strv_free(words);
        return match;
}

/* "default" names itself; any other profile is a [profile NAME] section. */
static bool section_names_profile(const char *section, const char *profile)
{
        if (strcmp(section, "default") == 0)
                return strcmp(profile, "default") == 0;
        return section_names(section, "profile", profile);
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

const struct aws_ini_section *
aws_profile_config_named_section(const struct aws_profile_files *files, const char *kind,
                                 const char *name)
{
        const struct aws_ini_section *found = NULL;

        if (!files || !files->config || !kind || !name)
                return NULL;
        for (size_t i = 0; i < files->config->n_sections; i++)
                if (section_names(files->config->sections[i].name, kind, name))
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
                aws_set_error(err, err_size, "the config profile '%s' could not be found in %s or %s",
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
