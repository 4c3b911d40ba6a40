/* SPDX-License-Identifier: MIT */
/* test_flow_bind.c - flow/bind.c over a fake store (store_wrap() of an in-memory
 * table of the store_tx_* primitives it uses): the order of the steps, the geo
 * levels, named and sticky verdicts, cool-off reuse, the cap counting the session
 * once, lost races and the headroom it reports. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/pick.h"
#include "core/pool.h"
#include "flow/bind.h"
#include "store/store_backend.h"
#include "util/err.h"

#define FAKE_NUMS 8
#define FAKE_ROWS 16

struct fake_row {
	char id[ID_MAX];
	char bidx[STORE_BIDX_MAX];
	char number_id[ID_MAX];
	char peer[STORE_BIDX_MAX];
	int active, cooling;
};

struct fake {
	struct number nums[FAKE_NUMS];
	int n_nums;
	struct fake_row rows[FAKE_ROWS];
	int n_rows;
	char sticky[ID_MAX];
	int lose;    /* inserts refused as if a concurrent session had won them */
	int inserts; /* participant rows written */
};

static const struct store_ops fake_ops;

static int fake_tx_run(void *b, int (*body)(struct store_tx *, void *), void *ctx)
{
	struct store_tx tx = {.ops = &fake_ops, .b = b, .conn = b};
	return body(&tx, ctx);
}

static struct fake *F(struct store_tx *tx)
{
	return tx->b;
}

static struct fake_row *held_by(struct fake *f, const char *bidx, const char *number_id)
{
	for (int i = 0; i < f->n_rows; i++)
		if (f->rows[i].active && strcmp(f->rows[i].bidx, bidx) == 0 && strcmp(f->rows[i].number_id, number_id) == 0)
			return &f->rows[i];
	return NULL;
}

/* The pool filter of store.h, written out. */
static int admits(const struct store_pool_query *q, const struct number *n)
{
	struct participant p;
	memset(&p, 0, sizeof(p));
	snprintf(p.country, sizeof(p.country), "%s", q->country);
	snprintf(p.area_code, sizeof(p.area_code), "%s", q->area_code);
	snprintf(p.region, sizeof(p.region), "%s", q->region);
	return n->state == NUMBER_ACTIVE && (n->caps & q->need) == q->need && (q->cap <= 0 || n->in_use < q->cap) &&
	       pick_geo_fits(q->level, n, &p);
}

static int by_load(const void *a, const void *b)
{
	const struct store_candidate *x = a, *y = b;
	if (x->in_use != y->in_use)
		return x->in_use < y->in_use ? -1 : 1;
	if (x->created_at != y->created_at)
		return x->created_at < y->created_at ? -1 : 1;
	return strcmp(x->id, y->id);
}

static int fake_pool_candidates(struct store_tx *tx, const struct store_pool_query *q, enum store_pool_kind kind,
				struct store_candidate *out, int limit, int *n)
{
	struct fake *f = F(tx);
	struct store_candidate all[FAKE_NUMS];
	int m = 0;
	for (int i = 0; i < f->n_nums; i++) {
		const struct number *num = &f->nums[i];
		struct fake_row *r = held_by(f, q->bidx, num->id);
		if (!admits(q, num) || (kind == STORE_POOL_FREE ? r != NULL : (r == NULL || !r->cooling)))
			continue;
		all[m] = (struct store_candidate){.state = num->state, .caps = num->caps, .in_use = num->in_use,
						  .created_at = num->created_at};
		snprintf(all[m].id, sizeof(all[m].id), "%s", num->id);
		snprintf(all[m].e164, sizeof(all[m].e164), "%s", num->e164);
		m++;
	}
	qsort(all, (size_t)m, sizeof(all[0]), by_load);
	*n = m < limit ? m : limit;
	memcpy(out, all, (size_t)*n * sizeof(all[0]));
	return 0;
}

static int fake_holder(struct store_tx *tx, const char *bidx, const char *number_id, struct store_holder *out)
{
	memset(out, 0, sizeof(*out));
	struct fake_row *r = held_by(F(tx), bidx, number_id);
	if (r != NULL) {
		out->found = 1;
		out->cooling = r->cooling;
		snprintf(out->row_id, sizeof(out->row_id), "%s", r->id);
		snprintf(out->peer, sizeof(out->peer), "%s", r->peer);
	}
	return 0;
}

static int fake_binding_drop(struct store_tx *tx, const char *row_id)
{
	struct fake *f = F(tx);
	for (int i = 0; i < f->n_rows; i++)
		if (strcmp(f->rows[i].id, row_id) == 0 && f->rows[i].cooling)
			f->rows[i].active = 0;
	return 0;
}

static int fake_sticky(struct store_tx *tx, const char *service_id, const char *bidx, const char *bidx_old,
		       const char *peer_bidx, const char *peer_old, char out[ID_MAX])
{
	snprintf(out, ID_MAX, "%s", F(tx)->sticky);
	return 0;
}

static int fake_number_by(struct store_tx *tx, const char *id, const char *e164, struct number *out)
{
	struct fake *f = F(tx);
	for (int i = 0; i < f->n_nums; i++)
		if ((id != NULL && strcmp(f->nums[i].id, id) == 0) || (e164 != NULL && strcmp(f->nums[i].e164, e164) == 0)) {
			*out = f->nums[i];
			return 0;
		}
	return MASKD_ENOTFOUND;
}

static int fake_number_by_id(struct store_tx *tx, const char *service_id, const char *id, struct number *out)
{
	return fake_number_by(tx, id, NULL, out);
}

static int fake_number_by_e164(struct store_tx *tx, const char *service_id, const char *e164, struct number *out)
{
	return fake_number_by(tx, NULL, e164, out);
}

static int fake_participant_insert(struct store_tx *tx, const char *session_id, int idx, const struct participant *p,
				   const char *bidx, const char *peer_bidx, int64_t now)
{
	struct fake *f = F(tx);
	if (f->lose > 0) {
		f->lose--;
		return MASKD_ECONFLICT;
	}
	if (held_by(f, bidx, p->proxy_number_id) != NULL)
		return MASKD_ECONFLICT;
	assert_true(f->n_rows < FAKE_ROWS);
	struct fake_row *r = &f->rows[f->n_rows++];
	memset(r, 0, sizeof(*r));
	snprintf(r->id, sizeof(r->id), "%s", p->id);
	snprintf(r->bidx, sizeof(r->bidx), "%s", bidx);
	snprintf(r->number_id, sizeof(r->number_id), "%s", p->proxy_number_id);
	snprintf(r->peer, sizeof(r->peer), "%s", peer_bidx);
	r->active = 1;
	f->inserts++;
	return 0;
}

static int fake_participant_move(struct store_tx *tx, const char *row_id, const char *number_id, const char *e164)
{
	struct fake *f = F(tx);
	for (int i = 0; i < f->n_rows; i++)
		if (strcmp(f->rows[i].id, row_id) == 0) {
			if (held_by(f, f->rows[i].bidx, number_id) != NULL)
				return MASKD_ECONFLICT;
			snprintf(f->rows[i].number_id, sizeof(f->rows[i].number_id), "%s", number_id);
			return 0;
		}
	return MASKD_ENOTFOUND;
}

static int fake_holds(struct store_tx *tx, const struct store_pool_query *q, int64_t *held, int64_t *k)
{
	struct fake *f = F(tx);
	*held = *k = 0;
	for (int i = 0; i < f->n_rows; i++) {
		if (!f->rows[i].active || strcmp(f->rows[i].bidx, q->bidx) != 0)
			continue;
		*held += !f->rows[i].cooling;
		struct number n;
		if (fake_number_by(tx, f->rows[i].number_id, NULL, &n) == 0 && admits(q, &n))
			(*k)++;
	}
	return 0;
}

static int fake_pool_count(struct store_tx *tx, const struct store_pool_query *q, int limit, int64_t *total)
{
	struct fake *f = F(tx);
	*total = 0;
	for (int i = 0; i < f->n_nums && *total < limit; i++)
		*total += admits(q, &f->nums[i]);
	return 0;
}

static const struct store_ops fake_ops = {
	.name = "fake",
	.tx_run = fake_tx_run,
	.tx_pool_candidates = fake_pool_candidates,
	.tx_holder = fake_holder,
	.tx_binding_drop = fake_binding_drop,
	.tx_sticky = fake_sticky,
	.tx_number_by_id = fake_number_by_id,
	.tx_number_by_e164 = fake_number_by_e164,
	.tx_participant_insert = fake_participant_insert,
	.tx_participant_move = fake_participant_move,
	.tx_holds = fake_holds,
	.tx_pool_count = fake_pool_count,
};

/* ---------------------------------------------------------------- fixture */

struct world {
	struct fake f;
	struct store *st;
	struct create_rules rules;
	struct participant p;
	struct bind_job j;
	int rc;
};

static void add_num(struct world *w, const char *id, const char *e164, const char *area, const char *region,
		    int64_t in_use, int64_t created)
{
	struct number *n = &w->f.nums[w->f.n_nums++];
	memset(n, 0, sizeof(*n));
	snprintf(n->id, sizeof(n->id), "%s", id);
	snprintf(n->e164, sizeof(n->e164), "%s", e164);
	snprintf(n->country, sizeof(n->country), "US");
	snprintf(n->area_code, sizeof(n->area_code), "%s", area);
	snprintf(n->region, sizeof(n->region), "%s", region);
	n->state = NUMBER_ACTIVE;
	n->caps = CAP_ALL;
	n->in_use = in_use;
	n->created_at = created;
}

static void add_row(struct world *w, const char *id, const char *bidx, const char *number_id, const char *peer, int cooling)
{
	struct fake_row *r = &w->f.rows[w->f.n_rows++];
	memset(r, 0, sizeof(*r));
	snprintf(r->id, sizeof(r->id), "%s", id);
	snprintf(r->bidx, sizeof(r->bidx), "%s", bidx);
	snprintf(r->number_id, sizeof(r->number_id), "%s", number_id);
	snprintf(r->peer, sizeof(r->peer), "%s", peer);
	r->active = 1;
	r->cooling = cooling;
}

static int setup(void **state)
{
	struct world *w = calloc(1, sizeof(*w));
	w->st = store_wrap(&fake_ops, &w->f);
	/* three numbers in 415 (CA), one in 213 (CA), one in 212 (NY) */
	add_num(w, "num_a", "+14155550001", "415", "CA", 3, 1);
	add_num(w, "num_b", "+14155550002", "415", "CA", 1, 2);
	add_num(w, "num_c", "+14155550003", "415", "CA", 1, 3);
	add_num(w, "num_d", "+12135550004", "213", "CA", 0, 4);
	add_num(w, "num_e", "+12125550005", "212", "NY", 0, 5);
	w->rules = (struct create_rules){.pool = {GEO_AREA_CODE, 0, SELECT_PREFER_STICKY}};
	snprintf(w->p.id, sizeof(w->p.id), "par_new");
	snprintf(w->p.country, sizeof(w->p.country), "US");
	snprintf(w->p.area_code, sizeof(w->p.area_code), "415");
	snprintf(w->p.region, sizeof(w->p.region), "CA");
	w->j = (struct bind_job){.rules = &w->rules, .service_id = "svc_x", .session_id = "ses_x", .need = CAP_VOICE,
				 .now = 100, .p = &w->p, .idx = 0, .bidx = "bidx_me", .peer_bidx = "bidx_peer"};
	*state = w;
	return 0;
}

static int teardown(void **state)
{
	struct world *w = *state;
	store_close(w->st);
	free(w);
	return 0;
}

static int bind_body(struct store_tx *tx, void *arg)
{
	struct world *w = arg;
	return bind_participant(tx, &w->j);
}

static int bind(struct world *w)
{
	return store_tx_run(w->st, bind_body, w);
}

/* ---------------------------------------------------------------- tests */

static void least_loaded_at_the_narrowest_level(void **state)
{
	struct world *w = *state;
	assert_int_equal(bind(w), 0);
	assert_string_equal(w->p.proxy_number_id, "num_b"); /* in_use 1, older than num_c */
	assert_string_equal(w->p.proxy_e164, "+14155550002");
	assert_int_equal(w->j.level, GEO_AREA_CODE);
	assert_int_equal(w->j.sticky, 0);
	assert_int_equal(w->j.reused_cooling, 0);
	assert_int_equal(w->f.inserts, 1);
}

static void widens_level_by_level(void **state)
{
	struct world *w = *state;
	snprintf(w->p.area_code, sizeof(w->p.area_code), "999");
	assert_int_equal(bind(w), 0);
	assert_string_equal(w->p.proxy_number_id, "num_d"); /* the region, least loaded */
	assert_int_equal(w->j.level, GEO_REGION);
	w->p.proxy_number_id[0] = w->p.proxy_e164[0] = '\0';
	snprintf(w->p.region, sizeof(w->p.region), "TX");
	w->j.bidx = "bidx_other";
	assert_int_equal(bind(w), 0);
	assert_int_equal(w->j.level, GEO_COUNTRY);
}

static void strict_exhausts_with_its_level(void **state)
{
	struct world *w = *state;
	w->rules.pool.geo_match_strict = 1;
	snprintf(w->p.area_code, sizeof(w->p.area_code), "999");
	assert_int_equal(bind(w), MASKD_EEXHAUSTED);
	assert_int_equal(w->j.failed_level, GEO_AREA_CODE);
	assert_int_equal(w->f.inserts, 0);
	/* a participant without the key: the strict level matches nothing */
	w->p.area_code[0] = '\0';
	assert_int_equal(bind(w), MASKD_EEXHAUSTED);
}

static void named_numbers(void **state)
{
	struct world *w = *state;
	snprintf(w->p.proxy_e164, sizeof(w->p.proxy_e164), "+12125550005");
	assert_int_equal(bind(w), 0);
	assert_string_equal(w->p.proxy_number_id, "num_e");
	assert_int_equal(w->j.level, GEO_COUNTRY); /* outside its area and region */
	/* held open by this real number now */
	w->p.proxy_number_id[0] = '\0';
	snprintf(w->p.id, sizeof(w->p.id), "par_2");
	assert_int_equal(bind(w), MASKD_ECONFLICT);
	/* unknown, retired, at the cap */
	snprintf(w->p.proxy_e164, sizeof(w->p.proxy_e164), "+19999999999");
	assert_int_equal(bind(w), MASKD_ENOTFOUND);
	w->f.nums[3].state = NUMBER_RETIRED;
	snprintf(w->p.proxy_e164, sizeof(w->p.proxy_e164), "+12135550004");
	assert_int_equal(bind(w), MASKD_ENOTFOUND);
	w->f.nums[3].state = NUMBER_RESERVED; /* reserved: only when named */
	w->rules.number_cap = 1;
	w->f.nums[3].in_use = 1;
	assert_int_equal(bind(w), MASKD_ENOTFOUND);
	w->j.counted = "num_d"; /* this session is the one on it */
	assert_int_equal(bind(w), 0);
	assert_string_equal(w->p.proxy_number_id, "num_d");
}

static void named_cooling_rules(void **state)
{
	struct world *w = *state;
	add_row(w, "par_old_pair", "bidx_me", "num_a", "bidx_peer", 1);
	add_row(w, "par_old_other", "bidx_me", "num_b", "bidx_someone", 1);
	snprintf(w->p.proxy_e164, sizeof(w->p.proxy_e164), "+14155550002");
	assert_int_equal(bind(w), MASKD_ECONFLICT); /* cooling for another pair, no reuse */
	w->rules.cooloff_reuse = 1;
	assert_int_equal(bind(w), 0);
	assert_int_equal(w->j.reused_cooling, 1);
	assert_int_equal(w->f.rows[1].active, 0); /* released and taken */
	snprintf(w->p.id, sizeof(w->p.id), "par_3");
	w->rules.cooloff_reuse = 0;
	snprintf(w->p.proxy_e164, sizeof(w->p.proxy_e164), "+14155550001");
	assert_int_equal(bind(w), 0); /* the same pair */
	assert_int_equal(w->j.reused_cooling, 1);
}

static void swap_rules(void **state)
{
	struct world *w = *state;
	add_row(w, "par_me", "bidx_me", "num_b", "bidx_peer", 0);
	w->j.swap_row = "par_me";
	w->j.current = "num_b";
	w->f.sticky[0] = '\0';
	snprintf(w->p.proxy_e164, sizeof(w->p.proxy_e164), "+14155550002");
	assert_int_equal(bind(w), MASKD_ECONFLICT); /* the one it has */
	w->p.proxy_e164[0] = '\0';
	assert_int_equal(bind(w), 0);
	assert_string_equal(w->p.proxy_number_id, "num_c");
	assert_string_equal(w->f.rows[0].number_id, "num_c"); /* moved, not inserted */
	assert_int_equal(w->f.inserts, 0);
	/* a swap never takes a cooling-off binding, even with reuse */
	add_row(w, "par_cool", "bidx_me", "num_a", "bidx_peer", 1);
	w->rules.cooloff_reuse = 1;
	w->rules.pool.geo_match_strict = 1;
	w->j.current = "num_c";
	w->f.nums[1].state = NUMBER_RETIRED; /* num_b, left by the move */
	w->p.proxy_number_id[0] = w->p.proxy_e164[0] = '\0';
	assert_int_equal(bind(w), MASKD_EEXHAUSTED);
}

static void sticky_prefer_and_avoid(void **state)
{
	struct world *w = *state;
	snprintf(w->f.sticky, sizeof(w->f.sticky), "num_a"); /* the most loaded */
	assert_int_equal(bind(w), 0);
	assert_string_equal(w->p.proxy_number_id, "num_a");
	assert_int_equal(w->j.sticky, 1);
	assert_int_equal(w->j.level, GEO_AREA_CODE);
	/* avoid-sticky: any other first */
	w->rules.pool.number_selection = SELECT_AVOID_STICKY;
	w->j.bidx = "bidx_two";
	w->p.proxy_number_id[0] = w->p.proxy_e164[0] = '\0';
	snprintf(w->f.sticky, sizeof(w->f.sticky), "num_b");
	assert_int_equal(bind(w), 0);
	assert_string_equal(w->p.proxy_number_id, "num_c");
	assert_int_equal(w->j.sticky, 0);
	/* single-party: no sticky step */
	w->rules.pool.number_selection = SELECT_PREFER_STICKY;
	w->j.bidx = "bidx_three";
	w->j.peer_bidx = "";
	w->p.proxy_number_id[0] = w->p.proxy_e164[0] = '\0';
	snprintf(w->f.sticky, sizeof(w->f.sticky), "num_a");
	assert_int_equal(bind(w), 0);
	assert_string_equal(w->p.proxy_number_id, "num_b");
}

static void sticky_skipped_when_unusable(void **state)
{
	struct world *w = *state;
	/* strict region: last time's number in NY is not local */
	w->rules.pool = (struct pool_rules){GEO_REGION, 1, SELECT_PREFER_STICKY};
	snprintf(w->f.sticky, sizeof(w->f.sticky), "num_e");
	assert_int_equal(bind(w), 0);
	assert_string_equal(w->p.proxy_number_id, "num_d");
	assert_int_equal(w->j.sticky, 0);
	/* held open by this real number in another session: the pool */
	w->rules.pool = (struct pool_rules){GEO_AREA_CODE, 0, SELECT_PREFER_STICKY};
	w->p.proxy_number_id[0] = w->p.proxy_e164[0] = '\0';
	add_row(w, "par_open", "bidx_x", "num_a", "bidx_peer", 0);
	w->j.bidx = "bidx_x";
	snprintf(w->f.sticky, sizeof(w->f.sticky), "num_a");
	assert_int_equal(bind(w), 0);
	assert_string_equal(w->p.proxy_number_id, "num_b");
	/* cooling for the same pair: released and taken */
	w->p.proxy_number_id[0] = w->p.proxy_e164[0] = '\0';
	add_row(w, "par_cool", "bidx_y", "num_a", "bidx_peer", 1);
	w->j.bidx = "bidx_y";
	assert_int_equal(bind(w), 0);
	assert_string_equal(w->p.proxy_number_id, "num_a");
	assert_int_equal(w->j.sticky, 1);
	assert_int_equal(w->j.reused_cooling, 1);
}

static void cooloff_reuse_last_resort(void **state)
{
	struct world *w = *state;
	w->rules.pool.geo_match_strict = 1;
	w->f.sticky[0] = '\0';
	add_row(w, "r1", "bidx_me", "num_a", "bidx_z", 1);
	add_row(w, "r2", "bidx_me", "num_b", "bidx_z", 0);
	add_row(w, "r3", "bidx_me", "num_c", "bidx_z", 1);
	assert_int_equal(bind(w), MASKD_EEXHAUSTED);
	w->rules.cooloff_reuse = 1;
	assert_int_equal(bind(w), 0);
	assert_string_equal(w->p.proxy_number_id, "num_c"); /* less loaded than num_a */
	assert_int_equal(w->j.reused_cooling, 1);
	assert_int_equal(w->f.rows[2].active, 0);
}

static void cap_counts_this_session_once(void **state)
{
	struct world *w = *state;
	w->rules.number_cap = 1;
	w->rules.pool.geo_match_strict = 1;
	for (int i = 0; i < 3; i++)
		w->f.nums[i].in_use = 1; /* every 415 number full */
	assert_int_equal(bind(w), MASKD_EEXHAUSTED);
	/* add-participant: num_c is full because of this very session */
	w->j.counted = "num_c";
	assert_int_equal(bind(w), 0);
	assert_string_equal(w->p.proxy_number_id, "num_c");
	/* create: the first participant's number is ordered as counted already */
	w->rules.number_cap = 0;
	w->j.counted = NULL;
	w->j.pending = "num_b";
	w->j.bidx = "bidx_two";
	w->p.proxy_number_id[0] = w->p.proxy_e164[0] = '\0';
	w->f.nums[1].in_use = 0;
	w->f.nums[2].in_use = 0;
	assert_int_equal(bind(w), 0);
	assert_string_equal(w->p.proxy_number_id, "num_c"); /* num_b: 0 + this session */
}

static void lost_races(void **state)
{
	struct world *w = *state;
	w->f.lose = 2; /* num_b and num_c went to concurrent sessions */
	assert_int_equal(bind(w), 0);
	assert_string_equal(w->p.proxy_number_id, "num_a");
	w->p.proxy_number_id[0] = w->p.proxy_e164[0] = '\0';
	w->j.bidx = "bidx_two";
	w->f.lose = BIND_LOST_MAX;
	assert_int_equal(bind(w), MASKD_ERETRY);
	assert_string_equal(w->p.proxy_number_id, ""); /* nothing half-written */
}

static int headroom_body(struct store_tx *tx, void *arg)
{
	struct world *w = arg;
	int rc = bind_participant(tx, &w->j);
	if (rc < 0)
		return rc;
	int64_t held = -1, free_left = -1;
	rc = bind_headroom(tx, &w->j, 1, &held, &free_left);
	w->rc = (int)(held * 100 + free_left);
	return rc;
}

static void headroom(void **state)
{
	struct world *w = *state;
	add_row(w, "r1", "bidx_me", "num_e", "bidx_z", 0);
	assert_int_equal(store_tx_run(w->st, headroom_body, w), 0);
	/* holds num_e and its new one: 2 held; of 5 numbers in the US, 3 left */
	assert_int_equal(w->rc, 2 * 100 + 3);
	/* strict area code: the 415 numbers only */
	w->rules.pool.geo_match_strict = 1;
	w->j.bidx = "bidx_two";
	w->p.proxy_number_id[0] = w->p.proxy_e164[0] = '\0';
	assert_int_equal(store_tx_run(w->st, headroom_body, w), 0);
	assert_int_equal(w->rc, 1 * 100 + 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(least_loaded_at_the_narrowest_level, setup, teardown),
		cmocka_unit_test_setup_teardown(widens_level_by_level, setup, teardown),
		cmocka_unit_test_setup_teardown(strict_exhausts_with_its_level, setup, teardown),
		cmocka_unit_test_setup_teardown(named_numbers, setup, teardown),
		cmocka_unit_test_setup_teardown(named_cooling_rules, setup, teardown),
		cmocka_unit_test_setup_teardown(swap_rules, setup, teardown),
		cmocka_unit_test_setup_teardown(sticky_prefer_and_avoid, setup, teardown),
		cmocka_unit_test_setup_teardown(sticky_skipped_when_unusable, setup, teardown),
		cmocka_unit_test_setup_teardown(cooloff_reuse_last_resort, setup, teardown),
		cmocka_unit_test_setup_teardown(cap_counts_this_session_once, setup, teardown),
		cmocka_unit_test_setup_teardown(lost_races, setup, teardown),
		cmocka_unit_test_setup_teardown(headroom, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
