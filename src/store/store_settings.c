/* SPDX-License-Identifier: MIT */
/* store_settings.c - settings rows (store.h): reads, writes, and the per-handle
 * memo of store_setting_get_cached(), which keeps what a hot path asks for again
 * and again (most often "no such row") for the service cache's TTL. A write
 * through this handle forgets the whole memo at once; a write by another node
 * is seen once the entry is older than the TTL, as for services. */
#include "store.h"
#include "store_backend.h"
#include "store_internal.h"
#include "../util/err.h"
#include "../util/xmalloc.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct setting_entry {
	char key[SETTING_CACHE_KEY_MAX];
	char *value;       /* NULL: the row does not exist */
	int64_t loaded_ms; /* coarse monotonic time of the backend read */
};

/* The slot holding key, or the empty slot where it would go, or -1 (full). */
static long memo_find(struct store *st, const char *key)
{
	for (size_t i = 0, slot = store_cache_hash(key) % SETTING_CACHE_SLOTS; i < SETTING_CACHE_SLOTS; i++, slot = (slot + 1) % SETTING_CACHE_SLOTS) {
		struct setting_entry *e = st->settings[slot];
		if (e == NULL || strcmp(e->key, key) == 0)
			return (long)slot;
	}
	return -1;
}

/* Forgets every memo entry; a write through this handle calls it. */
static void memo_forget(struct store *st)
{
	pthread_rwlock_wrlock(&st->cache_lock);
	st->settings_gen++;
	for (size_t i = 0; i < SETTING_CACHE_SLOTS; i++)
		if (st->settings[i] != NULL)
			st->settings[i]->loaded_ms = INT64_MIN / 2; /* stale: read again */
	pthread_rwlock_unlock(&st->cache_lock);
}

void store_settings_free(struct store *st)
{
	for (size_t i = 0; i < SETTING_CACHE_SLOTS; i++) {
		if (st->settings[i] != NULL)
			free(st->settings[i]->value);
		free(st->settings[i]);
	}
}

int store_setting_get(struct store *st, const char *key, char *out, size_t cap)
{
	return st->ops->setting_get(st->b, key, out, cap);
}

int store_setting_add(struct store *st, const char *key, const char *value)
{
	int rc = store_note_write(st, st->ops->setting_add(st->b, key, value));
	memo_forget(st);
	return rc;
}

int store_setting_put(struct store *st, const char *key, const char *value)
{
	int rc = store_note_write(st, st->ops->setting_put(st->b, key, value));
	memo_forget(st);
	return rc;
}

int store_setting_get_cached(struct store *st, const char *key, char *out, size_t cap)
{
	assert(st != NULL && key != NULL && out != NULL && cap > 0);
	if (strlen(key) >= SETTING_CACHE_KEY_MAX)
		return store_setting_get(st, key, out, cap);
	int64_t now = store_cache_now_ms();
	int rc = 1; /* 1: not answered from the memo */
	pthread_rwlock_rdlock(&st->cache_lock);
	uint64_t gen = st->settings_gen;
	long slot = memo_find(st, key);
	const struct setting_entry *e = slot >= 0 ? st->settings[slot] : NULL;
	if (e != NULL && now - e->loaded_ms < st->cache_ttl_ms) {
		if (e->value == NULL)
			rc = MASKD_ENOTFOUND;
		else if (strlen(e->value) < cap) {
			memcpy(out, e->value, strlen(e->value) + 1);
			rc = 0;
		}
	}
	pthread_rwlock_unlock(&st->cache_lock);
	if (rc != 1)
		return rc;
	rc = store_setting_get(st, key, out, cap);
	if (rc != 0 && rc != MASKD_ENOTFOUND)
		return rc;
	pthread_rwlock_wrlock(&st->cache_lock);
	slot = memo_find(st, key);
	if (slot >= 0 && st->settings_gen == gen) { /* no write through this handle since the read */
		struct setting_entry *n = st->settings[slot];
		if (n == NULL) {
			n = xcalloc(1, sizeof(*n));
			snprintf(n->key, sizeof(n->key), "%s", key);
			st->settings[slot] = n;
		}
		free(n->value);
		n->value = rc == 0 ? xstrdup(out) : NULL;
		n->loaded_ms = now;
	}
	pthread_rwlock_unlock(&st->cache_lock);
	return rc;
}
