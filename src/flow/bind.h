/* SPDX-License-Identifier: MIT */
/* bind.h - gives one participant a proxy number inside a store transaction:
 * follows the plan of core/pick.h (named -> sticky -> pool by geo level ->
 * cool-off reuse) over the row primitives of store.h, and reports the headroom
 * left. Counting the session on the numbers (in_use) is the caller's
 * (flow/sessions.c), once per session and number, after every bind. */
#ifndef MASKD_FLOW_BIND_H
#define MASKD_FLOW_BIND_H

#include <stdint.h>

#include "../core/model.h"
#include "../core/pick.h"
#include "../store/store.h"

/* Pool candidates read per geo level, and numbers lost to concurrent sessions
 * (the bindings index refused them) before the transaction is run again. */
#define BIND_CANDIDATES 8
#define BIND_LOST_MAX 8

/* One participant to bind. The caller fills the inputs; bind_participant() the
 * results and p->proxy_number_id / proxy_e164. */
struct bind_job {
	const struct create_rules *rules;
	const char *service_id;
	const char *session_id;
	unsigned need; /* pool_caps_for_mode() of the session's mode */
	int64_t now;
	struct participant *p; /* real number (create/add), geo, optional named proxy_e164 */
	int idx;               /* its row index in the session */
	const char *bidx;      /* its blind index */
	const char *bidx_old;  /* under the previous index version while it rotates; "" or NULL = none */
	const char *peer_bidx; /* the other participant's, "" while single-party */
	const char *peer_bidx_old; /* peer_bidx under the previous version while it rotates; "" or NULL = none */
	/* the number this session is counted on already (add, swap: the other
	 * participant's), NULL = none */
	const char *counted;
	/* the number this session will be counted on (create: the first
	 * participant's, counted after both are bound), NULL = none */
	const char *pending;
	const char *swap_row; /* swap: the participant row to move (no insert); NULL otherwise */
	const char *current;  /* swap: the number it has now */
	/* results */
	int levels[4], n_levels;
	int level, sticky, reused_cooling, failed_level;
};

/* Binds j->p by the rules of store.h's session create (steps 1-5; for a swap,
 * steps 1 and 3): inserts its participant row (or moves j->swap_row) and
 * releases a cooling-off binding it takes. 0 on success; MASKD_ENOTFOUND (named
 * number not in the pool / retired / lacking caps / at cap), MASKD_ECONFLICT
 * (named number held, or a swap's current one), MASKD_EEXHAUSTED (failed_level
 * set), MASKD_ERETRY (concurrent sessions kept winning: the body must return it
 * so that store_tx_run() runs it again), or another negative maskd_err. */
int bind_participant(struct store_tx *tx, struct bind_job *j);

/* held[i] and free_left[i] (struct create_outcome) of the n bound jobs, read
 * after the session was counted on its numbers. */
int bind_headroom(struct store_tx *tx, const struct bind_job *jobs, int n, int64_t held[], int64_t free_left[]);

#endif
