/* Operators' pauses: "leave these builders alone until I say so, or until then". A pause
 * names builders with a glob, matched as the configuration's include/exclude globs are
 * (fnmatch(3), no flags), and says who asked, why and until when. The `pause` and `resume`
 * commands keep them in a file of their own beside the state file (pause_file.h), so that
 * they never write the daemon's state; this is the model, without I/O or clock. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The glob of a pause of every builder. */
#define PAUSE_ALL "*"

struct pause {
        char *glob;
        char *who;     /* "alice", "alice via sudo", "uid 1001" */
        char *reason;  /* NULL when none was given */
        int64_t since; /* Unix seconds */
        int64_t until; /* Unix seconds; 0: until resumed */
};

/* At most one pause per glob text. An empty set is {NULL, 0}. */
struct pause_set {
        struct pause *items;
        size_t n;
};

/* Whether text may be a glob, a name or a reason: not empty, and no control characters, so
 * that it shows on one line of a table or a log and cannot drive the terminal that shows it. */
bool pause_text_valid(const char *text);

/* Whether p still holds at now: no end, or an end after now. */
bool pause_active(const struct pause *p, int64_t now);

/* Pauses the builders glob names. A pause with the same glob text replaces that entry (in
 * place); otherwise one is appended. The strings are copied; reason may be NULL; until is 0
 * or after since. Returns 0, -EINVAL for an invalid text or time (set unchanged), -ENOMEM. */
int pause_set_put(struct pause_set *set, const char *glob, const char *who, const char *reason,
                  int64_t since, int64_t until);

/* The entry whose glob text is glob exactly (not a match of it), or NULL. Valid until the
 * set changes. */
const struct pause *pause_set_find(const struct pause_set *set, const char *glob);

/* Removes the entry whose glob text is glob exactly; returns how many were removed (0 or 1). */
size_t pause_set_remove(struct pause_set *set, const char *glob);

/* Removes every entry; returns how many there were. */
size_t pause_set_remove_all(struct pause_set *set);

/* Drops the pauses that ended at or before now; returns how many. */
size_t pause_set_prune(struct pause_set *set, int64_t now);

/* The first pause active at now whose glob matches builder, or NULL. Valid until the set
 * changes. */
const struct pause *pause_set_covering(const struct pause_set *set, const char *builder,
                                       int64_t now);

/* One line for decisions and logs: "paused by alice until 2026-12-04 12:00 UTC: migrating
 * apps", "paused by alice (no end)"; a pause over at now says "(ended)" after its end. The
 * text does not change while the pause does not, so a reason built from it is stable from
 * pass to pass. Returns buf. */
char *pause_describe(const struct pause *p, int64_t now, char *buf, size_t size);

/* Whether a and b hold the same pauses in the same order. */
bool pause_set_equal(const struct pause_set *a, const struct pause_set *b);

/* Frees every entry and leaves set empty; accepts an empty set. */
void pause_set_free(struct pause_set *set);
