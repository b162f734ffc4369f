#include "ha_store.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dynamodb.h"
#include "state_json.h"

/* A load that keeps meeting writes between its read and its fence gives up after this many
 * reads: something else writes the item all the time. */
#define LOAD_MAX_READS 5

enum store_call {
        CALL_NONE,
        CALL_READ,  /* GetItem of a load */
        CALL_FENCE, /* the load's write of our epoch */
        CALL_SAVE,  /* a save's write of the doc */
        CALL_CHECK, /* the read that settles a save whose outcome is unknown */
};

struct ha_store {
        struct dynamodb_client *db;
        char *key, *holder, *lineage;
        uint64_t epoch;
        int (*may_write)(void *userdata, char *err, size_t err_size);
        void (*on_fenced)(void *userdata, const char *why);
        void *userdata;
        ha_store_saved_fn saved;
        void *saved_ctx;

        /* The call in flight, one at a time; its answer finds the store through a ticket
         * that ha_store_free() can disown. */
        enum store_call call;
        struct store_ticket *ticket;

        /* Loading: the state read, its rev, reads so far, and whom to tell. */
        struct state *loaded;
        int64_t rev; /* the item's rev as we last wrote or read it; 0: no item */
        unsigned reads;
        ha_store_loaded_fn load_done;
        void *load_userdata;

        /* Saving: the state to write (the reconciler's), the latest version asked for, the
         * version in flight, and whether the last write's outcome is unknown. */
        const struct state *state;
        uint64_t asked, writing;
        bool uncertain;
        bool failed; /* the last save failed, and none has begun since */
        bool fenced;
        bool found;  /* the load found the item */
        void (*flush_done)(void *userdata);
        void *flush_userdata;
};

struct store_ticket {
        struct ha_store *store; /* NULL once the store is gone */
};

static void fenced(struct ha_store *s, const char *why)
{
        if (s->fenced)
                return;
        s->fenced = true;
        if (s->on_fenced)
                s->on_fenced(s->userdata, why);
}

static void on_answer(const struct dynamodb_result *res, void *userdata);

static cJSON *key_of(const struct ha_store *s)
{
        return dynamodb_map_of("pk", dynamodb_s(s->key), NULL);
}

/* Sends req as the store's one call. Returns 0 or a negative errno (nothing in flight). */
static int send_call(struct ha_store *s, enum store_call call, enum dynamodb_op op,
                     const struct dynamodb_request *req, char *err, size_t err_size)
{
        struct store_ticket *t;
        int r;

        /* A fenced write is sent, like a mutating call, only with the lease's margin left. */
        if (op != DYNAMODB_GET_ITEM && s->may_write &&
            (r = s->may_write(s->userdata, err, err_size)) < 0)
                return r;
        t = calloc(1, sizeof(*t));
        if (!t)
                return -ENOMEM;
        t->store = s;
        r = dynamodb_call(s->db, op, req, on_answer, t, err, err_size);
        if (r < 0) {
                free(t);
                return r;
        }
        s->call = call;
        s->ticket = t;
        return 0;
}

static int read_item(struct ha_store *s, enum store_call call, char *err, size_t err_size)
{
        cJSON *key = key_of(s);
        int r = key ? send_call(s, call, DYNAMODB_GET_ITEM,
                                &(struct dynamodb_request){.key = key, .consistent_read = true},
                                err, err_size)
                    : -ENOMEM;

        cJSON_Delete(key);
        return r;
}

/* ---- Loading ---- */

static void load_end(struct ha_store *s, int r, const char *err)
{
        struct state *st = r == 0 ? s->loaded : NULL;

        if (r < 0)
                state_free(s->loaded);
        s->loaded = NULL;
        if (s->load_done)
                s->load_done(r, st, r == 0 && s->found, err, s->load_userdata);
}

/* Our lineage and epoch into the item, conditional on what was read: a missing item is
 * created, an existing one must still have the rev read and no newer fence of our lineage. */
static int send_fence(struct ha_store *s, char *err, size_t err_size)
{
        cJSON *key = key_of(s);
        cJSON *values = dynamodb_map_of(":e", dynamodb_n((int64_t)s->epoch), ":l",
                                        dynamodb_s(s->lineage), ":h", dynamodb_s(s->holder),
                                        ":next", dynamodb_n(s->rev + 1), NULL);
        int r = key && values && s->rev ? dynamodb_map_add(values, ":rev", dynamodb_n(s->rev)) : 0;

        if (!key || !values)
                r = -ENOMEM;
        if (r == 0)
                r = send_call(
                    s, CALL_FENCE, DYNAMODB_UPDATE_ITEM,
                    &(struct dynamodb_request){
                        .key = key,
                        .update = "SET fence = :e, lineage = :l, holder = :h, rev = :next",
                        .condition = s->rev ? "rev = :rev AND (fence <= :e OR lineage <> :l OR "
                                              "attribute_not_exists(lineage))"
                                            : "attribute_not_exists(pk)",
                        .values = values},
                    err, err_size);
        cJSON_Delete(key);
        cJSON_Delete(values);
        return r;
}

int ha_store_state_of_item(const cJSON *item, struct state **ret, char *err, size_t err_size)
{
        const char *doc = NULL;
        int r = item ? dynamodb_value_s(dynamodb_attr(item, "doc"), &doc) : -ENOENT;

        if (r == -ENOENT)
                return state_new(ret) < 0 ? -ENOMEM : 0;
        if (r < 0) {
                snprintf(err, err_size, "doc is not a string");
                return -EBADMSG;
        }
        return state_from_json(doc, ret, err, err_size);
}

/* The item as read: its doc becomes the state, and the fence is written next. */
static int take_item(struct ha_store *s, const cJSON *item, char *err, size_t err_size)
{
        const char *lineage = NULL;
        int64_t rev = 0, fence = 0;

        state_free(s->loaded);
        s->loaded = NULL;
        s->found = item != NULL;
        if (!item) {
                s->rev = 0;
                return state_new(&s->loaded) < 0 ? -ENOMEM : 0;
        }
        if (dynamodb_value_int64(dynamodb_attr(item, "rev"), &rev) < 0 || rev < 1 ||
            dynamodb_value_int64(dynamodb_attr(item, "fence"), &fence) < 0 || fence < 0) {
                snprintf(err, err_size, "item %s: rev and fence are not whole numbers", s->key);
                return -EBADMSG;
        }
        /* Epochs count within a lineage: a fence of another one was written under a lease
         * item deleted since, whose holders can no longer act (lease.h). */
        if (dynamodb_value_s(dynamodb_attr(item, "lineage"), &lineage) < 0)
                lineage = NULL;
        if ((uint64_t)fence > s->epoch && lineage && strcmp(lineage, s->lineage) == 0) {
                snprintf(err, err_size,
                         "item %s is fenced by lease epoch %" PRId64 ", newer than ours (%" PRIu64
                         "): another host holds the lease",
                         s->key, fence, s->epoch);
                return -ESTALE;
        }
        s->rev = rev;
        return ha_store_state_of_item(item, &s->loaded, err, err_size);
}

static void on_load_answer(struct ha_store *s, enum store_call call,
                           const struct dynamodb_result *res)
{
        char err[512] = "", why[640];
        int r;

        if (res->outcome == DYNAMODB_FAILED) {
                api_error_format(res->err, err, sizeof(err));
                load_end(s, -EIO, err);
                return;
        }
        if (call == CALL_READ) {
                r = take_item(s, res->item, err, sizeof(err));
                if (r == -ESTALE)
                        fenced(s, err);
                if (r < 0 || (r = send_fence(s, err, sizeof(err))) < 0) {
                        snprintf(why, sizeof(why), "cannot load item %s: %s", s->key, err);
                        load_end(s, r, why);
                }
                return;
        }
        /* The fence: written, or the item changed since it was read: read it again. */
        if (res->outcome == DYNAMODB_OK) {
                s->rev++;
                load_end(s, 0, NULL);
                return;
        }
        if (++s->reads >= LOAD_MAX_READS) {
                snprintf(why, sizeof(why), "item %s changed under each of %u reads", s->key,
                         s->reads);
                load_end(s, -EBUSY, why);
                return;
        }
        if ((r = read_item(s, CALL_READ, err, sizeof(err))) < 0)
                load_end(s, r, err);
}

int ha_store_load(struct ha_store *store, ha_store_loaded_fn done, void *userdata)
{
        char err[256];

        if (store->call != CALL_NONE || store->fenced)
                return -EBUSY;
        store->load_done = done;
        store->load_userdata = userdata;
        store->reads = 0;
        return read_item(store, CALL_READ, err, sizeof(err));
}

/* ---- Saving ---- */

static int send_save(struct ha_store *s, char *err, size_t err_size);

static void save_ended(struct ha_store *s, int r, const char *err)
{
        uint64_t version = s->writing;

        s->failed = r < 0;
        if (s->saved)
                s->saved(s->saved_ctx, version, r, err);
        /* Changes asked for while this one was out go in the next write. */
        if (r == 0 && !s->fenced && s->asked > version && s->call == CALL_NONE) {
                char why[512];

                s->writing = s->asked;
                if ((r = send_save(s, why, sizeof(why))) < 0 && s->saved)
                        s->saved(s->saved_ctx, s->writing, r, why);
        }
}

static int send_save(struct ha_store *s, char *err, size_t err_size)
{
        char *doc = NULL;
        cJSON *key, *values;
        size_t len;
        int r;

        if (s->uncertain)
                return read_item(s, CALL_CHECK, err, err_size);
        if (state_to_json(s->state, &doc) < 0)
                return -ENOMEM;
        len = strlen(doc);
        if (len > HA_STORE_DOC_MAX) {
                snprintf(err, err_size,
                         "the state of item %s is %zu bytes, more than a DynamoDB item holds "
                         "(%d)",
                         s->key, len, HA_STORE_DOC_MAX);
                free(doc);
                return -EFBIG;
        }
        key = key_of(s);
        values = dynamodb_map_of(":d", dynamodb_s(doc), ":e", dynamodb_n((int64_t)s->epoch), ":l",
                                 dynamodb_s(s->lineage), ":rev", dynamodb_n(s->rev), ":next",
                                 dynamodb_n(s->rev + 1), NULL);
        free(doc);
        r = key && values
                ? send_call(s, CALL_SAVE, DYNAMODB_UPDATE_ITEM,
                            &(struct dynamodb_request){.key = key,
                                                       .update = "SET doc = :d, rev = :next",
                                                       .condition = "fence = :e AND lineage = :l "
                                                                    "AND rev = :rev",
                                                       .values = values},
                            err, err_size)
                : -ENOMEM;
        cJSON_Delete(key);
        cJSON_Delete(values);
        return r;
}

/* A write whose answer was lost may have landed: the item says. Ours still (our fence): we
 * take its rev and write again; another's fence: we were deposed. */
static void on_check_answer(struct ha_store *s, const struct dynamodb_result *res)
{
        const char *lineage = NULL;
        int64_t rev = 0, fence = 0;
        char err[512];
        int r;

        if (res->outcome != DYNAMODB_OK) {
                if (res->err)
                        api_error_format(res->err, err, sizeof(err));
                save_ended(s, -EIO, res->err ? err : "cannot read the item back");
                return;
        }
        if (!res->item || dynamodb_value_int64(dynamodb_attr(res->item, "fence"), &fence) < 0 ||
            dynamodb_value_int64(dynamodb_attr(res->item, "rev"), &rev) < 0 ||
            dynamodb_value_s(dynamodb_attr(res->item, "lineage"), &lineage) < 0 ||
            (uint64_t)fence != s->epoch || strcmp(lineage, s->lineage) != 0) {
                snprintf(err, sizeof(err),
                         "item %s is no longer fenced with our lease epoch %" PRIu64, s->key,
                         s->epoch);
                fenced(s, err);
                save_ended(s, -ESTALE, err);
                return;
        }
        s->rev = rev;
        s->uncertain = false;
        if ((r = send_save(s, err, sizeof(err))) < 0)
                save_ended(s, r, err);
}

static void on_save_answer(struct ha_store *s, const struct dynamodb_result *res)
{
        char err[512];

        switch (res->outcome) {
        case DYNAMODB_OK:
                s->rev++;
                save_ended(s, 0, NULL);
                return;
        case DYNAMODB_CONDITION_FAILED:
                /* After a retry, the first attempt may be what changed rev: the item says. */
                if (res->attempts > 1) {
                        int r;

                        s->uncertain = true;
                        if ((r = send_save(s, err, sizeof(err))) < 0)
                                save_ended(s, r, err);
                        return;
                }
                snprintf(err, sizeof(err),
                         "item %s was written or fenced by another host: this host no longer "
                         "holds the lease",
                         s->key);
                fenced(s, err);
                save_ended(s, -ESTALE, err);
                return;
        case DYNAMODB_FAILED:
                s->uncertain = true;
                api_error_format(res->err, err, sizeof(err));
                save_ended(s, -EIO, err);
                return;
        }
}

static int store_save(void *ctx, const struct state *st, uint64_t version, char *err,
                      size_t err_size)
{
        struct ha_store *s = ctx;
        int r;

        if (s->fenced) {
                snprintf(err, err_size, "item %s: this host no longer holds the lease", s->key);
                return -ESTALE;
        }
        s->state = st;
        s->asked = version;
        if (s->call != CALL_NONE)
                return 1; /* the next write takes it */
        s->writing = version;
        s->failed = false;
        r = send_save(s, err, err_size);
        if (r < 0)
                s->failed = true;
        return r < 0 ? r : 1;
}

struct reconcile_store ha_store_reconcile_store(struct ha_store *store)
{
        return (struct reconcile_store){.save = store_save, .ctx = store};
}

void ha_store_attach(struct ha_store *store, ha_store_saved_fn saved, void *ctx)
{
        store->saved = saved;
        store->saved_ctx = ctx;
}

bool ha_store_idle(const struct ha_store *store)
{
        return store->call == CALL_NONE &&
               (store->fenced || store->failed || store->asked <= store->writing);
}

static void flushed_maybe(struct ha_store *s)
{
        void (*done)(void *) = s->flush_done;

        if (!done || !ha_store_idle(s))
                return;
        s->flush_done = NULL;
        done(s->flush_userdata);
}

void ha_store_flush(struct ha_store *store, void (*done)(void *userdata), void *userdata)
{
        store->flush_done = done;
        store->flush_userdata = userdata;
        flushed_maybe(store);
}

/* ---- Answers ---- */

static void on_answer(const struct dynamodb_result *res, void *userdata)
{
        struct store_ticket *t = userdata;
        struct ha_store *s = t->store;
        enum store_call call;

        free(t);
        if (!s)
                return;
        call = s->call;
        s->call = CALL_NONE;
        s->ticket = NULL;
        if (call == CALL_READ || call == CALL_FENCE)
                on_load_answer(s, call, res);
        else if (call == CALL_SAVE)
                on_save_answer(s, res);
        else if (call == CALL_CHECK)
                on_check_answer(s, res);
        flushed_maybe(s);
}

int ha_store_new(const struct ha_store_options *opts, struct ha_store **ret)
{
        struct ha_store *s;

        if (!opts->key || !opts->holder || !opts->lineage || !opts->lineage[0] || !opts->db ||
            opts->epoch == 0)
                return -EINVAL;
        s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        s->db = opts->db;
        s->key = strdup(opts->key);
        s->holder = strdup(opts->holder);
        s->lineage = strdup(opts->lineage);
        s->epoch = opts->epoch;
        s->may_write = opts->may_write;
        s->on_fenced = opts->on_fenced;
        s->userdata = opts->userdata;
        if (!s->key || !s->holder || !s->lineage) {
                ha_store_free(s);
                return -ENOMEM;
        }
        *ret = s;
        return 0;
}

void ha_store_free(struct ha_store *store)
{
        if (!store)
                return;
        if (store->ticket)
                store->ticket->store = NULL;
        state_free(store->loaded);
        free(store->key);
        free(store->holder);
        free(store->lineage);
        free(store);
}
