/* SPDX-License-Identifier: MIT */
/* profiles.h - profile create, change (label, device swap), retire and list,
 * one transaction each, over the store's profile primitives and the pick rules
 * of core/pick.h; and the read a session create does of the profiles it names.
 * The rules themselves are core/profile.h's. */
#ifndef MASKD_FLOW_PROFILES_H
#define MASKD_FLOW_PROFILES_H

#include <stdint.h>

#include "../core/model.h"
#include "../core/profile.h"
#include "../store/store.h"

/* Creates profile p of svc at now. The caller sets p->number (E.164, checked),
 * label, masked, country and the geo of the real number in geo (area code and
 * region, for the pick, never stored); p->proxy_e164 names the proxy number or
 * is "" to pick one by svc's geo rules among the active numbers with the
 * capabilities of svc's mode. The number becomes reserved: automatic picks skip
 * it, sessions naming the profile use it. Sets id fields and times. 0;
 * MASKD_ENOTFOUND (the named number is not in svc's pool, retired, or lacks the
 * capabilities); MASKD_ECONFLICT (it belongs to another profile);
 * MASKD_EEXHAUSTED (nothing to pick); or another negative maskd_err. Nothing is
 * written on failure, but for MASKD_EEXHAUSTED's pool.exhausted event, recorded
 * alone (events_pool_exhausted). */
int profiles_create(struct store *st, const struct service *svc, const struct participant *geo, struct profile *p,
		    int64_t now);

/* A change of a profile: each field set only when its has_ flag is. */
struct profile_change {
	int has_label, has_number, retire;
	char label[LABEL_MAX_LEN + 1];
	struct participant number; /* has_number: the new real number (sessions_participant()) */
};

/* Applies c to profile id of svc at now and reads the profile back into *out.
 * A device swap moves the open and cooling-off sessions made from the profile
 * to the new number in the same transaction; retiring sets free_at by svc's
 * cool-off (at once when it is 0). 0; MASKD_ENOTFOUND (no such profile in svc);
 * MASKD_ECONFLICT (the profile is retired, or the new number already holds one
 * of those sessions' proxy numbers); or another negative maskd_err. A refused
 * change writes nothing. */
int profiles_change(struct store *st, const struct service *svc, const char *id, const struct profile_change *c,
		    int64_t now, struct profile *out);
/* profiles_change(), then then(tx, ctx) in the same transaction once the change
 * is written, so that the caller's writes (its audit entry: audit_then) commit
 * with it or not at all: a refused change calls no then, and a negative return
 * of then rolls the change back and is returned. then may run more than once (a
 * retried transaction) and must not keep state across runs. */
int profiles_change_with(struct store *st, const struct service *svc, const char *id, const struct profile_change *c,
			 int64_t now, int (*then)(struct store_tx *tx, void *ctx), void *ctx, struct profile *out);

/* Profile id of service_id into *out (with_number: its real number too).
 * MASKD_ENOTFOUND when there is none in that service. */
int profiles_get(struct store *st, const char *service_id, const char *id, int with_number, struct profile *out);

/* Every profile of service_id to cb, oldest first, without real numbers. */
int profiles_list(struct store *st, const char *service_id, void (*cb)(void *, const struct profile *), void *ctx);

#endif
