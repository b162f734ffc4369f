/* Sharing max_concurrent_total among targets (core/slot_share.c): who comes first, what each
 * is left, whom to wake; and, in a small simulation of waves, that the sharing keeps every
 * target's remaining work level, so that the whole ends at ceil(N/C) waves. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "slot_share.h"
#include "test.h"

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

static void test_larger_backlog_first_then_longer_wait_then_order(void)
{
        const struct slot_claim c[] = {
            {.backlog = 5, .wants = 1, .waiting_since = 30},
            {.backlog = 8, .wants = 2, .waiting_since = 50},
            {.backlog = 5, .wants = 2, .waiting_since = 10},
            {.backlog = 5, .wants = 0},
            {.backlog = 5, .wants = 2, .waiting_since = 10},
        };

        ASSERT_TRUE(slot_claim_ahead(c, 1, 0)); /* backlog 8 before 5 */
        ASSERT_TRUE(!slot_claim_ahead(c, 0, 1));
        ASSERT_TRUE(slot_claim_ahead(c, 2, 0)); /* waiting since 10 before 30 */
        ASSERT_TRUE(slot_claim_ahead(c, 0, 3)); /* a waiting claim before one that is not */
        ASSERT_TRUE(!slot_claim_ahead(c, 3, 0));
        ASSERT_TRUE(slot_claim_ahead(c, 2, 4)); /* all equal: the set's order */
        ASSERT_TRUE(!slot_claim_ahead(c, 4, 2));
        ASSERT_TRUE(!slot_claim_ahead(c, 2, 2));
}

static void test_free_for_leaves_what_those_ahead_want(void)
{
        const struct slot_claim c[] = {
            {.backlog = 9, .wants = 2, .waiting_since = 5},
            {.backlog = 7, .wants = 1, .waiting_since = 1},
            {.backlog = 3, .wants = 0},
            {.backlog = 8, .wants = 0},
        };

        ASSERT_EQ_INT(slot_share_free_for(c, N_ELEMS(c), 0, 4), 4); /* first: all of it */
        ASSERT_EQ_INT(slot_share_free_for(c, N_ELEMS(c), 1, 4), 2); /* after claim 0's 2 */
        ASSERT_EQ_INT(slot_share_free_for(c, N_ELEMS(c), 2, 4), 1); /* after 2 and 1 */
        ASSERT_EQ_INT(slot_share_free_for(c, N_ELEMS(c), 2, 3), 0);
        /* Backlog 8 comes before 7, so claim 1's wants do not count against claim 3. */
        ASSERT_EQ_INT(slot_share_free_for(c, N_ELEMS(c), 3, 4), 2);
        ASSERT_EQ_INT(slot_share_free_for(c, N_ELEMS(c), 3, 1), 0);
        ASSERT_EQ_INT(slot_share_free_for(c, N_ELEMS(c), 2, 0), 0);
}

static void test_wake_the_first_waiting_until_the_free_slots_are_used(void)
{
        const struct slot_claim c[] = {
            {.backlog = 2, .wants = 1, .waiting_since = 1},
            {.backlog = 9, .wants = 2, .waiting_since = 9},
            {.backlog = 6, .wants = 0},
            {.backlog = 6, .wants = 2, .waiting_since = 4},
            {.backlog = 6, .wants = 1, .waiting_since = 3},
        };
        size_t order[N_ELEMS(c)];

        /* Free 3: claim 1 wants 2, claim 4 (waiting longer than 3) gets the last one. */
        ASSERT_EQ_INT(slot_share_to_wake(c, N_ELEMS(c), 3, order), 2);
        ASSERT_EQ_INT(order[0], 1);
        ASSERT_EQ_INT(order[1], 4);
        /* Free 4: claim 3 gets the fourth; claim 0 nothing, so it is not woken. */
        ASSERT_EQ_INT(slot_share_to_wake(c, N_ELEMS(c), 4, order), 3);
        ASSERT_EQ_INT(order[2], 3);
        ASSERT_EQ_INT(slot_share_to_wake(c, N_ELEMS(c), 100, order), 4);
        ASSERT_EQ_INT(order[3], 0);
        ASSERT_EQ_INT(slot_share_to_wake(c, N_ELEMS(c), 0, order), 0);
        ASSERT_EQ_INT(slot_share_to_wake(c, 0, 5, order), 0);
}

/* A simulated organization: every wave, the updates of every target end together, and each
 * target learns of it in its own pass, the targets passing in a shuffled order. A pass gives
 * back the slots of the target's finished updates and begins what slot_share_free_for()
 * leaves it, up to max_per_target in flight; slots given back wake the first waiting targets
 * (slot_share_to_wake()), which pass at once, as the daemon's targets do. */
struct org {
        size_t n;
        unsigned max_per_target, total, in_use;
        struct slot_claim *claims;
        size_t *left, *held, *old, *wake;
        unsigned char *passed;
        uint64_t clock;
};

static void pass(struct org *o, size_t i)
{
        unsigned in_use_before = o->in_use, mine;
        size_t want, take;

        if (!o->passed[i]) {
                o->passed[i] = 1;
                o->in_use -= (unsigned)o->old[i];
                o->old[i] = 0;
        }
        want = o->max_per_target - o->held[i];
        want = o->left[i] < want ? o->left[i] : want;
        mine = slot_share_free_for(o->claims, o->n, i, o->total - o->in_use);
        take = want < mine ? want : mine;
        o->left[i] -= take;
        o->held[i] += take;
        o->in_use += (unsigned)take;
        o->claims[i].backlog = o->left[i];
        o->claims[i].wants = want - take;
        o->clock++;
        if (o->claims[i].wants == 0)
                o->claims[i].waiting_since = 0;
        else if (o->claims[i].waiting_since == 0)
                o->claims[i].waiting_since = o->clock;
        if (o->in_use < in_use_before) {
                size_t k = slot_share_to_wake(o->claims, o->n, o->total - o->in_use, o->wake);
                size_t *woken = malloc((k ? k : 1) * sizeof(*woken));

                memcpy(woken, o->wake, k * sizeof(*woken)); /* the passes below wake others */
                for (size_t m = 0; m < k; m++)
                        pass(o, woken[m]);
                free(woken);
        }
}

/* Returns the waves until every builder is updated. */
static unsigned simulate(size_t n, size_t builders, unsigned max_per_target, unsigned total,
                         unsigned seed)
{
        struct org o = {.n = n, .max_per_target = max_per_target, .total = total};
        size_t *order = calloc(n, sizeof(*order)), remaining = n * builders;
        unsigned waves = 0;

        o.claims = calloc(n, sizeof(*o.claims));
        o.left = calloc(n, sizeof(size_t));
        o.held = calloc(n, sizeof(size_t));
        o.old = calloc(n, sizeof(size_t));
        o.wake = calloc(n, sizeof(size_t));
        o.passed = calloc(n, 1);
        for (size_t i = 0; i < n; i++)
                o.left[i] = o.claims[i].backlog = builders;
        while (remaining > 0) {
                for (size_t i = 0; i < n; i++)
                        order[i] = i;
                for (size_t i = n; i > 1; i--) {
                        size_t j = (size_t)rand_r(&seed) % i, t = order[i - 1];

                        order[i - 1] = order[j];
                        order[j] = t;
                }
                for (size_t k = 0; k < n; k++)
                        if (!o.passed[order[k]])
                                pass(&o, order[k]);
                for (size_t i = 0; i < n; i++) {
                        remaining -= o.held[i];
                        o.old[i] = o.held[i];
                        o.held[i] = 0;
                        o.passed[i] = 0;
                }
                waves++;
        }
        free(order);
        free(o.claims);
        free(o.left);
        free(o.held);
        free(o.old);
        free(o.wake);
        free(o.passed);
        return waves;
}

static void test_sharing_finishes_in_ceil_n_over_c_waves(void)
{
        /* The organization of the benchmark, scaled: 10 builders a target, 2 at a time, the
         * total 5/6 of what the targets' limits allow, so ceil(N/C) = 6 waves; and a total
         * above what they allow (no target can do its 10 in fewer than 5 waves). */
        static const struct {
                size_t targets;
                unsigned total, waves;
        } cases[] = {{9, 15, 6},
                     {60, 100, 6},
                     {600, 1000, 6},
                     {10, 20, 5},
                     {10, 30, 5},
                     /* An odd total leaves some target a single slot in a wave; in the last
                      * waves those cannot always be paired: one wave over ceil(70/5). */
                     {7, 5, 15}};

        for (size_t k = 0; k < N_ELEMS(cases); k++)
                for (unsigned seed = 1; seed <= 20; seed++) {
                        unsigned waves = simulate(cases[k].targets, 10, 2, cases[k].total, seed);

                        if (cases[k].total % 2)
                                ASSERT_TRUE(waves >= cases[k].waves - 1);
                        else
                                ASSERT_EQ_INT(waves, cases[k].waves);
                        ASSERT_TRUE(waves <= cases[k].waves);
                }
}

int main(void)
{
        test_larger_backlog_first_then_longer_wait_then_order();
        test_free_for_leaves_what_those_ahead_want();
        test_wake_the_first_waiting_until_the_free_slots_are_used();
        test_sharing_finishes_in_ceil_n_over_c_waves();
        return test_summary("test_slot_share");
}
