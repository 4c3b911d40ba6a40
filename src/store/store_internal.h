/* SPDX-License-Identifier: MIT */
/* store_internal.h - the store handle's layout, shared by the files of the
 * backend-independent store (store.c; store_outbox.c: the outbox, key re-sealing
 * and service events). Not for callers of store.h. */
#ifndef MASKD_STORE_INTERNAL_H
#define MASKD_STORE_INTERNAL_H

#include "store_backend.h"

#include <pthread.h>
#include <stdint.h>

#define SERVICE_CACHE_SLOTS 1024 /* store.c: the service cache */

struct cache_entry;
struct owner_entry;
struct setting_entry;

#define SETTING_CACHE_SLOTS 256  /* settings rows store_setting_get_cached() remembers */
#define SETTING_CACHE_KEY_MAX 96 /* a longer key is never memoized */

struct store {
	const struct store_ops *ops;
	void *b;
	const struct vault *vault; /* store_open's; NULL for a wrapped test backend (no previous index) */
	pthread_rwlock_t cache_lock;
	int64_t cache_ttl_ms;
	/* Bumped (under cache_lock) by every service update, so that a reload that
	 * raced an update does not put back what it read before the update. */
	uint64_t cache_gen;
	struct cache_entry *cache[SERVICE_CACHE_SLOTS];
	struct owner_entry *owners; /* NUMBER_OWNER_SLOTS, under cache_lock */
	/* store_setting_get_cached()'s memo (store_settings.c), under cache_lock;
	 * settings_gen is bumped by every settings write through this handle. */
	struct setting_entry *settings[SETTING_CACHE_SLOTS];
	uint64_t settings_gen;
	/* The outcome of the last write (store_write_health()): 1 while the last
	 * one failed with MASKD_EDB and no later one succeeded. */
	_Atomic int write_failed;
};

/* Frees store_setting_get_cached()'s memo (store_close()). */
void store_settings_free(struct store *st);
/* store.c: the caches' coarse monotonic clock (ms) and key hash (FNV-1a). */
int64_t store_cache_now_ms(void);
uint32_t store_cache_hash(const char *key);

/* Records rc, the answer of a write, for store_write_health(): a database
 * failure marks the store unwritable, a success clears it; refusals of the input
 * (conflict, not found) say nothing about the database. Returns rc. */
int store_note_write(struct store *st, int rc);

#endif
