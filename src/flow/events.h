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
#include "../store/store_outbox.h"

/* Records event t of session_id's service with data (an object; the reference is
 * taken in every case) at now (unix seconds), inside tx. Returns 0, or the
 * store's error (the body must then fail, and nothing is recorded). */
int events_record(struct store_tx *tx, const char *session_id, enum event_type t, json_t *data, int64_t now);

/* An event prepared for a store write that takes one (store_interaction_record_ev,
 * store_leg_update_ev, store_optout_set_ev): ev points into this struct, so it
 * must not move between events_prepare() and events_pending_free(). Used where
 * the caller knows the service and its events_url already (the webhook path),
 * which saves events_record()'s lookup. */
struct events_pending {
	struct store_event ev;
	struct outbox_item delivery;
	char id[ID_MAX];
	char *body;    /* malloc'd document */
	char *payload; /* malloc'd outbox payload, NULL when there is no delivery */
	struct outbox_item proxy_delivery;
	char *proxy_payload; /* malloc'd, NULL when there is no Proxy CallbackUrl message */
};

/* Fills p with event t of service_id at now (unix seconds) with data (an object;
 * the reference is taken): its row for the pull API unless pull_off (the
 * service's events_pull_off) and, when events_url is not "", its delivery, ordered
 * after the earlier messages of order_key ("" = none). Aborts on out of memory
 * only; free with events_pending_free(). */
void events_prepare(struct events_pending *p, const char *service_id, const char *events_url, int pull_off,
		    const char *order_key, enum event_type t, json_t *data, int64_t now);
void events_pending_free(struct events_pending *p);

/* After events_prepare() of an interaction or leg event of it: when svc is a
 * Proxy API service with a CallbackUrl (its "proxy.service.<id>" setting) and a
 * Twilio auth token, p also carries the outbox message of Proxy's interaction
 * callback to that URL, so it commits with the event. Form-encoded with Proxy's
 * parameter names (SIDs, types and statuses only: no number, no text), signed
 * with X-Twilio-Signature by the auth token; leg `leg` ('a', 'b', or 0 for none)
 * is reported at status with carrier sid leg_sid (NULL, or the writers'
 * placeholders "rest", "none", "unknown": the recorded one). Ordered with the session's event deliveries. Nothing
 * is added for another service, or when the setting cannot be read (logged). */
void events_proxy_callback(struct events_pending *p, struct store *st, const struct service *svc,
			   const struct interaction *it, char leg, const char *status, const char *leg_sid, int64_t now);

/* Records u on leg `leg` of interaction_id (store_leg_update_ev) with its
 * leg.updated event, or leg.completed on a final status (leg_status_final), in
 * the same transaction, for a writer that knows only the interaction's id (the
 * REST sender's outcome of a text or a click-to-call, a send refused before it
 * was queued). Reads the interaction and its service first (the event's
 * session, channel and events_url). 0, or the store's error (nothing written). */
int events_leg_record(struct store *st, const char *interaction_id, char leg, const char *carrier_sid,
		      const struct leg_update *u, int64_t now);

/* The data of an interaction.created event: the interaction's ids, channel,
 * decision, the refusal reason (route_reason_name, null when bridged or
 * forwarded) and the proxy number it reached. New reference. */
json_t *events_interaction_data(const struct interaction *it, const char *reason, const char *proxy_number);

/* What a create (session, participant, profile) was, for a pool event's
 * "request" field. */
enum pool_request { POOL_REQUEST_SESSION, POOL_REQUEST_PARTICIPANT, POOL_REQUEST_PROFILE };

/* The pool.low check at the end of a create's transaction tx, after its numbers
 * are counted: counts service_id's free numbers with capabilities need (active,
 * fewer open sessions than cap; cap 0 = no cap), up to threshold + 1. At or
 * below threshold the service's alert for need is marked, and the transaction
 * that marks it (the crossing) records pool.low for session_id's create; above,
 * the mark is cleared (no event), so the next crossing is told again. threshold
 * 0 does nothing. bidx: the create's first participant (the count's filter
 * wants one; it does not narrow the count). 0, or the store's error (the body
 * must then fail). */
int events_pool_low(struct store_tx *tx, const char *service_id, unsigned need, int64_t cap, int threshold,
		    const char *bidx, const char *session_id, enum pool_request request, int64_t now);

/* Records pool.exhausted for a create of service_id refused because no number
 * with capabilities need fitted participant index (-1 for a profile) whose
 * masked number is masked, at geo level (GEO_ANY or -1 when not narrowed): in a
 * transaction of its own, since the refused create writes nothing. Kept for the
 * pull API unless pull_off, delivered to events_url when not "" (neither:
 * nothing is written). 0 once committed, or the store's error (logged; the
 * caller answers the refusal either way). */
int events_pool_exhausted(struct store *st, const char *service_id, const char *events_url, int pull_off, unsigned need,
			  enum pool_request request, int participant, const char *masked, int level, int64_t now);

/* The data of a leg.updated / leg.completed event: interaction and session ids,
 * the leg ("a" inbound, "b" outbound), status, billable_seconds (null when not
 * reported), cost and currency (null when not reported). New reference. */
json_t *events_leg_data(const struct interaction *it, char leg, const char *status, int64_t billable_seconds,
			const char *cost, const char *currency);

/* The data of a session.created event: the session's ids, settings and its
 * participants (id, label, masked number, proxy number). New reference. */
json_t *events_session_data(const struct session *s);

/* The data of a session's other events: {"session_id"} plus, when not NULL,
 * "participant_id", "proxy_number" and "reason". New reference. */
json_t *events_session_change(const char *session_id, const char *participant_id, const char *proxy_number,
			      const char *reason);

#endif
