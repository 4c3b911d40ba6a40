/* SPDX-License-Identifier: MIT */
/* limiter.c - the counter table of limiter.h: open addressing with a bounded
 * linear probe inside mutex-guarded segments. Slots are never emptied, only
 * reused by eviction, so a probe may stop at the first free slot. The counting
 * itself is the rule given at limiter_new(). */
#include "limiter.h"
#include "err.h"
#include "xmalloc.h"

#include <assert.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define LIMITER_PROBE 16        /* slots a key may occupy from its hash position */
#define LIMITER_SEGMENTS_MAX 16 /* mutexes: concurrent callers on different keys */

struct limiter_slot {
	uint64_t hash;
	int64_t last_ms; /* now_ms of the latest call: the eviction order */
	_Alignas(8) unsigned char state[LIMITER_STATE_BYTES]; /* the rule's, zero when fresh */
	uint8_t key_len; /* 0: free */
	char key[LIMITER_KEY_MAX];
};

struct limiter_segment {
	pthread_mutex_t lock;
	struct limiter_slot *slots; /* seg_slots of them */
};

struct limiter {
	limiter_rule_fn rule;
	size_t seg_slots; /* per segment, a power of two >= LIMITER_PROBE */
	size_t nseg;      /* a power of two <= LIMITER_SEGMENTS_MAX */
	struct limiter_segment seg[];
};

/* FNV-1a, then a 64-bit finaliser so that both the segment (high bits) and the
 * slot (low bits) depend on every byte. Keys are maskd's own ids and key ids,
 * not attacker-chosen strings, so an unkeyed hash is enough. */
static uint64_t limiter_hash(const char *key, size_t len)
{
	uint64_t h = 1469598103934665603u;
	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)key[i];
		h *= 1099511628211u;
	}
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdu;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53u;
	h ^= h >> 33;
	return h;
}

struct limiter *limiter_new(size_t max_keys, limiter_rule_fn rule)
{
	assert(rule != NULL);
	if (max_keys < 1)
		max_keys = 1;
	if (max_keys > LIMITER_KEYS_MAX)
		max_keys = LIMITER_KEYS_MAX;
	size_t slots = LIMITER_PROBE;
	while (slots < 2 * max_keys)
		slots *= 2;
	size_t nseg = slots / LIMITER_PROBE;
	if (nseg > LIMITER_SEGMENTS_MAX)
		nseg = LIMITER_SEGMENTS_MAX;

	struct limiter *l = xcalloc(1, sizeof(*l) + nseg * sizeof(l->seg[0]));
	l->rule = rule;
	l->nseg = nseg;
	l->seg_slots = slots / nseg;
	for (size_t s = 0; s < nseg; s++) {
		if (pthread_mutex_init(&l->seg[s].lock, NULL) != 0)
			fatal("limiter: pthread_mutex_init failed");
		l->seg[s].slots = xcalloc(l->seg_slots, sizeof(struct limiter_slot));
	}
	return l;
}

void limiter_free(struct limiter *l)
{
	if (l == NULL)
		return;
	for (size_t s = 0; s < l->nseg; s++) {
		pthread_mutex_destroy(&l->seg[s].lock);
		free(l->seg[s].slots);
	}
	free(l);
}

/* The slot of key in seg: found, else the first free one, else the least
 * recently used one of the probe, reset for key. Called with seg->lock held. */
static struct limiter_slot *limiter_slot_for(const struct limiter *l, struct limiter_segment *seg, uint64_t h,
					      const char *key, size_t len)
{
	size_t mask = l->seg_slots - 1;
	struct limiter_slot *victim = NULL;
	for (size_t j = 0; j < LIMITER_PROBE; j++) {
		struct limiter_slot *s = &seg->slots[(h + j) & mask];
		if (s->key_len == 0) {
			victim = s; /* no key is stored beyond a free slot */
			break;
		}
		if (s->hash == h && s->key_len == len && memcmp(s->key, key, len) == 0)
			return s;
		if (victim == NULL || s->last_ms < victim->last_ms)
			victim = s;
	}
	assert(victim != NULL);
	memset(victim, 0, sizeof(*victim));
	victim->hash = h;
	victim->key_len = (uint8_t)len;
	memcpy(victim->key, key, len);
	return victim;
}

int limiter_allow(struct limiter *l, const char *key, int64_t now_ms, int64_t window_ms, uint32_t limit,
		  int64_t *retry_after_ms)
{
	assert(l != NULL);
	if (retry_after_ms != NULL)
		*retry_after_ms = 0;
	if (key == NULL || key[0] == '\0')
		return MASKD_EINVAL;
	size_t len = strnlen(key, LIMITER_KEY_MAX + 1);
	if (len > LIMITER_KEY_MAX)
		return MASKD_ETOOBIG;
	if (limit == 0)
		return 1;

	uint64_t h = limiter_hash(key, len);
	struct limiter_segment *seg = &l->seg[(h >> 32) & (l->nseg - 1)];
	pthread_mutex_lock(&seg->lock);
	struct limiter_slot *s = limiter_slot_for(l, seg, h, key, len);
	s->last_ms = now_ms;
	int rc = l->rule(s->state, now_ms, window_ms, limit, retry_after_ms);
	pthread_mutex_unlock(&seg->lock);
	return rc;
}
