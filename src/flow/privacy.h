/* SPDX-License-Identifier: MIT */
/* privacy.h - data-subject erasure of one real number across every service:
 * close its open sessions (through the lifecycle, so in_use and events stay
 * right), then erase its sealed number, blind index and opt-outs everywhere
 * with the bindings released at once (store_subject_erase). Records keep their
 * ids and durations. Auditing and the answer are the caller's. */
#ifndef MASKD_FLOW_PRIVACY_H
#define MASKD_FLOW_PRIVACY_H

#include <stdint.h>

struct store;

struct privacy_erase_result {
	int64_t sessions_closed;     /* open sessions of the number closed first */
	int64_t participants_erased; /* participant rows wiped */
	int64_t optouts_erased;      /* opt-out rows deleted */
};

/* Erases e164 (already validated E.164) at now into *out. Idempotent: a second
 * call finds nothing and returns 0 with every count 0. A negative maskd_err when
 * the store failed; the sessions closed before the failure stay closed, and
 * calling again finishes the erasure. */
int privacy_erase(struct store *st, const char *e164, int64_t now, struct privacy_erase_result *out);

#endif
