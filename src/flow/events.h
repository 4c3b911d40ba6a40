/* SPDX-License-Identifier: MIT */
/* events.h - a service's events recorded inside the store transaction that causes
 * them (docs/EVENTS.md): one row of the service's events (the pull API, GET
 * /v1/services/{id}/events) and, when the service has an events_url, one outbox
 * message to it in the same transaction, so an acknowledged change has its event
 * durable, and a rolled-back one has none. Messages of one session go out in
 * order (the session id is the outbox order key); out/sender.c signs and sends
 * them. Documents carry ids, proxy numbers and masked numbers, never a real one. */
#ifndef MASKD_FLOW_EVENTS_H
#define MASKD_FLOW_EVENTS_H

#include <jansson.h>
#include <stdint.h>

#include "../core/model.h"
#include "../out/events.h"
#include "../store/store.h"

/* Records event t of session_id's service with data (an object; the reference is
 * taken in every case) at now (unix seconds), inside tx. Returns 0, or the
 * store's error (the body must then fail, and nothing is recorded). */
int events_record(struct store_tx *tx, const char *session_id, enum event_type t, json_t *data, int64_t now);

/* The data of a session.created event: the session's ids, settings and its
 * participants (id, label, masked number, proxy number). New reference. */
json_t *events_session_data(const struct session *s);

/* The data of a session's other events: {"session_id"} plus, when not NULL,
 * "participant_id", "proxy_number" and "reason". New reference. */
json_t *events_session_change(const char *session_id, const char *participant_id, const char *proxy_number,
			      const char *reason);

#endif
