/* The AWS shared configuration and credentials files (~/.aws/config, ~/.aws/credentials), read
 * the way botocore reads them: Python's configparser in strict raw mode (full-line # and ;
 * comments only, = or : between key and value, keys lower-cased, indented continuation lines,
 * a [DEFAULT] section inherited by every other section, duplicate sections or keys rejected),
 * then botocore's nested "key =" blocks and its profile map ([default] and [profile NAME] in
 * the config file, [NAME] in the credentials file, the credentials file winning key by key). */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "aws_ini.h"

/* Splits text into words as Python's shlex.split() does (POSIX rules: whitespace separates,
 * '...' is literal, "..." honours \\ and \", a backslash outside quotes escapes any character,
 * no comments). On success *ret_argv is a NULL-terminated array owned by the caller
 * (aws_profile_strv_free()) and *ret_n its length. Returns -EINVAL on an unclosed quote or a
 * trailing backslash, -ENOMEM. */
int aws_profile_shlex_split(const char *text, char ***ret_argv, size_t *ret_n);

/* Frees a NULL-terminated string array; accepts NULL. */
void aws_profile_strv_free(char **strv);

/* Expands $VAR and ${VAR} (unset ones stay as written), then a leading ~ or ~user, as Python's
 * os.path.expandvars() and os.path.expanduser() do. *ret is owned by the caller. */
int aws_profile_expand_path(const char *path, char **ret);

/* Both shared files as one profile map. */
struct aws_profile_files {
        char *config_path;      /* after expansion */
        char *credentials_path; /* after expansion */
        struct aws_ini *config; /* NULL when the file does not exist */
        struct aws_ini *credentials;
};

/* Loads AWS_CONFIG_FILE (default ~/.aws/config) and AWS_SHARED_CREDENTIALS_FILE (default
 * ~/.aws/credentials). A missing file is no error; a malformed or oversized one is (-EINVAL,
 * -EFBIG, with err naming the file and line). On success *ret is owned by the caller
 * (aws_profile_files_free()). */
int aws_profile_files_load(struct aws_profile_files **ret, char *err, size_t err_size);

/* Same with explicit paths (expanded like the variables); either may be NULL for "absent". */
int aws_profile_files_load_paths(const char *config_path, const char *credentials_path,
                                 struct aws_profile_files **ret, char *err, size_t err_size);

void aws_profile_files_free(struct aws_profile_files *files);

/* The config file's section for profile ([default], [profile NAME]; the last one that names
 * the profile wins, as botocore's map does), or NULL. Borrowed from files. */
const struct aws_ini_section *aws_profile_config_section(const struct aws_profile_files *files,
                                                         const char *profile);

/* The config file's [kind NAME] section that is not a profile, such as [sso-session NAME],
 * found as botocore's build_profile_map() finds it (a section name starting with kind that
 * splits as shlex into exactly two words, the second being name; the last one wins), or NULL.
 * Borrowed from files. */
const struct aws_ini_section *
aws_profile_config_named_section(const struct aws_profile_files *files, const char *kind,
                                 const char *name);

/* The credentials file's [profile] section, or NULL. Borrowed from files. */
const struct aws_ini_section *aws_profile_credentials_section(const struct aws_profile_files *files,
                                                              const char *profile);

/* The profile's value for key, the credentials file winning over the config file; NULL when
 * neither sets it. Borrowed from files. */
const char *aws_profile_get(const struct aws_profile_files *files, const char *profile,
                            const char *key);

/* Whether either file defines the profile. */
bool aws_profile_exists(const struct aws_profile_files *files, const char *profile);

/* The profile name in effect: profile when not NULL, else AWS_PROFILE when set and not empty,
 * else "default". Borrowed (from the argument or the environment). */
const char *aws_profile_name(const char *profile);

/* The profile's region from the shared files; profile NULL as aws_profile_name(). On success
 * *ret_region is owned by the caller, or NULL when the profile sets no region. A named profile
 * other than "default" that neither file defines is -ENOENT (botocore's ProfileNotFound); a
 * malformed file is -EINVAL or -EFBIG. err gets one line on failure. */
int aws_profile_region(const char *profile, char **ret_region, char *err, size_t err_size);
