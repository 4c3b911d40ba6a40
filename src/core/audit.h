/* SPDX-License-Identifier: MIT */
/* audit.h - the audit log's entries and their hash chain: each entry carries the
 * SHA-256 of the one before it, and its own hash covers that link and every
 * field, so an edited, dropped or re-ordered entry breaks the chain at the first
 * changed one. Pure: no I/O, the store keeps the entries and flow/audit.c appends
 * them. An entry never holds a real number (callers pass ids and masked numbers). */
#ifndef MASKD_AUDIT_H
#define MASKD_AUDIT_H

#include <stdbool.h>
#include <stdint.h>

#include "../util/ids.h"

#define AUDIT_HASH_HEX 65 /* SHA-256 hex and NUL */
#define AUDIT_FIELD_MAX 64
#define AUDIT_TEXT_MAX 256
/* The prev_hash of the first entry. */
#define AUDIT_GENESIS "0000000000000000000000000000000000000000000000000000000000000000"

struct audit_entry {
	int64_t seq; /* 1, 2, 3... with no gap */
	int64_t created_at; /* unix seconds */
	char key_id[ID_MAX];
	char key_label[AUDIT_FIELD_MAX + 1];
	char request_id[AUDIT_FIELD_MAX + 1];
	char source[AUDIT_FIELD_MAX + 1];  /* the client's address */
	char action[AUDIT_FIELD_MAX + 1];  /* "key.created", "participant.revealed", ... */
	char target[AUDIT_FIELD_MAX + 1];  /* the id acted on ("" = none) */
	char reason[AUDIT_TEXT_MAX + 1];   /* as given by the caller ("" = none) */
	char detail[AUDIT_TEXT_MAX + 1];   /* ids, roles, masked numbers; never a real number */
	char prev_hash[AUDIT_HASH_HEX];
	char hash[AUDIT_HASH_HEX];
};

/* Writes into e->hash the chain hash of e: SHA-256 over a version tag, e->prev_hash
 * and every other field, each length-prefixed (so no two entries share an
 * encoding). e->hash is not read. */
void audit_hash(struct audit_entry *e);

/* Walks a chain in seq order. Start with audit_verify_init(); feed every entry
 * to audit_verify_next() in order; the first one that does not follow (seq not
 * the next one, prev_hash not the hash before, or its own hash not what its fields
 * give) returns false and leaves its seq in v->broken_seq and why in v->why. */
struct audit_verifier {
	int64_t last_seq;
	char last_hash[AUDIT_HASH_HEX];
	int64_t checked;
	int64_t broken_seq; /* 0 = none found */
	const char *why;    /* static; NULL while unbroken */
};
void audit_verify_init(struct audit_verifier *v);
bool audit_verify_next(struct audit_verifier *v, const struct audit_entry *e);

#endif
