/* Events to journald or stderr. Kept free of allocation on the stderr path so it can report
 * out-of-memory conditions too. */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
/* CODE_FILE= and CODE_LINE= would name emit_journal() in every entry. */
#define SD_JOURNAL_SUPPRESS_LOCATION
#include <systemd/sd-journal.h>
#include <unistd.h>

struct event_kind {
        const char *name;
        const char *id;
        int priority;
};

/* The MESSAGE_IDs are part of the interface operators filter and alert on: never change one. */
static const struct event_kind kinds[EV__COUNT] = {
        [EV_DAEMON_STARTED] = {"daemon-started", "cdec22dba69f4f4399fa9eda5c0bbbe3", LOG_INFO},
        [EV_DAEMON_STOPPING] = {"daemon-stopping", "5dca1ffc2758443185eabfaa5c55f390", LOG_INFO},
        [EV_CONFIG_RELOADED] = {"config-reloaded", "bcf0cb2da46a4a62a50d1475cca4c0eb", LOG_INFO},
        [EV_CONFIG_INVALID] = {"config-invalid", "c7bb10f9dd344578b15a1bd1032900ff", LOG_ERR},
        [EV_API_RETRY] = {"api-retry", "f9c0b7b75800442ca52d473639e217bb", LOG_WARNING},
        [EV_API_ERROR] = {"api-error", "37c3e9966bc048928abed72736fe19bd", LOG_ERR},
        [EV_API_INVALID_DATA] = {"api-invalid-data", "eff61fda618f462abc466d066bd70614",
                                 LOG_WARNING},
        [EV_BUILDER_SKIPPED] = {"builder-skipped", "06a40571bc8f4581b12203ca9824d766", LOG_INFO},
        [EV_BUILDER_WAITING] = {"builder-waiting", "eb6d7158f8484efa9e38e5f57f159c7a", LOG_INFO},
        [EV_BUILDER_UNKNOWN_VERSION] = {"builder-unknown-version",
                                        "090760d342e14a99a1a6358bdacfa11e", LOG_WARNING},
        [EV_UPDATE_STARTED] = {"update-started", "3b57075a024c48da812126132d8ccf33", LOG_INFO},
        [EV_STOP_REQUESTED] = {"stop-requested", "e61d338e577045afbafb9cae3a72f6c4", LOG_INFO},
        [EV_START_REQUESTED] = {"start-requested", "fc22765f1f8c40a98ff1dfe06fa7588e", LOG_INFO},
        [EV_UPDATE_SUCCEEDED] = {"update-succeeded", "3bdf322a931f4321b3503797b8f17e78",
                                 LOG_NOTICE},
        [EV_UPDATE_FAILED] = {"update-failed", "6c3b05b2ce294b74acf2747c42582853", LOG_ERR},
        [EV_UPDATE_TIMED_OUT] = {"update-timed-out", "c46b3771d929473f9f71e4d73a21ed5a", LOG_ERR},
        [EV_OPERATION_ABANDONED] = {"operation-abandoned", "b8eea5a93154433c851c4d08ba8ec65b",
                                    LOG_WARNING},
        [EV_OPERATION_RESUMED] = {"operation-resumed", "3ebc237784654d17859b15c00caa1215",
                                  LOG_NOTICE},
        [EV_BREAKER_OPEN] = {"breaker-open", "bf9ac31772634d7dbe845581f5c9e14f", LOG_ERR},
        [EV_UPDATE_SCHEDULED] = {"update-scheduled", "808e189f4fa54a218a9dbd810a9cc486",
                                 LOG_NOTICE},
        [EV_UPDATE_DENIED] = {"update-denied", "441ac29236474588a95c2330b13be568", LOG_ERR},
        [EV_UPDATE_WITHDRAWN] = {"update-withdrawn", "87fae16c9df0459eb4f869f038415992",
                                 LOG_NOTICE},
        [EV_UPDATE_SETTLING] = {"update-settling", "ea24a44131b24e32964fbdb907e529cc", LOG_INFO},
        [EV_BUILDER_HELD] = {"builder-held", "2fc8bb6da3854d7a9b04c19f8dbb79d6", LOG_NOTICE},
        [EV_FLEET_ON_OLD_AGENT] = {"fleet-on-old-agent", "d35a435a29334a8e9562c4c64013cd37",
                                   LOG_WARNING},
        [EV_FLEET_OFF_OLD_AGENT] = {"fleet-off-old-agent", "3064c9e5cc76450fa20fead66e436cc4",
                                    LOG_NOTICE},
        [EV_HOOK_OUTPUT] = {"hook-output", "834e5ee5d9a047dd8082466d639b21f4", LOG_INFO},
        [EV_HOOK_FAILED] = {"hook-failed", "4400f2432db34c43898abd7887c36aab", LOG_WARNING},
        [EV_DRY_RUN_ACTION] = {"dry-run-action", "57b6fe5ebd5f480eb2d926568c65c9dc", LOG_INFO},
        [EV_STATE_CORRUPT] = {"state-corrupt", "39c00a4679af42d788cadddbfd2c9205", LOG_ERR},
        [EV_STATE_WRITE_FAILED] = {"state-write-failed", "503e3c75465145e8bd0f55e5a2ef41dd",
                                   LOG_ERR},
        [EV_STATE_WRITE_RECOVERED] = {"state-write-recovered", "fd40abb34f96460090d2b720417fc023",
                                      LOG_NOTICE},
        [EV_BUILDER_LEFT_STOPPED] = {"builder-left-stopped", "a3a60f68e1d5417392372df293ee5de4",
                                     LOG_ERR},
        [EV_STATE_PERMISSIONS] = {"state-permissions", "6a30985835b24f00b22865467221d95c",
                                  LOG_WARNING},
        [EV_STATE_LOCK_LOST] = {"state-lock-lost", "3add915461d64bb3ab6dab71155e30ba", LOG_ERR},
        [EV_METRICS_WRITE_FAILED] = {"metrics-write-failed", "b05c1bbd676049acb640fff71f536bb8",
                                     LOG_WARNING},
        [EV_LEASE_ACQUIRED] = {"lease-acquired", "183d7a0d58004c499ffd6cf625c39405", LOG_NOTICE},
        [EV_LEASE_LOST] = {"lease-lost", "a095122da68d4b5cb855b1e33e19a668", LOG_WARNING},
        [EV_LEASE_RELEASED] = {"lease-released", "2285bc705ded4bc3bb1e295ba99175b3", LOG_INFO},
        [EV_STANDBY] = {"standby", "5901b93a7e5b4a27894a1716fb91c893", LOG_INFO},
        [EV_LEASE_UNREADABLE] = {"lease-unreadable", "4f70b36292b8454aa1d5133780825f19",
                                 LOG_ERR},
        [EV_LEASE_REQUEST_FAILED] = {"lease-request-failed", "c00a6e33308e4de9bfc9369252111c2e",
                                     LOG_WARNING},
        [EV_PASS_SUMMARY] = {"pass-summary", "ef04b55e206641e295302838a7274d2f", LOG_DEBUG},
        [EV_DEBUG] = {"debug", "148e60e9684f409cbc8ac9c7c8ceaa4f", LOG_DEBUG},
        [EV_ERROR] = {"error", "b49c4d99960d47d890e91c3210a0514f", LOG_ERR},
};

/* The journal entry's own fields (MESSAGE, MESSAGE_ID, PRIORITY, SYSLOG_IDENTIFIER, EVENT). */
#define JOURNAL_FIXED_FIELDS 5
/* The longest field value an event carries, in bytes; longer ones are cut and end in "...".
 * Values come from AWS (names, messages, reasons): a hostile one of a megabyte must make no
 * event of a megabyte, let alone several per builder and pass. No real value comes close. */
#define FIELD_MAX 256
/* The longest message, in bytes, cut the same way. */
#define MESSAGE_MAX 1024

static bool to_journal;
static bool verbose;
static void (*observer)(void *userdata, enum log_event ev, const struct log_fields *fields);
static void *observer_userdata;
static struct {
        log_sink_fn *sink;
        void *userdata;
} sinks[LOG_MAX_SINKS];
static size_t n_sinks;
static bool in_sink; /* a sink is running: what it logs reaches no sink */

/* systemd sets JOURNAL_STREAM=<dev>:<inode> for the stderr it connects to the journal; a child
 * that inherited the variable but not the descriptor must not believe it. */
static bool stderr_is_journal(void)
{
        const char *e = getenv("JOURNAL_STREAM");
        unsigned long long dev, ino;
        struct stat st;

        if (!e || sscanf(e, "%llu:%llu", &dev, &ino) != 2)
                return false;
        if (fstat(STDERR_FILENO, &st) < 0)
                return false;
        return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void log_open(bool want_verbose)
{
        /* stderr is unbuffered, which made every character of an escaped line a write(2) of
         * its own (190,000 of them for the first pass over 1,000 builders) and let the lines of
         * other writers cut into ours. Line buffering in a static buffer writes each line in
         * one go and allocates nothing. */
        static char stderr_buffer[8192];

        (void)setvbuf(stderr, stderr_buffer, _IOLBF, sizeof(stderr_buffer));
        verbose = want_verbose;
        to_journal = stderr_is_journal();
}

void log_use_stderr(void)
{
        to_journal = false;
}

bool log_verbose(void)
{
        return verbose;
}

bool log_on_journal(void)
{
        return to_journal;
}

void log_set_observer(void (*observe)(void *userdata, enum log_event ev,
                                      const struct log_fields *fields),
                      void *userdata)
{
        observer = observe;
        observer_userdata = observe ? userdata : NULL;
}

int log_add_sink(log_sink_fn *sink, void *userdata)
{
        if (n_sinks == LOG_MAX_SINKS)
                return -ENOSPC;
        sinks[n_sinks].sink = sink;
        sinks[n_sinks++].userdata = userdata;
        return 0;
}

void log_remove_sink(log_sink_fn *sink, void *userdata)
{
        for (size_t i = 0; i < n_sinks; i++) {
                if (sinks[i].sink != sink || sinks[i].userdata != userdata)
                        continue;
                memmove(&sinks[i], &sinks[i + 1], (n_sinks - i - 1) * sizeof(sinks[0]));
                n_sinks--;
                return;
        }
}

const char *log_event_id(enum log_event ev)
{
        return kinds[ev].id;
}

int log_event_priority(enum log_event ev)
{
        return kinds[ev].priority;
}

const char *log_event_name(enum log_event ev)
{
        return kinds[ev].name;
}

size_t log_fields_list(const struct log_fields *f, struct log_field out[LOG_MAX_FIELDS])
{
        size_t n = 0;

        if (!f)
                return 0;
#define ADD(k, v)                                                                              \
        if (v)                                                                                 \
        out[n++] = (struct log_field){k, v}
        ADD("BUILDER_NAME", f->builder);
        ADD("BUILDER_STATE", f->state);
        ADD("AGENT_VERSION", f->agent_version);
        ADD("TARGET_VERSION", f->target_version);
        ADD("OPERATION", f->operation);
        ADD("AWS_REQUEST_ID", f->request_id);
        ADD("AWS_ERROR_CODE", f->error_code);
        ADD("REASON", f->reason);
        ADD("FROM_VERSION", f->from_version);
        ADD("AT", f->at);
        ADD("TARGET", f->target);
        ADD("ACCOUNT_ID", f->account_id);
        ADD("REGION", f->region);
        ADD("HOOK_EVENT", f->hook_event);
        ADD("FLEET_NAME", f->fleet);
        ADD("IMAGE_NAME", f->image);
        ADD("LEASE_NAME", f->lease_name);
        ADD("LEASE_HOLDER", f->lease_holder);
        ADD("LEASE_EPOCH", f->lease_epoch);
#undef ADD
        return n;
}

static const char *priority_word(int priority)
{
        static const char *const words[] = {"emerg", "alert", "crit",  "error",
                                            "warning", "notice", "info", "debug"};
        return words[priority & 7];
}

/* How many bytes of s to show: all of them, or at most max, not splitting a UTF-8 character,
 * with *ret_cut set. Reads no further than max + 1 bytes of s. */
static size_t capped_len(const char *s, size_t max, bool *ret_cut)
{
        size_t n = strnlen(s, max + 1);

        *ret_cut = n > max;
        if (!*ret_cut)
                return n;
        n = max;
        while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
                n--;
        return n;
}

/* Marks a message that vsnprintf() cut at size bytes: "..." in place of its last bytes. */
static void mark_cut(char *message, size_t size)
{
        bool cut;
        size_t n = capped_len(message, size - sizeof("..."), &cut);

        memcpy(message + n, "...", sizeof("..."));
}

/* Writes the first len bytes of s with control characters, and (in a quoted value) quotes and
 * backslashes, escaped C-style, so that an event never spills over one line. */
static void put_escaped(const char *s, size_t len, bool quoted)
{
        for (const unsigned char *p = (const unsigned char *)s; p < (const unsigned char *)s + len;
             p++) {
                if (*p == '\n')
                        fputs("\\n", stderr);
                else if (*p == '\t')
                        fputs("\\t", stderr);
                else if (*p < 0x20 || *p == 0x7f)
                        fprintf(stderr, "\\x%02x", *p);
                else if (quoted && (*p == '"' || *p == '\\'))
                        fprintf(stderr, "\\%c", *p);
                else
                        fputc(*p, stderr);
        }
}

static bool needs_quotes(const char *value)
{
        if (!*value)
                return true;
        for (const unsigned char *p = (const unsigned char *)value; *p; p++)
                if (*p <= ' ' || *p == '"' || *p == '=' || *p == '\\' || *p == 0x7f)
                        return true;
        return false;
}

static void emit_stderr(const struct event_kind *k, const char *message,
                        const struct log_field *f, size_t n)
{
        flockfile(stderr);
        fprintf(stderr, "%s: ", priority_word(k->priority));
        put_escaped(message, strlen(message), false);
        for (size_t i = 0; i < n; i++) {
                bool cut, quoted = needs_quotes(f[i].value);
                size_t len = capped_len(f[i].value, FIELD_MAX, &cut);

                fprintf(stderr, " %s=%s", f[i].key, quoted ? "\"" : "");
                put_escaped(f[i].value, len, quoted);
                fputs(cut ? "..." : "", stderr);
                if (quoted)
                        fputc('"', stderr);
        }
        fputc('\n', stderr);
        funlockfile(stderr);
}

static void emit_journal(const struct event_kind *k, const char *message,
                         const struct log_field *f, size_t n)
{
        /* Room for the longest message or field and its key. */
        char buf[JOURNAL_FIXED_FIELDS + LOG_MAX_FIELDS][MESSAGE_MAX + 32];
        struct iovec iov[JOURNAL_FIXED_FIELDS + LOG_MAX_FIELDS];
        size_t m = 0;

        snprintf(buf[m++], sizeof(buf[0]), "MESSAGE=%s", message);
        snprintf(buf[m++], sizeof(buf[0]), "MESSAGE_ID=%s", k->id);
        snprintf(buf[m++], sizeof(buf[0]), "PRIORITY=%d", k->priority);
        snprintf(buf[m++], sizeof(buf[0]), "SYSLOG_IDENTIFIER=appstream-agent-reconciler");
        snprintf(buf[m++], sizeof(buf[0]), "EVENT=%s", k->name);
        for (size_t i = 0; i < n; i++) {
                bool cut;
                int len = (int)capped_len(f[i].value, FIELD_MAX, &cut);

                snprintf(buf[m++], sizeof(buf[0]), "%s=%.*s%s", f[i].key, len, f[i].value,
                         cut ? "..." : "");
        }
        for (size_t i = 0; i < m; i++)
                iov[i] = (struct iovec){.iov_base = buf[i], .iov_len = strlen(buf[i])};
        if (sd_journal_sendv(iov, (int)m) < 0)
                emit_stderr(k, message, f, n);
}

void log_event(enum log_event ev, const struct log_fields *fields, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        log_eventv(ev, fields, fmt, ap);
        va_end(ap);
}

void log_eventv(enum log_event ev, const struct log_fields *fields, const char *fmt, va_list ap)
{
        const struct event_kind *k = &kinds[ev];
        struct log_field f[LOG_MAX_FIELDS];
        char message[MESSAGE_MAX];
        size_t n;
        int saved_errno = errno, len;

        if (observer)
                observer(observer_userdata, ev, fields);
        if (k->priority == LOG_DEBUG && !verbose && (n_sinks == 0 || in_sink)) {
                errno = saved_errno;
                return;
        }
        len = vsnprintf(message, sizeof(message), fmt, ap);
        if (len >= (int)sizeof(message))
                mark_cut(message, sizeof(message));
        if (!in_sink) {
                in_sink = true;
                for (size_t i = 0; i < n_sinks; i++)
                        sinks[i].sink(sinks[i].userdata, ev, fields, message);
                in_sink = false;
        }
        if (k->priority == LOG_DEBUG && !verbose) {
                errno = saved_errno;
                return;
        }
        n = log_fields_list(fields, f);
        if (to_journal)
                emit_journal(k, message, f, n);
        else
                emit_stderr(k, message, f, n);
        errno = saved_errno;
}
