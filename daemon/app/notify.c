#include "notify.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <systemd/sd-daemon.h>
#include <time.h>

void notify_ready(void)
{
        (void)sd_notify(0, "READY=1");
}

void notify_reloading(void)
{
        struct timespec ts;
        char msg[64];

        (void)clock_gettime(CLOCK_MONOTONIC, &ts);
        snprintf(msg, sizeof(msg), "RELOADING=1\nMONOTONIC_USEC=%llu",
                 (unsigned long long)ts.tv_sec * 1000000ULL +
                     (unsigned long long)ts.tv_nsec / 1000ULL);
        (void)sd_notify(0, msg);
}

void notify_stopping(void)
{
        static bool sent;

        if (sent)
                return;
        sent = true;
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
        /* A newline would end the assignment and start another one. */
        for (char *p = line; *p; p++)
                if (*p == '\n' || *p == '\r')
                        *p = ' ';
        (void)sd_notify(0, line);
}

uint64_t notify_watchdog_usec(void)
{
        uint64_t usec = 0;

        return sd_watchdog_enabled(0, &usec) > 0 ? usec : 0;
}
