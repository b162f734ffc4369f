/* aws_ini_parse(), the reader of ~/.aws/config and ~/.aws/credentials: any bytes, given exactly
 * as long as they are. The input is read as both files at once; a rejected file gets a
 * "name:line: ..." message, an accepted one is looked up the way the credentials chain does
 * it (the profile map, every value, credential_process split into words). */
#include <errno.h>

#include "aws_profile.h"
#include "fuzz.h"

static const char *const keys[] = {"aws_access_key_id", "aws_secret_access_key",
                                   "aws_session_token", "region", "credential_process"};

static void check_split(const char *value)
{
        char **argv = NULL;
        size_t n = 0;
        int r = aws_profile_shlex_split(value, &argv, &n);

        if (r < 0) {
                FUZZ_CHECK(r == -EINVAL && argv == NULL);
                return;
        }
        for (size_t i = 0; i < n; i++)
                FUZZ_CHECK(argv[i] != NULL);
        FUZZ_CHECK(argv[n] == NULL);
        aws_profile_strv_free(argv);
}

static void check_section(const struct aws_ini *ini, const struct aws_ini_section *s)
{
        FUZZ_CHECK(aws_ini_find(ini, s->name) == s);
        for (size_t i = 0; i < s->n_entries; i++) {
                const struct aws_ini_entry *e = &s->entries[i];

                for (const char *c = e->key; *c; c++)
                        FUZZ_CHECK(*c < 'A' || *c > 'Z');
                FUZZ_CHECK(aws_ini_get(s, e->key) != NULL);
                check_split(e->value);
        }
}

/* The profile a section of either file could stand for. */
static const char *profile_of(const char *section)
{
        return strncmp(section, "profile ", 8) == 0 ? section + 8 : section;
}

static void check_profiles(const struct aws_profile_files *files)
{
        const struct aws_ini *ini = files->config;

        for (size_t i = 0; i < ini->n_sections; i++) {
                const char *profile = profile_of(ini->sections[i].name);

                if (aws_profile_exists(files, profile))
                        for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
                                (void)aws_profile_get(files, profile, keys[k]);
                FUZZ_CHECK(aws_profile_credentials_section(files, ini->sections[i].name) ==
                           &files->credentials->sections[i]);
        }
        (void)aws_profile_get(files, "default", "region");
}

static struct aws_ini *parse(const uint8_t *data, size_t size, const char *name)
{
        struct aws_ini *ini = NULL;
        char err[256] = "";
        int r = aws_ini_parse((const char *)data, size, name, &ini, err, sizeof(err));

        if (r < 0) {
                FUZZ_CHECK(r == -EINVAL && ini == NULL);
                FUZZ_CHECK(strncmp(err, name, strlen(name)) == 0 && err[strlen(name)] == ':');
                return NULL;
        }
        for (size_t i = 0; i < ini->n_sections; i++)
                check_section(ini, &ini->sections[i]);
        return ini;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char config_name[] = "config", credentials_name[] = "credentials";
        struct aws_profile_files files = {.config_path = config_name,
                                          .credentials_path = credentials_name};

        files.config = parse(data, size, files.config_path);
        if (files.config) {
                files.credentials = parse(data, size, files.credentials_path);
                FUZZ_CHECK(files.credentials != NULL);
                FUZZ_CHECK(files.credentials->n_sections == files.config->n_sections);
                check_profiles(&files);
        }
        aws_ini_free(files.config);
        aws_ini_free(files.credentials);
        return 0;
}
