/* SPDX-License-Identifier: MIT */
/* calls.c - click-to-call placement; see calls.h. The check is pure (reads only
 * its arguments); calls_place() does the reads and writes around it. */
#include "calls.h"
#include "events.h"
#include "webhook.h"
#include "../hooks/outcall.h"
#include "../out/sender.h"
#include "../store/store.h"
#include "../util/crypto.h"
#include "../util/err.h"
#include "../util/log.h"
#include "../util/xmalloc.h"

#include <openssl/crypto.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int refuse(struct calls_refusal *why, int status, const char *field, const char *message)
{
	why->status = status;
	why->field = field;
	why->message = message;
	return -1;
}

int calls_check(const struct session *s, const struct service *svc, const struct number *number,
		const char *from_participant, int *from_idx, enum dialect *carrier, struct calls_refusal *why)
{
	*from_idx = -1;
	for (int i = 0; i < s->n_participants; i++)
		if (strcmp(s->participants[i].id, from_participant) == 0)
			*from_idx = i;
	if (*from_idx < 0)
		return refuse(why, 400, "from_participant", "from_participant is not a participant of this session");
	if (s->status != SESSION_OPEN && s->status != SESSION_IN_PROGRESS)
		return refuse(why, 409, "session", "the session is not open");
	if (s->mode == MODE_MESSAGE)
		return refuse(why, 409, "mode", "the session does not allow voice");
	if (s->n_participants < 2)
		return refuse(why, 409, "participants", "the session has no second participant to bridge");
	if (!number->carrier_any) {
		*carrier = number->carrier;
		if (!outcall_supported(*carrier))
			return refuse(why, 409, "carrier", "click-to-call is not available for this carrier yet");
		if (svc->secrets[*carrier][0] == '\0')
			return refuse(why, 400, "carriers", "the service has no credentials for its number's carrier");
		return 0;
	}
	for (int d = 0; d < DIALECT_COUNT; d++)
		if (outcall_supported((enum dialect)d) && svc->secrets[d][0] != '\0') {
			*carrier = (enum dialect)d;
			return 0;
		}
	return refuse(why, 400, "carriers", "the service has no credentials of a carrier that places calls");
}

/* The interaction, its interaction.created event and the outbox message that
 * places its call, written in one transaction: a crash leaves all or none, so no
 * call rings without its interaction and no recorded call is lost. The body may
 * run again (store.h store_tx_run): it works on copies of *it and *out each time. */
struct place_tx {
	const struct interaction *it;
	const struct outgoing *out; /* its body stays the caller's */
	const struct store_event *ev;
};

static int place_body(struct store_tx *tx, void *ctx)
{
	const struct place_tx *p = ctx;
	struct interaction it = *p->it;
	int existed = 0;
	int rc = store_tx_interaction_record(tx, &it, &existed);
	if (rc < 0)
		return rc;
	if (existed)
		return MASKD_EDB; /* a fresh id's sid cannot exist: refuse rather than ring twice */
	struct outgoing o = *p->out;
	o.body = xmalloc(p->out->body_len + 1);
	memcpy(o.body, p->out->body, p->out->body_len);
	o.body[p->out->body_len] = '\0';
	rc = sender_tx_enqueue(tx, &o); /* frees o.body */
	if (rc < 0)
		return rc;
	/* after the call in the session's order: a slow events_url never holds the call */
	return store_tx_event_put(tx, p->ev);
}

/* A random UUID v4 (RFC 9562) in its 36-character text form, as @vonage/jwt's
 * jti: the Vonage request's JWT id. */
static void jwt_id_new(char out[37])
{
	uint8_t r[16];
	random_bytes(r, sizeof(r));
	r[6] = (uint8_t)((r[6] & 0x0f) | 0x40);
	r[8] = (uint8_t)((r[8] & 0x3f) | 0x80);
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", r[0], r[1], r[2],
		 r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11], r[12], r[13], r[14], r[15]);
}

/* carriers.<carrier>.<field> into why->field_buf, for the refusal of a missing
 * credential. */
static const char *cred_path(struct calls_refusal *why, enum dialect d, const char *field)
{
	snprintf(why->field_buf, sizeof(why->field_buf), "carriers.%s.%s", dialect_name(d), field);
	return why->field_buf;
}

int calls_place(struct store *st, struct sender *snd, const char *public_url, const char *const *api_base,
		const struct session *s, const struct service *svc, const char *from_participant, int ring_timeout,
		int64_t now, const char *int_id, struct calls_refusal *why)
{
	int idx = -1;
	enum dialect carrier = DIALECT_TWILIO;
	for (int i = 0; i < s->n_participants; i++)
		if (strcmp(s->participants[i].id, from_participant) == 0)
			idx = i;
	struct number num = {0};
	if (idx >= 0) {
		int rc = store_number_get(st, s->participants[idx].proxy_number_id, &num);
		if (rc < 0 && rc != MASKD_ENOTFOUND)
			return rc;
		if (rc == MASKD_ENOTFOUND)
			return refuse(why, 409, "from_participant", "the participant's proxy number is gone");
	}
	if (calls_check(s, svc, &num, from_participant, &idx, &carrier, why) < 0)
		return -1;
	const struct participant *from = &s->participants[idx], *to = &s->participants[idx == 0 ? 1 : 0];
	char real[PHONE_E164_MAX + 1];
	int rc = store_participant_number(st, from->id, real, sizeof(real));
	if (rc == MASKD_ENOTFOUND)
		return refuse(why, 409, "from_participant", "the participant's number was erased");
	if (rc < 0)
		return rc;
	char answer_url[OUTBOX_URL_MAX], status_url[OUTBOX_URL_MAX];
	snprintf(answer_url, sizeof(answer_url), "%s/hooks/%s/answer?interaction=%s", public_url, dialect_name(carrier),
		 int_id);
	/* Plivo, Vobiz and Vonage report an API-placed call as "outbound", as they do a
	 * bridged leg: leg=a names the first leg's hangup (event) callback (signed with
	 * the URL by Plivo and Vobiz; Vonage's JWT signs the body only, as for every
	 * interaction= it carries) */
	bool leg_a = carrier == DIALECT_PLIVO || carrier == DIALECT_VOBIZ || carrier == DIALECT_VONAGE;
	snprintf(status_url, sizeof(status_url), "%s/hooks/%s/status?interaction=%s%s", public_url,
		 dialect_name(carrier), int_id, leg_a ? "&leg=a" : "");
	char jti[37];
	jwt_id_new(jti);
	struct outcall c = {.to = real, .from = from->proxy_e164, .answer_url = answer_url, .status_url = status_url,
			    .ring_timeout = ring_timeout, .now = now, .jti = jti};
	struct outgoing out;
	memset(&out, 0, sizeof(out));
	const char *missing = "";
	rc = outcall_build(carrier, svc, api_base[carrier], &c, &out, &missing);
	explicit_bzero(real, sizeof(real));
	if (rc == MASKD_EINVAL)
		return refuse(why, 400, cred_path(why, carrier, missing), "the service's carrier credentials lack a field calls need");
	if (rc < 0) {
		free(out.body);
		return refuse(why, 409, "carrier", "the carrier request cannot be built");
	}
	if (snd == NULL) {
		OPENSSL_cleanse(out.body, out.body_len);
		free(out.body);
		return MASKD_EDB; /* no outbox: nothing is written */
	}
	struct interaction it = {.channel = CHANNEL_VOICE, .carrier = carrier, .decision = DECISION_BRIDGE,
				 .created_at = now};
	snprintf(it.id, sizeof(it.id), "%s", int_id);
	snprintf(it.session_id, sizeof(it.session_id), "%s", s->id);
	snprintf(it.service_id, sizeof(it.service_id), "%s", svc->id);
	snprintf(it.carrier_sid, sizeof(it.carrier_sid), INTERACTION_CALL_SID_PREFIX "%s", int_id);
	snprintf(it.from_participant, sizeof(it.from_participant), "%s", from->id);
	snprintf(it.to_participant, sizeof(it.to_participant), "%s", to->id);
	snprintf(out.interaction_id, sizeof(out.interaction_id), "%s", int_id);
	snprintf(out.dedup_key, sizeof(out.dedup_key), "call:%s", int_id);
	snprintf(out.order_key, sizeof(out.order_key), "%s", s->id);
	snprintf(out.service_id, sizeof(out.service_id), "%s", svc->id);
	out.places_call = 1;
	/* interaction.created: the number that rings the first participant */
	struct events_pending ev;
	events_prepare(&ev, svc->id, svc->events_url, svc->events_pull_off, s->id, EVENT_INTERACTION_CREATED,
		       events_interaction_data(&it, NULL, from->proxy_e164), now);
	events_proxy_callback(&ev, st, svc, &it, 0, NULL, NULL, now);
	struct place_tx p = {.it = &it, .out = &out, .ev = &ev.ev};
	rc = store_tx_run(st, place_body, &p);
	events_pending_free(&ev);
	OPENSSL_cleanse(out.body, out.body_len);
	free(out.body);
	if (rc < 0) {
		log_error("calls: session %s: interaction %s: recording the call and its outbox message failed: %s",
			  s->id, int_id, maskd_strerror(rc));
		return MASKD_EDB;
	}
	sender_poke(snd);
	log_info("calls: session %s: interaction %s: %s rings %s from %s, then bridges %s", s->id, int_id,
		 dialect_name(carrier), from->id, from->proxy_number_id, to->id);
	return 0;
}
