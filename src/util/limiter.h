/* SPDX-License-Identifier: MIT */
/* limiter.h - a thread-safe table of small per-key counter states keyed by short
 * strings (per-binding call and text limits "<participant id>/v", API rate limits
 * "api/<key id>"). It holds the states and their locks only: the counting rule is
 * a function given at limiter_new() (maskd gives core/ratelimit.h's rate_allow,
 * wired in app.c), so util/ knows no policy. Fixed size; no allocation, I/O or
 * clock read per call. It forgets keys under pressure and never persists anything. */
#ifndef MASKD_LIMITER_H
#define MASKD_LIMITER_H

#include <stddef.h>
#include <stdint.h>

#define LIMITER_KEY_MAX 64 /* bytes of a key, without the NUL; longer keys are refused */
#define LIMITER_KEYS_MAX (1u << 24) /* max_keys above this is clamped to it */
#define LIMITER_STATE_BYTES 16 /* a rule's per-key state, 8-byte aligned */

struct limiter;

/* The counting rule: decides one event at now_ms on one key's state (all zero on
 * the key's first call and after its eviction) and updates it. Returns 1 when
 * allowed and counted, 0 when refused with *retry_after_ms >= 1 (retry_after_ms
 * may be NULL). Called with the key's segment lock held: it must not call back
 * into the limiter. limit is never 0 here (limiter_allow answers that itself). */
typedef int (*limiter_rule_fn)(void *state, int64_t now_ms, int64_t window_ms, uint32_t limit,
			       int64_t *retry_after_ms);

/* A table for max_keys keys (clamped to 1..LIMITER_KEYS_MAX) counted by rule
 * (not NULL, asserted), all of it
 * allocated now: slots = max(16, 2 * max_keys rounded up to a power of two),
 * ~104 bytes each (65536 keys: 13.6 MB, pages touched as keys arrive), split
 * into up to 16 segments with a mutex each. Aborts (fatal) when out of memory;
 * never NULL. Free with limiter_free().
 * The bound: a key lives in one of the 16 consecutive slots from its hash
 * position within its segment. A new key takes the first free slot there or,
 * when all 16 are taken, evicts the one whose last call is oldest; an evicted
 * key's next call starts from a fresh window, so eviction under-enforces a limit
 * (fails open), never over-enforces it. An entry idle for two of its windows
 * loses nothing when evicted. At max_keys live keys the table is at most half
 * full, so a recently used key is evicted only when 16 others share its slots. */
struct limiter *limiter_new(size_t max_keys, limiter_rule_fn rule);

/* NULL is a no-op. No call may be running on l. */
void limiter_free(struct limiter *l);

/* The rule of limiter_new() on the state of key, created fresh on the key's first
 * call: 1 = allowed and counted, 0 = refused with *retry_after_ms (>= 1 ms) until
 * one event fits again (retry_after_ms may be NULL; it is 0 when allowed).
 * limit 0 = unlimited: 1, without touching the table. window_ms is the rule's to
 * check (rate_allow asserts 1..RATE_WINDOW_MAX_MS); one key should always be
 * asked with the same window and limit. key: 1..LIMITER_KEY_MAX bytes, compared as bytes; NULL, ""
 * or a longer key is refused with MASKD_EINVAL / MASKD_ETOOBIG and nothing is
 * counted, so a caller testing the result for nonzero fails open on such a
 * (programming) error. Thread-safe: one segment mutex held for a table probe of
 * at most 16 slots; keys in other segments proceed in parallel. */
int limiter_allow(struct limiter *l, const char *key, int64_t now_ms, int64_t window_ms, uint32_t limit,
		  int64_t *retry_after_ms);

#endif
