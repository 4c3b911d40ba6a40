/* SPDX-License-Identifier: MIT */
/* sql_shared.c - the C side of the shared statement texts: which geo keys the
 * pool filter binds at a level, and the readers of the shared column lists, over
 * either backend's rows (struct sql_cursor). See sql_shared.h. */
#include "sql_shared.h"
#include "../vault/vault.h"
#include "../util/err.h"
#include "../util/log.h"

#include <assert.h>
#include <stddef.h>
#include <string.h>

_Static_assert(STORE_BIDX_MAX == VAULT_BIDX_LEN + 1, "store.h spells a blind index as the vault writes it");

void sql_pool_keys(const struct store_pool_query *q, const char *keys[3])
{
	assert(q != NULL);
	keys[0] = keys[1] = keys[2] = NULL;
	if (q->level == GEO_ANY)
		return;
	keys[0] = q->country ? q->country : "";
	if (q->level == GEO_AREA_CODE)
		keys[1] = q->area_code ? q->area_code : "";
	else if (q->level == GEO_REGION)
		keys[2] = q->region ? q->region : "";
}

/* ---------------------------------------------------------------- reading rows */

int64_t sql_next_i64(struct sql_cursor *c)
{
	return c->ops->i64(c, c->col++);
}

int sql_next_int(struct sql_cursor *c)
{
	return (int)c->ops->i64(c, c->col++);
}

void sql_next_text(struct sql_cursor *c, char *out, size_t cap)
{
	c->ops->text(c, c->col++, out, cap);
}

void sql_read_policy(struct sql_cursor *c, struct call_policy *p)
{
	p->record = sql_next_int(c);
	p->time_limit = sql_next_int(c);
	p->ring_timeout = sql_next_int(c);
	sql_next_text(c, p->consent_message, sizeof(p->consent_message));
}

void sql_read_number(struct sql_cursor *c, struct number *n)
{
	sql_next_text(c, n->id, sizeof(n->id));
	sql_next_text(c, n->service_id, sizeof(n->service_id));
	sql_next_text(c, n->e164, sizeof(n->e164));
	int carrier = sql_next_int(c);
	n->carrier_any = carrier < 0;
	n->carrier = carrier < 0 ? DIALECT_TWILIO : (enum dialect)carrier;
	n->caps = (unsigned)sql_next_int(c);
	sql_next_text(c, n->country, sizeof(n->country));
	sql_next_text(c, n->area_code, sizeof(n->area_code));
	n->state = sql_next_int(c);
	n->in_use = sql_next_i64(c);
	n->created_at = sql_next_i64(c);
	sql_next_text(c, n->region, sizeof(n->region));
	n->cooling = 0;
}

void sql_read_session(struct sql_cursor *c, struct session *s)
{
	memset(s, 0, sizeof(*s));
	sql_next_text(c, s->id, sizeof(s->id));
	sql_next_text(c, s->service_id, sizeof(s->service_id));
	sql_next_text(c, s->unique_name, sizeof(s->unique_name));
	s->mode = sql_next_int(c);
	s->status = sql_next_int(c);
	s->ttl = sql_next_i64(c);
	s->expires_at = sql_next_i64(c);
	s->created_at = sql_next_i64(c);
	s->updated_at = sql_next_i64(c);
	s->last_activity_at = sql_next_i64(c);
	s->closed_at = sql_next_i64(c);
	sql_read_policy(c, &s->policy);
	sql_next_text(c, s->pin, sizeof(s->pin));
	s->direction = sql_next_int(c) == DIRECTION_ONE_WAY ? DIRECTION_ONE_WAY : DIRECTION_TWO_WAY;
	s->pool = POOL_RULES_INHERIT;
}

void sql_read_service(struct sql_cursor *c, struct service *svc)
{
	sql_next_text(c, svc->id, sizeof(svc->id));
	sql_next_text(c, svc->name, sizeof(svc->name));
	svc->mode = sql_next_int(c);
	svc->ttl = sql_next_i64(c);
	sql_next_text(c, svc->unknown_caller_message, sizeof(svc->unknown_caller_message));
	svc->created_at = sql_next_i64(c);
	sql_read_policy(c, &svc->policy);
	svc->pool.geo_match = sql_next_int(c);
	svc->pool.geo_match_strict = sql_next_int(c);
	svc->pool.number_selection = sql_next_int(c);
	svc->cooloff = sql_next_i64(c);
	svc->cooloff_reuse = sql_next_int(c);
	svc->number_cap = sql_next_int(c);
	svc->unknown_caller = sql_next_int(c);
	sql_next_text(c, svc->fallback_number, sizeof(svc->fallback_number));
	sql_next_text(c, svc->pin_number, sizeof(svc->pin_number));
	svc->pin_length = sql_next_int(c);
	svc->pin_attempts = sql_next_int(c);
	sql_next_text(c, svc->callback_url, sizeof(svc->callback_url));
	svc->callback_timeout_ms = sql_next_int(c);
	svc->callback_fail_open = sql_next_int(c);
	sql_next_text(c, svc->ended_message, sizeof(svc->ended_message));
	sql_next_text(c, svc->help_text, sizeof(svc->help_text));
	svc->rate_calls = sql_next_int(c);
	svc->rate_texts = sql_next_int(c);
	svc->rate_silent = sql_next_int(c);
	svc->mms_fallback = sql_next_int(c);
	sql_next_text(c, svc->events_url, sizeof(svc->events_url));
	svc->pool_low_threshold = sql_next_int(c);
	sql_next_text(c, svc->branded_number, sizeof(svc->branded_number));
	svc->callback_window = sql_next_i64(c);
	sql_next_text(c, svc->intercept_url, sizeof(svc->intercept_url));
	svc->intercept_timeout_ms = sql_next_int(c);
	svc->intercept_fail_open = sql_next_int(c);
	svc->events_pull_off = sql_next_int(c);
}

void sql_read_interaction(struct sql_cursor *c, struct interaction *it)
{
	memset(it, 0, sizeof(*it));
	sql_next_text(c, it->id, sizeof(it->id));
	sql_next_text(c, it->session_id, sizeof(it->session_id));
	sql_next_text(c, it->service_id, sizeof(it->service_id));
	it->channel = sql_next_int(c);
	it->carrier = sql_next_int(c);
	sql_next_text(c, it->carrier_sid, sizeof(it->carrier_sid));
	it->decision = sql_next_int(c);
	sql_next_text(c, it->from_participant, sizeof(it->from_participant));
	sql_next_text(c, it->to_participant, sizeof(it->to_participant));
	it->created_at = sql_next_i64(c);
	sql_next_text(c, it->carrier_call_id, sizeof(it->carrier_call_id));
	it->intercept = sql_next_int(c);
	sql_next_text(c, it->intercept_text, sizeof(it->intercept_text));
}

void sql_read_leg(struct sql_cursor *c, struct leg *l)
{
	memset(l, 0, sizeof(*l));
	sql_next_text(c, l->id, sizeof(l->id));
	char leg[2];
	sql_next_text(c, leg, sizeof(leg));
	l->leg = leg[0] ? leg[0] : '?';
	sql_next_text(c, l->carrier_sid, sizeof(l->carrier_sid));
	sql_next_text(c, l->status, sizeof(l->status));
	l->duration = sql_next_i64(c);
	l->started_at = sql_next_i64(c);
	l->answered_at = sql_next_i64(c);
	l->ended_at = sql_next_i64(c);
	sql_next_text(c, l->proxy_number, sizeof(l->proxy_number));
	sql_next_text(c, l->other_country, sizeof(l->other_country));
	sql_next_text(c, l->recording_id, sizeof(l->recording_id));
	sql_next_text(c, l->recording_url, sizeof(l->recording_url));
	sql_next_text(c, l->cost, sizeof(l->cost));
	sql_next_text(c, l->currency, sizeof(l->currency));
}

int sql_read_route(struct sql_cursor *c, const struct vault *v, struct route_view *out)
{
	if (c->ops->is_null(c, c->col))
		return 0;
	sql_next_text(c, out->session_id, sizeof(out->session_id));
	out->session_status = sql_next_int(c);
	out->session_mode = sql_next_int(c);
	out->session_ttl = sql_next_i64(c);
	out->session_expires_at = sql_next_i64(c);
	out->session_last_activity_at = sql_next_i64(c);
	sql_next_text(c, out->from_participant, sizeof(out->from_participant));
	sql_next_text(c, out->to_participant, sizeof(out->to_participant));
	int sealed = c->col++;
	sql_next_text(c, out->to_proxy_e164, sizeof(out->to_proxy_e164));
	sql_next_text(c, out->to_country, sizeof(out->to_country));
	sql_read_policy(c, &out->session_policy);
	out->to_opted_out = sql_next_int(c);
	out->to_proxy_caps = (unsigned)sql_next_int(c); /* NULL (no other side yet): 0 */
	/* an erased other side (a data-subject erasure wipes the number while its
	 * peer still cools off): no number, so no one to reach */
	if (!c->ops->is_null(c, sealed) && !c->ops->empty(c, sealed) &&
	    c->ops->unseal(c, sealed, v, out->to_participant, out->to_number, sizeof(out->to_number)) < 0) {
		log_error("store: participant %s: sealed number does not open", out->to_participant);
		return MASKD_ECRYPTO;
	}
	return 0;
}

void sql_read_key(struct sql_cursor *c, struct api_key *k)
{
	memset(k, 0, sizeof(*k));
	sql_next_text(c, k->id, sizeof(k->id));
	sql_next_text(c, k->hash, sizeof(k->hash));
	int role = sql_next_int(c);
	k->role = role >= 0 && role < ROLE_COUNT ? (enum key_role)role : ROLE_READONLY;
	sql_next_text(c, k->service_id, sizeof(k->service_id));
	sql_next_text(c, k->label, sizeof(k->label));
	k->created_at = sql_next_i64(c);
	k->expires_at = sql_next_i64(c);
	k->revoked_at = sql_next_i64(c);
	k->last_used_at = sql_next_i64(c);
}

void sql_read_audit(struct sql_cursor *c, struct audit_entry *e)
{
	memset(e, 0, sizeof(*e));
	e->seq = sql_next_i64(c);
	e->created_at = sql_next_i64(c);
	sql_next_text(c, e->key_id, sizeof(e->key_id));
	sql_next_text(c, e->key_label, sizeof(e->key_label));
	sql_next_text(c, e->request_id, sizeof(e->request_id));
	sql_next_text(c, e->source, sizeof(e->source));
	sql_next_text(c, e->action, sizeof(e->action));
	sql_next_text(c, e->target, sizeof(e->target));
	sql_next_text(c, e->reason, sizeof(e->reason));
	sql_next_text(c, e->detail, sizeof(e->detail));
	sql_next_text(c, e->prev_hash, sizeof(e->prev_hash));
	sql_next_text(c, e->hash, sizeof(e->hash));
}

void sql_read_oneway_candidate(struct sql_cursor *c, struct oneway_candidate *o)
{
	memset(o, 0, sizeof(*o));
	sql_next_text(c, o->participant_id, sizeof(o->participant_id));
	sql_next_text(c, o->session_id, sizeof(o->session_id));
	o->status = sql_next_int(c);
	o->ttl = sql_next_i64(c);
	o->expires_at = sql_next_i64(c);
	o->last_activity_at = sql_next_i64(c);
	o->closed_at = sql_next_i64(c);
	o->created_at = sql_next_i64(c);
	sql_next_text(c, o->pin, sizeof(o->pin));
}
