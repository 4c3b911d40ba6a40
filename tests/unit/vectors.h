/* SPDX-License-Identifier: MIT */
/* vectors.h - what the signature unit tests share: loading the carriers' signature
 * cases (../shared/testdata/signature_vectors.json) and building form bodies the way
 * a carrier sends them. Test-only; linked into every unit test. */
#ifndef MASKD_TEST_VECTORS_H
#define MASKD_TEST_VECTORS_H

#include <jansson.h>

#include "util/arena.h"

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

#endif
