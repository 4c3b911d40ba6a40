/* SPDX-License-Identifier: MIT */
/* group_commit.c - the group commit check of group_commit.h. Test-only. */
#include "group_commit.h"
#include "suite.h"

#include <pthread.h>
#include <unistd.h>

#include "util/err.h"

/* ---------------------------------------------------------------- group commit of records
 *
 * Many webhook threads recording at once share transactions (the backends'
 * interaction_record);
 * each must still get its own answer: a new record, the first copy of a retried one
 * (also when both copies land in the same batch), or its own error, and every
 * acknowledged record must be in the database afterwards. */

#define GC_THREADS 8
#define GC_PER_THREAD 60
#define GC_DUP_SIDS 10   /* sids every thread records: one thread wins each */
#define GC_BAD_EVERY 7   /* every 7th record names no session: its insert fails alone */

struct gc_result {
	char id[ID_MAX];   /* the id the record came back with */
	char sid[64];
	int rc, existed, bad, dup;
};

struct gc_thread {
	struct fixture *f;
	const struct session *s;
	pthread_barrier_t *start;
	int t;
	struct gc_result res[GC_PER_THREAD];
};

static void gc_count(void *ctx, const struct interaction *it)
{
	(void)it;
	(*(int *)ctx)++;
}

static void *gc_worker(void *arg)
{
	struct gc_thread *w = arg;
	pthread_barrier_wait(w->start);
	for (int k = 0; k < GC_PER_THREAD; k++) {
		struct gc_result *r = &w->res[k];
		struct interaction it;
		memset(&it, 0, sizeof(it));
		id_new("int", it.id);
		r->dup = k < GC_DUP_SIDS;
		r->bad = !r->dup && k % GC_BAD_EVERY == 0;
		if (r->dup)
			snprintf(r->sid, sizeof(r->sid), "CAdup%d", k);
		else
			snprintf(r->sid, sizeof(r->sid), "CAt%dk%d", w->t, k);
		snprintf(it.carrier_sid, sizeof(it.carrier_sid), "%s", r->sid);
		snprintf(it.session_id, sizeof(it.session_id), "%s", r->bad ? "ses_nosuchsession" : w->s->id);
		snprintf(it.service_id, sizeof(it.service_id), "%s", w->f->svc.id);
		snprintf(it.from_participant, sizeof(it.from_participant), "%s", w->s->participants[0].id);
		snprintf(it.to_participant, sizeof(it.to_participant), "%s", w->s->participants[1].id);
		it.decision = DECISION_BRIDGE;
		it.created_at = 3000 + k;
		char mine[ID_MAX];
		snprintf(mine, sizeof(mine), "%s", it.id);
		r->existed = -1;
		r->rc = store_interaction_record(w->f->st, &it, &r->existed);
		snprintf(r->id, sizeof(r->id), "%s", it.id);
		/* checked on the main thread (cmocka's asserts are not thread-safe) */
		if (r->rc == 0 && !r->existed && strcmp(mine, it.id) != 0)
			r->rc = 1;
	}
	return NULL;
}

void gc_check_group_commit(struct fixture *f, const struct gc_blocker *b)
{
	add_number(f, "+14155550100", NUMBER_ACTIVE, CAP_ALL, 1, NULL);
	add_number(f, "+14155550101", NUMBER_ACTIVE, CAP_ALL, 2, NULL);
	struct session s;
	assert_int_equal(new_session(f, RIDER, DRIVER1, NULL, &s, NULL), 0);
	pthread_barrier_t start;
	assert_int_equal(pthread_barrier_init(&start, NULL, GC_THREADS), 0);
	static struct gc_thread w[GC_THREADS];
	pthread_t th[GC_THREADS];
	/* Another connection holds the records back while the threads start: the
	 * first leader waits and every other thread's first record (the copies of
	 * CAdup0) queues behind it, so they land in one batch together. */
	b->hold(f, &s, b->ctx);
	for (int t = 0; t < GC_THREADS; t++) {
		w[t] = (struct gc_thread){.f = f, .s = &s, .start = &start, .t = t};
		assert_int_equal(pthread_create(&th[t], NULL, gc_worker, &w[t]), 0);
	}
	usleep(300 * 1000);
	b->release(b->ctx);
	for (int t = 0; t < GC_THREADS; t++)
		assert_int_equal(pthread_join(th[t], NULL), 0);
	pthread_barrier_destroy(&start);

	int acked = 0;
	for (int k = 0; k < GC_DUP_SIDS; k++) {
		/* one first copy per sid; every other copy got that copy's row back */
		struct interaction stored;
		char sid[64];
		snprintf(sid, sizeof(sid), "CAdup%d", k);
		assert_int_equal(store_interaction_by_sid(f->st, 0, sid, &stored), 0);
		int firsts = 0;
		for (int t = 0; t < GC_THREADS; t++) {
			const struct gc_result *r = &w[t].res[k];
			assert_int_equal(r->rc, 0);
			assert_string_equal(r->id, stored.id);
			firsts += r->existed == 0;
		}
		assert_int_equal(firsts, 1);
		acked++;
	}
	for (int t = 0; t < GC_THREADS; t++) {
		for (int k = GC_DUP_SIDS; k < GC_PER_THREAD; k++) {
			const struct gc_result *r = &w[t].res[k];
			struct interaction back;
			if (r->bad) {
				/* its own error, and nothing of it stored */
				assert_int_equal(r->rc, MASKD_ECONFLICT);
				assert_int_equal(r->existed, 0);
				assert_int_equal(store_interaction_by_sid(f->st, 0, r->sid, &back), MASKD_ENOTFOUND);
				continue;
			}
			assert_int_equal(r->rc, 0);
			assert_int_equal(r->existed, 0);
			/* acknowledged means stored, with its leg 'a' */
			assert_int_equal(store_interaction_get(f->st, r->id, &back), 0);
			assert_string_equal(back.carrier_sid, r->sid);
			assert_int_equal(back.n_legs, 1);
			assert_int_equal(back.legs[0].leg, 'a');
			acked++;
		}
	}
	int listed = 0;
	assert_int_equal(store_interaction_list(f->st, s.id, gc_count, &listed), 0);
	assert_int_equal(listed, acked);
	struct session got;
	assert_int_equal(store_session_get(f->st, s.id, &got), 0);
	assert_int_equal(got.status, SESSION_IN_PROGRESS);
	assert_true(got.last_activity_at >= 3000 && got.last_activity_at < 3000 + GC_PER_THREAD);
}

