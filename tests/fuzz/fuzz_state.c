/* state_from_json(): any text, as state_load() hands it over. An accepted state is written
 * back with state_to_json(), which must be accepted again and give the same text; a refused
 * one is refused with a reason. */
#include <errno.h>

#include "fuzz.h"
#include "state.h"
#include "state_file.h"
#include "state_json.h"

static void check_state(const struct state *s)
{
        FUZZ_CHECK(s->n_history <= STATE_HISTORY_MAX);
        for (size_t i = 0; i < s->n_ops; i++) {
                FUZZ_CHECK(s->ops[i].builder && s->ops[i].builder[0]);
                FUZZ_CHECK(state_find_operation_const(s, s->ops[i].builder) == &s->ops[i]);
        }
        for (size_t i = 0; i < s->n_backoff; i++) {
                FUZZ_CHECK(s->backoff[i].failures >= 1);
                FUZZ_CHECK(state_find_backoff(s, s->backoff[i].builder) == &s->backoff[i]);
        }
}

static void check_round_trip(const struct state *s)
{
        struct state *back = NULL;
        char *json = NULL, *again = NULL;
        char err[256] = "";

        FUZZ_CHECK(state_to_json(s, &json) == 0);
        FUZZ_CHECK(state_from_json(json, &back, err, sizeof(err)) == 0);
        FUZZ_CHECK(state_to_json(back, &again) == 0);
        FUZZ_CHECK(strcmp(json, again) == 0);
        FUZZ_CHECK(back->has_newest_seen == s->has_newest_seen);
        FUZZ_CHECK(back->n_ops == s->n_ops && back->n_backoff == s->n_backoff &&
                   back->n_failures == s->n_failures && back->n_history == s->n_history);
        free(json);
        free(again);
        state_free(back);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char *text = fuzz_string(data, size);
        struct state *s = NULL;
        char err[256] = "";
        int r = state_from_json(text, &s, err, sizeof(err));

        if (r < 0) {
                FUZZ_CHECK(r == -EBADMSG || r == -EPROTONOSUPPORT);
                FUZZ_CHECK(s == NULL && err[0] != '\0');
        } else {
                check_state(s);
                check_round_trip(s);
                state_free(s);
        }
        free(text);
        return 0;
}
