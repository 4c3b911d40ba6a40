/* SPDX-License-Identifier: MIT */
/* proxy_v1_sessions.c - Twilio Proxy v1 sessions: create (with Participants), fetch by SID
 * or UniqueName, update, delete, list (proxy_v1_internal.h),
 * mapped onto the native store and flows. */
#include "proxy_v1_internal.h"
#include "proxy_v1.h"
#include "api_internal.h"
#include "proxy_wire.h"
#include "../flow/audit.h"
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

/* ------------------------------------------------------------ sessions */

static json_t *session_links(struct preq *p, const char *url)
{
	return json_pack("{s:s,s:s}", "interactions", arena_printf(p->http->arena, "%s/Interactions", url), "participants",
			 arena_printf(p->http->arena, "%s/Participants", url));
}

json_t *pv_session_json(struct preq *p, const struct session *s)
{
	const char *sid = pv_sid_of(p, s->id), *ssid = pv_sid_of(p, s->service_id);
	const char *url = arena_printf(p->http->arena, "%s/Services/%s/Sessions/%s", p->base, ssid, sid);
	bool closed = s->status >= SESSION_CLOSED;
	json_t *o = json_pack("{s:s,s:s,s:s,s:o,s:s,s:o,s:I,s:s}", "sid", sid, "service_sid", ssid, "account_sid",
			      p->account_sid, "unique_name", s->unique_name[0] ? json_string(s->unique_name) : json_null(),
			      "status", proxy_status_name(s->status), "closed_reason",
			      closed ? json_string(s->status == SESSION_BLOCKED ? "blocked" : "closed") : json_null(),
			      "ttl", (json_int_t)s->ttl, "mode", proxy_mode_name(s->mode));
	json_object_set_new(o, "date_started", pv_time_or_null(s->created_at));
	json_object_set_new(o, "date_ended", pv_time_or_null(s->closed_at));
	json_object_set_new(o, "date_last_interaction",
			    s->last_activity_at > s->created_at ? pv_time_or_null(s->last_activity_at) : json_null());
	json_object_set_new(o, "date_expiry", pv_time_or_null(s->expires_at));
	json_object_set_new(o, "date_created", pv_time_or_null(s->created_at));
	json_object_set_new(o, "date_updated", pv_time_or_null(s->updated_at ? s->updated_at : s->created_at));
	json_object_set_new(o, "url", json_string(url));
	json_object_set_new(o, "links", session_links(p, url));
	return o;
}

/* A pending session as a struct session with no participants. */
static void session_from_pending(const char *id, const struct proxy_pending *pd, struct session *s)
{
	char copy[ID_MAX]; /* id may be s->id */
	snprintf(copy, sizeof(copy), "%s", id);
	memset(s, 0, sizeof(*s));
	snprintf(s->id, sizeof(s->id), "%s", copy);
	snprintf(s->service_id, sizeof(s->service_id), "%s", pd->service_id);
	snprintf(s->unique_name, sizeof(s->unique_name), "%s", pd->unique_name);
	s->mode = (enum session_mode)pd->mode;
	s->status = SESSION_OPEN;
	s->ttl = pd->ttl;
	s->expires_at = pd->expires_at;
	s->created_at = s->updated_at = s->last_activity_at = pd->created_at;
}

struct session_by_name {
	char id[ID_MAX];
	bool open_only; /* only a session that is open or in progress; else the latest */
};

static void first_session(void *ctx, const struct session *s)
{
	struct session_by_name *f = ctx;
	if (!f->open_only || s->status < SESSION_CLOSED) /* the latest one */
		snprintf(f->id, sizeof(f->id), "%s", s->id);
}

/* The session of a path segment (its SID or unique name) in svc: the native
 * row, or a pending one (*pending set, s with no participants). 0, or negative
 * with the answer sent. */
int pv_session_load(struct preq *p, const struct service *svc, const char *seg, struct session *s, bool *pending)
{
	*pending = false;
	char id[ID_MAX];
	int rc;
	if (proxy_id_from_sid(seg, "KC", id) < 0) {
		struct session_filter f = {.status = -1, .unique_name = seg, .limit = SESSION_PAGE_MAX};
		struct session_by_name found = {.open_only = false};
		rc = store_session_list(p->app->store, svc->id, &f, first_session, &found);
		if (rc < 0) {
			pv_perr_store(p, "session_list", rc);
			return rc;
		}
		if (found.id[0] == '\0') {
			pv_perr(p, 404, 80308, "Session with the unique name not found");
			return MASKD_ENOTFOUND;
		}
		snprintf(id, sizeof(id), "%s", found.id);
	}
	rc = store_session_get(p->app->store, id, s);
	if (rc == MASKD_ENOTFOUND) {
		struct proxy_pending pd;
		rc = pv_pending_get(p, id, &pd);
		if (rc == 0) {
			session_from_pending(id, &pd, s);
			*pending = true;
		}
	}
	if (rc == 0 && strcmp(s->service_id, svc->id) != 0)
		rc = MASKD_ENOTFOUND;
	if (rc == MASKD_ENOTFOUND)
		pv_perr_not_found(p);
	else if (rc < 0)
		pv_perr_store(p, "session_get", rc);
	return rc;
}

/* A participant of Proxy (an item of Participants, or the create body) onto a
 * native participant. False with the 400 sent. */
bool pv_participant_from_proxy(struct preq *p, const struct service *svc, const struct proxy_participant_in *in,
				   struct participant *out)
{
	int problem = sessions_participant(in->identifier, in->friendly_name, out);
	if (problem == PARTICIPANT_EMERGENCY) {
		pv_perr(p, 400, 80404, "Participant Identifier is an emergency number; it cannot be masked");
		return false;
	}
	if (problem != PARTICIPANT_OK) {
		pv_perr(p, 400, 80404, "Participant Identifier is not a valid phone number");
		return false;
	}
	if (in->proxy_identifier[0] != '\0') {
		struct phone_info pi;
		if (phone_parse(in->proxy_identifier, &pi) < 0) {
			pv_perr(p, 400, 80402, "ProxyIdentifier is not a phone number of this Service");
			return false;
		}
		snprintf(out->proxy_e164, sizeof(out->proxy_e164), "%s", pi.e164);
	} else if (in->proxy_identifier_sid[0] != '\0') {
		char nid[ID_MAX];
		struct number n;
		if (proxy_id_from_sid(in->proxy_identifier_sid, "PN", nid) < 0 ||
		    store_number_get(p->app->store, nid, &n) < 0 || strcmp(n.service_id, svc->id) != 0) {
			pv_perr(p, 400, 80402, "ProxyIdentifierSid is not a phone number of this Service");
			return false;
		}
		snprintf(out->proxy_e164, sizeof(out->proxy_e164), "%s", n.e164);
	}
	return true;
}

void pv_create_refused(struct preq *p, int rc, const struct create_outcome *o)
{
	int status = 400;
	int code = proxy_create_error_code(rc, o->failed_index, &status);
	if (rc == MASKD_EEXHAUSTED)
		metrics_inc(MC_POOL_EXHAUSTED);
	switch (code) {
	case 80603:
		pv_perr(p, status, code, "A Session with this UniqueName is already open in this Service");
		return;
	case 80604:
		pv_perr(p, status, code, "The Identifier already uses that Proxy Identifier in an active Session");
		return;
	case 80609:
		pv_perr(p, status, code, "The Session is not open or already has two Participants");
		return;
	case 80402:
		pv_perr(p, status, code, "The Proxy Identifier is not an available number of this Service");
		return;
	case 80206:
		pv_perr(p, status, code, "No available Proxy Identifier for the Participant");
		return;
	case 80103:
		pv_perr(p, status, code, "The Participant is already in the Session");
		return;
	default:
		pv_perr_store(p, "session_create", rc);
	}
}

/* Status on create: open or in-progress are what a new session is; closed or
 * anything else is refused (Proxy makes no closed session). */
static bool status_param_create(struct preq *p)
{
	const char *st = pv_param(p, "Status");
	if (st == NULL || strcmp(st, "open") == 0 || strcmp(st, "in-progress") == 0)
		return true;
	pv_perr(p, 400, 20001, "Invalid parameter Status: open or in-progress on create");
	return false;
}

void pv_session_create(struct preq *p, const struct service *svc)
{
	int64_t now = now_unix();
	const char *unique = pv_param(p, "UniqueName");
	if (unique != NULL && strlen(unique) > NAME_MAX_LEN) {
		pv_perr(p, 400, 20001, "Invalid parameter UniqueName: at most %d characters", NAME_MAX_LEN);
		return;
	}
	bool has_ttl = false, has_exp = false;
	int64_t ttl = svc->ttl, exp = 0;
	if (!pv_int_param(p, &p->body, "Ttl", 0, PROXY_TTL_MAX, &has_ttl, &ttl) || !pv_date_param(p, "DateExpiry", now, &has_exp, &exp) ||
	    !status_param_create(p))
		return;
	int mode = svc->mode;
	const char *m = pv_param(p, "Mode");
	if (m != NULL && (mode = proxy_mode_from_name(m)) < 0) {
		pv_perr(p, 400, 20001, "Invalid parameter Mode: message-only, voice-only or voice-and-message");
		return;
	}
	struct session s;
	memset(&s, 0, sizeof(s));
	s.policy = (struct call_policy){.record = -1, .time_limit = -1, .ring_timeout = -1};
	s.pool = POOL_RULES_INHERIT;
	s.mode = (enum session_mode)mode;
	s.ttl = ttl;
	s.expires_at = exp;
	snprintf(s.unique_name, sizeof(s.unique_name), "%s", unique ? unique : "");
	snprintf(s.service_id, sizeof(s.service_id), "%s", svc->id);
	int n = 0;
	for (size_t i = 0; i < p->body.n; i++) {
		if (strcmp(p->body.fields[i].key, "Participants") != 0)
			continue;
		if (n == SESSION_PARTICIPANTS) {
			pv_perr(p, 400, 80609, "A Session has at most two Participants");
			return;
		}
		struct proxy_participant_in in;
		char err[160];
		if (proxy_participant_item(p->body.fields[i].value, &in, err, sizeof(err)) < 0) {
			pv_perr(p, 400, 20001, "Invalid parameter Participants: %s", err);
			return;
		}
		if (!pv_participant_from_proxy(p, svc, &in, &s.participants[n]))
			return;
		n++;
	}
	s.n_participants = n;
	if (n == 2 && strcmp(s.participants[0].number, s.participants[1].number) == 0) {
		pv_perr(p, 400, 80103, "The Participant is already in the Session");
		return;
	}
	id_new("ses", s.id);
	if (n == 0) {
		/* maskd's sessions start with a participant: keep the rest until one comes,
		 * refusing now what the native create would refuse then */
		if (s.unique_name[0] != '\0') {
			struct session_filter f = {.status = -1, .unique_name = s.unique_name, .limit = SESSION_PAGE_MAX};
			struct session_by_name found = {.open_only = true};
			int rc = store_session_list(p->app->store, svc->id, &f, first_session, &found);
			if (rc < 0) {
				pv_perr_store(p, "session_list", rc);
				return;
			}
			if (found.id[0] != '\0') {
				pv_perr(p, 400, 80603, "A Session with this UniqueName is already open in this Service");
				return;
			}
		}
		struct proxy_pending pd = {.mode = mode, .ttl = ttl, .expires_at = exp, .created_at = now};
		snprintf(pd.service_id, sizeof(pd.service_id), "%s", svc->id);
		snprintf(pd.unique_name, sizeof(pd.unique_name), "%s", s.unique_name);
		int rc = pv_pending_put(p, s.id, &pd, NULL);
		if (rc < 0) {
			pv_perr_store(p, "pending_put", rc);
			return;
		}
		session_from_pending(s.id, &pd, &s);
		api_reply(p->res, 201, pv_session_json(p, &s));
		return;
	}
	struct create_outcome o;
	memset(&o, 0, sizeof(o));
	int rc = sessions_create(p->app->store, svc, &s, now, &o);
	if (rc == MASKD_EEXISTS) {
		pv_perr(p, 400, 80603, "A Session with this UniqueName is already open in this Service");
		return;
	}
	if (rc < 0) {
		pv_create_refused(p, rc, &o);
		return;
	}
	metrics_inc(MC_SESSIONS_CREATED);
	struct session back;
	rc = store_session_get(p->app->store, s.id, &back);
	if (rc < 0) {
		pv_perr_store(p, "session_get", rc);
		return;
	}
	api_reply(p->res, 201, pv_session_json(p, &back));
}

static void session_reply(struct preq *p, const char *id)
{
	struct session s;
	int rc = store_session_get(p->app->store, id, &s);
	if (rc < 0) {
		pv_perr_store(p, "session_get", rc);
		return;
	}
	api_reply(p->res, 200, pv_session_json(p, &s));
}

void pv_audit(struct preq *p, const char *session_id, const char *participant_id, const char *action,
	      struct audit_entry *e)
{
	struct api_req r = {.app = p->app,
			    .http = p->http,
			    .res = p->res,
			    .id = session_id,
			    .id2 = participant_id,
			    .key = &p->key,
			    .request_id = api_request_id(p->http),
			    .source = p->http->remote ? p->http->remote : ""};
	api_audit_request(&r, e, action);
}

/* Update: Status closed (close), in-progress or open on a closed one
 * (re-open), Ttl, DateExpiry; on a pending session only Ttl and DateExpiry
 * (closing one is refused: delete it). */
void pv_session_update(struct preq *p, struct session *s, bool pending)
{
	int64_t now = now_unix();
	bool has_ttl = false, has_exp = false;
	int64_t ttl = 0, exp = 0;
	if (!pv_int_param(p, &p->body, "Ttl", 0, PROXY_TTL_MAX, &has_ttl, &ttl) || !pv_date_param(p, "DateExpiry", now, &has_exp, &exp))
		return;
	const char *st = pv_param(p, "Status");
	int target = -1;
	if (st != NULL) {
		if (strcmp(st, "closed") == 0)
			target = SESSION_CLOSED;
		else if (strcmp(st, "in-progress") == 0 || strcmp(st, "open") == 0)
			target = SESSION_OPEN;
		else {
			pv_perr(p, 400, 80608, "Invalid parameter Status: closed, or in-progress to re-open");
			return;
		}
	}
	if (pending) {
		struct proxy_pending pd;
		int rc = pv_pending_get(p, s->id, &pd);
		if (rc < 0) {
			pv_perr_store(p, "pending_get", rc);
			return;
		}
		if (target == SESSION_CLOSED) {
			pv_perr(p, 400, 80608, "A Session without Participants cannot be closed; delete it");
			return;
		}
		if (has_ttl)
			pd.ttl = ttl;
		if (has_exp)
			pd.expires_at = exp;
		struct audit_entry audit;
		pv_audit(p, s->id, NULL, "session.changed", &audit);
		rc = pv_pending_put(p, s->id, &pd, &audit);
		if (rc < 0) {
			pv_perr_store(p, "pending_put", rc);
			return;
		}
		session_from_pending(s->id, &pd, s);
		api_reply(p->res, 200, pv_session_json(p, s));
		return;
	}
	int rc;
	if (target == SESSION_OPEN && s->status >= SESSION_CLOSED) {
		int failed = -1;
		struct audit_entry audit;
		pv_audit(p, s->id, NULL, "session.changed", &audit);
		rc = lifecycle_reopen_with(p->app->store, s->id, has_ttl ? &ttl : NULL, has_exp ? &exp : NULL, now,
					   audit_then, &audit, &failed);
		if (rc == MASKD_EINVAL || rc == MASKD_ECONFLICT) {
			pv_perr(p, 400, 80801, "Invalid attempt to re-open the Session");
			return;
		}
	} else {
		bool changed = false;
		struct audit_entry audit;
		pv_audit(p, s->id, NULL, "session.changed", &audit);
		rc = lifecycle_change_with(p->app->store, s->id, has_ttl ? &ttl : NULL, has_exp ? &exp : NULL,
					   target == SESSION_CLOSED ? SESSION_CLOSED : -1, now, audit_then, &audit, &changed);
		if (rc == 0 && changed)
			metrics_inc(MC_SESSIONS_CLOSED);
	}
	if (rc < 0) {
		pv_perr_store(p, "session_update", rc);
		return;
	}
	session_reply(p, s->id);
}

/* Delete: closes the native session (its records stay, as maskd keeps call
 * records); a pending one's row is removed. 204 either way. */
void pv_session_delete(struct preq *p, const struct session *s, bool pending)
{
	int rc;
	struct audit_entry audit;
	pv_audit(p, s->id, NULL, "session.deleted", &audit);
	if (pending) {
		rc = pv_pending_delete(p, s->id, &audit);
		if (rc == MASKD_ENOTFOUND) {
			pv_perr_not_found(p); /* deleted by a concurrent request */
			return;
		}
	} else {
		bool changed = false;
		rc = lifecycle_change_with(p->app->store, s->id, NULL, NULL, SESSION_CLOSED, now_unix(), audit_then, &audit,
					   &changed);
		if (rc == 0 && changed)
			metrics_inc(MC_SESSIONS_CLOSED);
	}
	if (rc < 0) {
		pv_perr_store(p, "session_delete", rc);
		return;
	}
	p->res->status = 204;
}

struct session_list_ctx {
	struct preq *p;
	json_t *arr;
};

static void add_session(void *ctx, const struct session *s)
{
	struct session_list_ctx *c = ctx;
	json_array_append_new(c->arr, pv_session_json(c->p, s));
}

struct session_walk {
	int n;
	char last[ID_MAX];
};

static void walk_session(void *ctx, const struct session *s)
{
	struct session_walk *w = ctx;
	w->n++;
	snprintf(w->last, sizeof(w->last), "%s", s->id);
}

void pv_session_list(struct preq *p, const struct service *svc)
{
	struct page pg;
	if (!pv_page_parse(p, "KC", &pg))
		return;
	/* one native page after the token's row, one row more than asked to know
	 * whether a next page exists: a page holds at most SESSION_PAGE_MAX - 1 */
	if (pg.size > SESSION_PAGE_MAX - 1)
		pg.size = SESSION_PAGE_MAX - 1;
	int rc = 0;
	if (pg.after_id[0] == '\0' && pg.number > 0) {
		/* Page without PageToken: walk to the last row before the page */
		int64_t skip = pg.number * pg.size;
		while (skip > 0 && rc == 0) {
			struct session_walk w = {0};
			struct session_filter wf = {.status = -1, .limit = (int)(skip < SESSION_PAGE_MAX ? skip : SESSION_PAGE_MAX),
						    .after_id = pg.after_id[0] ? pg.after_id : NULL};
			rc = store_session_list(p->app->store, svc->id, &wf, walk_session, &w);
			if (w.n == 0)
				break;
			snprintf(pg.after_id, sizeof(pg.after_id), "%s", w.last);
			skip -= w.n;
		}
		if (skip > 0) {
			/* fewer rows than the pages before this one: an empty page */
			snprintf(pg.after_id, sizeof(pg.after_id), "%s", "");
			pg.presliced = true;
			pv_page_reply(p, json_array(), &pg, "sessions",
				   arena_printf(p->http->arena, "/Services/%s/Sessions", p->seg[1]));
			return;
		}
	}
	json_t *arr = json_array();
	struct session_list_ctx c = {p, arr};
	struct session_filter f = {.status = -1, .limit = (int)pg.size + 1};
	f.after_id = pg.after_id[0] ? pg.after_id : NULL;
	if (rc == 0)
		rc = store_session_list(p->app->store, svc->id, &f, add_session, &c);
	if (rc < 0) {
		json_decref(arr);
		pv_perr_store(p, "session_list", rc);
		return;
	}
	pg.presliced = true;
	pv_page_reply(p, arr, &pg, "sessions", arena_printf(p->http->arena, "/Services/%s/Sessions", p->seg[1]));
}

