/* Exposes the shared-file parser to check_creds_parity.py, which compares it with botocore:
 *   tool_creds_ini parse FILE...                   per file: sections and keys, or the error
 *   tool_creds_ini profiles CONFIG CREDENTIALS NAME...   per profile: exists, merged keys
 *   tool_creds_ini shlex TEXT...                   per text: the words, or failure
 * Output is one JSON document per line on stdout, one per FILE or TEXT. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws_profile.h"
#include "tool_json.h"

static void section_object(const struct aws_ini_section *s)
{
        putchar('{');
        for (size_t j = 0; j < s->n_entries; j++) {
                printf(j ? ", " : "");
                tool_print_json_string(s->entries[j].key);
                printf(": ");
                tool_print_json_string(s->entries[j].value);
        }
        putchar('}');
}

static void cmd_parse(const char *path)
{
        struct aws_ini *ini;
        char err[512];
        int r = aws_ini_load(path, &ini, err, sizeof(err));

        if (r < 0) {
                printf("{\"ok\": false, \"r\": %d, \"error\": ", r);
                tool_print_json_string(err);
                printf("}\n");
                return;
        }
        printf("{\"ok\": true, \"sections\": {");
        for (size_t i = 0; i < ini->n_sections; i++) {
                printf(i ? ", " : "");
                tool_print_json_string(ini->sections[i].name);
                printf(": ");
                section_object(&ini->sections[i]);
        }
        printf("}}\n");
        aws_ini_free(ini);
}

/* The profile's keys as botocore's full_config has them: the config file's section, updated
 * by the credentials file's. */
static void merged_object(const struct aws_profile_files *f, const char *name)
{
        const struct aws_ini_section *cred = aws_profile_credentials_section(f, name);
        const struct aws_ini_section *conf = aws_profile_config_section(f, name);
        int n = 0;

        putchar('{');
        for (size_t j = 0; cred && j < cred->n_entries; j++, n++) {
                printf(n ? ", " : "");
                tool_print_json_string(cred->entries[j].key);
                printf(": ");
                tool_print_json_string(cred->entries[j].value);
        }
        for (size_t j = 0; conf && j < conf->n_entries; j++) {
                if (aws_ini_get(cred, conf->entries[j].key))
                        continue;
                printf(n++ ? ", " : "");
                tool_print_json_string(conf->entries[j].key);
                printf(": ");
                tool_print_json_string(aws_profile_get(f, name, conf->entries[j].key));
        }
        putchar('}');
}

static int cmd_profiles(const char *config, const char *credentials, char **names, int n)
{
        struct aws_profile_files *f;
        char err[512];

        if (aws_profile_files_load_paths(config, credentials, &f, err, sizeof(err)) < 0) {
                printf("{\"ok\": false, \"error\": ");
                tool_print_json_string(err);
                printf("}\n");
                return 0;
        }
        printf("{\"ok\": true, \"profiles\": {");
        for (int i = 0; i < n; i++) {
                printf(i ? ", " : "");
                tool_print_json_string(names[i]);
                printf(": {\"exists\": %s, \"merged\": ",
                       aws_profile_exists(f, names[i]) ? "true" : "false");
                merged_object(f, names[i]);
                putchar('}');
        }
        printf("}}\n");
        aws_profile_files_free(f);
        return 0;
}

static void cmd_shlex(const char *text)
{
        char **words;
        size_t n;

        if (aws_profile_shlex_split(text, &words, &n) < 0) {
                printf("{\"ok\": false}\n");
                return;
        }
        printf("{\"ok\": true, \"words\": [");
        for (size_t i = 0; i < n; i++) {
                printf(i ? ", " : "");
                tool_print_json_string(words[i]);
        }
        printf("]}\n");
        aws_profile_strv_free(words);
}

int main(int argc, char **argv)
{
        if (argc >= 3 && strcmp(argv[1], "parse") == 0) {
                for (int i = 2; i < argc; i++)
                        cmd_parse(argv[i]);
                return 0;
        }
        if (argc >= 4 && strcmp(argv[1], "profiles") == 0)
                return cmd_profiles(argv[2], argv[3], argv + 4, argc - 4);
        if (argc >= 3 && strcmp(argv[1], "shlex") == 0) {
                for (int i = 2; i < argc; i++)
                        cmd_shlex(argv[i]);
                return 0;
        }
        fprintf(stderr, "usage: tool_creds_ini parse FILE... | profiles CONFIG CREDENTIALS "
                        "NAME... | shlex TEXT...\n");
        return 2;
}
