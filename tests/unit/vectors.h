/* SPDX-License-Identifier: MIT */
/* vectors.h - what the unit tests share: loading the carriers' signature cases
 * (tests/data/signature_vectors.json), building form bodies the way a
 * carrier sends them, and a session create with default pool rules for the store
 * tests. Test-only; linked into every unit test. */
#ifndef MASKD_TEST_VECTORS_H
#define MASKD_TEST_VECTORS_H

#include <jansson.h>

#include "util/arena.h"

#ifndef MASKD_SOURCE_DIR
#error "MASKD_SOURCE_DIR must name the source tree (meson passes it)"
#endif
/* The unit tests' data files (tests/data/README.md says where each came from). */
#define VECTORS_DATA_DIR MASKD_SOURCE_DIR "/tests/data"

/* Fails the running test with the case id and the condition that did not hold. */
#define CHECK(id, cond)                                                                          \
	do {                                                                                     \
		if (!(cond))                                                                     \
			fail_msg("%s: %s", (id), #cond);                                         \
	} while (0)

/* The whole vector file (caller json_decref()s), or NULL after printing why. */
json_t *vectors_load(void);

/* Appends "key=value" to the arena string *acc, percent-encoded as browsers and the
 * carriers encode forms (space as '+'), with '&' before every pair but the first. */
void vectors_body_add(struct arena *a, char **acc, const char *key, const char *value);

struct store;
struct session;
/* sessions_create_bound() with the default rules of a new service (country
 * geo-match, not strict, prefer-sticky, no cap, no cool-off reuse); *failed gets
 * the outcome's failed_index. */
int vectors_session_create(struct store *st, struct session *s, int64_t now, int *failed);

#endif
