/* SPDX-License-Identifier: MIT */
/* bind.c - one participant's proxy number, executed over the store's row
 * primitives by the plan of core/pick.h; see bind.h. */
#include "bind.h"
#include "../core/pool.h"
#include "../util/err.h"
#include "../util/log.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

static int is(const char *a, const char *b)
{
	return a != NULL && b != NULL && strcmp(a, b) == 0;
}

static void pool_query(const struct bind_job *j, enum geo_match level, struct store_pool_query *q)
{
	*q = (struct store_pool_query){.service_id = j->service_id,
				       .need = j->need,
				       .bidx = j->bidx,
				       .bidx_old = j->bidx_old,
				       .level = level,
				       .country = j->p->country,
				       .area_code = j->p->area_code,
				       .region = j->p->region,
				       .cap = j->rules->number_cap};
}

/* The binding of j's real number on number_id under the current index, else
 * (while the index rotates) under the previous one: the bindings' unique index
 * only sees one version, so both are asked. */
static int holder_any(struct store_tx *tx, const struct bind_job *j, const char *number_id, struct store_holder *h)
{
	int rc = store_tx_holder(tx, j->bidx, number_id, h);
	/* current, previous, current: a row the re-index moved in between is found */
	for (int k = 0; k < 2 && rc == 0 && !h->found && j->bidx_old != NULL && j->bidx_old[0] != '\0'; k++)
		rc = store_tx_holder(tx, k == 0 ? j->bidx_old : j->bidx, number_id, h);
	return rc;
}

static struct pick_holder holder_view(const struct store_holder *h)
{
	return (struct pick_holder){.found = h->found, .cooling = h->cooling, .peer = h->peer};
}

/* j's peer as the holder's row spells it: while the index rotates, a row not
 * re-indexed yet names the peer under the previous version, and it is the same
 * pair all the same. */
static const char *peer_as_held(const struct bind_job *j, const struct pick_holder *ph)
{
	if (j->peer_bidx_old != NULL && j->peer_bidx_old[0] != '\0' && ph->peer != NULL &&
	    strcmp(ph->peer, j->peer_bidx_old) == 0)
		return j->peer_bidx_old;
	return j->peer_bidx;
}

/* Writes the binding: a new participant row, or the swapped row moved.
 * MASKD_ECONFLICT when the bindings index refuses it. */
static int claim(struct store_tx *tx, struct bind_job *j, const char *number_id, const char *e164)
{
	struct participant *p = j->p;
	char keep_id[ID_MAX], keep_e164[PHONE_E164_MAX + 1];
	memcpy(keep_id, p->proxy_number_id, sizeof(keep_id));
	memcpy(keep_e164, p->proxy_e164, sizeof(keep_e164));
	snprintf(p->proxy_number_id, sizeof(p->proxy_number_id), "%s", number_id);
	snprintf(p->proxy_e164, sizeof(p->proxy_e164), "%s", e164);
	int rc;
	if (j->swap_row != NULL)
		rc = store_tx_participant_move(tx, j->swap_row, number_id, e164);
	else
		rc = store_tx_participant_insert(tx, j->session_id, j->idx, p, j->bidx, j->peer_bidx, j->now);
	if (rc < 0) {
		memcpy(p->proxy_number_id, keep_id, sizeof(keep_id));
		memcpy(p->proxy_e164, keep_e164, sizeof(keep_e164));
	}
	return rc;
}

/* Binds a whole number n after the verdict: a cooling-off binding released first. */
static int claim_number(struct store_tx *tx, struct bind_job *j, const struct number *n, int verdict,
			const struct store_holder *h)
{
	if (verdict == PICK_TAKE_RELEASE) {
		int rc = store_tx_binding_drop(tx, h->row_id);
		if (rc < 0)
			return rc;
	}
	int rc = claim(tx, j, n->id, n->e164);
	if (rc < 0)
		return rc;
	j->reused_cooling = verdict == PICK_TAKE_RELEASE;
	int level = pick_level_of(j->levels, j->n_levels, n, j->p);
	j->level = level < 0 ? GEO_ANY : level;
	return 0;
}

/* Step 1: the proxy number the app named. */
static int bind_named(struct store_tx *tx, struct bind_job *j)
{
	struct number n;
	int rc = store_tx_number_by_e164(tx, j->service_id, j->p->proxy_e164, &n);
	if (rc < 0)
		return rc;
	if (j->swap_row != NULL && is(n.id, j->current))
		return MASKD_ECONFLICT;
	if (!pick_number_usable(&n, j->need, j->rules->number_cap, is(n.id, j->counted)))
		return MASKD_ENOTFOUND;
	struct store_holder h;
	rc = holder_any(tx, j, n.id, &h);
	if (rc < 0)
		return rc;
	struct pick_holder ph = holder_view(&h);
	int verdict = pick_named_verdict(&ph, peer_as_held(j, &ph), j->rules->cooloff_reuse, j->swap_row != NULL);
	if (verdict == PICK_REFUSE)
		return MASKD_ECONFLICT;
	return claim_number(tx, j, &n, verdict, &h);
}

/* Step 2: the number this pair had last time, when still usable. 1 bound, 0 not. */
static int bind_sticky(struct store_tx *tx, struct bind_job *j, const char *sticky_id)
{
	if (sticky_id[0] == '\0')
		return 0;
	struct number n;
	int rc = store_tx_number_by_id(tx, j->service_id, sticky_id, &n);
	if (rc == MASKD_ENOTFOUND)
		return 0;
	if (rc < 0)
		return rc;
	if (n.state != NUMBER_ACTIVE || !pick_number_usable(&n, j->need, j->rules->number_cap, is(n.id, j->counted)))
		return 0;
	/* under strict geo-match, last time's number must be local too */
	if (pick_level_of(j->levels, j->n_levels, &n, j->p) < 0)
		return 0;
	struct store_holder h;
	rc = holder_any(tx, j, n.id, &h);
	if (rc < 0)
		return rc;
	struct pick_holder ph = holder_view(&h);
	int verdict = pick_sticky_verdict(&ph, peer_as_held(j, &ph));
	if (verdict == PICK_REFUSE)
		return 0;
	rc = claim_number(tx, j, &n, verdict, &h);
	if (rc == MASKD_ECONFLICT)
		return 0; /* another session of this real number took it just now */
	return rc < 0 ? rc : 1;
}

/* The number this session is counted on as a last candidate at level (see
 * pick_counted_candidate). 1 added, 0 not, or an error. */
static int add_counted(struct store_tx *tx, const struct bind_job *j, enum geo_match level, struct store_candidate *out)
{
	if (j->counted == NULL || j->counted[0] == '\0' || j->rules->number_cap <= 0)
		return 0;
	struct number n;
	int rc = store_tx_number_by_id(tx, j->service_id, j->counted, &n);
	if (rc == MASKD_ENOTFOUND)
		return 0;
	if (rc < 0)
		return rc;
	if (!pick_counted_candidate(&n, j->need, j->rules->number_cap, level, j->p))
		return 0;
	struct store_holder h;
	rc = holder_any(tx, j, n.id, &h);
	if (rc < 0 || h.found)
		return rc;
	*out = (struct store_candidate){.state = n.state, .caps = n.caps, .in_use = n.in_use - 1,
					.created_at = n.created_at};
	snprintf(out->id, sizeof(out->id), "%s", n.id);
	snprintf(out->e164, sizeof(out->e164), "%s", n.e164);
	return 1;
}

/* Steps 3 and 4 at one geo level: the pool rule over the candidates of kind
 * (STORE_POOL_COOLING: released and taken). 1 bound, 0 nothing fits, or an error. */
static int bind_from_pool(struct store_tx *tx, struct bind_job *j, int kind, enum geo_match level, const char *avoid, int *lost)
{
	if (!pick_level_possible(level, j->p))
		return 0;
	struct store_pool_query q;
	pool_query(j, level, &q);
	struct store_candidate cand[BIND_CANDIDATES + 1];
	int n = 0;
	int rc = store_tx_pool_candidates(tx, &q, kind, cand, BIND_CANDIDATES, &n);
	if (rc < 0)
		return rc;
	int full = n == BIND_CANDIDATES;
	struct pool_candidate pc[BIND_CANDIDATES + 1];
	for (int i = 0; i < n; i++)
		pc[i] = (struct pool_candidate){.number_id = cand[i].id, .state = cand[i].state, .caps = cand[i].caps,
						/* the first participant's number counts this session already */
						.in_use = cand[i].in_use + (is(cand[i].id, j->pending) ? 1 : 0),
						.created_at = cand[i].created_at};
	int extra_tried = kind != STORE_POOL_FREE;
	for (;;) {
		/* the cap is in the store's filter (and in pick_counted_candidate) */
		int pick = pool_pick_for(pc, (size_t)n, j->need, 0, avoid);
		if (pick < 0 && !extra_tried) {
			extra_tried = 1;
			rc = add_counted(tx, j, level, &cand[n]);
			if (rc < 0)
				return rc;
			if (rc > 0) {
				pc[n] = (struct pool_candidate){.number_id = cand[n].id, .state = cand[n].state,
								.caps = cand[n].caps, .in_use = cand[n].in_use,
								.created_at = cand[n].created_at};
				n++;
			}
			continue;
		}
		if (pick < 0)
			return *lost > 0 && full ? MASKD_ERETRY : 0; /* more candidates may hide behind the lost ones */
		if (kind == STORE_POOL_COOLING) {
			struct store_holder h;
			rc = holder_any(tx, j, cand[pick].id, &h);
			if (rc == 0 && h.found)
				rc = store_tx_binding_drop(tx, h.row_id);
			if (rc < 0)
				return rc;
		}
		rc = claim(tx, j, cand[pick].id, cand[pick].e164);
		if (rc == MASKD_ECONFLICT) { /* a concurrent session of this real number won it: the next one */
			log_debug("bind: session %s: lost %s to another session", j->session_id, cand[pick].id);
			pc[pick].held = 1;
			if (++*lost >= BIND_LOST_MAX)
				return MASKD_ERETRY;
			continue;
		}
		if (rc < 0)
			return rc;
		j->level = level;
		j->reused_cooling = kind == STORE_POOL_COOLING;
		return 1;
	}
}

int bind_participant(struct store_tx *tx, struct bind_job *j)
{
	assert(tx != NULL && j != NULL && j->p != NULL && j->bidx != NULL && j->peer_bidx != NULL);
	j->n_levels = pick_levels(j->rules, j->p, j->levels);
	j->level = GEO_ANY;
	j->sticky = j->reused_cooling = 0;
	j->failed_level = pick_headroom_level(j->levels, j->n_levels);
	int swap = j->swap_row != NULL;
	int steps[PICK_STEPS_MAX];
	int n_steps = pick_steps(j->rules, j->p->proxy_e164[0] != '\0', j->peer_bidx[0] != '\0', swap, steps);
	if (steps[0] == PICK_STEP_NAMED)
		return bind_named(tx, j);
	char sticky_id[ID_MAX] = "";
	int rc = 0;
	if (pick_wants_sticky(j->peer_bidx[0] != '\0', swap)) {
		rc = store_tx_sticky(tx, j->service_id, j->bidx, j->bidx_old, j->peer_bidx, j->peer_bidx_old, sticky_id);
		if (rc < 0)
			return rc;
	}
	const char *avoid = pick_avoid(j->rules, sticky_id);
	int lost = 0;
	for (int s = 0; rc == 0 && s < n_steps; s++) {
		switch ((enum pick_step)steps[s]) {
		case PICK_STEP_NAMED:
			break;
		case PICK_STEP_STICKY:
			rc = bind_sticky(tx, j, sticky_id);
			break;
		case PICK_STEP_POOL:
			for (int i = 0; rc == 0 && i < j->n_levels; i++)
				rc = bind_from_pool(tx, j, STORE_POOL_FREE, j->levels[i], avoid, &lost);
			break;
		case PICK_STEP_COOLING:
			for (int i = 0; rc == 0 && i < j->n_levels; i++)
				rc = bind_from_pool(tx, j, STORE_POOL_COOLING, j->levels[i], NULL, &lost);
			break;
		}
	}
	if (rc < 0)
		return rc;
	if (rc == 0)
		return MASKD_EEXHAUSTED;
	j->sticky = sticky_id[0] != '\0' && strcmp(sticky_id, j->p->proxy_number_id) == 0;
	return 0;
}

/* free_left counts the numbers it can still get at its widest geo level: numbers
 * there minus the k of those it holds. Counting up to POOL_FREE_PROBE + k and
 * subtracting k is exact below the probe and spares a bindings probe per
 * number; participants with the same level and keys share one count. */
int bind_headroom(struct store_tx *tx, const struct bind_job *jobs, int n, int64_t held[], int64_t free_left[])
{
	assert(n >= 0 && n <= SESSION_PARTICIPANTS);
	int64_t k[SESSION_PARTICIPANTS] = {0};
	int done[SESSION_PARTICIPANTS] = {0};
	int level[SESSION_PARTICIPANTS] = {0};
	for (int i = 0; i < n; i++) {
		level[i] = pick_headroom_level(jobs[i].levels, jobs[i].n_levels);
		struct store_pool_query q;
		pool_query(&jobs[i], level[i], &q);
		int rc = store_tx_holds(tx, &q, &held[i], &k[i]);
		if (rc < 0)
			return rc;
		free_left[i] = 0;
	}
	for (int i = 0; i < n; i++) {
		if (done[i] || !pick_level_possible(level[i], jobs[i].p))
			continue;
		int64_t kmax = k[i];
		for (int m = i + 1; m < n; m++)
			if (pick_same_headroom(level[i], jobs[i].need, jobs[i].p, level[m], jobs[m].need, jobs[m].p) &&
			    k[m] > kmax)
				kmax = k[m];
		struct store_pool_query q;
		pool_query(&jobs[i], level[i], &q);
		int64_t total = 0;
		int rc = store_tx_pool_count(tx, &q, POOL_FREE_PROBE + (int)kmax, &total);
		if (rc < 0)
			return rc;
		for (int m = i; m < n; m++) {
			if (m > i && !pick_same_headroom(level[i], jobs[i].need, jobs[i].p, level[m], jobs[m].need, jobs[m].p))
				continue;
			free_left[m] = pick_free_left(total, k[m]);
			done[m] = 1;
		}
	}
	return 0;
}
