/* SPDX-License-Identifier: MIT */
/* privacy.c - data-subject erasure; see privacy.h. */
#include "privacy.h"

#include "audit.h"
#include "lifecycle.h"
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
	struct open_sessions *open;
	int64_t now;
	struct audit_entry *audit;
	struct privacy_erase_result *out;
};

/* Closes the open sessions, erases the number and appends the audit entry, all
 * in the one transaction: a crash leaves either all of it or none. */
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
	int64_t counts[2] = {0, 0};
	int rc = store_tx_subject_erase(tx, j->bidx, counts);
	if (rc < 0)
		return rc;
	j->out->participants_erased = counts[0];
	j->out->optouts_erased = counts[1];
	snprintf(j->audit->detail, sizeof(j->audit->detail), "sessions_closed=%lld participants=%lld optouts=%lld",
		 (long long)j->out->sessions_closed, (long long)counts[0], (long long)counts[1]);
	return audit_append_tx(tx, j->audit);
}

int privacy_erase(struct store *st, const char *e164, int64_t now, struct audit_entry *audit,
		  struct privacy_erase_result *out)
{
	assert(st != NULL && e164 != NULL && audit != NULL && out != NULL);
	memset(out, 0, sizeof(*out));
	char bidx[STORE_BIDX_MAX];
	store_blind_index(st, e164, bidx);
	struct open_sessions *open = xmalloc(sizeof(*open));
	open->n = 0;
	int rc = store_subject_find(st, bidx, collect_open, open);
	if (rc == 0) {
		struct erase_job j = {.bidx = bidx, .open = open, .now = now, .audit = audit, .out = out};
		rc = store_tx_run(st, erase_body, &j);
		store_subject_settle(st);
	}
	for (int i = 0; rc == 0 && i < open->n; i++)
		if (open->closed[i])
			log_info("session %s closed: a participant's number was erased", open->ids[i]);
	free(open);
	OPENSSL_cleanse(bidx, sizeof(bidx));
	if (rc < 0)
		memset(out, 0, sizeof(*out));
	return rc;
}
