/* Endpoints as botocore's rules give them, and the settings that choose among them
 * (aws_endpoints.h). The rules are transcribed from botocore 1.29.27's partitions.json and the
 * endpoint-rule-set-1.json of each service here; tests/unit/check_endpoints_botocore.py holds
 * them to botocore for every partition and variant. */
#include "aws_endpoints.h"
#include "aws_common.h"
#include "aws_profile.h"
#include "endpoint.h"
#include "fileio.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

/* ---- Services ---- */

enum service_quirk {
        QUIRK_NONE,
        QUIRK_GOV_FIPS_PLAIN, /* aws-us-gov: FIPS alone is the plain hostname (already FIPS) */
        QUIRK_STS,            /* QUIRK_GOV_FIPS_PLAIN, and the legacy global endpoint */
        QUIRK_ORGANIZATIONS,  /* one endpoint per partition, not per region */
};

static const struct service_info {
        const char *name, *prefix, *signing_name, *env_suffix, *config_key;
        enum service_quirk quirk;
} services[AWS_SERVICE_COUNT] = {
    [AWS_SERVICE_APPSTREAM] = {"appstream", "appstream2", "appstream", "APPSTREAM", "appstream",
                               QUIRK_NONE},
    [AWS_SERVICE_STS] = {"sts", "sts", "sts", "STS", "sts", QUIRK_STS},
    [AWS_SERVICE_SSO] = {"sso", "portal.sso", "awsssoportal", "SSO", "sso", QUIRK_NONE},
    [AWS_SERVICE_SSO_OIDC] = {"sso-oidc", "oidc", "awsssooidc", "SSO_OIDC", "sso_oidc", QUIRK_NONE},
    /* DynamoDB's rules also send the pseudo-region "local" to https://localhost:8000, where no
     * DynamoDB Local listens (it speaks plain HTTP): "local" is no region here
     * (aws_region_is_valid()), and a local DynamoDB is named by its URL instead. */
    [AWS_SERVICE_DYNAMODB] = {"dynamodb", "dynamodb", "dynamodb", "DYNAMODB", "dynamodb",
                              QUIRK_GOV_FIPS_PLAIN},
    [AWS_SERVICE_ORGANIZATIONS] = {"organizations", "organizations", "organizations",
                                   "ORGANIZATIONS", "organizations", QUIRK_ORGANIZATIONS},
};

static const struct service_info *service_info(enum aws_service service)
{
        return (unsigned)service < AWS_SERVICE_COUNT ? &services[service] : NULL;
}

#define SERVICE_FIELD(service, field) (service_info(service) ? service_info(service)->field : NULL)

const char *aws_service_name(enum aws_service service)
{
        return SERVICE_FIELD(service, name);
}

const char *aws_service_endpoint_prefix(enum aws_service service)
{
        return SERVICE_FIELD(service, prefix);
}

const char *aws_service_signing_name(enum aws_service service)
{
        return SERVICE_FIELD(service, signing_name);
}

const char *aws_service_env_suffix(enum aws_service service)
{
        return SERVICE_FIELD(service, env_suffix);
}

const char *aws_service_config_key(enum aws_service service)
{
        return SERVICE_FIELD(service, config_key);
}

int aws_service_from_name(const char *name, enum aws_service *ret)
{
        for (int i = 0; name && i < AWS_SERVICE_COUNT; i++)
                if (strcmp(services[i].name, name) == 0) {
                        *ret = (enum aws_service)i;
                        return 0;
                }
        return -EINVAL;
}

/* ---- Regions and partitions ---- */

static bool is_lower_alnum(char c)
{
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool is_digit(char c)
{
        return c >= '0' && c <= '9';
}

bool aws_region_is_valid(const char *region)
{
        const char *p = region;
        int parts = 0;

        if (!region || !*region || strlen(region) > 32)
                return false;
        while (*p) {
                size_t n = 0;

                while (is_lower_alnum(p[n]))
                        n++;
                if (n == 0)
                        return false;
                parts++;
                p += n;
                if (*p == '-')
                        p++;
                else if (*p)
                        return false;
                else
                        break;
        }
        return parts >= 3 && is_digit(p[-1]) && region[0] >= 'a' && region[0] <= 'z';
}

/* partitions.json's regionRegex, all of the form ^PREFIX\-\w+\-\d+$ with PREFIX one of a few
 * alternatives. */
static bool matches_region_regex(const char *region, const char *const *prefixes)
{
        for (; *prefixes; prefixes++) {
                size_t n = strlen(*prefixes), word = 0, digits = 0;
                const char *p = region + n;

                if (strncmp(region, *prefixes, n) != 0 || *p != '-')
                        continue;
                p++;
                while (is_lower_alnum(p[word]) || p[word] == '_')
                        word++;
                if (word == 0 || p[word] != '-')
                        continue;
                p += word + 1;
                while (is_digit(p[digits]))
                        digits++;
                if (digits > 0 && p[digits] == '\0')
                        return true;
        }
        return false;
}

static const char *const aws_prefixes[] = {"us", "eu", "ap", "sa", "ca", "me", "af", NULL};
static const char *const cn_prefixes[] = {"cn", NULL};
static const char *const gov_prefixes[] = {"us-gov", NULL};
static const char *const iso_prefixes[] = {"us-iso", NULL};
static const char *const isob_prefixes[] = {"us-isob", NULL};

/* In botocore's order: the first that matches wins, "aws" when none does. The listed regions
 * of partitions.json all match their partition's pattern but for the "*-global" pseudo
 * regions, which are no regions here (aws_region_is_valid()). */
static const struct {
        struct aws_partition partition;
        const char *const *prefixes;
} partitions[] = {
    {{"aws", "amazonaws.com", "api.aws", true, true}, aws_prefixes},
    {{"aws-cn", "amazonaws.com.cn", "api.amazonwebservices.com.cn", true, true}, cn_prefixes},
    {{"aws-us-gov", "amazonaws.com", "api.aws", true, true}, gov_prefixes},
    {{"aws-iso", "c2s.ic.gov", "c2s.ic.gov", true, false}, iso_prefixes},
    {{"aws-iso-b", "sc2s.sgov.gov", "sc2s.sgov.gov", true, false}, isob_prefixes},
};

const struct aws_partition *aws_partition_of(const char *region)
{
        for (size_t i = 0; region && i < sizeof(partitions) / sizeof(partitions[0]); i++)
                if (matches_region_regex(region, partitions[i].prefixes))
                        return &partitions[i].partition;
        return &partitions[0].partition;
}

/* ---- The rules ---- */

/* botocore's LEGACY_GLOBAL_STS_REGIONS (and the STS ruleset's UseGlobalEndpoint branch). */
static bool sts_legacy_global_region(const char *region)
{
        static const char *const regions[] = {
            "ap-northeast-1", "ap-south-1", "ap-southeast-1", "ap-southeast-2", "ca-central-1",
            "eu-central-1",   "eu-north-1", "eu-west-1",      "eu-west-2",      "eu-west-3",
            "sa-east-1",      "us-east-1",  "us-east-2",      "us-west-1",      "us-west-2",
        };

        for (size_t i = 0; i < sizeof(regions) / sizeof(regions[0]); i++)
                if (strcmp(regions[i], region) == 0)
                        return true;
        return false;
}

void aws_endpoint_clear(struct aws_endpoint *ep)
{
        if (!ep)
                return;
        free(ep->url);
        free(ep->signing_region);
        *ep = (struct aws_endpoint){0};
}

static int make_endpoint(struct aws_endpoint *ret, const char *signing_region, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int make_endpoint(struct aws_endpoint *ret, const char *signing_region, const char *fmt, ...)
{
        struct aws_endpoint ep = {0};
        va_list ap;
        int n;

        va_start(ap, fmt);
        n = vasprintf(&ep.url, fmt, ap);
        va_end(ap);
        if (n < 0)
                return -ENOMEM;
        ep.signing_region = strdup(signing_region);
        if (!ep.signing_region) {
                free(ep.url);
                return -ENOMEM;
        }
        *ret = ep;
        return 0;
}

static int refuse(enum aws_service service, const char *region, const struct aws_partition *p,
                  const char *what, char *err, size_t err_size)
{
        aws_set_error(err, err_size,
                      "%s endpoints are not available for %s in region %s (partition %s)", what,
                      services[service].name, region, p->name);
        return -EINVAL;
}

/* The partition-wide Organizations endpoint of the three partitions that have one, and the
 * region it signs for; NULL for the others, which follow the common rules. */
static const char *organizations_home(const struct aws_partition *p)
{
        if (strcmp(p->name, "aws") == 0)
                return "us-east-1";
        if (strcmp(p->name, "aws-cn") == 0)
                return "cn-northwest-1";
        if (strcmp(p->name, "aws-us-gov") == 0)
                return "us-gov-west-1";
        return NULL;
}

int aws_endpoints_rule(enum aws_service service, const char *region,
                       const struct aws_endpoint_variant *variant, struct aws_endpoint *ret,
                       char *err, size_t err_size)
{
        static const struct aws_endpoint_variant none = {0};
        const struct service_info *s = service_info(service);
        const struct aws_partition *p;
        const char *label, *signing_region = region, *home = NULL;
        bool fips, dual;

        if (!s) {
                aws_set_error(err, err_size, "unknown AWS service %d", (int)service);
                return -EINVAL;
        }
        if (!aws_region_is_valid(region)) {
                aws_set_error(err, err_size, "not a valid AWS region: '%s'", region ? region : "");
                return -EINVAL;
        }
        variant = variant ? variant : &none;
        fips = variant->fips;
        dual = variant->dual_stack;
        p = aws_partition_of(region);
        label = s->prefix;
        if (s->quirk == QUIRK_STS && variant->sts_legacy && !fips && !dual &&
            sts_legacy_global_region(region))
                return make_endpoint(ret, "us-east-1", "https://sts.amazonaws.com");
        if (s->quirk == QUIRK_ORGANIZATIONS && (home = organizations_home(p)))
                signing_region = home;
        if (fips && dual) {
                if (!p->supports_fips || !p->supports_dual_stack)
                        return refuse(service, region, p, "FIPS dual-stack", err, err_size);
                return make_endpoint(ret, signing_region, "https://%s-fips.%s.%s", label, region,
                                     p->dual_stack_dns_suffix);
        }
        if (fips) {
                if (!p->supports_fips)
                        return refuse(service, region, p, "FIPS", err, err_size);
                if ((s->quirk == QUIRK_STS || s->quirk == QUIRK_GOV_FIPS_PLAIN ||
                     s->quirk == QUIRK_ORGANIZATIONS) &&
                    strcmp(p->name, "aws-us-gov") == 0)
                        return make_endpoint(ret, signing_region, "https://%s.%s.%s", label,
                                             home ? home : region, p->dns_suffix);
                /* Organizations' FIPS endpoint in aws is its global one; in aws-cn it is
                 * regional although the plain one is global. */
                if (home && strcmp(p->name, "aws") == 0)
                        return make_endpoint(ret, signing_region, "https://%s-fips.%s.%s", label,
                                             home, p->dns_suffix);
                return make_endpoint(ret, signing_region, "https://%s-fips.%s.%s", label, region,
                                     p->dns_suffix);
        }
        if (dual) {
                if (!p->supports_dual_stack)
                        return refuse(service, region, p, "dual-stack", err, err_size);
                return make_endpoint(ret, signing_region, "https://%s.%s.%s", label, region,
                                     p->dual_stack_dns_suffix);
        }
        return make_endpoint(ret, signing_region, "https://%s.%s.%s", label, home ? home : region,
                             p->dns_suffix);
}

/* ---- URLs ---- */

static bool is_alpha(char c)
{
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_hex(char c)
{
        return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* Splits an http(s) URL: scheme://[userinfo@]host[:port][/path][?query][#fragment]. host is
 * written as the URL writes it (an IPv6 address with its brackets) into host_buf. Returns
 * false for anything else, including control characters and blanks anywhere. */
static bool split_url(const char *url, bool *ret_https, char *host_buf, size_t host_size)
{
        const char *p = url, *auth, *end, *at, *h, *hend, *port;
        size_t n;

        for (const char *c = url; *c; c++)
                if ((unsigned char)*c <= ' ' || *c == 0x7f)
                        return false;
        if (strncasecmp(p, "https://", 8) == 0) {
                *ret_https = true;
                auth = p + 8;
        } else if (strncasecmp(p, "http://", 7) == 0) {
                *ret_https = false;
                auth = p + 7;
        } else
                return false;
        end = auth + strcspn(auth, "/?#");
        h = auth;
        for (at = auth; at < end; at++)
                if (*at == '@')
                        h = at + 1;
        if (*h == '[') {
                hend = h + 1;
                while (hend < end && (is_hex(*hend) || *hend == ':' || *hend == '.'))
                        hend++;
                if (hend >= end || *hend != ']' || hend == h + 1)
                        return false;
                hend++;
        } else {
                hend = h;
                while (hend < end && (is_alpha(*hend) || is_digit(*hend) || *hend == '-' ||
                                      *hend == '.' || *hend == '_'))
                        hend++;
                if (hend == h)
                        return false;
        }
        if (hend < end) {
                if (*hend != ':')
                        return false;
                port = hend + 1;
                n = (size_t)(end - port);
                if (n == 0 || n > 5 || strspn(port, "0123456789") < n || atoi(port) > 65535)
                        return false;
        }
        n = (size_t)(hend - h);
        if (n >= host_size)
                return false;
        memcpy(host_buf, h, n);
        host_buf[n] = '\0';
        return true;
}

int aws_endpoint_check_url(const char *url, const char *source, char *err, size_t err_size)
{
        char host[256];
        bool https;

        if (!url || !split_url(url, &https, host, sizeof(host))) {
                aws_set_error(err, err_size, "%s is not an http(s) URL: '%s'", source,
                              url ? url : "");
                return -EINVAL;
        }
        if (!https && !endpoint_plain_http_allowed(host)) {
                aws_set_error(err, err_size, "%s is refused: %s: '%s'", source,
                              ENDPOINT_PLAIN_HTTP_REFUSED, url);
                return -EINVAL;
        }
        return 0;
}

/* ---- The settings ---- */

struct setting {
        char *value;  /* NULL: not set */
        char *source; /* "AWS_USE_FIPS_ENDPOINT", "FILE:LINE: profile 'P' use_fips_endpoint" */
};

struct aws_endpoints {
        struct aws_endpoint_variant variant;
        struct setting fips, dual_stack; /* where the variant came from, for messages */
        struct setting urls[AWS_SERVICE_COUNT];
        struct setting ca_bundle;
};

static void setting_clear(struct setting *s)
{
        free(s->value);
        free(s->source);
        *s = (struct setting){0};
}

void aws_endpoints_free(struct aws_endpoints *e)
{
        if (!e)
                return;
        setting_clear(&e->fips);
        setting_clear(&e->dual_stack);
        for (int i = 0; i < AWS_SERVICE_COUNT; i++)
                setting_clear(&e->urls[i]);
        setting_clear(&e->ca_bundle);
        free(e);
}

static int setting_set(struct setting *s, const char *value, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int setting_set(struct setting *s, const char *value, const char *fmt, ...)
{
        va_list ap;
        int n;

        setting_clear(s);
        va_start(ap, fmt);
        n = vasprintf(&s->source, fmt, ap);
        va_end(ap);
        if (n < 0) {
                s->source = NULL;
                return -ENOMEM;
        }
        s->value = strdup(value);
        if (!s->value) {
                setting_clear(s);
                return -ENOMEM;
        }
        return 0;
}

/* What loading reads from: the profile in effect and its files. */
struct loader {
        const struct aws_profile_files *files;
        const char *profile;
        char *err;
        size_t err_size;
};

static const struct aws_ini_entry *section_entry(const struct aws_ini_section *section,
                                                 const char *key)
{
        for (size_t i = 0; section && i < section->n_entries; i++)
                if (strcmp(section->entries[i].key, key) == 0)
                        return &section->entries[i];
        return NULL;
}

/* The profile's key, the credentials file winning as in aws_profile_get(), with where it is
 * written. A nested block where a value belongs is refused. Returns 1 when found, 0, or a
 * negative errno. */
static int profile_setting(const struct loader *l, const char *key, struct setting *ret)
{
        const struct aws_ini_entry *entry =
            section_entry(aws_profile_credentials_section(l->files, l->profile), key);
        const char *path = l->files->credentials_path;

        if (!entry) {
                entry = section_entry(aws_profile_config_section(l->files, l->profile), key);
                path = l->files->config_path;
        }
        if (!entry)
                return 0;
        if (entry->value[0] == '\n') {
                aws_set_error(l->err, l->err_size,
                              "%s:%u: profile '%s': %s is a nested block, not a value", path,
                              entry->line, l->profile, key);
                return -EINVAL;
        }
        if (setting_set(ret, entry->value, "%s:%u: profile '%s' %s", path, entry->line, l->profile,
                        key) < 0)
                return -ENOMEM;
        return 1;
}

/* The variable when set and not empty, else the profile's key. Returns as profile_setting(). */
static int env_or_profile(const struct loader *l, const char *env, const char *key,
                          struct setting *ret)
{
        const char *v = getenv(env);

        if (v && *v)
                return setting_set(ret, v, "%s", env) < 0 ? -ENOMEM : 1;
        return key ? profile_setting(l, key, ret) : 0;
}

/* "true" or "false" in any case, as botocore's ensure_boolean() reads them. */
static int setting_bool(const struct loader *l, const char *env, const char *key, bool *ret,
                        struct setting *ret_setting)
{
        struct setting s = {0};
        int r = env_or_profile(l, env, key, &s);

        if (r <= 0) {
                *ret = false;
                return r;
        }
        if (strcasecmp(s.value, "true") == 0 || strcasecmp(s.value, "false") == 0) {
                *ret = strcasecmp(s.value, "true") == 0;
                if (ret_setting)
                        *ret_setting = s;
                else
                        setting_clear(&s);
                return 1;
        }
        aws_set_error(l->err, l->err_size, "%s: '%s' is neither true nor false", s.source, s.value);
        setting_clear(&s);
        return -EINVAL;
}

static int load_sts_mode(const struct loader *l, bool *ret_legacy)
{
        struct setting s = {0};
        int r = env_or_profile(l, "AWS_STS_REGIONAL_ENDPOINTS", "sts_regional_endpoints", &s);

        *ret_legacy = false;
        if (r <= 0)
                return r;
        if (strcmp(s.value, "legacy") == 0)
                *ret_legacy = true;
        else if (strcmp(s.value, "regional") != 0) {
                aws_set_error(l->err, l->err_size, "%s: '%s' is neither regional nor legacy",
                              s.source, s.value);
                r = -EINVAL;
        }
        setting_clear(&s);
        return r;
}

/* botocore's _parse_nested(): "key = value" lines, stripped, the last of a key winning. *ret
 * is NULL when key is absent. */
static int nested_get(const char *block, const char *key, char **ret)
{
        const char *line = block;
        char *found = NULL;

        while (*line) {
                size_t len = strcspn(line, "\n"), klen;
                const char *eq = memchr(line, '=', len), *k = line, *v, *vend = line + len;

                if (eq) {
                        while (k < eq && (*k == ' ' || *k == '\t'))
                                k++;
                        klen = (size_t)(eq - k);
                        while (klen > 0 && (k[klen - 1] == ' ' || k[klen - 1] == '\t'))
                                klen--;
                        v = eq + 1;
                        while (v < vend && (*v == ' ' || *v == '\t'))
                                v++;
                        while (vend > v &&
                               (vend[-1] == ' ' || vend[-1] == '\t' || vend[-1] == '\r'))
                                vend--;
                        if (klen == strlen(key) && strncmp(k, key, klen) == 0) {
                                free(found);
                                found = strndup(v, (size_t)(vend - v));
                                if (!found)
                                        return -ENOMEM;
                        }
                }
                line += len + (line[len] == '\n');
        }
        *ret = found;
        return 0;
}

/* The profile's services section, or NULL when it names none. */
static int services_section(const struct loader *l, const struct aws_ini_section **ret,
                            struct setting *ret_name)
{
        int r = profile_setting(l, "services", ret_name);

        *ret = NULL;
        if (r <= 0)
                return r;
        *ret = aws_profile_config_named_section(l->files, "services", ret_name->value);
        if (!*ret) {
                aws_set_error(l->err, l->err_size, "%s names [services %s], which %s lacks",
                              ret_name->source, ret_name->value, l->files->config_path);
                return -EINVAL;
        }
        return 1;
}

static int service_section_url(const struct loader *l, const struct aws_ini_section *section,
                               const char *name, enum aws_service service, struct setting *ret)
{
        const char *key = services[service].config_key;
        const struct aws_ini_entry *entry = section_entry(section, key);
        char *url = NULL;
        int r;

        if (!entry)
                return 0;
        if (entry->value[0] != '\n') {
                aws_set_error(l->err, l->err_size,
                              "%s:%u: [services %s] %s: expected a nested block "
                              "(\"%s =\" then an indented \"endpoint_url = URL\")",
                              l->files->config_path, entry->line, name, key, key);
                return -EINVAL;
        }
        r = nested_get(entry->value, "endpoint_url", &url);
        if (r < 0 || !url)
                return r;
        r = setting_set(ret, url, "%s:%u: [services %s] %s endpoint_url (profile '%s')",
                        l->files->config_path, entry->line, name, key, l->profile);
        free(url);
        return r < 0 ? r : 1;
}

/* Per service: AWS_ENDPOINT_URL_<SERVICE>, AWS_ENDPOINT_URL, the services section, the
 * profile's endpoint_url (aws_endpoints.h). */
static int load_urls(const struct loader *l, struct aws_endpoints *e)
{
        const struct aws_ini_section *section = NULL;
        struct setting global_env = {0}, global_profile = {0}, services_name = {0};
        bool ignore = false;
        int r;

        r = setting_bool(l, "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
                         "ignore_configured_endpoint_urls", &ignore, NULL);
        if (r < 0 || ignore)
                return r < 0 ? r : 0;
        if ((r = env_or_profile(l, "AWS_ENDPOINT_URL", NULL, &global_env)) < 0 ||
            (r = profile_setting(l, "endpoint_url", &global_profile)) < 0 ||
            (r = services_section(l, &section, &services_name)) < 0)
                goto done;
        for (int i = 0; i < AWS_SERVICE_COUNT; i++) {
                struct setting *u = &e->urls[i];
                char env[64];

                snprintf(env, sizeof(env), "AWS_ENDPOINT_URL_%s", services[i].env_suffix);
                r = env_or_profile(l, env, NULL, u);
                if (r == 0 && global_env.value)
                        r = setting_set(u, global_env.value, "%s", global_env.source);
                if (r == 0 && !u->value && section)
                        r = service_section_url(l, section, services_name.value,
                                                (enum aws_service)i, u);
                if (r == 0 && !u->value && global_profile.value)
                        r = setting_set(u, global_profile.value, "%s", global_profile.source);
                if (r < 0)
                        goto done;
        }
        r = 0;
done:
        setting_clear(&global_env);
        setting_clear(&global_profile);
        setting_clear(&services_name);
        return r;
}

/* libcurl reads the CA bundle on the loop's thread whenever it connects: a FIFO there would
 * hang the loop at the first request, a directory fail every one of them obscurely. A missing
 * file is left to the TLS layer, which names it at the first request. */
static int load_ca_bundle(const struct loader *l, struct setting *ret)
{
        struct stat st;
        int r = env_or_profile(l, "AWS_CA_BUNDLE", "ca_bundle", ret);

        if (r <= 0 || stat(ret->value, &st) < 0 || S_ISREG(st.st_mode))
                return r;
        aws_set_error(l->err, l->err_size, "%s %s is a %s, not a regular file", ret->source,
                      ret->value, fileio_type_name(st.st_mode));
        return -EINVAL;
}

int aws_endpoints_load(const char *profile, struct aws_endpoints **ret, char *err, size_t err_size)
{
        struct aws_profile_files *files = NULL;
        struct aws_endpoints *e = calloc(1, sizeof(*e));
        struct loader l = {.profile = aws_profile_name(profile), .err = err, .err_size = err_size};
        int r;

        if (!e)
                return -ENOMEM;
        r = aws_profile_files_load(&files, err, err_size);
        if (r < 0)
                goto fail;
        l.files = files;
        if ((r = setting_bool(&l, "AWS_USE_FIPS_ENDPOINT", "use_fips_endpoint", &e->variant.fips,
                              &e->fips)) < 0 ||
            (r = setting_bool(&l, "AWS_USE_DUALSTACK_ENDPOINT", "use_dualstack_endpoint",
                              &e->variant.dual_stack, &e->dual_stack)) < 0 ||
            (r = load_sts_mode(&l, &e->variant.sts_legacy)) < 0 || (r = load_urls(&l, e)) < 0 ||
            (r = load_ca_bundle(&l, &e->ca_bundle)) < 0)
                goto fail;
        aws_profile_files_free(files);
        *ret = e;
        return 0;
fail:
        if (r == -ENOMEM)
                aws_set_error(err, err_size, "cannot read the AWS endpoint settings: %s",
                              strerror(ENOMEM));
        aws_profile_files_free(files);
        aws_endpoints_free(e);
        return r;
}

int aws_endpoints_resolve(const struct aws_endpoints *e, enum aws_service service,
                          const char *region, struct aws_endpoint *ret, char *err, size_t err_size)
{
        const struct setting *u = e && service_info(service) ? &e->urls[service] : NULL;
        char why[256] = "";
        int r;

        if (!u || !u->value)
                goto rules;
        if (!aws_region_is_valid(region)) {
                aws_set_error(err, err_size, "not a valid AWS region: '%s'", region ? region : "");
                return -EINVAL;
        }
        r = aws_endpoint_check_url(u->value, u->source, err, err_size);
        if (r < 0)
                return r;
        r = make_endpoint(ret, region, "%s", u->value);
        if (r == 0)
                ret->configured = true;
        return r;
rules:
        r = aws_endpoints_rule(service, region, e ? &e->variant : NULL, ret, why, sizeof(why));
        if (r == -EINVAL && e && aws_region_is_valid(region)) {
                const struct setting *on = e->variant.fips ? &e->fips : &e->dual_stack;

                if (e->variant.fips && e->variant.dual_stack)
                        aws_set_error(err, err_size, "%s; set by %s and %s", why, e->fips.source,
                                      e->dual_stack.source);
                else
                        aws_set_error(err, err_size, "%s; set by %s", why, on->source);
        } else if (r < 0)
                aws_set_error(err, err_size, "%s", why);
        return r;
}

int aws_endpoints_url(const struct aws_endpoints *e, enum aws_service service, const char *region,
                      char **ret_url, char *err, size_t err_size)
{
        struct aws_endpoint ep;
        int r = aws_endpoints_resolve(e, service, region, &ep, err, err_size);

        if (r < 0)
                return r;
        *ret_url = ep.url;
        ep.url = NULL;
        aws_endpoint_clear(&ep);
        return 0;
}

const struct aws_endpoint_variant *aws_endpoints_variant(const struct aws_endpoints *e)
{
        static const struct aws_endpoint_variant none = {0};

        return e ? &e->variant : &none;
}

const char *aws_endpoints_ca_bundle(const struct aws_endpoints *e)
{
        return e ? e->ca_bundle.value : NULL;
}

static int credentials_url(void *userdata, const char *service, const char *region, char **ret_url,
                           char **ret_signing_region, char *err, size_t err_size)
{
        struct aws_endpoint ep = {0};
        enum aws_service id;
        int r;

        if (aws_service_from_name(service, &id) < 0) {
                (void)snprintf(err, err_size, "no endpoint rules for the service '%s'", service);
                return -EINVAL;
        }
        r = aws_endpoints_resolve(userdata, id, region, &ep, err, err_size);
        if (r < 0)
                return r;
        *ret_url = ep.url;
        *ret_signing_region = ep.signing_region;
        return 0;
}

struct creds_endpoints aws_endpoints_for_credentials(const struct aws_endpoints *e)
{
        return (struct creds_endpoints){credentials_url, (void *)e};
}
