#include "slot_share.h"

#include <stdlib.h>

int slot_claim_ahead(const struct slot_claim *claims, size_t a, size_t b)
{
        const struct slot_claim *x = &claims[a], *y = &claims[b];

        if (x->backlog != y->backlog)
                return x->backlog > y->backlog;
        /* Only waiting claims have a wait to compare: one that is not waiting asks in its own
         * pass and comes after those that were turned away. */
        if ((x->wants > 0) != (y->wants > 0))
                return x->wants > 0;
        if (x->wants > 0 && x->waiting_since != y->waiting_since)
                return x->waiting_since < y->waiting_since;
        return a < b;
}

unsigned slot_share_free_for(const struct slot_claim *claims, size_t n, size_t i, unsigned free)
{
        for (size_t j = 0; j < n && free > 0; j++) {
                if (j == i || claims[j].wants == 0 || !slot_claim_ahead(claims, j, i))
                        continue;
                free = claims[j].wants >= free ? 0 : free - (unsigned)claims[j].wants;
        }
        return free;
}

static int compare_ahead(const void *a, const void *b, void *claims)
{
        size_t x = *(const size_t *)a, y = *(const size_t *)b;

        return slot_claim_ahead(claims, x, y) ? -1 : slot_claim_ahead(claims, y, x) ? 1 : 0;
}

size_t slot_share_to_wake(const struct slot_claim *claims, size_t n, unsigned free, size_t *ret)
{
        size_t waiting = 0, k = 0;

        for (size_t j = 0; j < n; j++)
                if (claims[j].wants > 0)
                        ret[waiting++] = j;
        qsort_r(ret, waiting, sizeof(*ret), compare_ahead, (void *)claims);
        while (k < waiting && free > 0) {
                size_t wants = claims[ret[k++]].wants;

                free = wants >= free ? 0 : free - (unsigned)wants;
        }
        return k;
}
