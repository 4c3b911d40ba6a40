/* SPDX-License-Identifier: MIT */
/* audit.h - appending to and verifying the audit log: chains an entry onto the
 * last one (core/audit.h) inside a store transaction, so that an entry is
 * committed with the action it records, or on its own. Callers fill who, what
 * and why; never a real number. */
#ifndef MASKD_FLOW_AUDIT_H
#define MASKD_FLOW_AUDIT_H

#include "../core/audit.h"

struct store;
struct store_tx;

/* Inside a store_tx_run() body: locks the log's tail, sets e->seq, e->prev_hash
 * and e->hash, and inserts e. 0 or the store's negative maskd_err (the body
 * should then fail so that the action is rolled back with it). */
int audit_append_tx(struct store_tx *tx, struct audit_entry *e);

/* audit_append_tx(tx, entry) in the shape of a store_tx_run() body, for the
 * flow functions that take the writes to commit with their change (a `then`
 * callback: lifecycle_change_with(), sessions_participant_swap_with()). entry is
 * a struct audit_entry *. */
int audit_then(struct store_tx *tx, void *entry);

/* audit_append_tx() in a transaction of its own: 0 once e is committed. */
int audit_append(struct store *st, struct audit_entry *e);

/* Checks the whole chain in seq order, AUDIT_VERIFY_PAGE entries per read, into
 * *v (audit_verify_init'ed here): 0 with v->broken_seq 0 when whole, 0 with
 * v->broken_seq and v->why set at the first broken link, or a negative
 * maskd_err when the store failed. */
#define AUDIT_VERIFY_PAGE 500
int audit_verify_store(struct store *st, struct audit_verifier *v);

#endif
