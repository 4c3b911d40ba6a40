/* SPDX-License-Identifier: MIT */
/* hooks.c - the edge of the carrier webhooks; see hooks.h. Finds the dialect,
 * parses, reads the clock and the random source once, hands the request to the
 * pipeline (flow/webhook.c) with the dialect's signature check, renders the
 * decision it answers. Before any of that, a request whose signature is missing,
 * or bad by the credentials the store's memory holds for the dialled number, is
 * refused without a database access (forged_refusal()). No policy lives here. */
#include "hooks.h"
#include "fields.h"
#include "dialect.h"
#include "../app.h"
#include "outcall.h"
#include "../flow/webhook.h"
#include "../store/store.h"
#include "../util/metrics.h"
#include "../util/err.h"
#include "../util/log.h"
#include "../util/mask.h"
#include "../util/timeutil.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct hook_ctx {
	struct app *app;
	const struct http_request *req;
	const struct hook_dialect *dl;
	const char *event;
	const struct hook_input *in;
	int64_t now;
};

/* An event whose To is a proxy number (a click-to-call's answer is to the
 * participant's real number, so it is judged by its interaction, as a status is). */
static bool inbound_event(enum hook_event e) { return e != HOOK_STATUS && e != HOOK_CONSENT && e != HOOK_ANSWER; }

/* The request's signature by svc's credential for this dialect, without a word in
 * the log: the memory check of forged_refusal(), run under the store's lock. */
static bool signature_matches(void *ctx, const struct service *svc)
{
	const struct hook_ctx *h = ctx;
	if (svc->secrets[h->dl->id][0] == '\0')
		return false;
	const char *url = arena_printf(h->req->arena, "%s%s", h->app->public_url, h->req->target);
	return h->dl->verify(svc, h->req, url, h->in, h->now);
}

/* The request's signature by svc's credential for this dialect (webhook_verify_fn).
 * For an inbound event the pipeline calls it with the service its route lookup
 * found as the owner of To: that read is what the owner memory is refreshed from. */
static bool signature_ok(void *ctx, const struct service *svc)
{
	const struct hook_ctx *h = ctx;
	if (inbound_event(h->in->event) && h->in->to != NULL)
		store_number_owner_note(h->app->store, h->in->to, svc->id);
	if (svc->secrets[h->dl->id][0] == '\0') {
		log_warn("webhook %s %s: service %s has no %s credential; refused", h->dl->name, h->event, svc->id,
			 h->dl->name);
		return false;
	}
	const char *url = arena_printf(h->req->arena, "%s%s", h->app->public_url, h->req->target);
	return h->dl->verify(svc, h->req, url, h->in, h->now);
}

int hook_parse_form_request(const struct http_request *req, struct hook_input *in, const struct form **fields,
			    const char **why)
{
	assert(req != NULL && in != NULL && fields != NULL && why != NULL);
	int is_get = strcmp(req->method, "GET") == 0;
	if (!is_get && strcmp(req->method, "POST") != 0) {
		*why = "use POST (or GET)";
		return 405;
	}
	int rc = form_parse(req->arena, req->query, strlen(req->query), &in->query);
	if (rc == 0 && !is_get) {
		const char *ct = http_header(req, "Content-Type");
		if (ct != NULL && strncasecmp(ct, "application/x-www-form-urlencoded", 33) != 0) {
			*why = "expected application/x-www-form-urlencoded";
			return 415;
		}
		rc = form_parse(req->arena, req->body, req->body_len, &in->params);
	}
	if (rc < 0) {
		*why = rc == MASKD_ETOOBIG ? "too many form fields" : "malformed form body";
		return rc == MASKD_ETOOBIG ? 413 : 400;
	}
	*fields = is_get ? &in->query : &in->params;
	return 0;
}

/* 1 when the request is refused as forged before any database access: it carries
 * no signature at all, or it is an inbound event whose number's owner and
 * credentials the store holds in memory (store_number_owner_check()) and the
 * signature does not match them. 0 lets the pipeline run, with its own reads and
 * its own signature check: a request the memory cannot judge costs one route
 * lookup and one service read at most per number and TTL, and only when it is
 * complete enough to be judged (parsed, and signed). */
static int forged_refusal(struct hook_ctx *h, struct http_response *res)
{
	const char *to = h->in->to;
	int rc = MASKD_ENOTFOUND;
	if (!h->dl->signed_request(h->req, h->in))
		rc = 0;
	else if (inbound_event(h->in->event) && to != NULL && to[0] != '\0')
		rc = store_number_owner_check(h->app->store, to, signature_matches, h);
	if (rc != 0)
		return 0;
	char to_masked[MASK_MAX];
	mask_e164(to != NULL ? to : "", to_masked, sizeof(to_masked));
	log_warn("webhook %s %s: refused before any database access: bad or missing signature (To %s)", h->dl->name,
		 h->event, to_masked);
	metrics_webhook(h->dl->id, MW_BAD_SIGNATURE);
	http_text(res, 403, "invalid signature");
	return 1;
}

static const struct hook_dialect *const dialects[] = {&hook_dialect_twilio, &hook_dialect_signalwire, &hook_dialect_vonage,
							      &hook_dialect_telnyx, &hook_dialect_plivo, &hook_dialect_vobiz};

/* The event of /hooks/{dialect}/{word}; false for an unknown word. */
static bool hook_event_parse(const char *word, enum hook_event *out)
{
	static const char *const words[] = {
		[HOOK_VOICE] = "voice",	    [HOOK_MESSAGE] = "message", [HOOK_STATUS] = "status",
		[HOOK_CONSENT] = "consent", [HOOK_GATHER] = "gather",   [HOOK_ANSWER] = "answer",
	};
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strcmp(word, words[i]) == 0) {
			*out = (enum hook_event)i;
			return true;
		}
	return false;
}

const struct hook_dialect *hook_dialect_find(const char *name, size_t name_len)
{
	assert(name != NULL);
	for (size_t i = 0; i < sizeof(dialects) / sizeof(dialects[0]); i++)
		if (strlen(dialects[i]->name) == name_len && strncmp(dialects[i]->name, name, name_len) == 0)
			return dialects[i];
	return NULL;
}

int hooks_handle(struct app *app, const struct http_request *req, struct http_response *res)
{
	assert(app != NULL && req != NULL && res != NULL);
	static const char prefix[] = "/hooks/";
	if (strncmp(req->path, prefix, sizeof(prefix) - 1) != 0)
		return 0;
	const char *rest = req->path + sizeof(prefix) - 1;
	const char *slash = strchr(rest, '/');
	const struct hook_dialect *dl = NULL;
	const char *event_name = NULL;
	if (slash != NULL) {
		dl = hook_dialect_find(rest, (size_t)(slash - rest));
		event_name = slash + 1;
	}
	enum hook_event event = HOOK_VOICE;
	if (dl == NULL || !hook_event_parse(event_name, &event) || (event == HOOK_ANSWER && !outcall_supported(dl->id))) {
		http_text(res, 404, "no such webhook");
		return 1;
	}
	const char *why = "malformed request";
	struct hook_input in;
	memset(&in, 0, sizeof(in));
	in.event = event;
	int status = dl->parse(req, event, &in, &why);
	if (status == 0 && (!fields_id_ok(in.sid) || !fields_id_ok(in.st.sid) || !fields_id_ok(in.st.recording_id))) {
		status = 400;
		why = "malformed call, message or recording id";
	}
	if (status != 0) {
		log_info("webhook %s %s: refused: %s", dl->name, event_name, why);
		metrics_webhook(dl->id, MW_BAD_REQUEST);
		http_text(res, status, why);
		return 1;
	}
	event = in.event;
	/* the one clock read (and the one draw of fresh ids) of this request */
	struct webhook_now now = {.ms = now_ms()};
	now.s = now.ms / 1000;
	if (event != HOOK_STATUS && event != HOOK_CONSENT && event != HOOK_ANSWER) {
		id_new("int", now.interaction_id);
		id_new("ses", now.session_id);
	}
	struct hook_ctx h = {.app = app, .req = req, .dl = dl, .event = event_name, .in = &in, .now = now.s};
	if (forged_refusal(&h, res))
		return 1;
	struct webhook_env env = {
		.store = app->store,
		.sender = app->sender,
		.limiter = app->limiter,
		.vault = app->vault,
		.public_url = app->public_url,
		.api_base = app->api_base,
	};
	struct webhook_request rq = {
		.dl = {.id = dl->id, .name = dl->name, .build_send = dl->build_send},
		.event = event_name,
		.in = &in,
		.arena = req->arena,
		.now = &now,
		.verify = signature_ok,
		.verify_ctx = &h,
	};
	struct webhook_answer ans;
	if (event == HOOK_STATUS || event == HOOK_CONSENT)
		webhook_status(&env, &rq, &ans);
	else if (event == HOOK_GATHER)
		webhook_gather(&env, &rq, &ans);
	else if (event == HOOK_ANSWER)
		webhook_answer(&env, &rq, &ans);
	else
		webhook_inbound(&env, &rq, event == HOOK_VOICE ? CHANNEL_VOICE : CHANNEL_MESSAGE, &ans);
	if (ans.status != 200) {
		http_text(res, ans.status, ans.text);
		return 1;
	}
	buf_reset(&res->body);
	ans.r.event = in.event;
	dl->render(&ans.d, &ans.r, res);
	return 1;
}
