/* SPDX-License-Identifier: MIT */
/* sessions.h - what session create needs above the store, shared by the API
 * (POST /v1/services/{id}/sessions, add participant, swap) and the webhook path
 * (an unknown-caller callback that answers with a session): participant
 * validation with libphonenumber (E.164, emergency refusal, geo), the service's
 * pool rules with the request's overrides, PIN drawing with retry on collision,
 * and the pool-use warning at 85%. */
#ifndef MASKD_SESSIONS_H
#define MASKD_SESSIONS_H

#include <stdint.h>

#include "core/model.h"
#include "store/store.h"

enum participant_problem { PARTICIPANT_OK = 0, PARTICIPANT_INVALID = 1, PARTICIPANT_EMERGENCY = 2 };

/* Fills p (fresh id, normalised E.164, masked form, country, area code, region,
 * label) from an app-supplied number. Returns PARTICIPANT_OK, or the problem
 * (nothing about the number is logged). */
int sessions_participant(const char *number, const char *label, struct participant *p);

/* The create rules of svc with overrides (-1 fields, or NULL for none, = the service's). */
void sessions_rules(const struct service *svc, const struct pool_rules *overrides, struct create_rules *out);

/* Creates s (ids and participants filled) for svc: draws a PIN when the service's
 * unknown-caller policy is pin and s->pin is "" (up to 8 draws on collision),
 * then store_session_create(). Logs a pool warning (and counts it) for each
 * participant left with 85% or more of the numbers it can get. Same returns as
 * store_session_create(). */
int sessions_create(struct store *st, const struct service *svc, struct session *s, int64_t now,
		    struct create_outcome *out);

/* The warning of sessions_create() for one participant, also used after an
 * added participant. */
void sessions_warn_headroom(const struct service *svc, const char *participant_id, int64_t held, int64_t free_left);

#endif
