/* SPDX-License-Identifier: MIT */
/* sip.c - the SIP trunk edge; see sip.h. Checks the signature and its timestamp first
 * (read from the headers or from the query string), parses the query into a neutral
 * struct hook_input, reads the clock and the random source once, runs the webhook
 * pipeline (flow/webhook.c) as dialect "sip", renders its decision as a JSON routing
 * document. No policy lives here; log lines carry the Call-ID and masked numbers
 * only, never the signature. */
#include "sip.h"
#include "../app.h"
#include "../flow/webhook.h"
#include "../store/store.h"
#include "../util/crypto.h"
#include "../util/err.h"
#include "../util/form.h"
#include "../util/ids.h"
#include "../util/log.h"
#include "../util/metrics.h"
#include "../util/phone.h"
#include "../util/timeutil.h"
#include "../util/xmalloc.h"

#include <assert.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SIP_DURATION_MAX (7LL * 86400) /* seconds of a reported call; more is a 400 */
#define SIP_SAY_MAX 512                /* bytes of an announce's text sent to Kamailio */

/* ---------------------------------------------------------------- signature */

bool sip_signature_ok(const char *secret, const char *ts, const char *body, size_t len, const char *sig)
{
	assert(secret != NULL && (body != NULL || len == 0));
	if (secret[0] == '\0' || sig == NULL || ts == NULL || ts[0] == '\0')
		return false;
	/* the timestamp is signed with the body: "<ts>.<body>" */
	size_t tn = strlen(ts);
	char *msg = xmalloc(tn + 1 + len + 1);
	memcpy(msg, ts, tn);
	msg[tn] = '.';
	if (len > 0)
		memcpy(msg + tn + 1, body, len);
	msg[tn + 1 + len] = '\0';
	uint8_t mac[32];
	hmac_sha256(secret, strlen(secret), msg, tn + 1 + len, mac);
	free(msg);
	char b64[48];
	size_t n = base64_encode(mac, sizeof(mac), b64);
	/* base64url without padding (RFC 4648 section 5), as Kamailio writes it */
	while (n > 0 && b64[n - 1] == '=')
		n--;
	for (size_t i = 0; i < n; i++) {
		if (b64[i] == '+')
			b64[i] = '-';
		else if (b64[i] == '/')
			b64[i] = '_';
	}
	bool ok = ct_equal(b64, n, sig, strlen(sig));
	OPENSSL_cleanse(mac, sizeof(mac));
	return ok;
}

int sip_timestamp_check(const char *ts, int64_t now_s, const char **why)
{
	assert(why != NULL);
	if (ts == NULL || ts[0] == '\0') {
		*why = "missing timestamp";
		return 403;
	}
	int64_t t = 0;
	size_t n = 0;
	for (const char *p = ts; *p; p++, n++) {
		if (*p < '0' || *p > '9' || n >= SIP_TS_DIGITS) {
			*why = "malformed timestamp";
			return 403;
		}
		t = t * 10 + (*p - '0');
	}
	if (t < now_s - SIP_TS_WINDOW || t > now_s + SIP_TS_WINDOW) {
		*why = "timestamp outside the window (a replay, or a clock too far off)";
		return 403;
	}
	return 0;
}

int sip_signed_values(struct arena *a, const char *hdr_ts, const char *hdr_sig, const char *query, const char **ts,
		      const char **sig, const char **why)
{
	assert(a != NULL && query != NULL && ts != NULL && sig != NULL && why != NULL);
	*ts = NULL;
	*sig = NULL;
	if (query[0] == '\0') {
		*ts = hdr_ts;
		*sig = hdr_sig;
		return 0;
	}
	if (hdr_ts != NULL || hdr_sig != NULL) {
		*why = "signed both in headers and in the query string";
		return 403;
	}
	struct form f;
	if (form_parse(a, query, strlen(query), &f) != 0) {
		*why = "malformed query string";
		return 403;
	}
	const char *qts = NULL;
	const char *qsig = NULL;
	for (size_t i = 0; i < f.n; i++) {
		const char **slot = NULL;
		if (strcmp(f.fields[i].key, "ts") == 0)
			slot = &qts;
		else if (strcmp(f.fields[i].key, "sig") == 0)
			slot = &qsig;
		if (slot == NULL || *slot != NULL) {
			*why = slot == NULL ? "a query string field other than ts and sig" : "ts or sig twice in the query string";
			return 403;
		}
		*slot = f.fields[i].value;
	}
	if (qts == NULL || qsig == NULL) {
		*why = "ts or sig missing from the query string";
		return 403;
	}
	*ts = qts;
	*sig = qsig;
	return 0;
}

/* ---------------------------------------------------------------- parsing */

/* '+' then 2..15 digits, the first not 0. */
static bool e164_strict(const char *s)
{
	if (s[0] != '+' || s[1] < '1' || s[1] > '9')
		return false;
	size_t n = 0;
	for (s++; *s; s++, n++)
		if (*s < '0' || *s > '9')
			return false;
	return n >= 2 && n <= 15;
}

/* A Call-ID as RFC 3261 words allow, bounded: printable ASCII without spaces,
 * quotes or backslashes. */
static bool call_id_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > SIP_CALL_ID_MAX)
		return false;
	for (; *s; s++)
		if (*s <= ' ' || *s > '~' || *s == '"' || *s == '\\')
			return false;
	return true;
}

/* The JSON object of body, every key in allowed. NULL with *why on failure. */
static json_t *load_object(const char *body, size_t len, const char *const *allowed, const char **why)
{
	if (len > SIP_BODY_MAX) {
		*why = "query body too large";
		return NULL;
	}
	json_error_t err;
	json_t *o = json_loadb(body, len, JSON_REJECT_DUPLICATES, &err);
	if (o == NULL || !json_is_object(o)) {
		json_decref(o);
		*why = "expected a JSON object";
		return NULL;
	}
	const char *key;
	json_t *v;
	json_object_foreach(o, key, v)
	{
		bool known = false;
		for (size_t i = 0; allowed[i] != NULL; i++)
			known = known || strcmp(key, allowed[i]) == 0;
		if (!known) {
			json_decref(o);
			*why = "unknown field";
			return NULL;
		}
	}
	return o;
}

/* The non-empty string field name of o, copied to a; NULL when absent or not one. */
static const char *string_field(struct arena *a, json_t *o, const char *name)
{
	json_t *v = json_object_get(o, name);
	if (!json_is_string(v) || json_string_length(v) == 0 || strlen(json_string_value(v)) != json_string_length(v))
		return NULL;
	return arena_strdup(a, json_string_value(v));
}

int sip_parse_route(struct arena *a, const char *body, size_t len, struct hook_input *in, const char **why)
{
	assert(a != NULL && in != NULL && why != NULL);
	static const char *const allowed[] = {"call_id", "from", "to", NULL};
	json_t *o = load_object(body, len, allowed, why);
	if (o == NULL)
		return 400;
	const char *call_id = string_field(a, o, "call_id");
	const char *from = string_field(a, o, "from");
	const char *to = string_field(a, o, "to");
	json_decref(o);
	if (call_id == NULL || from == NULL || to == NULL) {
		*why = call_id == NULL ? "missing call_id" : from == NULL ? "missing from" : "missing to";
		return 400;
	}
	if (!call_id_ok(call_id)) {
		*why = "malformed or oversized call_id";
		return 400;
	}
	if (!e164_strict(from) || !e164_strict(to)) {
		*why = !e164_strict(from) ? "from is not an E.164 number" : "to is not an E.164 number";
		return 400;
	}
	memset(in, 0, sizeof(*in));
	in->event = HOOK_VOICE;
	in->from = from;
	in->to = to;
	in->sid = call_id;
	return 0;
}

/* The leg status of a failed call's final SIP code. */
static const char *failed_status(json_int_t code)
{
	switch (code) {
	case 486:
	case 600:
		return "busy";
	case 408:
	case 480:
		return "no-answer";
	case 487:
		return "canceled";
	default:
		return "failed";
	}
}

int sip_parse_event(struct arena *a, const char *body, size_t len, struct hook_input *in, const char **why)
{
	assert(a != NULL && in != NULL && why != NULL);
	static const char *const allowed[] = {"call_id", "event", "duration", "code", NULL};
	json_t *o = load_object(body, len, allowed, why);
	if (o == NULL)
		return 400;
	const char *call_id = string_field(a, o, "call_id");
	const char *event = string_field(a, o, "event");
	json_t *dur = json_object_get(o, "duration");
	json_t *code = json_object_get(o, "code");
	json_int_t duration = json_is_integer(dur) ? json_integer_value(dur) : -1;
	json_int_t status = json_is_integer(code) ? json_integer_value(code) : -1;
	bool dur_bad = dur != NULL && (!json_is_integer(dur) || duration < 0 || duration > SIP_DURATION_MAX);
	bool code_bad = code != NULL && (!json_is_integer(code) || status < 300 || status > 699);
	json_decref(o);
	memset(in, 0, sizeof(*in));
	in->event = HOOK_STATUS;
	in->st.duration = -1;
	if (call_id == NULL || !call_id_ok(call_id)) {
		*why = "missing, malformed or oversized call_id";
		return 400;
	}
	if (dur_bad || code_bad) {
		*why = dur_bad ? "duration must be whole seconds, at most a week" : "code must be a final SIP status";
		return 400;
	}
	in->sid = call_id;
	in->st.sid = call_id;
	if (event != NULL && strcmp(event, "answered") == 0 && dur == NULL && code == NULL) {
		in->st.status = "in-progress";
		in->st.answered = 1;
		return 0;
	}
	if (event != NULL && strcmp(event, "ended") == 0 && dur != NULL && code == NULL) {
		in->st.status = "completed";
		in->st.duration = duration;
		return 0;
	}
	if (event != NULL && strcmp(event, "failed") == 0 && code != NULL && dur == NULL) {
		in->st.status = failed_status(status);
		in->st.duration = 0;
		return 0;
	}
	*why = "event must be answered, ended (with duration) or failed (with code)";
	return 400;
}

/* ---------------------------------------------------------------- rendering */

int sip_reject_code(enum route_reason reason)
{
	switch (reason) {
	case ROUTE_SESSION_ENDED:
	case ROUTE_NO_PEER:
		return 480;
	case ROUTE_RATE_LIMITED:
		return 486;
	case ROUTE_WRONG_PIN:
	case ROUTE_UNKNOWN_CALLER:
	case ROUTE_BLOCKED:
	case ROUTE_CHANNEL_DENIED:
	case ROUTE_OK:
	case ROUTE_EMPTY_MESSAGE:
	case ROUTE_KEYWORD:
	case ROUTE_OPTED_OUT:
	case ROUTE_MEDIA_REFUSED:
	case ROUTE_INTERCEPTED:
		break;
	}
	return 403;
}

/* A text safe in a SIP header value: control characters become spaces, cut at
 * SIP_SAY_MAX bytes (on a UTF-8 boundary). */
static char *header_safe(const char *s)
{
	size_t n = strlen(s);
	if (n > SIP_SAY_MAX) {
		n = SIP_SAY_MAX;
		while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
			n--;
	}
	char *out = xmalloc(n + 1);
	for (size_t i = 0; i < n; i++)
		out[i] = (unsigned char)s[i] < ' ' || s[i] == 0x7f ? ' ' : s[i];
	out[n] = '\0';
	return out;
}

static void dump(json_t *doc, struct buf *out)
{
	char *text = json_dumps(doc, JSON_COMPACT);
	if (text == NULL)
		fatal("sip: out of memory rendering a routing document");
	buf_puts(out, text);
	free(text);
	json_decref(doc);
}

void sip_render(const struct decision *d, const struct hook_render *r, const struct sip_conf *conf, struct buf *out)
{
	assert(d != NULL && r != NULL && conf != NULL && conf->trunk != NULL && out != NULL);
	if (d->kind == DECISION_BRIDGE && d->dial != NULL && d->from != NULL) {
		char ruri[160], from_uri[160], pai[164];
		snprintf(ruri, sizeof(ruri), "sip:%s@%s", d->dial, conf->trunk);
		snprintf(from_uri, sizeof(from_uri), "sip:%s@%s", d->from, conf->trunk);
		snprintf(pai, sizeof(pai), "<%s>", from_uri);
		dump(json_pack("{s:s,s:s,s:s,s:s,s:i,s:i}", "action", "bridge", "ruri", ruri, "from_uri", from_uri, "pai", pai,
			       "ring_timeout", r->ring_timeout > 0 ? r->ring_timeout : 0, "time_limit",
			       r->time_limit > 0 ? r->time_limit : 0),
		     out);
		OPENSSL_cleanse(ruri, sizeof(ruri));
		return;
	}
	int code = d->kind == DECISION_GATHER ? 488 : sip_reject_code(d->reason);
	const char *say = d->kind == DECISION_GATHER ? NULL : r->say;
	if (say != NULL && say[0] != '\0' && conf->announce != NULL && conf->announce[0] != '\0') {
		char *text = header_safe(say);
		dump(json_pack("{s:s,s:s,s:s,s:i}", "action", "announce", "uri", conf->announce, "say", text, "code", code),
		     out);
		free(text);
		return;
	}
	const char *reason = d->kind == DECISION_GATHER ? "PIN entry needs a carrier dialect"
			     : code == 480			? "Temporarily Unavailable"
			     : code == 486			? "Busy Here"
							: "Forbidden";
	dump(json_pack("{s:s,s:i,s:s}", "action", "reject", "code", code, "reason", reason), out);
}

/* ---------------------------------------------------------------- the edge */

/* The pipeline's signature check: the edge checked MASKD_SIP_SECRET before parsing. */
static bool signed_at_edge(void *ctx, const struct service *svc)
{
	(void)ctx;
	(void)svc;
	return true;
}

static void answer_json(struct http_response *res, int status, const char *text)
{
	res->status = status;
	res->content_type = "application/json";
	buf_reset(&res->body);
	buf_puts(&res->body, text);
}

static void fill_env(const struct app *app, struct webhook_env *env)
{
	*env = (struct webhook_env){
		.store = app->store,
		.sender = app->sender,
		.limiter = app->limiter,
		.vault = app->vault,
		.public_url = app->public_url,
		.api_base = app->api_base,
	};
}

static void handle_route(struct app *app, const struct http_request *req, int64_t now_ms_edge, struct http_response *res)
{
	const char *why = "malformed query";
	struct hook_input in;
	int status = sip_parse_route(req->arena, req->body, req->body_len, &in, &why);
	if (status == 0 && (phone_is_emergency(in.to) || phone_is_emergency(in.from))) {
		status = 400;
		why = "an emergency number: Kamailio routes it directly, never through maskd";
	}
	if (status != 0) {
		log_info("sip route: refused: %s", why);
		metrics_webhook(DIALECT_SIP, MW_BAD_REQUEST);
		http_text(res, status, why);
		return;
	}
	struct webhook_now now = {.ms = now_ms_edge};
	now.s = now.ms / 1000;
	id_new("int", now.interaction_id);
	id_new("ses", now.session_id);
	struct webhook_env env;
	fill_env(app, &env);
	struct webhook_request rq = {
		.dl = {.id = DIALECT_SIP, .name = "sip", .build_send = NULL},
		.event = "route",
		.in = &in,
		.arena = req->arena,
		.now = &now,
		.verify = signed_at_edge,
	};
	struct webhook_answer ans;
	webhook_inbound(&env, &rq, CHANNEL_VOICE, &ans);
	if (ans.status != 200) {
		http_text(res, ans.status, ans.text);
		return;
	}
	struct sip_conf conf = {.trunk = app->sip_trunk, .announce = app->sip_announce};
	res->status = 200;
	res->content_type = "application/json";
	buf_reset(&res->body);
	sip_render(&ans.d, &ans.r, &conf, &res->body);
}

/* A leg whose stored status is final keeps it: an end reported twice (or an event
 * arriving after the end) changes nothing and emits no second leg event. */
static bool leg_ended(const struct interaction *it, char leg)
{
	for (int i = 0; i < it->n_legs; i++)
		if (it->legs[i].leg == leg)
			return leg_status_final(it->legs[i].status);
	return false;
}

static void handle_event(struct app *app, const struct http_request *req, int64_t now_ms_edge, struct http_response *res)
{
	const char *why = "malformed query";
	struct hook_input in;
	int status = sip_parse_event(req->arena, req->body, req->body_len, &in, &why);
	if (status != 0) {
		log_info("sip event: refused: %s", why);
		metrics_webhook(DIALECT_SIP, MW_BAD_REQUEST);
		http_text(res, status, why);
		return;
	}
	struct interaction it;
	int rc = store_interaction_by_sid(app->store, DIALECT_SIP, in.sid, &it);
	if (rc == MASKD_ENOTFOUND) {
		/* a call maskd refused or never saw: nothing to record */
		log_info("sip event %s: no interaction; ignored", in.sid);
		metrics_webhook(DIALECT_SIP, MW_STATUS);
		answer_json(res, 200, "{\"ok\":true}");
		return;
	}
	if (rc < 0) {
		log_error("sip event %s: %s", in.sid, maskd_strerror(rc));
		metrics_webhook(DIALECT_SIP, MW_ERROR);
		http_text(res, 503, "temporarily unavailable");
		return;
	}
	in.interaction_id = arena_strdup(req->arena, it.id);
	struct webhook_now now = {.ms = now_ms_edge};
	now.s = now.ms / 1000;
	struct webhook_env env;
	fill_env(app, &env);
	struct webhook_request rq = {
		.dl = {.id = DIALECT_SIP, .name = "sip", .build_send = NULL},
		.event = "event",
		.in = &in,
		.arena = req->arena,
		.now = &now,
		.verify = signed_at_edge,
	};
	/* the callee's leg, then the caller's: Kamailio sees both end together */
	static const char legs[] = {'b', 'a'};
	for (size_t i = 0; i < sizeof(legs); i++) {
		if (leg_ended(&it, legs[i])) {
			log_info("sip event %s: leg %c already ended; ignored", it.id, legs[i]);
			continue;
		}
		in.st.leg = legs[i];
		struct webhook_answer ans;
		webhook_status(&env, &rq, &ans);
		if (ans.status != 200) {
			http_text(res, ans.status, ans.text);
			return;
		}
	}
	answer_json(res, 200, "{\"ok\":true}");
}

int sip_handle(struct app *app, const struct http_request *req, struct http_response *res)
{
	assert(app != NULL && req != NULL && res != NULL);
	static const char prefix[] = "/sip/";
	if (strncmp(req->path, prefix, sizeof(prefix) - 1) != 0)
		return 0;
	const char *what = req->path + sizeof(prefix) - 1;
	bool route = strcmp(what, "route") == 0;
	if (!route && strcmp(what, "event") != 0) {
		http_text(res, 404, "no such SIP query");
		return 1;
	}
	if (strcmp(req->method, "POST") != 0) {
		http_text(res, 405, "use POST");
		return 1;
	}
	const char *secret = app->sip_secret != NULL ? app->sip_secret : "";
	/* from the headers or from the query string, never both; the values are never logged */
	const char *ts = NULL;
	const char *sig = NULL;
	const char *why = NULL;
	if (sip_signed_values(req->arena, http_header(req, SIP_TS_HEADER), http_header(req, SIP_SIG_HEADER), req->query,
			      &ts, &sig, &why) != 0) {
		log_warn("sip %s: refused: %s", what, why);
		metrics_webhook(DIALECT_SIP, MW_BAD_SIGNATURE);
		http_text(res, 403, "invalid signature");
		return 1;
	}
	if (!sip_signature_ok(secret, ts, req->body, req->body_len, sig)) {
		log_warn("sip %s: refused: %s", what, secret[0] == '\0' ? "MASKD_SIP_SECRET is not set" : "bad or missing signature");
		metrics_webhook(DIALECT_SIP, MW_BAD_SIGNATURE);
		http_text(res, 403, "invalid signature");
		return 1;
	}
	/* the one clock reading of this request: the window, then the pipeline's "now" */
	int64_t now = now_ms();
	if (sip_timestamp_check(ts, now / 1000, &why) != 0) {
		log_warn("sip %s: refused: %s", what, why);
		metrics_webhook(DIALECT_SIP, MW_BAD_SIGNATURE);
		http_text(res, 403, "timestamp outside the window");
		return 1;
	}
	if (route)
		handle_route(app, req, now, res);
	else
		handle_event(app, req, now, res);
	return 1;
}
