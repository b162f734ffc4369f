/* Structured events. Under journald (stderr connected to the journal, detected through
 * JOURNAL_STREAM as systemd itself does) each event is a journal entry with a MESSAGE_ID per
 * kind, EVENT=<kind name> and the fields below; anywhere else it is one readable line on
 * stderr:
 *   <priority>: <message> [KEY=value ...]
 * where a value with blanks, quotes, '=', '\\' or control characters is double-quoted with
 * C-style escapes, and control characters in the message are escaped, so that an event is
 * always exactly one line. Every kind has a catalog entry in
 * systemd/appstream-agent-reconciler.catalog (tests/unit/check_catalog.py keeps the two in
 * step). Debug-priority kinds are emitted only when verbose. */
#pragma once

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <syslog.h>

enum log_event {
        EV_DAEMON_STARTED,
        EV_DAEMON_STOPPING,
        EV_CONFIG_RELOADED,
        EV_CONFIG_INVALID,
        EV_API_RETRY,
        EV_API_ERROR,
        EV_API_INVALID_DATA,
        EV_BUILDER_SKIPPED,
        EV_BUILDER_WAITING,
        EV_BUILDER_UNKNOWN_VERSION,
        EV_UPDATE_STARTED,
        EV_STOP_REQUESTED,
        EV_START_REQUESTED,
        EV_UPDATE_SUCCEEDED,
        EV_UPDATE_FAILED,
        EV_UPDATE_TIMED_OUT,
        EV_OPERATION_ABANDONED,
        EV_OPERATION_RESUMED,
        EV_BREAKER_OPEN,
        EV_UPDATE_SCHEDULED,
        EV_UPDATE_DENIED,
        EV_UPDATE_WITHDRAWN,
        EV_UPDATE_SETTLING,
        EV_BUILDER_HELD,
        EV_FLEET_ON_OLD_AGENT,
        EV_FLEET_OFF_OLD_AGENT,
        EV_HOOK_OUTPUT,
        EV_HOOK_FAILED,
        EV_DRY_RUN_ACTION,
        EV_STATE_CORRUPT,
        EV_STATE_WRITE_FAILED,
        EV_STATE_WRITE_RECOVERED,
        EV_BUILDER_LEFT_STOPPED,
        EV_STATE_PERMISSIONS,
        EV_STATE_LOCK_LOST,
        EV_METRICS_WRITE_FAILED,
        EV_LEASE_ACQUIRED, /* the [ha] lease's (lease.h), one kind per lease_event_kind */
        EV_LEASE_LOST,
        EV_LEASE_RELEASED,
        EV_STANDBY,
        EV_LEASE_UNREADABLE,
        EV_LEASE_REQUEST_FAILED, /* throttled, refused or unanswered; at most one a minute */
        EV_PASS_SUMMARY,
        EV_DEBUG,
        EV_ERROR,
        EV__COUNT,
};

/* Fields an event may carry; NULL members are left out. */
struct log_fields {
        const char *builder;        /* BUILDER_NAME */
        const char *state;          /* BUILDER_STATE */
        const char *agent_version;  /* AGENT_VERSION */
        const char *target_version; /* TARGET_VERSION */
        const char *operation;      /* OPERATION (the API operation or our phase) */
        const char *request_id;     /* AWS_REQUEST_ID */
        const char *error_code;     /* AWS_ERROR_CODE */
        const char *reason;         /* REASON */
        const char *from_version;   /* FROM_VERSION: the agent's version before an update */
        const char *at;             /* AT: ISO 8601 UTC, when the event takes effect where that
                                     * is not now (update-scheduled: when the builder will be
                                     * stopped) */
        const char *target;         /* TARGET */
        const char *account_id;     /* ACCOUNT_ID */
        const char *region;         /* REGION */
        const char *hook_event;     /* HOOK_EVENT: the event a notify_command ran for */
        const char *fleet;          /* FLEET_NAME */
        const char *image;          /* IMAGE_NAME */
        /* The [ha] lease's events, whose message is lease_event_describe()'s: */
        const char *lease_name;   /* LEASE_NAME: [ha] name, the lease concerned */
        const char *lease_holder; /* LEASE_HOLDER: lease-acquired and lease-released: this
                                   * host's holder; lease-lost: the host that took it, when
                                   * known; standby: the host that holds it, if any */
        const char *lease_epoch;  /* LEASE_EPOCH: the epoch, in decimal: the one this host
                                   * took, lost or released; standby: the holder's */
};

/* A field by its journal key, as log_fields_list() gives them. */
struct log_field {
        const char *key;
        const char *value;
};

/* The members of struct log_fields. */
#define LOG_MAX_FIELDS 19

/* The fields of f that are set, in a fixed order, as journal key and value (borrowed from f);
 * returns how many. f may be NULL. */
size_t log_fields_list(const struct log_fields *f, struct log_field out[LOG_MAX_FIELDS]);

/* Chooses the sink once at start-up: journald when stderr is the journal stream. */
void log_open(bool verbose);

/* Forces the stderr sink (commands whose output a person reads, and tests). */
void log_use_stderr(void);

bool log_verbose(void);

/* Whether events go to the journal (log_open() found stderr to be the journal stream). */
bool log_on_journal(void);

/* Sees every event as it is emitted, debug ones included whatever the verbosity: counters
 * (metrics.h) observe the daemon's events this way. One observer at a time; NULL removes it.
 * userdata is borrowed and must stay valid until the observer is removed. */
void log_set_observer(void (*observe)(void *userdata, enum log_event ev,
                                      const struct log_fields *fields),
                      void *userdata);

/* A sink sees the events of every kind after the observer, debug ones included whatever the
 * verbosity, with the message as formatted (at most 1023 bytes). fields and message are
 * borrowed for the call. Events that a sink logs itself reach no sink, so a sink cannot
 * recurse. */
typedef void log_sink_fn(void *userdata, enum log_event ev, const struct log_fields *fields,
                         const char *message);

/* Adds a sink; userdata is borrowed and must stay valid until log_remove_sink(). Returns 0,
 * or -ENOSPC when LOG_MAX_SINKS are subscribed. */
#define LOG_MAX_SINKS 4
int log_add_sink(log_sink_fn *sink, void *userdata);

/* Removes the sink added with these arguments; nothing when there is none. */
void log_remove_sink(log_sink_fn *sink, void *userdata);

/* Emits one event at the kind's priority; fields may be NULL. */
void log_event(enum log_event ev, const struct log_fields *fields, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

/* log_event() with the arguments as a va_list. */
void log_eventv(enum log_event ev, const struct log_fields *fields, const char *fmt, va_list ap)
        __attribute__((format(printf, 3, 0)));

/* The MESSAGE_ID of a kind as 32 hex digits, and its syslog priority. */
const char *log_event_id(enum log_event ev);
int log_event_priority(enum log_event ev);
const char *log_event_name(enum log_event ev);
