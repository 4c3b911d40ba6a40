/* SPDX-License-Identifier: MIT */
/* vonage.c - the Vonage dialect: Voice API answer webhooks (GET query by default, or a
 * JSON POST) answered with an NCCO, Voice event webhooks (JSON) mapped to legs, and SMS
 * API inbound messages (query, form or JSON), which NCCO cannot answer: those are sent
 * through the SMS API by build_send, exactly as @vonage/sms 1.21.0 send() does, and the
 * webhook gets an empty 200. Signatures are vonage_sig.c's; nothing here decides. */
#include "dialect.h"
#include "fields.h"
#include "vonage_sig.h"
#include "../util/crypto.h"
#include "../util/err.h"
#include "../util/log.h"
#include "../util/utf8.h"
#include "../util/xmalloc.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define VONAGE_JWT_MAX_AGE 300		/* seconds a signed webhook's iat may lie in the past */
#define VONAGE_JWT_MAX_SKEW 60		/* seconds it may lie in the future (clock skew) */
#define VONAGE_SMS_SIG_TOLERANCE 86400 /* SMS "timestamp" window: Vonage retries for 24 h, and a
					   replay is harmless (the interaction is keyed on messageId) */
#define VONAGE_NUMBER_MAX 32		/* longest number written back without '+' */
#define VONAGE_CONTENT_TYPE "application/json"

/* ------------------------------------------------------------------ parsing */

/* The top-level scalar members of a JSON object as form fields (strings as is,
 * numbers and booleans in their JSON spelling; null, arrays and objects skipped), so
 * every body shape is read - and SMS-signed - the same way. */
static int vonage_json_form(struct arena *a, const char *body, size_t len, struct form *out, const char **why)
{
	json_error_t jerr;
	json_t *o = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
	if (o == NULL || !json_is_object(o)) {
		json_decref(o);
		*why = "malformed JSON body (an object expected)";
		return 400;
	}
	if (json_object_size(o) > FORM_FIELDS_MAX) {
		json_decref(o);
		*why = "too many JSON fields";
		return 413;
	}
	out->fields = arena_alloc(a, (json_object_size(o) + 1) * sizeof(*out->fields));
	out->n = 0;
	const char *key;
	json_t *v;
	json_object_foreach(o, key, v)
	{
		const char *s = NULL;
		if (json_is_string(v)) {
			if (memchr(json_string_value(v), '\0', json_string_length(v)) != NULL)
				continue; /* a string with a NUL inside is no field */
			s = arena_strdup(a, json_string_value(v));
		} else if (json_is_integer(v))
			s = arena_printf(a, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		else if (json_is_real(v))
			s = arena_printf(a, "%.17g", json_real_value(v));
		else if (json_is_boolean(v))
			s = json_is_true(v) ? "true" : "false";
		if (s == NULL)
			continue;
		out->fields[out->n].key = arena_strdup(a, key);
		out->fields[out->n].value = s;
		out->n++;
	}
	json_decref(o);
	return 0;
}

/* Fills the fields of a POST body, by its Content-Type: JSON (Vonage's answer_method
 * POST, events, SMS "POST-JSON") or a form (SMS "POST"). */
static int vonage_body_fields(const struct http_request *req, struct form *out, const char **why)
{
	const char *ct = http_header(req, "Content-Type");
	if (req->body_len == 0 && ct == NULL)
		return 0;
	if (ct == NULL || strncasecmp(ct, "application/json", 16) == 0)
		return vonage_json_form(req->arena, req->body, req->body_len, out, why);
	if (strncasecmp(ct, "application/x-www-form-urlencoded", 33) == 0) {
		int rc = form_parse(req->arena, req->body, req->body_len, out);
		if (rc < 0) {
			*why = rc == MASKD_ETOOBIG ? "too many form fields" : "malformed form body";
			return rc == MASKD_ETOOBIG ? 413 : 400;
		}
		return 0;
	}
	*why = "expected application/json or application/x-www-form-urlencoded";
	return 415;
}

/* A Voice event. The connect action's eventUrl (the one carrying ?interaction=)
 * reports the connected leg, "direction":"outbound"; an event whose direction is
 * "inbound" is the caller's own call (the answered uuid): leg 'a'. A record event
 * (recording_uuid, recording_url, no uuid nor status) belongs to the caller's call,
 * whose NCCO holds the record action: leg 'a'. price is in the account's currency,
 * EUR (PROVIDERS.md 1.6). Events with nothing of this (input, transfer) leave
 * status NULL and are ignored by the pipeline. */
static void vonage_parse_status(const struct form *f, struct hook_status *st)
{
	const char *dir = form_get(f, "direction");
	st->sid = form_get(f, "uuid");
	st->status = form_get(f, "status");
	st->duration = fields_seconds(form_get(f, "duration"));
	st->answered = st->status != NULL && strcmp(st->status, "answered") == 0;
	st->recording_id = form_get(f, "recording_uuid");
	st->recording_url = form_get(f, "recording_url");
	st->cost = form_get(f, "price");
	st->currency = st->cost != NULL ? "EUR" : NULL;
	if (dir != NULL)
		st->leg = strcmp(dir, "inbound") == 0 ? 'a' : 'b';
	else
		st->leg = st->recording_id != NULL && st->sid == NULL ? 'a' : 'b';
	/* Vonage's unanswered outcomes in the leg words of the other dialects, so
	 * they end the leg (model.h leg_status_final) */
	static const char *const words[][2] = {
		{"timeout", "no-answer"}, {"unanswered", "no-answer"}, {"rejected", "busy"}, {"cancelled", "canceled"}};
	for (size_t i = 0; st->status != NULL && i < sizeof(words) / sizeof(words[0]); i++)
		if (strcmp(st->status, words[i][0]) == 0)
			st->status = words[i][1];
}

/* The digits of an input action's event (a JSON POST to its eventUrl):
 * dtmf{digits, timed_out}. digits is what was entered, with or without a timeout
 * (timed_out only says which ended the input; a partial entry is still reported);
 * "" when nothing was; NULL when the body holds no dtmf result (a GET, a form, a
 * speech-only result). A trailing '#' is dropped should Vonage ever include it
 * (submitOnHash leaves it out). The body was checked to be a JSON object by
 * vonage_body_fields. */
static const char *vonage_dtmf_digits(const struct http_request *req)
{
	const char *ct = http_header(req, "Content-Type");
	if (req->body_len == 0 || (ct != NULL && strncasecmp(ct, "application/json", 16) != 0))
		return NULL;
	json_error_t jerr;
	json_t *o = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &jerr);
	const char *digits = json_string_value(json_object_get(json_object_get(o, "dtmf"), "digits"));
	/* copied out of o before it is freed */
	const char *out = digits != NULL ? form_digits(req->arena, arena_strdup(req->arena, digits)) : NULL;
	json_decref(o);
	return out;
}

static int vonage_parse(const struct http_request *req, enum hook_event event, struct hook_input *in, const char **why)
{
	int is_get = strcmp(req->method, "GET") == 0;
	if (!is_get && strcmp(req->method, "POST") != 0) {
		*why = "use GET or POST";
		return 405;
	}
	int rc = form_parse(req->arena, req->query, strlen(req->query), &in->query);
	if (rc < 0) {
		*why = rc == MASKD_ETOOBIG ? "too many query fields" : "malformed query string";
		return rc == MASKD_ETOOBIG ? 413 : 400;
	}
	if (!is_get) {
		int status = vonage_body_fields(req, &in->params, why);
		if (status != 0)
			return status;
	}
	const struct form *f = is_get ? &in->query : &in->params;
	in->event = event;
	in->interaction_id = form_get(&in->query, "interaction");
	if (event == HOOK_MESSAGE) {
		/* SMS API names; the Messages API's from / message_uuid as a fallback */
		const char *from = form_get(f, "msisdn");
		in->from = fields_e164(req->arena, from != NULL ? from : form_get(f, "from"));
		in->to = fields_e164(req->arena, form_get(f, "to"));
		in->sid = form_get(f, "messageId");
		if (in->sid == NULL)
			in->sid = form_get(f, "message_uuid");
		in->body = form_get(f, "text");
	} else if (event == HOOK_VOICE || event == HOOK_GATHER || event == HOOK_ANSWER) {
		/* from is absent for app-user (Client SDK) calls: from_user then stands in,
		 * a caller maskd cannot place. The input action's event carries the same
		 * from, to and uuid as the answer webhook of its call. */
		const char *from = form_get(f, "from");
		in->from = fields_e164(req->arena, from != NULL ? from : form_get(f, "from_user"));
		in->to = fields_e164(req->arena, form_get(f, "to"));
		in->sid = form_get(f, "uuid");
		if (event == HOOK_GATHER && !is_get)
			in->digits = vonage_dtmf_digits(req);
	} else {
		vonage_parse_status(f, &in->st);
		/* a click-to-call's first leg is "outbound" too: its event URL says leg=a */
		const char *leg = form_get(&in->query, "leg");
		if (in->st.leg == 'b' && leg != NULL && strcmp(leg, "a") == 0)
			in->st.leg = 'a';
	}
	return 0;
}

/* ------------------------------------------------------------------ signatures */

static bool vonage_verify_sms(const struct service *svc, const struct form *f, int64_t now)
{
	char secret[SECRET_MAX_LEN + 1], method[32];
	if (service_cred(svc, DIALECT_VONAGE, "signature_secret", secret, sizeof(secret)) < 0)
		return false;
	enum vonage_sms_sig_alg alg = VONAGE_SMS_MD5HASH; /* Vonage's default method */
	if (service_cred(svc, DIALECT_VONAGE, "signature_method", method, sizeof(method)) == 0 &&
	    vonage_sms_sig_alg_parse(method, &alg) < 0) {
		log_warn("vonage: service %s: unknown signature_method; SMS refused", svc->id);
		return false;
	}
	const char *detail = "ok";
	if (vonage_sms_sig_check(alg, secret, f, now, VONAGE_SMS_SIG_TOLERANCE, &detail) < 0) {
		log_info("vonage: SMS signature refused: %s", detail);
		return false;
	}
	return true;
}

/* Voice answer and event webhooks (and Messages API inbound texts) carry a JWT; SMS
 * API inbound texts carry the "sig" parameter. */
static bool vonage_verify(const struct service *svc, const struct http_request *req, const char *url,
			  const struct hook_input *in, int64_t now)
{
	int is_get = strcmp(req->method, "GET") == 0;
	const struct form *f = is_get ? &in->query : &in->params;
	if (in->event == HOOK_MESSAGE && form_get(f, "sig") != NULL)
		return vonage_verify_sms(svc, f, now);
	char secret[SECRET_MAX_LEN + 1];
	if (service_cred(svc, DIALECT_VONAGE, "signature_secret", secret, sizeof(secret)) < 0)
		return false;
	struct vonage_jwt_claims claims;
	const char *detail = "ok";
	int rc = vonage_sig_check_jwt(secret, http_header(req, "Authorization"), req->method, req->body,
				      req->body_len, now, VONAGE_JWT_MAX_AGE, VONAGE_JWT_MAX_SKEW, &claims, &detail);
	if (rc < 0) {
		log_info("vonage: signed webhook refused: %s", detail);
		return false;
	}
	return true;
}

static bool vonage_signed(const struct http_request *req, const struct hook_input *in)
{
	const struct form *f = strcmp(req->method, "GET") == 0 ? &in->query : &in->params;
	return http_header(req, "Authorization") != NULL || (in->event == HOOK_MESSAGE && form_get(f, "sig") != NULL);
}

/* ------------------------------------------------------------------ NCCO */

/* A number as Vonage writes it: E.164 without the '+'. */
static const char *vonage_number(const char *e164, char out[VONAGE_NUMBER_MAX])
{
	snprintf(out, VONAGE_NUMBER_MAX, "%s", e164 != NULL && e164[0] == '+' ? e164 + 1 : (e164 ? e164 : ""));
	return out;
}

/* json_string() that refuses nothing: ill-formed UTF-8 (a form value is bytes)
 * becomes U+FFFD (utf8.h), so the NCCO and the SMS request always carry the text. */
static json_t *vonage_str(const char *s)
{
	char *clean = utf8_sanitized_dup(s, UTF8_FOR_JSON);
	json_t *j = json_string(clean);
	free(clean);
	if (j == NULL)
		fatal("vonage: out of memory building JSON");
	return j;
}

static json_t *vonage_talk(const char *text)
{
	json_t *t = json_object();
	json_object_set_new(t, "action", json_string("talk"));
	json_object_set_new(t, "text", vonage_str(text));
	return t;
}

/* talk (consent), record, connect: the shape of markup_samples.txt vonage_ncco_bridge,
 * each action with the members @vonage/voice's classes serialise, in their order. */
static json_t *vonage_bridge(const struct decision *d, const struct hook_render *r)
{
	json_t *ncco = json_array();
	if (r->record && r->consent_message != NULL && r->consent_message[0] != '\0')
		json_array_append_new(ncco, vonage_talk(r->consent_message));
	if (r->record) {
		json_t *rec = json_object();
		json_object_set_new(rec, "action", json_string("record"));
		json_object_set_new(rec, "format", json_string("mp3"));
		json_object_set_new(rec, "split", json_string("conversation"));
		json_object_set_new(rec, "channels", json_integer(2));
		if (r->recording_url != NULL && r->recording_url[0] != '\0') {
			json_object_set_new(rec, "eventUrl", json_pack("[o]", vonage_str(r->recording_url)));
			json_object_set_new(rec, "eventMethod", json_string("POST"));
		}
		json_array_append_new(ncco, rec);
	}
	char dial[VONAGE_NUMBER_MAX], from[VONAGE_NUMBER_MAX];
	json_t *c = json_object();
	json_object_set_new(c, "action", json_string("connect"));
	json_t *ep = json_pack("{s:s,s:o}", "type", "phone", "number", vonage_str(vonage_number(d->dial, dial)));
	if (r->record && r->consent_url != NULL && r->consent_url[0] != '\0')
		json_object_set_new(ep, "onAnswer", json_pack("{s:o}", "url", vonage_str(r->consent_url)));
	json_object_set_new(c, "endpoint", json_pack("[o]", ep));
	json_object_set_new(c, "from", vonage_str(vonage_number(d->from, from)));
	json_object_set_new(c, "eventType", json_string("synchronous"));
	if (r->ring_timeout > 0)
		json_object_set_new(c, "timeout", json_integer(r->ring_timeout));
	if (r->time_limit > 0)
		json_object_set_new(c, "limit", json_integer(r->time_limit));
	if (r->status_url != NULL && r->status_url[0] != '\0') {
		json_object_set_new(c, "eventUrl", json_pack("[o]", vonage_str(r->status_url)));
		json_object_set_new(c, "eventMethod", json_string("POST"));
	}
	json_array_append_new(ncco, c);
	return ncco;
}

#define VONAGE_DTMF_TIMEOUT_MAX 10 /* input dtmf.timeOut: at most 10 s (NCCO reference) */
#define VONAGE_DTMF_DIGITS_MAX 20  /* input dtmf.maxDigits: at most 20 */

static int vonage_clamp(int v, int lo, int hi)
{
	return v < lo ? lo : (v > hi ? hi : v);
}

/* Gather: new Talk(prompt, true) (bargeIn: a digit ends the prompt; the next action
 * must then be an input), and new Input({timeOut, maxDigits, submitOnHash: true},
 * undefined, gather_url, 'POST'), as NCCOBuilder.build() serialises them. An input
 * always posts its result to eventUrl, digits or not (dtmf.timed_out). timeOut is
 * Vonage's inter-digit wait, held to its 1..10 s range; maxDigits to 1..20. */
static json_t *vonage_gather(const struct hook_render *r)
{
	json_t *ncco = json_array();
	if (r->say != NULL && r->say[0] != '\0') {
		json_t *talk = vonage_talk(r->say);
		json_object_set_new(talk, "bargeIn", json_true());
		json_array_append_new(ncco, talk);
	}
	json_t *dtmf = json_object();
	json_object_set_new(dtmf, "timeOut", json_integer(vonage_clamp(r->gather_timeout, 1, VONAGE_DTMF_TIMEOUT_MAX)));
	json_object_set_new(dtmf, "maxDigits", json_integer(vonage_clamp(r->gather_digits, 1, VONAGE_DTMF_DIGITS_MAX)));
	json_object_set_new(dtmf, "submitOnHash", json_true());
	json_t *in = json_object();
	json_object_set_new(in, "action", json_string("input"));
	json_object_set_new(in, "type", json_pack("[s]", "dtmf"));
	json_object_set_new(in, "dtmf", dtmf);
	json_object_set_new(in, "eventUrl", json_pack("[o]", vonage_str(r->gather_url)));
	json_object_set_new(in, "eventMethod", json_string("POST"));
	json_array_append_new(ncco, in);
	return ncco;
}

/* Bridge: the NCCO above (with the callee's consent notice fetched from
 * r->consent_url by the phone endpoint's onAnswer). Reject, and the consent notice
 * itself (announce): talk r->say, after which that call's NCCO ends (an empty NCCO
 * when there is nothing to say; NCCO cannot refuse a call unanswered). Gather: the
 * NCCO above. Acknowledge - and a forward, which markup cannot express (the pipeline
 * sends it with build_send): an empty 200 for SMS and event webhooks, the empty NCCO
 * "[]" for a voice answer or an input's result (whose answer replaces the NCCO). */
static void vonage_render(const struct decision *d, const struct hook_render *r, struct http_response *res)
{
	res->status = 200;
	json_t *ncco = NULL;
	if (d->kind == DECISION_BRIDGE)
		ncco = vonage_bridge(d, r);
	else if (d->kind == DECISION_GATHER)
		ncco = vonage_gather(r);
	else if (d->kind == DECISION_REJECT || d->kind == DECISION_ANNOUNCE)
		ncco = r->say != NULL && r->say[0] != '\0' ? json_pack("[o]", vonage_talk(r->say)) : json_array();
	else if (r->event == HOOK_VOICE || r->event == HOOK_GATHER)
		ncco = json_array();
	if (ncco == NULL) {
		res->content_type = NULL;
		return;
	}
	char *text = json_dumps(ncco, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(ncco);
	if (text == NULL)
		fatal("vonage: out of memory rendering an NCCO");
	res->content_type = VONAGE_CONTENT_TYPE;
	buf_puts(&res->body, text);
	free(text);
}

/* ------------------------------------------------------------------ SMS API send */

static bool vonage_is_ascii(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s >= 0x80)
			return false;
	return true;
}

/* POST {api_base}/sms/json, what @vonage/sms 1.21.0 SMS.send({from, to, text[, type]})
 * puts on the wire: Content-Type application/json, Authorization "Basic
 * base64(api_key:api_secret)", body {"from","to","text"} with numbers without '+',
 * plus "type":"unicode" when the text is not plain ASCII (the SMS API would otherwise
 * read it as GSM-7 and garble it). */
static int vonage_build_send(const struct service *svc, const struct decision *d, const struct hook_render *r,
			     const char *api_base, struct outgoing *out)
{
	char key[SECRET_MAX_LEN + 1], secret[SECRET_MAX_LEN + 1];
	out->body = NULL;
	out->body_len = 0;
	if (service_cred(svc, DIALECT_VONAGE, "api_key", key, sizeof(key)) < 0 ||
	    service_cred(svc, DIALECT_VONAGE, "api_secret", secret, sizeof(secret)) < 0)
		return MASKD_EINVAL;
	int n = snprintf(out->url, sizeof(out->url), "%s/sms/json", api_base != NULL ? api_base : "");
	if (n < 0 || (size_t)n >= sizeof(out->url))
		return MASKD_EINVAL;
	char pair[2 * SECRET_MAX_LEN + 2];
	snprintf(pair, sizeof(pair), "%s:%s", key, secret);
	char b64[4 * ((sizeof(pair) + 2) / 3) + 1];
	base64_encode((const uint8_t *)pair, strlen(pair), b64);
	n = snprintf(out->authorization, sizeof(out->authorization), "Basic %s", b64);
	if (n < 0 || (size_t)n >= sizeof(out->authorization))
		return MASKD_EINVAL; /* credentials too long for any real account */
	snprintf(out->content_type, sizeof(out->content_type), "%s", VONAGE_CONTENT_TYPE);
	out->dialect = DIALECT_VONAGE;

	char to[VONAGE_NUMBER_MAX], from[VONAGE_NUMBER_MAX];
	const char *text = r->body != NULL ? r->body : "";
	json_t *o = json_object();
	json_object_set_new(o, "from", vonage_str(vonage_number(d->from, from)));
	json_object_set_new(o, "to", vonage_str(vonage_number(d->dial, to)));
	json_object_set_new(o, "text", vonage_str(text));
	if (!vonage_is_ascii(text))
		json_object_set_new(o, "type", json_string("unicode"));
	out->body = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (out->body == NULL)
		fatal("vonage: out of memory building an SMS request");
	out->body_len = strlen(out->body);
	return 0;
}

const struct hook_dialect hook_dialect_vonage = {
	.id = DIALECT_VONAGE,
	.name = "vonage",
	.parse = vonage_parse,
	.verify = vonage_verify,
	.signed_request = vonage_signed,
	.render = vonage_render,
	.build_send = vonage_build_send,
};
