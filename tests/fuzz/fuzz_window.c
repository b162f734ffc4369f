/* window_parse() and the evaluation of what it accepts. The input is lines: "@SECONDS" is an
 * instant to evaluate at, anything else a window (four of each at most). Every parsed
 * window, and the set of them, is asked whether it is open and when it next opens at each
 * instant, and the answers must agree with each other as window.h describes them. */
#include <errno.h>

#include "fuzz.h"
#include "window.h"

#define MAX_WINDOWS 4
#define MAX_INSTANTS 4

/* window.c evaluates instants within about 34,000 years of 1970; the agreement between
 * answers is checked well inside that. */
#define CHECKED_RANGE (INT64_C(1) << 39)

/* Without instants in the input: an ordinary day, and the two European daylight-saving
 * changes of 2024, where a zone's local clock skips and repeats an hour. */
static const int64_t default_instants[] = {1700000000, 1711846800, 1729990800};

struct evaluator {
        bool (*is_open)(const void *what, int64_t now, int64_t *ret_closes_at);
        int64_t (*next_open)(const void *what, int64_t now);
};

static bool one_is_open(const void *what, int64_t now, int64_t *ret_closes_at)
{
        return window_is_open(what, now, ret_closes_at);
}

static int64_t one_next_open(const void *what, int64_t now)
{
        return window_next_open(what, now);
}

static bool set_is_open(const void *what, int64_t now, int64_t *ret_closes_at)
{
        return window_set_is_open(what, now, ret_closes_at);
}

static int64_t set_next_open(const void *what, int64_t now)
{
        return window_set_next_open(what, now);
}

static const struct evaluator one = {one_is_open, one_next_open};
static const struct evaluator set = {set_is_open, set_next_open};

static void check_at(const struct evaluator *e, const void *what, int64_t now)
{
        int64_t closes_at = 0, next = e->next_open(what, now);
        bool open = e->is_open(what, now, &closes_at);

        FUZZ_CHECK(e->is_open(what, now, NULL) == open);
        FUZZ_CHECK(next > now || next == INT64_MAX);
        if (open)
                FUZZ_CHECK(closes_at > now || closes_at == INT64_MAX);
        if (now <= -CHECKED_RANGE || now >= CHECKED_RANGE)
                return;
        /* The span that is open now ends when nothing is open, and nothing opens before. */
        if (open && closes_at != INT64_MAX) {
                FUZZ_CHECK(!e->is_open(what, closes_at, NULL));
                FUZZ_CHECK(next > closes_at);
        }
        /* Opening is a change from closed to open. */
        if (next < CHECKED_RANGE) {
                FUZZ_CHECK(e->is_open(what, next, NULL));
                FUZZ_CHECK(!e->is_open(what, next - 1, NULL));
        }
}

static void add_window(struct window_set *windows, const char *text)
{
        struct window *w = NULL;
        char err[128] = "";
        int r = window_parse(text, &w, err, sizeof(err));

        if (r < 0) {
                FUZZ_CHECK(r == -EINVAL && err[0] != '\0' && w == NULL);
                return;
        }
        FUZZ_CHECK(strcmp(window_text(w), text) == 0);
        if (window_set_add(windows, w) < 0)
                abort();
}

/* Splits text into windows and instants, in place. */
static size_t read_lines(char *text, struct window_set *windows, int64_t *instants)
{
        size_t n_instants = 0;
        char *save = NULL;

        for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                if (line[0] == '@' && n_instants < MAX_INSTANTS)
                        instants[n_instants++] = strtoll(line + 1, NULL, 10);
                else if (line[0] != '@' && windows->n < MAX_WINDOWS)
                        add_window(windows, line);
        }
        return n_instants;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char *text = fuzz_string(data, size);
        struct window_set windows = {0};
        int64_t instants[MAX_INSTANTS];
        size_t n_instants = read_lines(text, &windows, instants);
        const int64_t *at = n_instants ? instants : default_instants;
        int64_t longest;

        if (!n_instants)
                n_instants = sizeof(default_instants) / sizeof(default_instants[0]);
        for (size_t i = 0; i < n_instants; i++) {
                for (size_t j = 0; j < windows.n; j++)
                        check_at(&one, windows.items[j], at[i]);
                check_at(&set, &windows, at[i]);
        }
        longest = window_set_longest_span(&windows);
        FUZZ_CHECK(windows.n > 0 ? longest > 0 : longest == 0);
        FUZZ_CHECK(longest == INT64_MAX || longest <= 7 * 86400);
        window_set_clear(&windows);
        free(text);
        return 0;
}
