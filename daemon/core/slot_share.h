/* How the slots of max_concurrent_total are shared among the targets of one daemon (I12).
 *
 * Each target decides in its own passes, at its own times. Left alone, a target that sees an
 * update finish begins its next builder in the same pass, so the slots it got first stay
 * with it, and a target that found the total reached waits until the others are done: the
 * organization then takes the longest chain of one target, not ceil(N/C) x T. Instead, the
 * slots go first to the target with the most builders still waiting for one (its remaining
 * chain is the longest), then to the one waiting longest: the remaining work stays level
 * across targets, so they all finish together. A target asking for slots gets what the
 * targets ahead of it do not claim, and the daemon wakes the first waiting targets as soon
 * as slots are freed. Pure: the caller keeps the claims and the clock. */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* What one target last said of its wait for a slot. */
struct slot_claim {
        size_t backlog;         /* its builders waiting for a slot (of any limit) */
        size_t wants;           /* how many it would begin now but for the total */
        uint64_t waiting_since; /* when wants last became non-zero (any monotonic unit) */
};

/* Whether claims[a] goes before claims[b]: the larger backlog, then the longer wait, then
 * the lower index (the set's order of names, so that the order is total). */
int slot_claim_ahead(const struct slot_claim *claims, size_t a, size_t b);

/* What target i may take of the total's free slots: free less the wants of the waiting
 * targets ahead of it. claims is borrowed. */
unsigned slot_share_free_for(const struct slot_claim *claims, size_t n, size_t i, unsigned free);

/* The waiting targets to wake now that free slots are there: in order, the first ones whose
 * wants, summed, do not use up free before them, so each of them gets at least one slot.
 * ret has room for n indices; returns how many of them are to be woken, first first. */
size_t slot_share_to_wake(const struct slot_claim *claims, size_t n, unsigned free, size_t *ret);
