/* SPDX-License-Identifier: MIT */
/* privacy.c - data-subject erasure; see privacy.h. */
#include "privacy.h"

#include "audit.h"
#include "lifecycle.h"
#include "../core/profile.h"
#include "../store/store.h"
#include "../util/err.h"
#include "../util/log.h"
#include "../util/xmalloc.h"

#include <assert.h>
#include <openssl/crypto.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ERASE_OPEN_MAX 256 /* open sessions closed per call; a call past it closes the rest next time */

struct open_sessions {
	char ids[ERASE_OPEN_MAX][ID_MAX];
	bool closed[ERASE_OPEN_MAX]; /* by the erasure's transaction */
	int n;
};

static void collect_open(void *ctx, const struct subject_row *r)
{
	struct open_sessions *o = ctx;
	if (r->status != SESSION_OPEN && r->status != SESSION_IN_PROGRESS)
		return;
	for (int i = 0; i < o->n; i++)
		if (strcmp(o->ids[i], r->session_id) == 0)
			return;
	if (o->n < ERASE_OPEN_MAX)
		memcpy(o->ids[o->n++], r->session_id, ID_MAX);
}

struct erase_job {
	const char *bidx;
	const char *bidx_old; /* "" unless the index rotates: rows under the previous version too */
	struct open_sessions *open;
	int64_t now;
	struct audit_entry *audit;
	struct privacy_erase_result *out;
};

struct profile_list {
	struct subject_profile *v;
	int n, cap;
};

static void collect_profile(void *ctx, const struct subject_profile *sp)
{
	struct profile_list *l = ctx;
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 8;
		l->v = xrealloc(l->v, (size_t)l->cap * sizeof(*l->v));
	}
	l->v[l->n++] = *sp;
}

/* Retires the active profiles of bidx as a retire through the API does (their
 * proxy numbers are freed after the service's cool-off): their count into
 * *retired. Their numbers are erased next, by store_tx_subject_erase. */
static int retire_profiles(struct store_tx *tx, const char *bidx, int64_t now, int64_t *retired)
{
	struct profile_list l = {0};
	int rc = store_tx_subject_profiles(tx, bidx, collect_profile, &l);
	for (int i = 0; rc == 0 && i < l.n; i++) {
		struct profile *p = &l.v[i].p;
		if (p->state != PROFILE_ACTIVE)
			continue;
		p->state = PROFILE_RETIRED;
		p->retired_at = now;
		p->free_at = profile_free_at(now, l.v[i].cooloff);
		p->updated_at = now;
		rc = store_tx_profile_put(tx, p, NULL);
		if (rc == 0)
			(*retired)++;
	}
	free(l.v);
	return rc;
}

/* Closes the open sessions, retires the profiles, erases the number and appends
 * the audit entry, all in the one transaction: a crash leaves either all of it
 * or none. */
static int erase_body(struct store_tx *tx, void *ctx)
{
	struct erase_job *j = ctx;
	memset(j->out, 0, sizeof(*j->out));
	for (int i = 0; i < j->open->n; i++) {
		bool changed = false;
		int rc = lifecycle_close_tx(tx, j->open->ids[i], j->now, &changed);
		j->open->closed[i] = false;
		if (rc == MASKD_ENOTFOUND)
			continue;
		if (rc < 0)
			return rc;
		j->open->closed[i] = changed;
		if (changed)
			j->out->sessions_closed++;
	}
	int rc = retire_profiles(tx, j->bidx, j->now, &j->out->profiles_retired);
	if (rc == 0 && j->bidx_old[0] != '\0')
		rc = retire_profiles(tx, j->bidx_old, j->now, &j->out->profiles_retired);
	if (rc < 0)
		return rc;
	int64_t counts[STORE_ERASE_COUNTS] = {0, 0, 0};
	rc = store_tx_subject_erase(tx, j->bidx, counts);
	/* previous, then current again: a row the re-index moved in between is erased */
	for (int pass = 0; rc == 0 && j->bidx_old[0] != '\0' && pass < 2; pass++) {
		int64_t more[STORE_ERASE_COUNTS] = {0, 0, 0};
		rc = store_tx_subject_erase(tx, pass == 0 ? j->bidx_old : j->bidx, more);
		for (int k = 0; k < STORE_ERASE_COUNTS; k++)
			counts[k] += more[k];
	}
	if (rc < 0)
		return rc;
	if (j->out->profiles_retired > 0) {
		rc = store_tx_profiles_free_due(tx, j->now); /* a service without cool-off frees them now */
		if (rc < 0)
			return rc;
	}
	j->out->participants_erased = counts[0];
	j->out->optouts_erased = counts[1];
	j->out->profiles_erased = counts[2];
	snprintf(j->audit->detail, sizeof(j->audit->detail),
		 "sessions_closed=%lld participants=%lld optouts=%lld profiles=%lld profiles_retired=%lld",
		 (long long)j->out->sessions_closed, (long long)counts[0], (long long)counts[1], (long long)counts[2],
		 (long long)j->out->profiles_retired);
	return audit_append_tx(tx, j->audit);
}

int privacy_erase(struct store *st, const char *e164, int64_t now, struct audit_entry *audit,
		  struct privacy_erase_result *out)
{
	assert(st != NULL && e164 != NULL && audit != NULL && out != NULL);
	memset(out, 0, sizeof(*out));
	char bidx[STORE_BIDX_MAX], old[STORE_BIDX_MAX];
	store_blind_index(st, e164, bidx);
	store_blind_index_previous(st, e164, old);
	struct open_sessions *open = xmalloc(sizeof(*open));
	open->n = 0;
	int rc = store_subject_find(st, bidx, collect_open, open);
	if (rc == 0 && old[0] != '\0')
		rc = store_subject_find(st, old, collect_open, open);
	if (rc == 0) {
		struct erase_job j = {.bidx = bidx, .bidx_old = old, .open = open, .now = now, .audit = audit, .out = out};
		rc = store_tx_run(st, erase_body, &j);
		store_subject_settle(st);
	}
	for (int i = 0; rc == 0 && i < open->n; i++)
		if (open->closed[i])
			log_info("session %s closed: a participant's number was erased", open->ids[i]);
	free(open);
	OPENSSL_cleanse(bidx, sizeof(bidx));
	OPENSSL_cleanse(old, sizeof(old));
	if (rc < 0)
		memset(out, 0, sizeof(*out));
	return rc;
}

struct profiles_job {
	const char *bidx;
	void (*cb)(void *ctx, const struct subject_profile *sp);
	void *ctx;
};

static int profiles_body(struct store_tx *tx, void *ctx)
{
	struct profiles_job *j = ctx;
	return store_tx_subject_profiles(tx, j->bidx, j->cb, j->ctx);
}

int privacy_profiles(struct store *st, const char *bidx, void (*cb)(void *ctx, const struct subject_profile *sp),
		     void *ctx)
{
	assert(st != NULL && bidx != NULL && cb != NULL);
	struct profiles_job j = {.bidx = bidx, .cb = cb, .ctx = ctx};
	return store_tx_run(st, profiles_body, &j);
}
