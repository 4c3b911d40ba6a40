/* SPDX-License-Identifier: MIT */
/* events.c - a service's events written inside the causing transaction; see
 * events.h. */
#include "events.h"
#include "../core/intercept.h"
#include "../core/outbox.h"
#include "../api/proxy_wire.h" /* the Proxy API's SIDs: pure */
#include "../hooks/twilio_sig.h"
#include "../out/callback.h" /* callback_form_put */
#include "../util/buf.h"
#include "../util/err.h"
#include "../util/ids.h"
#include "../util/log.h"
#include "../util/timeutil.h"
#include "../util/xmalloc.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EVENTS_CONTENT_TYPE "Content-Type: application/json\n\n"

/* The outbox message delivering body (event id) to url into p; 0, or -1 (logged)
 * when url is not an http(s) URL. */
static int delivery_fill(struct events_pending *p, const char *service_id, const char *order_key, const char *url,
			 int64_t now)
{
	struct outbox_item *it = &p->delivery;
	memset(it, 0, sizeof(*it));
	if (outbox_destination(url, it->destination, sizeof(it->destination)) < 0 || strlen(url) >= sizeof(it->url)) {
		/* the API refuses such a URL; one stored before is skipped, visibly */
		log_warn("events: service %s: events_url is not an http(s) URL; event %s not sent", service_id, p->id);
		return -1;
	}
	id_new("obx", it->id);
	snprintf(it->dedup_key, sizeof(it->dedup_key), "%s", p->id);
	it->kind = OUTBOX_EVENT;
	snprintf(it->service_id, sizeof(it->service_id), "%s", service_id);
	snprintf(it->order_key, sizeof(it->order_key), OUTBOX_EVENT_ORDER_PREFIX "%s", order_key);
	snprintf(it->url, sizeof(it->url), "%s", url);
	size_t hl = strlen(EVENTS_CONTENT_TYPE), bl = strlen(p->body);
	p->payload = xmalloc(hl + bl + 1);
	memcpy(p->payload, EVENTS_CONTENT_TYPE, hl);
	memcpy(p->payload + hl, p->body, bl + 1);
	it->payload = p->payload;
	it->payload_len = hl + bl;
	it->created_at = now * 1000;
	it->next_at = now * 1000;
	return 0;
}

void events_prepare(struct events_pending *p, const char *service_id, const char *events_url, int pull_off,
		    const char *order_key, enum event_type t, json_t *data, int64_t now)
{
	assert(p != NULL && service_id != NULL && events_url != NULL && order_key != NULL && data != NULL);
	memset(&p->ev, 0, sizeof(p->ev));
	p->payload = NULL;
	p->proxy_payload = NULL;
	id_new("evt", p->id);
	p->body = event_document(p->id, t, service_id, now, data);
	p->ev.id = p->id;
	p->ev.service_id = service_id;
	p->ev.type = event_type_name(t);
	p->ev.body = p->body;
	p->ev.created_at = now;
	p->ev.pull_off = pull_off;
	if (events_url[0] != '\0' && delivery_fill(p, service_id, order_key, events_url, now) == 0)
		p->ev.delivery = &p->delivery;
}

void events_pending_free(struct events_pending *p)
{
	if (p == NULL)
		return;
	free(p->body);
	free(p->payload);
	free(p->proxy_payload);
	p->body = p->payload = p->proxy_payload = NULL;
}

/* The Proxy API's CallbackUrl of service_id into out: 1, 0 when it has none (a
 * native service, or none set), or the store's error. */
static int proxy_callback_url(struct store *st, const char *service_id, char *out, size_t cap)
{
	char key[64], val[16384];
	snprintf(key, sizeof(key), "proxy.service.%s", service_id);
	int rc = store_setting_get_cached(st, key, val, sizeof(val));
	if (rc == MASKD_ENOTFOUND)
		return 0;
	if (rc < 0)
		return rc;
	json_t *o = json_loads(val, 0, NULL);
	const char *url = json_string_value(json_object_get(o, "callback_url"));
	int yes = url != NULL && url[0] != '\0' && strlen(url) < cap;
	if (yes)
		snprintf(out, cap, "%s", url);
	json_decref(o);
	return yes;
}

/* The status and carrier sid leg of it has, with status and over_sid (unless a
 * placeholder) instead for leg `over`. */
static void leg_state(const struct interaction *it, char leg, char over, const char *status, const char *over_sid,
		      const char **st, const char **sid)
{
	*st = *sid = NULL;
	for (int i = 0; i < it->n_legs; i++)
		if (it->legs[i].leg == leg) {
			*st = it->legs[i].status[0] ? it->legs[i].status : NULL;
			*sid = it->legs[i].carrier_sid[0] ? it->legs[i].carrier_sid : NULL;
		}
	if (leg != over)
		return;
	if (status != NULL && status[0] != '\0')
		*st = status;
	if (over_sid != NULL && over_sid[0] != '\0' && strcmp(over_sid, "rest") != 0 && strcmp(over_sid, "none") != 0 &&
	    strcmp(over_sid, "unknown") != 0)
		*sid = over_sid;
}

void events_proxy_callback(struct events_pending *p, struct store *st, const struct service *svc,
			   const struct interaction *it, char leg, const char *status, const char *leg_sid, int64_t now)
{
	assert(p != NULL && st != NULL && svc != NULL && it != NULL);
	char url[OUTBOX_URL_MAX];
	int rc = proxy_callback_url(st, svc->id, url, sizeof(url));
	if (rc < 0)
		log_warn("events: service %s: the Proxy CallbackUrl could not be read (%s); event %s not sent there",
			 svc->id, maskd_strerror(rc), p->id);
	if (rc <= 0)
		return;
	char token[256], account[64] = "";
	char ks[PROXY_SID_LEN + 1], kc[PROXY_SID_LEN + 1], ki[PROXY_SID_LEN + 1];
	char kp_in[PROXY_SID_LEN + 1] = "", kp_out[PROXY_SID_LEN + 1] = "";
	if (service_cred(svc, DIALECT_TWILIO, "auth_token", token, sizeof(token)) < 0) {
		log_warn("events: service %s: no Twilio auth token to sign its Proxy CallbackUrl with; event %s not sent there",
			 svc->id, p->id);
		return;
	}
	if (service_cred(svc, DIALECT_TWILIO, "account_sid", account, sizeof(account)) < 0)
		account[0] = '\0';
	if (proxy_sid_from_id(svc->id, ks) < 0 || proxy_sid_from_id(it->session_id, kc) < 0 ||
	    proxy_sid_from_id(it->id, ki) < 0 ||
	    (it->from_participant[0] != '\0' && proxy_sid_from_id(it->from_participant, kp_in) < 0) ||
	    (it->to_participant[0] != '\0' && proxy_sid_from_id(it->to_participant, kp_out) < 0)) {
		explicit_bzero(token, sizeof(token));
		log_warn("events: service %s: interaction %s has no Proxy SIDs; event %s not sent to its CallbackUrl",
			 svc->id, it->id, p->id);
		return;
	}
	struct outbox_item *ob = &p->proxy_delivery;
	memset(ob, 0, sizeof(*ob));
	if (outbox_destination(url, ob->destination, sizeof(ob->destination)) < 0) {
		explicit_bzero(token, sizeof(token));
		log_warn("events: service %s: its Proxy CallbackUrl is not an http(s) URL; event %s not sent there", svc->id,
			 p->id);
		return;
	}
	const int voice = it->channel == CHANNEL_VOICE;
	const char *type = voice ? "call" : "message";
	const char *a_status, *a_sid, *b_status, *b_sid;
	leg_state(it, 'a', leg, status, leg_sid, &a_status, &a_sid);
	leg_state(it, 'b', leg, status, leg_sid, &b_status, &b_sid);
	if (a_sid == NULL && it->carrier_sid[0] != '\0')
		a_sid = it->carrier_sid;
	if (a_status == NULL)
		a_status = voice ? "in-progress" : "received";
	char created[RFC3339_MAX], updated[RFC3339_MAX];
	rfc3339_format(it->created_at, created, sizeof(created));
	rfc3339_format(now, updated, sizeof(updated));
	/* in the order Twilio's signature sorts them; an empty value is left out */
	struct form_field all[] = {
		{"inboundParticipantSid", kp_in},
		{"inboundResourceSid", a_sid},
		{"inboundResourceStatus", a_status},
		{"inboundResourceType", type},
		{"interactionAccountSid", account},
		{"interactionData", "{}"},
		{"interactionDateCreated", created},
		{"interactionDateUpdated", updated},
		{"interactionServiceSid", ks},
		{"interactionSessionSid", kc},
		{"interactionSid", ki},
		{"interactionType", voice ? "Voice" : "Message"},
		{"outboundParticipantSid", kp_out},
		{"outboundResourceSid", b_sid},
		{"outboundResourceStatus", b_status},
		{"outboundResourceType", b_sid != NULL || b_status != NULL ? type : NULL},
	};
	struct form_field f[sizeof(all) / sizeof(all[0])];
	size_t n = 0;
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		if (all[i].value != NULL && all[i].value[0] != '\0')
			f[n++] = all[i];
	struct form params = {.fields = f, .n = n};
	char sig[29];
	twilio_sig_compute(TWILIO_SIG_TWILIO, token, url, &params, sig);
	explicit_bzero(token, sizeof(token));
	struct buf b;
	buf_init(&b);
	buf_printf(&b, "Content-Type: application/x-www-form-urlencoded\nX-Twilio-Signature: %s\n\n", sig);
	struct buf form;
	buf_init(&form);
	for (size_t i = 0; i < n; i++)
		callback_form_put(&form, f[i].key, f[i].value);
	buf_append(&b, form.data, form.len);
	buf_free(&form);
	size_t len = 0;
	p->proxy_payload = buf_steal(&b, &len);
	id_new("obx", ob->id);
	snprintf(ob->dedup_key, sizeof(ob->dedup_key), "proxy:%s", p->id);
	ob->kind = OUTBOX_EVENT;
	snprintf(ob->service_id, sizeof(ob->service_id), "%s", svc->id);
	if (snprintf(ob->order_key, sizeof(ob->order_key), OUTBOX_EVENT_ORDER_PREFIX "%s", it->session_id) >=
	    (int)sizeof(ob->order_key)) {
		/* made ids are shorter (ids.h); any other one is not cut into another session's key */
		log_warn("events: session %s: its id is too long for an order key; event %s not sent to the CallbackUrl",
			 it->session_id, p->id);
		free(p->proxy_payload);
		p->proxy_payload = NULL;
		return;
	}
	snprintf(ob->url, sizeof(ob->url), "%s", url);
	ob->payload = p->proxy_payload;
	ob->payload_len = len;
	ob->created_at = now * 1000;
	ob->next_at = now * 1000;
	p->ev.proxy_delivery = ob;
}

int events_record(struct store_tx *tx, const char *session_id, enum event_type t, json_t *data, int64_t now)
{
	assert(tx != NULL && session_id != NULL && data != NULL);
	char service_id[ID_MAX], url[URL_MAX_LEN + 1];
	int pull_off = 0;
	int rc = store_tx_event_target(tx, session_id, service_id, url, sizeof(url), &pull_off);
	if (rc < 0) {
		json_decref(data);
		return rc;
	}
	struct events_pending *p = xmalloc(sizeof(*p));
	events_prepare(p, service_id, url, pull_off, session_id, t, data, now);
	rc = store_tx_event_put(tx, &p->ev);
	events_pending_free(p);
	free(p);
	return rc;
}

int events_leg_record(struct store *st, const char *interaction_id, char leg, const char *carrier_sid,
		      const struct leg_update *u, int64_t now)
{
	assert(st != NULL && interaction_id != NULL && carrier_sid != NULL && u != NULL);
	struct interaction *it = xmalloc(sizeof(*it));
	struct service *svc = xmalloc(sizeof(*svc));
	int rc = store_interaction_get(st, interaction_id, it);
	if (rc == 0)
		rc = store_service_get(st, it->service_id, svc);
	if (rc == 0) {
		struct events_pending ev;
		events_prepare(&ev, svc->id, svc->events_url, svc->events_pull_off, it->session_id,
			       leg_status_final(u->status) ? EVENT_LEG_COMPLETED : EVENT_LEG_UPDATED,
			       events_leg_data(it, leg, u->status, u->duration, u->cost, u->currency), now);
		events_proxy_callback(&ev, st, svc, it, leg, u->status, carrier_sid, now);
		rc = store_leg_update_ev(st, interaction_id, leg, carrier_sid, u, now, &ev.ev);
		events_pending_free(&ev);
	}
	free(it);
	free(svc);
	return rc;
}

static json_t *string_or_null(const char *s)
{
	return s != NULL && s[0] != '\0' ? json_string(s) : json_null();
}

json_t *events_interaction_data(const struct interaction *it, const char *reason, const char *proxy_number)
{
	assert(it != NULL);
	json_t *d = json_pack("{s:s,s:s,s:s,s:s,s:s}", "interaction_id", it->id, "session_id", it->session_id,
			      "channel", channel_name(it->channel), "decision", decision_name(it->decision), "carrier",
			      dialect_name(it->carrier));
	json_object_set_new(d, "reason", string_or_null(reason));
	json_object_set_new(d, "from_participant_id", string_or_null(it->from_participant));
	json_object_set_new(d, "to_participant_id", string_or_null(it->to_participant));
	json_object_set_new(d, "proxy_number", string_or_null(proxy_number));
	if (it->intercept != INTERCEPT_NONE) /* only when the service's intercept_url was asked */
		json_object_set_new(d, "intercept", json_string(intercept_outcome_name(it->intercept)));
	return d;
}

json_t *events_leg_data(const struct interaction *it, char leg, const char *status, int64_t billable_seconds,
			const char *cost, const char *currency)
{
	assert(it != NULL && (leg == 'a' || leg == 'b'));
	const char legname[2] = {leg, '\0'};
	json_t *d = json_pack("{s:s,s:s,s:s,s:s}", "interaction_id", it->id, "session_id", it->session_id, "leg",
			      legname, "channel", channel_name(it->channel));
	json_object_set_new(d, "status", string_or_null(status));
	json_object_set_new(d, "billable_seconds",
			    billable_seconds >= 0 ? json_integer((json_int_t)billable_seconds) : json_null());
	json_object_set_new(d, "cost", string_or_null(cost));
	json_object_set_new(d, "currency", string_or_null(currency));
	return d;
}

json_t *events_session_data(const struct session *s)
{
	assert(s != NULL);
	json_t *parts = json_array();
	for (int i = 0; i < s->n_participants; i++) {
		const struct participant *p = &s->participants[i];
		json_array_append_new(parts, json_pack("{s:s,s:s,s:s,s:s}", "id", p->id, "label", p->label, "number",
						       p->masked, "proxy_number", p->proxy_e164));
	}
	json_t *d = json_pack("{s:s,s:s,s:s,s:I,s:o}", "session_id", s->id, "mode", mode_name(s->mode), "status",
			      session_status_name(s->status), "ttl", (json_int_t)s->ttl, "participants", parts);
	json_object_set_new(d, "unique_name", s->unique_name[0] ? json_string(s->unique_name) : json_null());
	json_object_set_new(d, "expires_at", s->expires_at ? json_integer(s->expires_at) : json_null());
	return d;
}

json_t *events_session_change(const char *session_id, const char *participant_id, const char *proxy_number,
			      const char *reason)
{
	assert(session_id != NULL);
	json_t *d = json_pack("{s:s}", "session_id", session_id);
	if (participant_id != NULL)
		json_object_set_new(d, "participant_id", json_string(participant_id));
	if (proxy_number != NULL)
		json_object_set_new(d, "proxy_number", json_string(proxy_number));
	if (reason != NULL)
		json_object_set_new(d, "reason", json_string(reason));
	return d;
}

/* ---------------------------------------------------------------- pool events */

static const char *const pool_request_names[] = {
	[POOL_REQUEST_SESSION] = "session",
	[POOL_REQUEST_PARTICIPANT] = "participant",
	[POOL_REQUEST_PROFILE] = "profile",
};

static const char *const geo_level_names[] = {
	[GEO_COUNTRY] = "country",
	[GEO_AREA_CODE] = "area-code",
	[GEO_REGION] = "region",
	[GEO_ANY] = "any",
};

/* {"capabilities": [...], "request": ...}: what both pool events start with. */
static json_t *pool_data(unsigned need, enum pool_request request)
{
	static const struct {
		unsigned bit;
		const char *name;
	} caps[] = {{CAP_VOICE, "voice"}, {CAP_SMS, "sms"}, {CAP_MMS, "mms"}};
	json_t *names = json_array();
	for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++)
		if (need & caps[i].bit)
			json_array_append_new(names, json_string(caps[i].name));
	return json_pack("{s:o,s:s}", "capabilities", names, "request", pool_request_names[request]);
}

int events_pool_low(struct store_tx *tx, const char *service_id, unsigned need, int64_t cap, int threshold,
		    const char *bidx, const char *session_id, enum pool_request request, int64_t now)
{
	assert(tx != NULL && service_id != NULL && bidx != NULL && session_id != NULL && need != 0);
	if (threshold <= 0)
		return 0;
	struct store_pool_query q = {.service_id = service_id, .need = need, .bidx = bidx, .level = GEO_ANY, .cap = cap};
	int64_t free_left = 0;
	int rc = store_tx_pool_count(tx, &q, threshold + 1, &free_left);
	if (rc < 0)
		return rc;
	int low = free_left <= threshold;
	rc = store_tx_pool_low_mark(tx, service_id, need, low, now);
	if (rc < 0)
		return rc;
	if (rc == 0 || !low)
		return 0; /* low already, or back above: no event (and never a positive result: the body would fail) */
	char owner[ID_MAX], url[URL_MAX_LEN + 1];
	int pull_off = 0;
	rc = store_tx_event_target(tx, session_id, owner, url, sizeof(url), &pull_off);
	if (rc < 0)
		return rc;
	json_t *d = pool_data(need, request);
	json_object_set_new(d, "free_numbers", json_integer((json_int_t)free_left));
	json_object_set_new(d, "threshold", json_integer(threshold));
	json_object_set_new(d, "session_id", json_string(session_id));
	struct events_pending *p = xmalloc(sizeof(*p));
	/* the pool's events keep their order among themselves: the service id is the key */
	events_prepare(p, service_id, url, pull_off, service_id, EVENT_POOL_LOW, d, now);
	rc = store_tx_event_put(tx, &p->ev);
	events_pending_free(p);
	free(p);
	return rc;
}

static int exhausted_body(struct store_tx *tx, void *arg)
{
	const struct events_pending *p = arg;
	return store_tx_event_put(tx, &p->ev);
}

int events_pool_exhausted(struct store *st, const char *service_id, const char *events_url, int pull_off, unsigned need,
			  enum pool_request request, int participant, const char *masked, int level, int64_t now)
{
	assert(st != NULL && service_id != NULL && events_url != NULL && need != 0);
	json_t *d = pool_data(need, request);
	json_object_set_new(d, "participant", participant >= 0 ? json_integer(participant) : json_null());
	json_object_set_new(d, "number", masked != NULL && masked[0] != '\0' ? json_string(masked) : json_null());
	json_object_set_new(d, "geo_level", level >= 0 && level < GEO_ANY
						    ? json_string(geo_level_names[level])
						    : json_null());
	struct events_pending *p = xmalloc(sizeof(*p));
	events_prepare(p, service_id, events_url, pull_off, service_id, EVENT_POOL_EXHAUSTED, d, now);
	int rc = 0;
	if (!p->ev.pull_off || p->ev.delivery != NULL) /* else nothing is kept or sent */
		rc = store_tx_run(st, exhausted_body, p);
	if (rc < 0)
		log_warn("events: service %s: pool.exhausted %s not recorded (%s)", service_id, p->id, maskd_strerror(rc));
	events_pending_free(p);
	free(p);
	return rc;
}
