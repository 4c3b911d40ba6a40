/* SPDX-License-Identifier: MIT */
/* session.h - session lifecycle rules: when a session is due to close, whether it
 * is live at a given instant, which status changes close / block / re-open may
 * make, how long a closed session's bindings cool off, and the retention cut-off.
 * Pure: no I/O, time is passed in; src/flow/lifecycle.c executes these rules. */
#ifndef MASKD_SESSION_H
#define MASKD_SESSION_H

#include <stdbool.h>
#include <stdint.h>

#include "model.h" /* enum session_status */

/* The instant the session must close: the earlier of expires_at (0 = none) and
 * last_activity + ttl (ttl 0 = no idle timeout). 0 when neither applies. */
int64_t session_deadline(int64_t expires_at, int64_t ttl, int64_t last_activity);

/* Open or in-progress, and not past its deadline at now (the sweeper may lag). */
bool session_live(enum session_status status, int64_t expires_at, int64_t ttl, int64_t last_activity, int64_t now);

/* Due for expiry at now: open or in progress, with a deadline (absolute
 * expires_at or idle ttl) that is not after now. */
bool session_due(enum session_status status, int64_t expires_at, int64_t ttl, int64_t last_activity, int64_t now);

/* What closing or blocking does to a session whose status is `from`. */
enum session_close_step {
	SESSION_CLOSE_NONE,    /* nothing: closed already, or blocked already */
	SESSION_CLOSE_BINDINGS, /* open -> closed/blocked: the bindings cool off, in_use drops */
	SESSION_CLOSE_REBLOCK  /* closed (or failed) -> blocked: the status only, bindings as they were */
};
/* The step that takes a session at status `from` to `to` (SESSION_CLOSED or
 * SESSION_BLOCKED) into *step. MASKD_EINVAL for any other `to`. */
int session_close_step(int from, int to, enum session_close_step *step);

/* The event kind a status change records: "closed", "blocked" or (to open)
 * "reopened". NULL for a status no change goes to. */
const char *session_event_kind(enum session_status to);

/* The cool-off of a binding whose session closed at closed_at in a service with
 * cooloff seconds: held until closed_at + cooloff. A binding cools off only when
 * cooloff > 0 (session_binding_cools); with 0 it is released at once and
 * held_until (= closed_at) only records when. */
int64_t session_held_until(int64_t closed_at, int64_t cooloff);
bool session_binding_cools(int64_t cooloff);

/* What a re-open knows about the session before it writes anything. */
struct session_reopen_facts {
	int status;         /* the session's status now */
	int64_t expires_at; /* the expires_at the re-open would set (the given one or the current) */
	bool purged;        /* a participant's real number was purged after retention */
	bool name_taken;    /* another open session of the service has its unique_name */
	bool pin_taken;     /* another open session of the service has its PIN */
};
/* Why a re-open is refused. */
enum session_refusal {
	SESSION_REFUSE_NONE,
	SESSION_REFUSE_PURGED,  /* MASKD_ECONFLICT: no real number left to route to */
	SESSION_REFUSE_EXPIRED, /* MASKD_EINVAL: expires_at is not after now */
	SESSION_REFUSE_NAME,    /* MASKD_ECONFLICT: unique_name taken */
	SESSION_REFUSE_PIN      /* MASKD_ECONFLICT: PIN taken */
};
/* The re-open verdict at now, refusals checked in the order of enum
 * session_refusal (*why tells which; SESSION_REFUSE_NONE otherwise). Returns 1
 * when the session is open already (no change), 0 when it may be re-opened (the
 * caller then checks each binding: session_reopen_binding), else the refusal's
 * negative maskd_err. */
int session_reopen_verdict(const struct session_reopen_facts *f, int64_t now, enum session_refusal *why);

/* What a re-open does with one participant's binding. */
enum session_rebind {
	SESSION_REBIND_KEEP, /* still cooling off: kept (held_until cleared) */
	SESSION_REBIND_TAKE  /* released: taken again, refused when someone else holds it
				or the number left the pool or was retired */
};
enum session_rebind session_reopen_binding(bool holds_binding);

/* The retention cut-off at now: sessions closed before it have their real numbers
 * purged. 0 when retention_s <= 0 (never purge). */
int64_t session_retention_cutoff(int64_t now, int64_t retention_s);

struct call_policy;
/* The policy a bridge follows: each session override (>= 0, or a non-empty
 * message) wins over the service default. */
void session_policy_effective(const struct call_policy *service, const struct call_policy *session,
			      struct call_policy *out);

#endif
