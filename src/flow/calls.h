/* SPDX-License-Identifier: MIT */
/* calls.h - click-to-call (POST /v1/sessions/{id}/calls): checks a request against
 * the session and the service, records the call's interaction, and queues the
 * carrier REST request that rings the first participant (hooks/outcall.h) in the
 * durable outbox, once: the outbox message is keyed by the interaction, and a call
 * request is never tried again once the carrier may have taken it (out/sender.h).
 * The second leg is bridged when the carrier fetches the answer URL
 * (flow/webhook.h webhook_answer); the legs' outcomes come back as status
 * callbacks. Never logs a real number. */
#ifndef MASKD_FLOW_CALLS_H
#define MASKD_FLOW_CALLS_H

#include <stdint.h>

#include "../core/model.h"

struct store;
struct sender;

#define CALLS_RING_DEFAULT 30 /* seconds, when the request names none */
#define CALLS_RING_MIN 5
#define CALLS_RING_MAX 600 /* the longest Twilio and SignalWire ring */

/* A refused request: the HTTP status (400, 409), the field it names and a static
 * message. */
struct calls_refusal {
	int status;
	const char *field;   /* static, or field_buf */
	const char *message; /* static */
	char field_buf[64];  /* carriers.<carrier>.<credential> */
};

/* Why s and svc cannot take a call from participant from_participant (pure):
 * 0, or -1 with *why set. *carrier: the dialect that places it (the caller's proxy
 * number's carrier, or, for a number of any carrier, the first configured one maskd
 * can place calls with); *from_idx: the caller's index in s. number is the caller's
 * proxy number row. */
int calls_check(const struct session *s, const struct service *svc, const struct number *number,
		const char *from_participant, int *from_idx, enum dialect *carrier, struct calls_refusal *why);

/* Places the call: records interaction int_id (voice, decision bridge, from the
 * caller to the other participant, carrier_sid INTERACTION_CALL_SID_PREFIX + int_id)
 * and queues the carrier request, both in one store transaction (a crash leaves
 * both or neither). Returns 0 once they are committed; -1 with *why for a refusal
 * (calls_check, or a credential the carrier request needs: 400 naming
 * carriers.<carrier>.<field>), nothing written; or MASKD_EDB (the store failed,
 * or snd is NULL): nothing written, nothing called. */
int calls_place(struct store *st, struct sender *snd, const char *public_url, const char *const *api_base,
		const struct session *s, const struct service *svc, const char *from_participant, int ring_timeout,
		int64_t now, const char *int_id, struct calls_refusal *why);

#endif
