/* SPDX-License-Identifier: MIT */
/* group_commit.h - the group commit of webhook records, checked the same way on
 * each backend (test_store, test_store_pg): the backend's own test supplies how
 * another connection holds the records back while the threads queue. Test-only. */
#ifndef MASKD_TEST_GROUP_COMMIT_H
#define MASKD_TEST_GROUP_COMMIT_H

#include "contract.h"

/* Records of session s that hold() makes wait, then release() lets go. */
struct gc_blocker {
	void (*hold)(struct fixture *f, const struct session *s, void *ctx);
	void (*release)(void *ctx);
	void *ctx;
};

/* GC_THREADS threads record GC_PER_THREAD webhooks each at once, started while
 * b holds the records back: sids every thread records (one thread wins each,
 * every other copy gets that copy's row, also within one batch), records that
 * name no session (each fails alone with MASKD_ECONFLICT, nothing of it stored)
 * and the rest (each acknowledged and stored). Fails the test otherwise. */
void gc_check_group_commit(struct fixture *f, const struct gc_blocker *b);

#endif
