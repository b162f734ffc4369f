/* Maintenance windows: "DAYS HH:MM-HH:MM [ZONE]" or "always".
 *
 * DAYS is a day name (Mon..Sun), a range (Mon-Fri, wrapping ranges such as Fri-Mon allowed),
 * a comma list of either, "daily" or "*". The days name the day on which a window OPENS; an
 * end before the start means it closes on the following day ("Wed 22:00-01:00" runs
 * Wednesday 22:00 to Thursday 01:00). "00:00-24:00" is the whole day; an end equal to the
 * start ("02:00-02:00", "00:00-00:00") is refused as ambiguous. ZONE is "UTC" or an
 * IANA name from the system tz database; without one the system's local zone is used.
 * Times are read as the zone's local clock reads them; the exact treatment of daylight-saving
 * gaps and overlaps is documented in window.c and tested.
 *
 * Evaluation is pure arithmetic on tables read when a window is parsed: it reads no clock and
 * no global state, and is safe from any thread. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct window;

/* Parses one window. On success returns 0 and *ret is owned by the caller (window_free()).
 * On failure returns -EINVAL (-ENOMEM when out of memory) and writes a short reason
 * ("unknown day 'Mox'", "unknown time zone 'Europe/Berlim'") into err; *ret is untouched.
 * The first window naming a zone reads that zone by pointing TZ at it for a moment (under a
 * lock, restored afterwards): call it from the thread that owns the process environment, as
 * the daemon does when it loads its configuration. */
int window_parse(const char *text, struct window **ret, char *err, size_t err_size);

/* Frees a window; accepts NULL. */
void window_free(struct window *w);

/* The text the window was parsed from, for logs and output; borrowed from w. */
const char *window_text(const struct window *w);

/* Whether w is open at the instant now (Unix seconds). When open and ret_closes_at is not
 * NULL, *ret_closes_at is the instant the open span containing now ends: occurrences that
 * touch are one span ("Mon-Fri 00:00-24:00" is open from Monday to Saturday 00:00). It is
 * INT64_MAX for "always" and for a span that stays open for more than a year. */
bool window_is_open(const struct window *w, int64_t now, int64_t *ret_closes_at);

/* The first instant strictly after now at which w opens (now itself excluded), or INT64_MAX
 * if it never opens again. */
int64_t window_next_open(const struct window *w, int64_t now);

/* A set of windows; open when any member is open. The closing time of a set is the end of the
 * continuous open span that contains now, following members that overlap or touch. The set
 * owns its members. */
struct window_set {
        struct window **items;
        size_t n;
};

bool window_set_is_open(const struct window_set *set, int64_t now, int64_t *ret_closes_at);
int64_t window_set_next_open(const struct window_set *set, int64_t now);

/* Appends w to set, which takes ownership of it on success. Returns 0 or -ENOMEM (w is then
 * still the caller's). */
int window_set_add(struct window_set *set, struct window *w);

/* Frees every member and the array, leaving an empty set. */
void window_set_clear(struct window_set *set);

/* The longest time, in seconds, that the set can stay open without a break as the zones'
 * clocks read (a daylight-saving change may stretch or shrink a real span by the size of the
 * shift). Members in different zones are not joined to each other. INT64_MAX when the set
 * never closes; 0 for an empty set. */
int64_t window_set_longest_span(const struct window_set *set);

/* The longest time, in seconds, that the spans member i of set is part of stay open: its
 * occurrences joined with the members in its zone that overlap or touch them, read on the
 * zone's clock as window_set_longest_span() reads it. INT64_MAX when such a span never
 * closes. */
int64_t window_set_span_of(const struct window_set *set, size_t i);
