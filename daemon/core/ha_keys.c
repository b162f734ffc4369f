/* The keys of the [ha] table's items: see ha_keys.h. */
#include "ha_keys.h"

#include <errno.h>
#include <stdio.h>

/* DynamoDB's limit on a partition key, in bytes. */
#define HA_KEY_MAX 2048

static int key(char *buf, size_t size, const char *kind, const char *name, const char *target,
               const char *tail)
{
        int n = snprintf(buf, size, "%s#%s%s%s%s", kind, name, target ? "#" : "",
                         target ? target : "", tail);

        if (n < 0 || (size_t)n >= size || n > HA_KEY_MAX)
                return -ENAMETOOLONG;
        return 0;
}

int ha_key_lease(const char *name, char *buf, size_t size)
{
        return key(buf, size, "lease", name, NULL, "");
}

int ha_key_state(const char *name, const char *target, char *buf, size_t size)
{
        return key(buf, size, "state", name, target, "");
}

int ha_key_pauses(const char *name, char *buf, size_t size)
{
        return key(buf, size, "pauses", name, NULL, "");
}

int ha_key_state_prefix(const char *name, char *buf, size_t size)
{
        return key(buf, size, "state", name, NULL, "#");
}
