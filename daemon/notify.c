#include "notify.h"

#include <stdarg.h>
#include <stdio.h>
#include <systemd/sd-daemon.h>

void notify_ready(void)
{
        (void)sd_notify(0, "READY=1");
}

void notify_reloading(void)
{
        (void)sd_notify(0, "RELOADING=1");
}

void notify_stopping(void)
{
        (void)sd_notify(0, "STOPPING=1");
}

void notify_watchdog(void)
{
        (void)sd_notify(0, "WATCHDOG=1");
}

void notify_status(const char *fmt, ...)
{
        char line[512] = "STATUS=";
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(line + 7, sizeof(line) - 7, fmt, ap);
        va_end(ap);
        (void)sd_notify(0, line);
}

uint64_t notify_watchdog_usec(void)
{
        uint64_t usec = 0;

        return sd_watchdog_enabled(0, &usec) > 0 ? usec : 0;
}
