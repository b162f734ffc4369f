/* The systemd notification protocol (sd_notify); every call is a no-op outside systemd. */
#pragma once

#include <stdint.h>

void notify_ready(void);
void notify_reloading(void);
void notify_stopping(void);
void notify_watchdog(void);

/* STATUS= one line, printf-style. */
void notify_status(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The watchdog interval systemd expects pings within, or 0 when it is off. */
uint64_t notify_watchdog_usec(void);
