/* SPDX-License-Identifier: MIT */
/* session.h - session lifecycle rules: when a session is due to close, and whether
 * it is live at a given instant. Pure: time is passed in. */
#ifndef MASKD_SESSION_H
#define MASKD_SESSION_H

#include <stdbool.h>
#include <stdint.h>

/* The instant the session must close: the earlier of expires_at (0 = none) and
 * last_activity + ttl (ttl 0 = no idle timeout). 0 when neither applies. */
int64_t session_deadline(int64_t expires_at, int64_t ttl, int64_t last_activity);

/* Open or in-progress, and not past its deadline at now (the sweeper may lag). */
bool session_live(int status, int64_t expires_at, int64_t ttl, int64_t last_activity, int64_t now);

struct call_policy;
/* The policy a bridge follows: each session override (>= 0, or a non-empty
 * message) wins over the service default. */
void session_policy_effective(const struct call_policy *service, const struct call_policy *session,
			      struct call_policy *out);

#endif
