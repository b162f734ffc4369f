/* The INI files of the AWS CLI (~/.aws/config, ~/.aws/credentials) read the way botocore
 * reads them: Python's configparser in strict raw mode (full-line # and ; comments only, = or :
 * between key and value, keys lower-cased, indented continuation lines, a [DEFAULT] section
 * inherited by every other section, duplicate sections or keys rejected), then botocore's
 * nested "key =" blocks. The profile map on top of it is aws_profile.h. */
#pragma once

#include <stddef.h>

struct aws_ini_entry {
        char *key;     /* lower-cased */
        char *value;   /* continuation lines joined with '\n'; a nested block starts with '\n' */
        unsigned line; /* where the key is written, for messages */
};

struct aws_ini_section {
        char *name;
        struct aws_ini_entry *entries; /* own keys in file order, then inherited [DEFAULT] keys */
        size_t n_entries;
};

struct aws_ini {
        struct aws_ini_section *sections; /* in file order; [DEFAULT] is not one of them */
        size_t n_sections;
};

/* Parses text (len bytes, UTF-8). name stands in for the path in messages. On success *ret is
 * owned by the caller (aws_ini_free()). On failure returns -EINVAL and writes one line into
 * err starting with "name:line: "; *ret is untouched. */
int aws_ini_parse(const char *text, size_t len, const char *name, struct aws_ini **ret, char *err,
                  size_t err_size);

/* Reads and parses path. Returns -ENOENT when path is not a readable regular file (botocore
 * ignores such files), -EFBIG when it exceeds 1 MiB, -EINVAL on content (err says where). */
int aws_ini_load(const char *path, struct aws_ini **ret, char *err, size_t err_size);

/* Frees a parsed file (values are wiped first: they may hold secrets). Accepts NULL. */
void aws_ini_free(struct aws_ini *ini);

/* The section called name, or NULL. Borrowed from ini. */
const struct aws_ini_section *aws_ini_find(const struct aws_ini *ini, const char *name);

/* The value of key (lower-case) in section, or NULL. section may be NULL. Borrowed. */
const char *aws_ini_get(const struct aws_ini_section *section, const char *key);

/* Replaces the string *value by itself followed by prefix and the len bytes of text; the old
 * copy is wiped, as values may be secrets. Returns 0 or -ENOMEM (*value then unchanged). */
int aws_ini_append(char **value, const char *prefix, const char *text, size_t len);
