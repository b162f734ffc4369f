/* The items of an [ha] table (SPEC "High availability"): one naming for the daemon, which
 * writes them, and the commands, which read them (and write the pauses). Hosts that share a
 * table share what carries their configuration's [ha] name:
 *   lease#<name>             the lease (lease_run.h)
 *   state#<name>#<target>    a target's state (ha_store.h)
 *   pauses#<name>            the operators' pauses: doc (the pause file's JSON), rev */
#pragma once

#include <stddef.h>

/* Each writes the key into buf and returns 0, or -ENAMETOOLONG when it does not fit (or
 * exceeds DynamoDB's 2048 bytes of a partition key). */
int ha_key_lease(const char *name, char *buf, size_t size);
int ha_key_state(const char *name, const char *target, char *buf, size_t size);
int ha_key_pauses(const char *name, char *buf, size_t size);

/* The prefix of the state items, "state#<name>#", the target's name following it. */
int ha_key_state_prefix(const char *name, char *buf, size_t size);
