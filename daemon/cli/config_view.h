/* What check-config shows of a valid configuration beyond "configuration is valid": the
 * settings that are not obvious from the file, with their defaults filled in. */
#pragma once

#include <stdio.h>

#include "config.h"

/* The [ha] section's settings, one "  key = value" line each after a heading naming the
 * section's line, defaults and where a value will come from at run time included; nothing
 * without [ha]. c is borrowed; out is written to, never closed. */
void config_view_ha(const struct config *c, FILE *out);
