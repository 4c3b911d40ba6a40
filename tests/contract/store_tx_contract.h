/* SPDX-License-Identifier: MIT */
/* store_tx_contract.h - the contract of the store_tx_* row primitives (store.h),
 * one check over the same calls, run by the contract suite (suite_rows.c) on
 * SQLite and on PostgreSQL. Test-only; included by suite_rows.c. */
#ifndef MASKD_TEST_STORE_TX_CONTRACT_H
#define MASKD_TEST_STORE_TX_CONTRACT_H

#include <stdio.h>
#include <string.h>

#include "flow/lifecycle.h"
#include "store/store.h"
#include "util/err.h"
#include "util/ids.h"

/* What the bodies did; checked after store_tx_run() returns, so that a failed
 * check never leaves a transaction (and SQLite's lock) behind. */
#define TXC_MAX 64
struct txc {
	struct store *st;
	const struct service *svc;
	const char *num_a, *num_b; /* the two oldest numbers of the pool, a first */
	int pool;                  /* numbers in the service's pool, all active, US, every cap */
	struct session s;
	struct participant p0, p1;
	char bx[STORE_BIDX_MAX], by[STORE_BIDX_MAX];
	int rc[TXC_MAX];
	int64_t v[TXC_MAX];
	char t[TXC_MAX][ID_MAX];
	int n; /* checks recorded */
};

static void txc_put(struct txc *c, int rc, int64_t v, const char *t)
{
	assert_true(c->n < TXC_MAX);
	c->rc[c->n] = rc;
	c->v[c->n] = v;
	snprintf(c->t[c->n], ID_MAX, "%s", t ? t : "");
	c->n++;
}

/* Records call's result, then (after the call) what it wrote: val and text. */
#define TXC(call, val, text)                              \
	do {                                              \
		int rc_ = (call);                         \
		txc_put(c, rc_, (val), (text));           \
	} while (0)

static struct store_pool_query txc_query(const struct txc *c, int level, const char *country, const char *area,
					 int64_t cap)
{
	return (struct store_pool_query){.service_id = c->svc->id, .need = CAP_VOICE, .bidx = c->bx, .level = level,
					 .country = country, .area_code = area, .region = "", .cap = cap};
}

/* Session rows: insert, refusal by unique_name (the transaction stays usable),
 * PIN and unique_name lookups. */
static int txc_body_session(struct store_tx *tx, void *arg)
{
	struct txc *c = arg;
	c->n = 0;
	TXC(store_tx_session_insert(tx, &c->s, 0), 0, NULL);                       /* 0 */
	struct session dup = c->s;
	id_new("ses", dup.id);
	dup.pin[0] = '\0';
	TXC(store_tx_session_insert(tx, &dup, 0), 0, NULL);                        /* 1 */
	TXC(store_tx_pin_taken(tx, c->svc->id, c->s.pin), 0, NULL);               /* 2 */
	TXC(store_tx_pin_taken(tx, c->svc->id, "9999"), 0, NULL);                 /* 3 */
	char existing[ID_MAX];
	char bidx[SESSION_PARTICIPANTS][STORE_BIDX_MAX];
	int n = -1;
	TXC(store_tx_unique_name(tx, c->svc->id, c->s.unique_name, existing, bidx, &n), n, existing); /* 4 */
	TXC(store_tx_unique_name(tx, c->svc->id, "other", existing, bidx, &n), n, existing);         /* 5 */
	return 0;
}

/* Participant rows, holders, counting, pool queries, lookups, events. */
static int txc_body_rows(struct store_tx *tx, void *arg)
{
	struct txc *c = arg;
	c->n = 0;
	struct store_holder h;
	TXC(store_tx_participant_insert(tx, c->s.id, 0, &c->p0, c->bx, "", 2000), 0, NULL);   /* 0 */
	TXC(store_tx_participant_insert(tx, c->s.id, 1, &c->p1, c->bx, "", 2000), 0, NULL);   /* 1 */
	TXC(store_tx_holder(tx, c->bx, c->num_a, &h), h.found * 10 + h.cooling, h.row_id);     /* 2 */
	TXC(strcmp(h.peer, ""), 0, NULL);                                                       /* 3 */
	TXC(store_tx_holder(tx, c->bx, c->num_b, &h), h.found, NULL);                           /* 4 */
	TXC(store_tx_peer_set(tx, c->p0.id, c->by), 0, NULL);                                   /* 5 */
	TXC(store_tx_holder(tx, c->bx, c->num_a, &h), strcmp(h.peer, c->by), NULL);            /* 6 */
	TXC(store_tx_number_count(tx, c->num_a, 1), 0, NULL);                                   /* 7 */
	TXC(store_tx_number_count(tx, c->num_a, 1), 0, NULL);                                   /* 8: at the cap */
	TXC(store_tx_number_count(tx, "num_nope", 0), 0, NULL);                                 /* 9 */
	TXC(store_tx_number_uncount(tx, c->num_a), 0, NULL);                                    /* 10 */
	TXC(store_tx_number_count(tx, c->num_a, 0), 0, NULL);                                   /* 11 */
	struct store_candidate cand[8];
	int n = -1;
	struct store_pool_query any = txc_query(c, GEO_ANY, "US", "", 0);
	TXC(store_tx_pool_candidates(tx, &any, STORE_POOL_FREE, cand, 8, &n), n, n > 0 ? cand[0].id : ""); /* 12 */
	TXC(store_tx_pool_candidates(tx, &any, STORE_POOL_COOLING, cand, 8, &n), n, NULL);                 /* 13 */
	int64_t total = -1, held = -1, k = -1;
	TXC(store_tx_pool_count(tx, &any, 100, &total), total, NULL);                                      /* 14 */
	TXC(store_tx_holds(tx, &any, &held, &k), held * 100 + k, NULL);                                    /* 15 */
	struct store_pool_query capped = txc_query(c, GEO_ANY, "US", "", 1);
	TXC(store_tx_pool_count(tx, &capped, 100, &total), total, NULL);                                   /* 16 */
	struct store_pool_query us = txc_query(c, GEO_COUNTRY, "US", "", 0);
	TXC(store_tx_pool_count(tx, &us, 100, &total), total, NULL);                                       /* 17 */
	struct store_pool_query gb = txc_query(c, GEO_COUNTRY, "GB", "", 0);
	TXC(store_tx_pool_count(tx, &gb, 100, &total), total, NULL);                                       /* 18 */
	struct store_pool_query noarea = txc_query(c, GEO_AREA_CODE, "US", "", 0);
	TXC(store_tx_pool_count(tx, &noarea, 100, &total), total, NULL);                                   /* 19 */
	TXC(store_tx_pool_count(tx, &any, 1, &total), total, NULL);                                        /* 20: limit */
	struct number num;
	TXC(store_tx_number_by_id(tx, c->svc->id, c->num_b, &num), 0, num.e164);                           /* 21 */
	TXC(store_tx_number_by_id(tx, "svc_other", c->num_b, &num), 0, NULL);                              /* 22 */
	char e164[PHONE_E164_MAX + 1];
	snprintf(e164, sizeof(e164), "%.16s", c->t[21]);
	TXC(store_tx_number_by_e164(tx, c->svc->id, e164, &num), 0, num.id);                               /* 23 */
	TXC(store_tx_number_by_e164(tx, c->svc->id, "+19999999999", &num), 0, NULL);                       /* 24 */
	TXC(store_tx_participant_move(tx, c->p0.id, c->num_b, e164), 0, NULL);                             /* 25 */
	TXC(store_tx_holder(tx, c->bx, c->num_b, &h), h.found, NULL);                                      /* 26 */
	TXC(store_tx_participant_move(tx, c->p0.id, c->num_b, e164), 0, NULL);                             /* 27: holds it */
	TXC(store_tx_participant_move(tx, c->p0.id, c->num_a, c->p0.proxy_e164), 0, NULL);                 /* 28 */
	struct store_session_brief br;
	const struct store_part_brief *rows = br.parts;
	TXC(store_tx_session_lock(tx, c->s.id, &br), br.n_parts * 10 + br.status, rows[0].number_id);      /* 29 */
	TXC(strcmp(br.service_id, c->svc->id) || br.mode != (enum session_mode)c->s.mode || strcmp(rows[0].id, c->p0.id) ||
			   strcmp(rows[0].bidx, c->bx) || strcmp(rows[0].peer, c->by) || rows[0].idx != 0,
		0, NULL);                                                                                         /* 30 */
	TXC(store_tx_session_lock(tx, "ses_nope", &br), 0, NULL);                                          /* 31 */
	TXC(store_tx_session_touch(tx, c->s.id, 2500), 0, NULL);                                           /* 32 */
	TXC(store_tx_event_insert(tx, c->s.id, "number_swapped", c->p0.id, "+1 -> +2", 2500), 0, NULL);   /* 33 */
	char sticky[ID_MAX];
	TXC(store_tx_sticky(tx, c->svc->id, c->bx, NULL, c->by, NULL, sticky), 0, sticky);                 /* 34 */
	TXC(store_tx_sticky(tx, c->svc->id, c->bx, NULL, "nobody", NULL, sticky), 0, sticky);              /* 35 */
	TXC(store_tx_binding_drop(tx, c->p0.id), 0, NULL);                                                 /* 36: open: kept */
	TXC(store_tx_holder(tx, c->bx, c->num_a, &h), h.found, NULL);                                      /* 37 */
	return 0;
}

/* Cooling-off rows: the cooling pool, the holder's flag, dropping one. */
static int txc_body_cooling(struct store_tx *tx, void *arg)
{
	struct txc *c = arg;
	c->n = 0;
	struct store_candidate cand[8];
	int n = -1;
	struct store_pool_query any = txc_query(c, GEO_ANY, "US", "", 0);
	TXC(store_tx_pool_candidates(tx, &any, STORE_POOL_COOLING, cand, 8, &n), n, n > 0 ? cand[0].id : ""); /* 0 */
	struct store_holder h;
	TXC(store_tx_holder(tx, c->bx, c->num_a, &h), h.found * 10 + h.cooling, h.row_id);                    /* 1 */
	TXC(store_tx_binding_drop(tx, h.row_id), 0, NULL);                                                    /* 2 */
	TXC(store_tx_holder(tx, c->bx, c->num_a, &h), h.found, NULL);                                         /* 3 */
	TXC(store_tx_binding_drop(tx, c->p0.id), 0, NULL);                                                    /* 4: again */
	return 0;
}

static int txc_body_fails(struct store_tx *tx, void *arg)
{
	struct txc *c = arg;
	int rc = store_tx_session_touch(tx, c->s.id, 9999);
	return rc < 0 ? rc : MASKD_ECONFLICT; /* rolled back */
}

static void txc_participant(struct participant *p, const char *real, const char *number_id, const char *e164)
{
	memset(p, 0, sizeof(*p));
	id_new("par", p->id);
	snprintf(p->number, sizeof(p->number), "%s", real);
	snprintf(p->masked, sizeof(p->masked), "+1******%s", real + 8);
	snprintf(p->country, sizeof(p->country), "US");
	snprintf(p->proxy_number_id, sizeof(p->proxy_number_id), "%s", number_id);
	snprintf(p->proxy_e164, sizeof(p->proxy_e164), "%s", e164);
}

/* The whole contract over service svc (cooloff 0, editable) whose pool has pool >= 2
 * numbers, all active, US, every cap, none in use, num_a the oldest, num_b the next. */
static void store_tx_contract(struct store *st, struct service *svc, const char *num_a, const char *num_b, int pool)
{
	struct txc *c = calloc(1, sizeof(*c));
	assert_non_null(c);
	c->st = st;
	c->svc = svc;
	c->num_a = num_a;
	c->num_b = num_b;
	c->pool = pool;
	struct number a;
	assert_int_equal(store_number_get(st, num_a, &a), 0);
	store_blind_index(st, "+14155550101", c->bx);
	store_blind_index(st, "+14155550102", c->by);
	assert_int_equal(strlen(c->bx), VAULT_BIDX_HEX); /* index version 1: the bare hex */
	assert_string_not_equal(c->bx, c->by);
	txc_participant(&c->p0, "+14155550101", num_a, a.e164);
	txc_participant(&c->p1, "+14155550101", num_a, a.e164);

	id_new("ses", c->s.id);
	snprintf(c->s.service_id, sizeof(c->s.service_id), "%s", svc->id);
	snprintf(c->s.unique_name, sizeof(c->s.unique_name), "txc");
	snprintf(c->s.pin, sizeof(c->s.pin), "1234");
	c->s.mode = MODE_VOICE_AND_MESSAGE;
	c->s.status = SESSION_OPEN;
	c->s.created_at = c->s.updated_at = c->s.last_activity_at = 2000;
	c->s.policy = (struct call_policy){.record = -1, .time_limit = -1, .ring_timeout = -1};

	assert_int_equal(store_tx_run(st, txc_body_session, c), 0);
	assert_int_equal(c->rc[0], 0);
	assert_int_equal(c->rc[1], MASKD_ECONFLICT); /* unique_name of an open session */
	assert_int_equal(c->rc[2], 1);
	assert_int_equal(c->rc[3], 0);
	assert_int_equal(c->rc[4], 1);
	assert_int_equal(c->v[4], 0); /* no participant rows yet */
	assert_string_equal(c->t[4], c->s.id);
	assert_int_equal(c->rc[5], 0);
	struct session got;
	assert_int_equal(store_session_get(st, c->s.id, &got), 0);
	assert_int_equal(got.status, SESSION_OPEN);
	assert_string_equal(got.pin, "1234");

	assert_int_equal(store_tx_run(st, txc_body_rows, c), 0);
	assert_int_equal(c->rc[0], 0);
	assert_int_equal(c->rc[1], MASKD_ECONFLICT); /* the bindings index */
	assert_int_equal(c->rc[2], 0);
	assert_int_equal(c->v[2], 10); /* found, open */
	assert_string_equal(c->t[2], c->p0.id);
	assert_int_equal(c->rc[3], 0);
	assert_int_equal(c->rc[4], 0);
	assert_int_equal(c->v[4], 0);
	assert_int_equal(c->rc[5], 0);
	assert_int_equal(c->v[6], 0);
	assert_int_equal(c->rc[7], 0);
	assert_int_equal(c->rc[8], MASKD_ECONFLICT);
	assert_int_equal(c->rc[9], MASKD_ENOTFOUND);
	assert_int_equal(c->rc[10], 0);
	assert_int_equal(c->rc[11], 0);
	assert_int_equal(c->rc[12], 0);
	assert_int_equal(c->v[12], pool - 1 < 8 ? pool - 1 : 8); /* a is held */
	assert_string_equal(c->t[12], num_b);
	assert_int_equal(c->v[13], 0);
	assert_int_equal(c->v[14], pool);
	assert_int_equal(c->v[15], 1 * 100 + 1); /* one open binding, on a number the filter admits */
	assert_int_equal(c->v[16], pool - 1);    /* a is at the cap of 1 */
	assert_int_equal(c->v[17], pool);
	assert_int_equal(c->v[18], 0);
	assert_int_equal(c->v[19], 0); /* an empty key matches nothing */
	assert_int_equal(c->v[20], 1);
	assert_int_equal(c->rc[21], 0);
	assert_int_equal(c->rc[22], MASKD_ENOTFOUND);
	assert_int_equal(c->rc[23], 0);
	assert_string_equal(c->t[23], num_b);
	assert_int_equal(c->rc[24], MASKD_ENOTFOUND);
	assert_int_equal(c->rc[25], 0);
	assert_int_equal(c->v[26], 1);
	assert_int_equal(c->rc[27], MASKD_ECONFLICT);
	assert_int_equal(c->rc[28], 0);
	assert_int_equal(c->rc[29], 0);
	assert_int_equal(c->v[29], 1 * 10 + SESSION_OPEN);
	assert_string_equal(c->t[29], num_a);
	assert_int_equal(c->rc[30], 0);
	assert_int_equal(c->rc[31], MASKD_ENOTFOUND);
	assert_int_equal(c->rc[32], 0);
	assert_int_equal(c->rc[33], 0);
	assert_string_equal(c->t[34], num_a);
	assert_string_equal(c->t[35], "");
	assert_int_equal(c->rc[36], 0);
	assert_int_equal(c->v[37], 1);
	assert_int_equal(store_number_get(st, num_a, &a), 0);
	assert_int_equal(a.in_use, 1);
	assert_int_equal(store_session_get(st, c->s.id, &got), 0);
	assert_int_equal(got.updated_at, 2500);
	assert_int_equal(got.n_participants, 1);
	char real[PHONE_E164_MAX + 1];
	assert_int_equal(store_participant_number(st, c->p0.id, real, sizeof(real)), 0);
	assert_string_equal(real, "+14155550101"); /* sealed and unsealed */

	/* a failing body leaves nothing */
	assert_int_equal(store_tx_run(st, txc_body_fails, c), MASKD_ECONFLICT);
	assert_int_equal(store_session_get(st, c->s.id, &got), 0);
	assert_int_equal(got.updated_at, 2500);

	/* cooling off: the service's cool-off holds the binding after the close */
	svc->cooloff = 600;
	assert_int_equal(store_service_update(st, svc), 0);
	assert_int_equal(lifecycle_close(st, c->s.id, SESSION_CLOSED, 3000), 0);
	assert_int_equal(store_tx_run(st, txc_body_cooling, c), 0);
	assert_int_equal(c->rc[0], 0);
	assert_int_equal(c->v[0], 1);
	assert_string_equal(c->t[0], num_a);
	assert_int_equal(c->v[1], 11); /* found, cooling */
	assert_string_equal(c->t[1], c->p0.id);
	assert_int_equal(c->rc[2], 0);
	assert_int_equal(c->v[3], 0);
	assert_int_equal(c->rc[4], 0);
	free(c);
}

#endif
