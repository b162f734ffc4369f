/* The systemd notification protocol (sd_notify); every call is a no-op outside systemd. */
#pragma once

#include <stdint.h>

void notify_ready(void);

/* RELOADING=1 with the MONOTONIC_USEC= that newer managers require alongside it. */
void notify_reloading(void);

/* STOPPING=1, sent once however often it is called, so that every way out of the daemon can
 * call it. */
void notify_stopping(void);

void notify_watchdog(void);

/* STATUS= one line, printf-style. */
void notify_status(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The watchdog interval systemd expects pings within, or 0 when it is off. */
uint64_t notify_watchdog_usec(void);
