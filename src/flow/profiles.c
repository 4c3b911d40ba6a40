/* SPDX-License-Identifier: MIT */
/* profiles.c - profile operations, one transaction each; see profiles.h. */
#include "profiles.h"
#include "sessions.h"
#include "events.h"
#include "../core/pick.h"
#include "../core/pool.h"
#include "../util/err.h"
#include "../util/ids.h"
#include "../util/log.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

#define PROFILE_CANDIDATES 8

struct create_ctx {
	const struct service *svc;
	const struct participant *geo;
	struct profile *p;
	int64_t now;
	char bidx[STORE_BIDX_MAX];
	char bidx_old[STORE_BIDX_MAX]; /* "" unless the index rotates */
	char named[PHONE_E164_MAX + 1];
};

/* Claims number n for the profile: the insert (refused while another profile
 * holds it), then the number reserved. */
static int claim(struct store_tx *tx, struct create_ctx *x, const char *number_id, const char *e164)
{
	snprintf(x->p->proxy_number_id, sizeof(x->p->proxy_number_id), "%.*s", ID_MAX - 1, number_id);
	snprintf(x->p->proxy_e164, sizeof(x->p->proxy_e164), "%.*s", PHONE_E164_MAX, e164);
	int rc = store_tx_profile_insert(tx, x->p, x->bidx);
	if (rc < 0)
		return rc;
	return store_tx_number_state(tx, number_id, NUMBER_RESERVED);
}

/* The pick: the service's geo levels for the real number, each level's active
 * numbers that the real number holds no binding on, least used first; a number
 * another profile holds is skipped. */
static int pick(struct store_tx *tx, struct create_ctx *x, unsigned need)
{
	struct create_rules rules;
	sessions_rules(x->svc, NULL, &rules);
	int levels[4];
	int n_levels = pick_levels(&rules, x->geo, levels);
	for (int l = 0; l < n_levels; l++) {
		if (!pick_level_possible(levels[l], x->geo))
			continue;
		struct store_pool_query q = {.service_id = x->svc->id,
					     .need = need,
					     .bidx = x->bidx,
					     .bidx_old = x->bidx_old,
					     .level = levels[l],
					     .country = x->geo->country,
					     .area_code = x->geo->area_code,
					     .region = x->geo->region,
					     .cap = rules.number_cap};
		struct store_candidate cand[PROFILE_CANDIDATES];
		int n = 0;
		int rc = store_tx_pool_candidates(tx, &q, STORE_POOL_FREE, cand, PROFILE_CANDIDATES, &n);
		if (rc < 0)
			return rc;
		for (int i = 0; i < n; i++) {
			rc = claim(tx, x, cand[i].id, cand[i].e164);
			if (rc != MASKD_ECONFLICT)
				return rc;
		}
	}
	return MASKD_EEXHAUSTED;
}

static int create_body(struct store_tx *tx, void *arg)
{
	struct create_ctx *x = arg;
	memcpy(x->p->proxy_e164, x->named, sizeof(x->named));
	x->p->proxy_number_id[0] = '\0';
	int rc = store_tx_profiles_free_due(tx, x->now);
	if (rc < 0)
		return rc;
	unsigned need = pool_caps_for_mode(x->svc->mode);
	if (x->named[0] == '\0')
		return pick(tx, x, need);
	struct number n;
	rc = store_tx_number_by_e164(tx, x->svc->id, x->named, &n);
	if (rc < 0)
		return rc;
	if (n.state == NUMBER_RETIRED || (n.caps & need) != need)
		return MASKD_ENOTFOUND;
	return claim(tx, x, n.id, n.e164);
}

int profiles_create(struct store *st, const struct service *svc, const struct participant *geo, struct profile *p,
		    int64_t now)
{
	assert(st != NULL && svc != NULL && geo != NULL && p != NULL && p->number[0] != '\0');
	struct create_ctx x = {.svc = svc, .geo = geo, .p = p, .now = now};
	memcpy(x.named, p->proxy_e164, sizeof(x.named));
	store_blind_index(st, p->number, x.bidx);
	store_blind_index_previous(st, p->number, x.bidx_old);
	id_new("prf", p->id);
	snprintf(p->service_id, sizeof(p->service_id), "%s", svc->id);
	p->state = PROFILE_ACTIVE;
	p->created_at = p->updated_at = now;
	p->retired_at = p->free_at = 0;
	int rc = store_tx_run(st, create_body, &x);
	if (rc < 0) {
		memcpy(p->proxy_e164, x.named, sizeof(x.named));
		p->proxy_number_id[0] = '\0';
	}
	if (rc == MASKD_EEXHAUSTED)
		(void)events_pool_exhausted(st, svc->id, svc->events_url, svc->events_pull_off, pool_caps_for_mode(svc->mode),
					    POOL_REQUEST_PROFILE, -1, p->masked, -1, now);
	return rc;
}

struct change_ctx {
	struct store *st;
	const struct service *svc;
	const char *id;
	const struct profile_change *c;
	int64_t now;
	int (*then)(struct store_tx *tx, void *ctx);
	void *then_ctx;
	struct profile *out;
};

static int change_body(struct store_tx *tx, void *arg)
{
	struct change_ctx *x = arg;
	struct profile *p = x->out;
	int rc = store_tx_profile_get(tx, x->id, x->c->has_number, p);
	if (rc < 0)
		return rc;
	if (strcmp(p->service_id, x->svc->id) != 0)
		return MASKD_ENOTFOUND; /* another service's: as good as none */
	if (p->state == PROFILE_RETIRED)
		return MASKD_ECONFLICT;
	if (x->c->has_label)
		snprintf(p->label, sizeof(p->label), "%s", x->c->label);
	const char *bidx = NULL;
	char new_bidx[STORE_BIDX_MAX];
	if (x->c->has_number && strcmp(p->number, x->c->number.number) != 0) {
		char old_bidx[STORE_BIDX_MAX];
		store_blind_index(x->st, p->number, old_bidx);
		store_blind_index(x->st, x->c->number.number, new_bidx);
		rc = store_tx_profile_rebind(tx, p->id, x->c->number.number, x->c->number.masked, new_bidx, old_bidx);
		if (rc < 0)
			return rc;
		snprintf(p->number, sizeof(p->number), "%s", x->c->number.number);
		snprintf(p->masked, sizeof(p->masked), "%s", x->c->number.masked);
		snprintf(p->country, sizeof(p->country), "%s", x->c->number.country);
		bidx = new_bidx;
	}
	if (x->c->retire) {
		p->state = PROFILE_RETIRED;
		p->retired_at = x->now;
		p->free_at = profile_free_at(x->now, x->svc->cooloff);
	}
	p->updated_at = x->now;
	rc = store_tx_profile_put(tx, p, bidx);
	if (rc == 0 && x->c->retire)
		rc = store_tx_profiles_free_due(tx, x->now);
	if (rc >= 0 && x->then != NULL)
		rc = x->then(tx, x->then_ctx);
	return rc < 0 ? rc : 0;
}

int profiles_change(struct store *st, const struct service *svc, const char *id, const struct profile_change *c,
		    int64_t now, struct profile *out)
{
	return profiles_change_with(st, svc, id, c, now, NULL, NULL, out);
}

int profiles_change_with(struct store *st, const struct service *svc, const char *id, const struct profile_change *c,
			 int64_t now, int (*then)(struct store_tx *tx, void *ctx), void *ctx, struct profile *out)
{
	assert(st != NULL && svc != NULL && id != NULL && c != NULL && out != NULL);
	struct change_ctx x = {.st = st, .svc = svc, .id = id, .c = c, .now = now, .then = then, .then_ctx = ctx, .out = out};
	int rc = store_tx_run(st, change_body, &x);
	out->number[0] = '\0'; /* never handed back */
	return rc;
}

struct get_ctx {
	const char *service_id, *id;
	int with_number;
	struct profile *out;
};

static int get_body(struct store_tx *tx, void *arg)
{
	struct get_ctx *x = arg;
	int rc = store_tx_profile_get(tx, x->id, x->with_number, x->out);
	if (rc == 0 && strcmp(x->out->service_id, x->service_id) != 0)
		rc = MASKD_ENOTFOUND;
	return rc;
}

int profiles_get(struct store *st, const char *service_id, const char *id, int with_number, struct profile *out)
{
	assert(st != NULL && service_id != NULL && id != NULL && out != NULL);
	struct get_ctx x = {.service_id = service_id, .id = id, .with_number = with_number, .out = out};
	int rc = store_tx_run(st, get_body, &x);
	if (rc < 0)
		memset(out, 0, sizeof(*out));
	return rc;
}

struct list_ctx {
	const char *service_id;
	void (*cb)(void *, const struct profile *);
	void *ctx;
};

static int list_body(struct store_tx *tx, void *arg)
{
	struct list_ctx *x = arg;
	return store_tx_profile_list(tx, x->service_id, x->cb, x->ctx);
}

int profiles_list(struct store *st, const char *service_id, void (*cb)(void *, const struct profile *), void *ctx)
{
	assert(st != NULL && service_id != NULL && cb != NULL);
	struct list_ctx x = {.service_id = service_id, .cb = cb, .ctx = ctx};
	return store_tx_run(st, list_body, &x);
}
