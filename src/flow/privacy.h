/* SPDX-License-Identifier: MIT */
/* privacy.h - data-subject erasure of one real number across every service:
 * close its open sessions (through the lifecycle, so in_use and events stay
 * right), retire its active profiles (their proxy numbers freed after the
 * service's cool-off, as a retire does), then erase its sealed number, blind
 * index and opt-outs everywhere, profiles' included, with the bindings
 * released at once (store_tx_subject_erase), and append the
 * audit entry of it: all of it in one store transaction, so that the erasure
 * and its entry commit together or not at all. Records keep their ids and
 * durations. The answer is the caller's. */
#ifndef MASKD_FLOW_PRIVACY_H
#define MASKD_FLOW_PRIVACY_H

#include <stdint.h>

struct store;
struct audit_entry;
struct subject_profile;

struct privacy_erase_result {
	int64_t sessions_closed;     /* open sessions of the number closed first */
	int64_t participants_erased; /* participant rows wiped */
	int64_t optouts_erased;      /* opt-out rows deleted */
	int64_t profiles_erased;     /* profiles whose sealed number and blind index were wiped */
	int64_t profiles_retired;    /* of them, the ones that were still active */
};

/* Erases e164 (already validated E.164) at now into *out, and appends *audit
 * (filled by the caller but for its detail, which is set here to the counts;
 * its seq and hashes are set when it is appended) in the same transaction.
 * Idempotent: a second call finds nothing, returns 0 with every count 0 and is
 * audited too. A negative maskd_err when the store failed: nothing was written
 * (no session closed, nothing erased, no entry), *out zeroed. */
int privacy_erase(struct store *st, const char *e164, int64_t now, struct audit_entry *audit,
		  struct privacy_erase_result *out);

/* The profiles of blind index bidx across every service (store_tx_subject_profiles,
 * in one read transaction) to cb, which must not call the store: 0 or a
 * negative maskd_err. */
int privacy_profiles(struct store *st, const char *bidx, void (*cb)(void *ctx, const struct subject_profile *sp),
		     void *ctx);

#endif
