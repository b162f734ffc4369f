/* Listings on the AWS JSON 1.1 engine (aws_json.h): an operation asked for page after page,
 * following NextToken, until the last page, with the checks that make a listing the API's
 * whole, true answer. What a listing lists (its parser, its list, its check for an entry
 * listed twice) comes from a table per kind of listing; appstream.c and organizations.c
 * build theirs on it. */
#pragma once

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

#include "aws_json.h"

/* The limits of one listing. The AWS SDKs' paginators stop at a NextToken they have seen
 * before; they follow empty pages for ever. A service may hand out an empty page with a token
 * now and then (a filtered backend that ran out of time), but not ten in a row: each costs a
 * request, and a listing that never ends must fail within a few seconds rather than stall the
 * daemon for minutes. */
#define AWS_LISTING_MAX_EMPTY_PAGES 10
#define AWS_LISTING_MAX_PAGES 10000

/* Where a listing stands, to recognise one that would never end. Zero-initialise; noun may be
 * set before the first page. */
struct listing_pages {
        const char *noun;   /* borrowed: what the listing lists, in messages; NULL "entry" */
        unsigned pages;     /* pages that handed out a NextToken so far */
        unsigned empty_run; /* of those, how many in a row held no entry */
        uint64_t *tokens;   /* aws_digest() of each NextToken handed out */
};

/* Takes the next page of a listing: its NextToken (NULL on the last page) and how many entries
 * it held (rejected ones included). Returns 0 while the listing may go on (or has ended),
 * or -ELOOP with the reason in err when it would never end: a token handed out before in this
 * listing, AWS_LISTING_MAX_EMPTY_PAGES pages in a row with no entry but a token, more than
 * AWS_LISTING_MAX_PAGES pages. -ENOMEM leaves p as it was. */
int aws_listing_page(struct listing_pages *p, const char *token, size_t entries, char *err,
                     size_t err_size);

/* Frees what p holds and zeroes it (noun too). */
void aws_listing_pages_clear(struct listing_pages *p);

/* What makes one listing differ from another: the operation, what it lists and the list it
 * fills in. Paging, the checks of a listing as a whole and the promise of an answer are
 * the engine's. */
struct aws_listing_kind {
        const char *operation; /* a string literal: the engine borrows it for every call */
        const char *noun;      /* one entry, in messages */
        size_t list_size;      /* the engine allocates the list zeroed */
        /* Appends one page's entries to list and hands out its NextToken (NULL: the last
         * page); on failure -EBADMSG with the reason in err (or -ENOMEM), list as it was. */
        int (*parse)(const char *body, size_t len, void *list, char **ret_next_token, char *err,
                     size_t err_size);
        size_t (*entries)(const void *list); /* rejected ones included */
        /* Run once the last page is in: -EBADMSG with the reason in err for a listing that
         * names an entry twice, 0, or -ENOMEM. */
        int (*check_unique)(const void *list, char *err, size_t err_size);
        void (*clear_list)(void *list); /* frees what list holds, not list itself */
};

/* r is 0 with the whole listing in list, which the callback then owns (kind->clear_list(),
 * then free()); on failure r is negative, list NULL and err says why. err is valid only
 * during the call. */
typedef void (*aws_listing_fn)(int r, void *list, const struct api_error *err, void *userdata);

/* Lists kind through api, with input (taken, also on failure; NULL: there was no memory for
 * it) as the request of every page but for its NextToken. A listing that cannot be the
 * API's whole, true answer fails as a whole (r < 0, an InvalidResponse error naming the
 * operation, with the request id of the page that showed it), so that nothing in it is acted
 * on: a page kind->parse refuses, one that would never end (aws_listing_page()), one that
 * names an entry twice. An AWS error on any page fails it with -EIO and that error. Each page
 * is one aws_json_call(), with its retries, and done keeps that call's promise: it is called
 * later from the loop, exactly once (or from aws_json_client_free() for a pending listing).
 * Returns 0, or a negative errno when the listing could not be started (-ENOMEM, -ECANCELED),
 * and done is then never called. */
int aws_listing_start(struct aws_json_client *api, const struct aws_listing_kind *kind,
                      cJSON *input, aws_listing_fn done, void *userdata);
