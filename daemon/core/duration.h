/* Durations as the configuration writes them: "30s", "5m", "2h", "1h30m", "1d". */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* Parses text into seconds. Units d, h, m, s, in decreasing order, each at most once; at least
 * one component; no sign, no spaces, no bare number. Returns 0, or -EINVAL (and *ret_seconds
 * untouched) on anything else, including overflow. */
int duration_parse(const char *text, int64_t *ret_seconds);

/* Formats seconds compactly ("1h30m", "45s", "0s") into buf; returns buf. */
char *duration_format(int64_t seconds, char *buf, size_t size);
