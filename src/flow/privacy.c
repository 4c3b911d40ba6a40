/* SPDX-License-Identifier: MIT */
/* privacy.c - data-subject erasure; see privacy.h. */
#include "privacy.h"

#include "lifecycle.h"
#include "../store/store.h"
#include "../util/err.h"
#include "../util/log.h"
#include "../util/xmalloc.h"

#include <assert.h>
#include <openssl/crypto.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define ERASE_OPEN_MAX 256 /* open sessions closed per call; a call past it closes the rest next time */

struct open_sessions {
	char ids[ERASE_OPEN_MAX][ID_MAX];
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

int privacy_erase(struct store *st, const char *e164, int64_t now, struct privacy_erase_result *out)
{
	assert(st != NULL && e164 != NULL && out != NULL);
	memset(out, 0, sizeof(*out));
	char bidx[STORE_BIDX_MAX];
	store_blind_index(st, e164, bidx);
	struct open_sessions *open = xmalloc(sizeof(*open));
	open->n = 0;
	int rc = store_subject_find(st, bidx, collect_open, open);
	for (int i = 0; rc == 0 && i < open->n; i++) {
		bool changed = false;
		rc = lifecycle_change(st, open->ids[i], NULL, NULL, SESSION_CLOSED, now, &changed);
		if (rc == MASKD_ENOTFOUND)
			rc = 0;
		if (rc == 0 && changed) {
			out->sessions_closed++;
			log_info("session %s closed: a participant's number is being erased", open->ids[i]);
		}
	}
	free(open);
	int64_t counts[2] = {0, 0};
	if (rc == 0)
		rc = store_subject_erase(st, bidx, counts);
	OPENSSL_cleanse(bidx, sizeof(bidx));
	if (rc < 0)
		return rc;
	out->participants_erased = counts[0];
	out->optouts_erased = counts[1];
	return 0;
}
