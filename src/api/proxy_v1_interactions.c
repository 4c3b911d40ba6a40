/* SPDX-License-Identifier: MIT */
/* proxy_v1_interactions.c - Twilio Proxy v1 participants, interactions and
 * MessageInteractions (a text sent through the outbox) (proxy_v1_internal.h),
 * mapped onto the native store and flows. */
#include "proxy_v1_internal.h"
#include "proxy_v1.h"
#include "api_internal.h"
#include "proxy_wire.h"
#include "../flow/audit.h"
#include "../flow/events.h"
#include "../flow/lifecycle.h"
#include "../flow/sessions.h"
#include "../out/sender.h"
#include "../store/store.h"
#include "../util/buf.h"
#include "../util/crypto.h"
#include "../util/err.h"
#include "../util/form.h"
#include "../util/hex.h"
#include "../util/ids.h"
#include "../util/log.h"
#include "../util/metrics.h"
#include "../util/phone.h"
#include "../util/timeutil.h"
#include "../util/xmalloc.h"
#include "../vault/vault.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ------------------------------------------------------------ participants */

json_t *pv_participant_json(struct preq *p, const struct session *s, const struct participant *pt)
{
	const char *sid = pv_sid_of(p, pt->id), *ssid = pv_sid_of(p, s->service_id), *kc = pv_sid_of(p, s->id);
	const char *url = arena_printf(p->http->arena, "%s/Services/%s/Sessions/%s/Participants/%s", p->base, ssid, kc, sid);
	json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "sid", sid, "session_sid", kc, "service_sid", ssid,
			      "account_sid", p->account_sid, "friendly_name", pt->label, "identifier", pt->masked,
			      "proxy_identifier", pt->proxy_e164);
	json_object_set_new(o, "proxy_identifier_sid", pv_sid_json(pt->proxy_number_id));
	json_object_set_new(o, "date_deleted", json_null());
	json_object_set_new(o, "date_created", pv_time_or_null(s->created_at));
	json_object_set_new(o, "date_updated", pv_time_or_null(s->updated_at ? s->updated_at : s->created_at));
	json_object_set_new(o, "url", json_string(url));
	json_object_set_new(o, "links", json_pack("{s:s}", "message_interactions",
						  arena_printf(p->http->arena, "%s/MessageInteractions", url)));
	return o;
}

void pv_participant_create(struct preq *p, const struct service *svc, struct session *s, bool pending)
{
	struct proxy_participant_in in;
	memset(&in, 0, sizeof(in));
	const char *ident = pv_param(p, "Identifier");
	if (ident == NULL || ident[0] == '\0') {
		pv_perr_missing(p, "Identifier");
		return;
	}
	if (strlen(ident) > PROXY_IDENTIFIER_MAX) {
		pv_perr(p, 400, 80404, "Participant Identifier is not a valid phone number");
		return;
	}
	snprintf(in.identifier, sizeof(in.identifier), "%s", ident);
	const char *fn = pv_param(p, "FriendlyName"), *pi = pv_param(p, "ProxyIdentifier"), *pis = pv_param(p, "ProxyIdentifierSid");
	if ((fn != NULL && strlen(fn) > LABEL_MAX_LEN) || (pi != NULL && strlen(pi) > PROXY_IDENTIFIER_MAX) ||
	    (pis != NULL && strlen(pis) > PROXY_SID_LEN)) {
		pv_perr(p, 400, 20001, "Invalid parameter: FriendlyName at most %d characters, ProxyIdentifier a phone number",
		     LABEL_MAX_LEN);
		return;
	}
	snprintf(in.friendly_name, sizeof(in.friendly_name), "%s", fn ? fn : "");
	snprintf(in.proxy_identifier, sizeof(in.proxy_identifier), "%s", pi ? pi : "");
	snprintf(in.proxy_identifier_sid, sizeof(in.proxy_identifier_sid), "%s", pis ? pis : "");
	if (s->n_participants >= SESSION_PARTICIPANTS) {
		pv_perr(p, 400, 80609, "A Session has at most two Participants");
		return;
	}
	if (!pending && s->n_participants == 0) {
		/* emptied by removing its only participant: the removed one still
		 * counts, as Proxy's soft delete keeps it associated */
		pv_perr(p, 400, 80609, "The Session's Participants were removed; it takes no new one: create a new Session");
		return;
	}
	struct participant pt;
	if (!pv_participant_from_proxy(p, svc, &in, &pt))
		return;
	int64_t now = now_unix();
	struct create_outcome o;
	memset(&o, 0, sizeof(o));
	int rc;
	if (pending) {
		s->participants[0] = pt;
		s->n_participants = 1;
		s->policy = (struct call_policy){.record = -1, .time_limit = -1, .ring_timeout = -1};
		s->pool = POOL_RULES_INHERIT;
		rc = sessions_create(p->app->store, svc, s, now, &o);
		if (rc == MASKD_EEXISTS) {
			pv_perr(p, 400, 80603, "A Session with this UniqueName is already open in this Service");
			return;
		}
		if (rc == 0) {
			metrics_inc(MC_SESSIONS_CREATED);
			/* the native row now says what the pending one did; pv_session_load
			 * reads the native row first, so a row left by a failure here is
			 * never read again, only logged */
			int drc = store_proxy_session_delete(p->app->store, s->id);
			if (drc < 0 && drc != MASKD_ENOTFOUND)
				log_error("proxy: session %s: pending row not removed: %s", s->id, maskd_strerror(drc));
		}
	} else {
		struct create_rules rules;
		sessions_rules(svc, NULL, &rules);
		rc = sessions_participant_add(p->app->store, s->id, &pt, &rules, now, &o);
		if (rc == MASKD_ENOTFOUND && o.failed_index < 0)
			rc = MASKD_ECONFLICT; /* the session went away: it takes no participant */
		if (rc == MASKD_ECONFLICT && o.failed_index == 0)
			o.failed_index = 1;
		if (rc == 0)
			sessions_warn_headroom(svc, pt.id, o.held[1], o.free_left[1]);
	}
	explicit_bzero(pt.number, sizeof(pt.number));
	if (rc < 0) {
		pv_create_refused(p, rc, &o);
		return;
	}
	struct session back;
	rc = store_session_get(p->app->store, s->id, &back);
	if (rc < 0) {
		pv_perr_store(p, "session_get", rc);
		return;
	}
	for (int i = 0; i < back.n_participants; i++)
		if (strcmp(back.participants[i].id, pt.id) == 0) {
			log_info("proxy: session %s: participant %s added via %s", back.id, pt.id,
				 back.participants[i].proxy_number_id);
			api_reply(p->res, 201, pv_participant_json(p, &back, &back.participants[i]));
			return;
		}
	pv_perr_store(p, "participant_get", MASKD_EDB);
}

void pv_participant_delete(struct preq *p, const struct session *s, int idx)
{
	assert(idx >= 0 && idx < s->n_participants);
	const struct participant *pt = &s->participants[idx];
	int64_t now = now_unix();
	struct audit_entry audit;
	pv_audit(p, s->id, pt->id, "participant.removed", &audit);
	int rc = sessions_participant_remove_with(p->app->store, s->id, pt->id, now, audit_then, &audit);
	if (rc == MASKD_ENOTFOUND) {
		pv_perr_not_found(p); /* removed by a concurrent request */
		return;
	}
	if (rc == MASKD_ECONFLICT) {
		pv_perr(p, 400, 80608, "The Session is not open; its Participants cannot be removed");
		return;
	}
	if (rc < 0) {
		pv_perr_store(p, "participant_delete", rc);
		return;
	}
	json_t *o = pv_participant_json(p, s, pt);
	json_object_set_new(o, "date_deleted", pv_time_or_null(now));
	json_object_set_new(o, "date_updated", pv_time_or_null(now));
	api_reply(p->res, 200, o);
}

int pv_participant_index(struct preq *p, const struct session *s, const char *seg)
{
	char id[ID_MAX];
	if (proxy_id_from_sid(seg, "KP", id) == 0)
		for (int i = 0; i < s->n_participants; i++)
			if (strcmp(s->participants[i].id, id) == 0)
				return i;
	pv_perr_not_found(p);
	return -1;
}

void pv_participant_list(struct preq *p, const struct session *s)
{
	struct page pg;
	if (!pv_page_parse(p, "KP", &pg))
		return;
	json_t *arr = json_array();
	for (int i = 0; i < s->n_participants; i++)
		json_array_append_new(arr, pv_participant_json(p, s, &s->participants[i]));
	pv_page_reply(p, arr, &pg, "participants",
		   arena_printf(p->http->arena, "/Services/%s/Sessions/%s/Participants", p->seg[1], p->seg[3]));
}

/* ------------------------------------------------------------ interactions */

static const char *interaction_status(const struct interaction *it)
{
	bool open = false;
	for (int i = 0; i < it->n_legs; i++) {
		if (strcmp(it->legs[i].status, "failed") == 0 || strcmp(it->legs[i].status, "undelivered") == 0)
			return "failed";
		if (it->legs[i].ended_at == 0)
			open = true;
	}
	if (it->decision != DECISION_BRIDGE && it->decision != DECISION_FORWARD_MESSAGE)
		return "failed";
	return open ? "in-progress" : "completed";
}

/* A MessageInteraction: an outbound text only, recorded with the participant on
 * both ends (a leg belongs to a participant) and a carrier_sid of ours. */
static bool is_message_interaction(const struct interaction *it)
{
	return strncmp(it->carrier_sid, PROXY_MESSAGE_SID_PREFIX, strlen(PROXY_MESSAGE_SID_PREFIX)) == 0;
}

/* A leg's carrier id as a Proxy resource SID: Twilio's own (two capitals and 32
 * hex digits: CA, SM, MM), or null for anything else (a carrier that named no
 * message, a leg of maskd's own). */
static json_t *resource_sid_json(const struct leg *l)
{
	const char *c = l != NULL ? l->carrier_sid : "";
	if (strlen(c) != PROXY_SID_LEN || c[0] < 'A' || c[0] > 'Z' || c[1] < 'A' || c[1] > 'Z')
		return json_null();
	for (const char *x = c + 2; *x; x++)
		if (!((*x >= '0' && *x <= '9') || (*x >= 'a' && *x <= 'f') || (*x >= 'A' && *x <= 'F')))
			return json_null();
	return json_string(c);
}

static json_t *interaction_json(struct preq *p, const struct interaction *it)
{
	const char *sid = pv_sid_of(p, it->id), *ssid = pv_sid_of(p, it->service_id), *kc = pv_sid_of(p, it->session_id);
	bool outbound_only = is_message_interaction(it);
	const struct leg *a = NULL, *b = NULL;
	for (int i = 0; i < it->n_legs; i++) {
		if (it->legs[i].leg == 'a')
			a = &it->legs[i];
		else if (it->legs[i].leg == 'b')
			b = &it->legs[i];
	}
	if (outbound_only)
		a = NULL;
	const char *type = it->channel == CHANNEL_VOICE ? "Call" : "Message";
	json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:o,s:s,s:s}", "sid", sid, "session_sid", kc, "service_sid", ssid,
			      "account_sid", p->account_sid, "data", json_null(), "status", interaction_status(it), "type",
			      it->channel == CHANNEL_VOICE ? "voice" : "message");
	json_object_set_new(o, "inbound_participant_sid", outbound_only ? json_null() : pv_sid_json(it->from_participant));
	json_object_set_new(o, "inbound_resource_sid", resource_sid_json(a));
	json_object_set_new(o, "inbound_resource_status", a ? json_string(a->status) : json_null());
	json_object_set_new(o, "inbound_resource_type", a ? json_string(type) : json_null());
	json_object_set_new(o, "inbound_resource_url", json_null());
	json_object_set_new(o, "outbound_participant_sid", pv_sid_json(it->to_participant));
	json_object_set_new(o, "outbound_resource_sid", resource_sid_json(b));
	/* a MessageInteraction whose text the outbox has not sent yet has no leg */
	json_object_set_new(o, "outbound_resource_status",
			    b ? json_string(b->status) : outbound_only ? json_string("queued") : json_null());
	json_object_set_new(o, "outbound_resource_type", b || outbound_only ? json_string(type) : json_null());
	json_object_set_new(o, "outbound_resource_url", json_null());
	json_object_set_new(o, "date_created", pv_time_or_null(it->created_at));
	json_object_set_new(o, "date_updated", pv_time_or_null(it->created_at));
	if (outbound_only) {
		json_object_set_new(o, "participant_sid", pv_sid_json(it->to_participant));
		json_object_set_new(o, "url", json_string(arena_printf(
						      p->http->arena, "%s/Services/%s/Sessions/%s/Participants/%s/MessageInteractions/%s",
						      p->base, ssid, kc, pv_sid_of(p, it->to_participant), sid)));
	} else {
		json_object_set_new(o, "url", json_string(arena_printf(p->http->arena, "%s/Services/%s/Sessions/%s/Interactions/%s",
								       p->base, ssid, kc, sid)));
	}
	return o;
}

struct interaction_list_ctx {
	struct preq *p;
	json_t *arr;
	const char *only_to; /* MessageInteractions of one participant, or NULL for all */
};

static void add_interaction(void *ctx, const struct interaction *it)
{
	struct interaction_list_ctx *c = ctx;
	if (c->only_to != NULL && (!is_message_interaction(it) || strcmp(it->to_participant, c->only_to) != 0))
		return;
	json_array_append_new(c->arr, interaction_json(c->p, it));
}

void pv_interaction_list(struct preq *p, const struct session *s, const char *only_to, const char *path)
{
	struct page pg;
	if (!pv_page_parse(p, "KI", &pg))
		return;
	struct interaction_list_ctx c = {p, json_array(), only_to};
	int rc = store_interaction_list(p->app->store, s->id, add_interaction, &c);
	if (rc < 0) {
		json_decref(c.arr);
		pv_perr_store(p, "interaction_list", rc);
		return;
	}
	pv_page_reply(p, c.arr, &pg, "interactions", path);
}

void pv_interaction_fetch(struct preq *p, const struct session *s, const char *seg, const char *only_to)
{
	char id[ID_MAX];
	struct interaction it;
	int rc = proxy_id_from_sid(seg, "KI", id);
	if (rc == 0)
		rc = store_interaction_get(p->app->store, id, &it);
	if (rc == 0 && (strcmp(it.session_id, s->id) != 0 ||
			(only_to != NULL && (!is_message_interaction(&it) || strcmp(it.to_participant, only_to) != 0))))
		rc = MASKD_ENOTFOUND;
	if (rc == MASKD_EINVAL || rc == MASKD_ENOTFOUND) {
		pv_perr_not_found(p);
		return;
	}
	if (rc < 0) {
		pv_perr_store(p, "interaction_get", rc);
		return;
	}
	api_reply(p->res, 200, interaction_json(p, &it));
}

struct interaction_delete_ctx {
	const char *session_id, *id;
};

static int interaction_delete_body(struct store_tx *tx, void *ctx)
{
	const struct interaction_delete_ctx *d = ctx;
	return store_tx_interaction_delete(tx, d->session_id, d->id);
}

void pv_interaction_delete(struct preq *p, const struct session *s, const char *seg)
{
	char id[ID_MAX];
	int rc = proxy_id_from_sid(seg, "KI", id);
	if (rc < 0) {
		pv_perr_not_found(p);
		return;
	}
	struct interaction_delete_ctx d = {s->id, id};
	rc = store_tx_run(p->app->store, interaction_delete_body, &d);
	if (rc == MASKD_ENOTFOUND) {
		pv_perr_not_found(p);
		return;
	}
	if (rc < 0) {
		pv_perr_store(p, "interaction_delete", rc);
		return;
	}
	log_info("proxy: session %s: interaction %s deleted", s->id, id);
	p->res->status = 204;
}

/* Appends key=value, form-encoded, to b. */
static void form_append(struct buf *b, const char *key, const char *value)
{
	static const char hexd[] = "0123456789ABCDEF";
	if (b->len > 0)
		buf_puts(b, "&");
	buf_puts(b, key);
	buf_puts(b, "=");
	for (const unsigned char *c = (const unsigned char *)value; *c; c++) {
		if ((*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '-' ||
		    *c == '_' || *c == '.' || *c == '~') {
			char one[2] = {(char)*c, '\0'};
			buf_puts(b, one);
		} else {
			char three[4] = {'%', hexd[*c >> 4], hexd[*c & 15], '\0'};
			buf_puts(b, three);
		}
	}
}

/* MessageInteraction create: a text from the participant's proxy number to
 * the participant, through Twilio's Messages API by the REST sender. Answered
 * 200 (as Twilio does) once the interaction is recorded and the send queued;
 * the send's outcome lands on the outbound leg. */
void pv_message_create(struct preq *p, const struct service *svc, const struct session *s, int idx)
{
	const char *body = pv_param(p, "Body");
	if (body == NULL || body[0] == '\0') {
		pv_perr_missing(p, "Body");
		return;
	}
	if (strlen(body) > PROXY_BODY_MAX) {
		pv_perr(p, 400, 20001, "Invalid parameter Body: at most %d characters", PROXY_BODY_MAX);
		return;
	}
	if (form_get(&p->body, "MediaUrl") != NULL) {
		pv_perr(p, 400, 20001, "Invalid parameter MediaUrl: not supported (as on Twilio Proxy)");
		return;
	}
	if (s->status >= SESSION_CLOSED) {
		pv_perr(p, 400, 80607, "The Session is closed");
		return;
	}
	if (s->mode == MODE_VOICE) {
		pv_perr(p, 400, 80910, "The Session is voice-only");
		return;
	}
	const struct participant *pt = &s->participants[idx];
	char token[PROXY_TOKEN_MAX + 1];
	if (service_cred(svc, DIALECT_TWILIO, "auth_token", token, sizeof(token)) < 0) {
		pv_perr(p, 400, 20001, "The Service has no Twilio auth token to send with");
		return;
	}
	char real[PHONE_E164_MAX + 1];
	int rc = store_participant_number(p->app->store, pt->id, real, sizeof(real));
	if (rc < 0) {
		explicit_bzero(token, sizeof(token));
		pv_perr_store(p, "participant_number", rc);
		return;
	}
	struct interaction it;
	memset(&it, 0, sizeof(it));
	id_new("int", it.id);
	snprintf(it.session_id, sizeof(it.session_id), "%s", s->id);
	snprintf(it.service_id, sizeof(it.service_id), "%s", s->service_id);
	it.channel = CHANNEL_MESSAGE;
	it.carrier = DIALECT_TWILIO;
	snprintf(it.carrier_sid, sizeof(it.carrier_sid), PROXY_MESSAGE_SID_PREFIX "%s", it.id);
	it.decision = DECISION_FORWARD_MESSAGE;
	snprintf(it.to_participant, sizeof(it.to_participant), "%s", pt->id);
	snprintf(it.from_participant, sizeof(it.from_participant), "%s", pt->id);
	it.created_at = now_unix();
	int existed = 0;
	/* no leg yet: the outbound leg is written when the send is answered, under
	 * the message SID (SM...) Twilio's Messages API gives it */
	struct events_pending ev; /* interaction.created, written with the interaction */
	events_prepare(&ev, svc->id, svc->events_url, svc->events_pull_off, it.session_id, EVENT_INTERACTION_CREATED,
		       events_interaction_data(&it, NULL, pt->proxy_e164), it.created_at);
	events_proxy_callback(&ev, p->app->store, svc, &it, 0, NULL, NULL, it.created_at);
	rc = store_interaction_record_ev(p->app->store, &it, &existed, &ev.ev);
	events_pending_free(&ev);
	if (rc < 0) {
		explicit_bzero(token, sizeof(token));
		explicit_bzero(real, sizeof(real));
		pv_perr_store(p, "interaction_record", rc);
		return;
	}
	struct outgoing out;
	memset(&out, 0, sizeof(out));
	snprintf(out.interaction_id, sizeof(out.interaction_id), "%s", it.id);
	out.dialect = DIALECT_TWILIO;
	snprintf(out.url, sizeof(out.url), "%s/2010-04-01/Accounts/%s/Messages.json",
		 p->app->api_base[DIALECT_TWILIO] ? p->app->api_base[DIALECT_TWILIO] : "https://api.twilio.com",
		 p->account_sid);
	snprintf(out.content_type, sizeof(out.content_type), "application/x-www-form-urlencoded");
	char cred[PROXY_SID_LEN + 1 + PROXY_TOKEN_MAX + 1];
	snprintf(cred, sizeof(cred), "%s:%s", p->account_sid, token);
	char b64[4 * ((sizeof(cred) + 2) / 3) + 1];
	base64_encode((const uint8_t *)cred, strlen(cred), b64);
	snprintf(out.authorization, sizeof(out.authorization), "Basic %s", b64);
	explicit_bzero(cred, sizeof(cred));
	explicit_bzero(b64, sizeof(b64));
	explicit_bzero(token, sizeof(token));
	struct buf form;
	buf_init(&form);
	form_append(&form, "To", real);
	form_append(&form, "From", pt->proxy_e164);
	form_append(&form, "Body", body);
	explicit_bzero(real, sizeof(real));
	out.body_len = form.len;
	out.body = xmalloc(form.len + 1);
	memcpy(out.body, form.data, form.len);
	out.body[form.len] = '\0';
	explicit_bzero(form.data, form.len);
	buf_free(&form);
	rc = p->app->sender != NULL ? sender_enqueue(p->app->sender, &out) : MASKD_ETOOBIG;
	if (rc < 0) {
		struct leg_update f = {.status = "failed", .duration = -1};
		events_leg_record(p->app->store, it.id, 'b', "rest", &f, it.created_at);
		if (p->app->sender == NULL)
			free(out.body);
		pv_perr(p, 503, 20503, "The send queue is full; retry");
		return;
	}
	log_info("proxy: session %s: message interaction %s to participant %s queued", s->id, it.id, pt->id);
	/* the interaction as recorded, before the send: the sender may already be
	 * writing its leg, which a fetch shows */
	it.n_legs = 0;
	api_reply(p->res, 200, interaction_json(p, &it));
}

