/* Who a chain's credentials are: its credentials got, then STS GetCallerIdentity called with
 * them. For the account of a target whose profile or base identity does not say it, and to
 * check that a role's credentials are that role's account. */
#pragma once

#include "creds.h"
#include "sts.h"

struct sts_identity_call;

/* Asks who chain's credentials are. STS is called as opts says for a chain (opts->region,
 * ->endpoints, ->transport or ->http, ->clock; the rest is not used), normally the options
 * chain was made with. done is called once, later, from the loop: r is 0 with id (valid
 * during the call; id->account is the account), or a negative errno with one line naming
 * GetCallerIdentity and why: the chain's error when it had no credentials, else STS's as
 * sts_identity_done_fn says. An expired token is dropped from chain's cache
 * (creds_chain_invalidate()) so that the next get fetches anew.
 *
 * chain, the loop, transport, clock, HTTP client and endpoints are borrowed and must outlive
 * the call. On success *ret (when ret is not NULL) identifies the call until done has run or
 * sts_identity_cancel(); the call frees itself. Returns 0, -EINVAL or -ENOMEM (done is then
 * not called). */
int sts_caller_identity(const struct creds_chain_options *opts, struct creds_chain *chain,
                        sts_identity_done_fn done, void *userdata, struct sts_identity_call **ret);

/* Abandons call: done is never called. Accepts NULL. */
void sts_identity_cancel(struct sts_identity_call *call);
