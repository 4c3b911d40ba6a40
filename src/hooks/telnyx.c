/* SPDX-License-Identifier: MIT */
/* telnyx.c - the Telnyx dialect: TeXML for voice (form bodies with Twilio-style
 * parameters, TwiML-compatible markup rendered by twiml.c where the documents are
 * the same) and API v2 JSON webhooks for messaging (message.received in,
 * message.sent / message.finalized as delivery reports). TeXML has no <Message>:
 * texts go out through POST /v2/messages (build_send). Signatures: telnyx_sig.c. */
#include "dialect.h"
#include "fields.h"
#include "telnyx_sig.h"
#include "twiml.h"
#include "../util/err.h"
#include "../util/utf8.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define TELNYX_JSON_TYPE "application/json"
#define TELNYX_FORM_TYPE "application/x-www-form-urlencoded"
#define TELNYX_SEND_PATH "/v2/messages"

/* ------------------------------------------------------------ TeXML (form) */

/* Dial action (DialCallStatus, the dialled leg) or a call-progress callback
 * (CallStatus; a non-empty ParentCallSid marks the dialled leg). */
static void telnyx_form_status(const struct form *f, struct hook_status *st)
{
	st->leg = 'b';
	st->duration = -1;
	if (form_get(f, "DialCallStatus") != NULL) {
		st->sid = form_get(f, "DialCallSid");
		st->status = form_get(f, "DialCallStatus");
		st->duration = fields_seconds(form_get(f, "DialCallDuration"));
	} else if (form_get(f, "CallStatus") != NULL) {
		const char *parent = form_get(f, "ParentCallSid");
		st->sid = form_get(f, "CallSid");
		st->status = form_get(f, "CallStatus");
		st->duration = fields_seconds(form_get(f, "CallDuration"));
		if (parent == NULL || parent[0] == '\0')
			st->leg = 'a';
	}
	if (st->status != NULL)
		st->answered = strcmp(st->status, "in-progress") == 0 || strcmp(st->status, "answered") == 0 ||
			       (strcmp(st->status, "completed") == 0 && st->duration > 0);
	st->recording_id = form_get(f, "RecordingSid");
	st->recording_url = form_get(f, "RecordingUrl");
	if (st->status == NULL && st->recording_id != NULL) {
		/* the recordingStatusCallback: the recording of the caller's call (leg a), as in TwiML */
		st->leg = 'a';
		st->sid = form_get(f, "CallSid");
	}
}

static void telnyx_form_fill(const struct http_request *req, enum hook_event event, struct hook_input *in)
{
	const struct form *f = &in->params;
	in->from = fields_e164(req->arena, form_get(f, "From"));
	in->to = fields_e164(req->arena, form_get(f, "To"));
	in->sid = form_get(f, "CallSid");
	if (event == HOOK_GATHER)
		in->digits = form_digits(req->arena, form_get(f, "Digits"));
	if (event == HOOK_STATUS)
		telnyx_form_status(f, &in->st);
}

/* ------------------------------------------------------------ API v2 (JSON) */

static const char *telnyx_jdup(struct arena *a, json_t *v)
{
	const char *s = json_string_value(v);
	return s != NULL ? arena_strdup(a, s) : NULL;
}

/* The first recipient of payload.to: an array of {phone_number, status} (what
 * Telnyx sends), or a single such object. */
static json_t *telnyx_first_to(json_t *payload)
{
	json_t *to = json_object_get(payload, "to");
	return json_is_array(to) ? json_array_get(to, 0) : to;
}

/* message.sent / message.finalized: the sent message is leg 'b'; its status is the
 * recipient's (queued, sending, sent, delivered, sending_failed, delivery_failed,
 * delivery_unconfirmed), or the event's own name when the payload has none; the
 * price when message.finalized carries cost{amount, currency}. */
static void telnyx_json_status(struct arena *a, const char *event_type, json_t *payload, struct hook_status *st)
{
	st->leg = 'b';
	st->duration = -1;
	st->sid = telnyx_jdup(a, json_object_get(payload, "id"));
	st->status = telnyx_jdup(a, json_object_get(telnyx_first_to(payload), "status"));
	if ((st->status == NULL || st->status[0] == '\0') && event_type != NULL &&
	    strncmp(event_type, "message.", 8) == 0)
		st->status = event_type + 8;
	json_t *cost = json_object_get(payload, "cost");
	json_t *amount = json_object_get(cost, "amount");
	st->cost = json_is_number(amount) ? arena_printf(a, "%.17g", json_number_value(amount))
					  : telnyx_jdup(a, amount);
	st->currency = st->cost != NULL ? telnyx_jdup(a, json_object_get(cost, "currency")) : NULL;
}

/* Returns 0, or 400 for a body that is not a JSON object. Fields that are absent or
 * of the wrong type stay NULL: the pipeline answers for them. */
static int telnyx_json_fill(const struct http_request *req, enum hook_event event, struct hook_input *in, const char **why)
{
	json_error_t jerr;
	json_t *root = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL || !json_is_object(root)) {
		json_decref(root);
		*why = "malformed JSON body";
		return 400;
	}
	struct arena *a = req->arena;
	json_t *data = json_object_get(root, "data");
	json_t *payload = json_object_get(data, "payload");
	const char *event_type = telnyx_jdup(a, json_object_get(data, "event_type"));
	if (event == HOOK_STATUS) {
		telnyx_json_status(a, event_type, payload, &in->st);
	} else if (event == HOOK_MESSAGE && event_type != NULL && strncmp(event_type, "message.", 8) == 0 &&
		   strcmp(event_type, "message.received") != 0) {
		/* a delivery report sent to the profile's URL: a status callback (ignored by
		 * the pipeline unless it names an interaction) */
		in->event = HOOK_STATUS;
		telnyx_json_status(a, event_type, payload, &in->st);
	} else if (event == HOOK_MESSAGE && event_type != NULL && strcmp(event_type, "message.received") == 0) {
		in->from = fields_e164(a, telnyx_jdup(a, json_object_get(json_object_get(payload, "from"),
									       "phone_number")));
		in->to = fields_e164(a, telnyx_jdup(a, json_object_get(telnyx_first_to(payload), "phone_number")));
		in->sid = telnyx_jdup(a, json_object_get(payload, "id"));
		in->body = telnyx_jdup(a, json_object_get(payload, "text"));
		json_t *media = json_object_get(payload, "media");
		size_t n = json_is_array(media) ? json_array_size(media) : 0;
		for (size_t i = 0; i < n && in->n_media < HOOK_MEDIA_MAX; i++) {
			const char *url = telnyx_jdup(a, json_object_get(json_array_get(media, i), "url"));
			if (url != NULL && url[0] != '\0')
				in->media[in->n_media++] = url;
		}
	}
	json_decref(root);
	return 0;
}

/* ------------------------------------------------------------ parse */

static int telnyx_body_is_json(const struct http_request *req)
{
	const char *ct = http_header(req, "Content-Type");
	if (ct != NULL)
		return strncasecmp(ct, TELNYX_JSON_TYPE, strlen(TELNYX_JSON_TYPE)) == 0;
	for (size_t i = 0; i < req->body_len; i++)
		if (req->body[i] != ' ' && req->body[i] != '\t' && req->body[i] != '\r' && req->body[i] != '\n')
			return req->body[i] == '{';
	return 0;
}

static int telnyx_parse(const struct http_request *req, enum hook_event event, struct hook_input *in, const char **why)
{
	if (strcmp(req->method, "POST") != 0) {
		*why = "use POST";
		return 405;
	}
	int rc = form_parse(req->arena, req->query, strlen(req->query), &in->query);
	if (rc < 0) {
		*why = rc == MASKD_ETOOBIG ? "too many query fields" : "malformed query string";
		return rc == MASKD_ETOOBIG ? 413 : 400;
	}
	in->event = event;
	in->interaction_id = form_get(&in->query, "interaction");
	int json = telnyx_body_is_json(req);
	if (event == HOOK_MESSAGE && !json) {
		*why = "expected application/json (Telnyx messaging webhook)";
		return 415;
	}
	if ((event == HOOK_VOICE || event == HOOK_GATHER) && json) {
		*why = "expected application/x-www-form-urlencoded (TeXML)";
		return 415;
	}
	if (json)
		return telnyx_json_fill(req, event, in, why);
	const char *ct = http_header(req, "Content-Type");
	if (ct != NULL && strncasecmp(ct, TELNYX_FORM_TYPE, strlen(TELNYX_FORM_TYPE)) != 0) {
		*why = "expected application/x-www-form-urlencoded (TeXML)";
		return 415;
	}
	rc = form_parse(req->arena, req->body, req->body_len, &in->params);
	if (rc < 0) {
		*why = rc == MASKD_ETOOBIG ? "too many form fields" : "malformed form body";
		return rc == MASKD_ETOOBIG ? 413 : 400;
	}
	telnyx_form_fill(req, event, in);
	return 0;
}

/* ------------------------------------------------------------ verify */

static bool telnyx_signed(const struct http_request *req, const struct hook_input *in)
{
	(void)in;
	return http_header(req, "telnyx-signature-ed25519") != NULL && http_header(req, "telnyx-timestamp") != NULL;
}

static bool telnyx_verify(const struct service *svc, const struct http_request *req, const char *url,
			  const struct hook_input *in, int64_t now)
{
	char key[SECRET_MAX_LEN + 1];
	if (service_cred(svc, DIALECT_TELNYX, "public_key", key, sizeof(key)) < 0)
		return false;
	return telnyx_sig_check(key, req->body, req->body_len, http_header(req, "telnyx-signature-ed25519"),
				http_header(req, "telnyx-timestamp"), now, NULL) == 0;
}

/* ------------------------------------------------------------ render */

#define XML_DECL "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"

static void telnyx_attr(struct buf *out, const char *name, const char *value)
{
	buf_printf(out, " %s=\"", name);
	buf_xml_attr(out, value);
	buf_puts(out, "\"");
}

static int telnyx_bridge_is_plain(const struct hook_render *r)
{
	return !r->record && r->time_limit <= 0 && r->ring_timeout <= 0;
}

/* A bridge with recording or limits, in the shape of PROVIDERS.md §2.3 (TeXML has
 * no builder): the consent <Say> is heard by the caller before the <Dial>; the
 * callee hears consent_url's document when one is given (<Number url>, as in
 * TwiML). Attribute order is the TwiML builder's, so the document is the TwiML
 * one minus what TeXML does not document (recordingStatusCallbackEvent,
 * statusCallbackMethod). No status URL (a forward to a fallback number): no
 * action, method, statusCallback nor statusCallbackEvent. */
static void telnyx_bridge_full(struct buf *out, const struct decision *d, const struct hook_render *r)
{
	buf_puts(out, XML_DECL "<Response>");
	if (r->record && r->consent_message != NULL && r->consent_message[0] != '\0') {
		buf_puts(out, "<Say>");
		buf_xml_text(out, r->consent_message);
		buf_puts(out, "</Say>");
	}
	buf_puts(out, "<Dial");
	telnyx_attr(out, "callerId", d->from);
	if (r->ring_timeout > 0)
		buf_printf(out, " timeout=\"%d\"", r->ring_timeout);
	if (r->time_limit > 0)
		buf_printf(out, " timeLimit=\"%d\"", r->time_limit);
	telnyx_attr(out, "answerOnBridge", "true");
	if (r->record) {
		telnyx_attr(out, "record", "record-from-answer-dual");
		if (r->recording_url != NULL && r->recording_url[0] != '\0')
			telnyx_attr(out, "recordingStatusCallback", r->recording_url);
	}
	int cb = r->status_url != NULL && r->status_url[0] != '\0';
	if (cb) {
		telnyx_attr(out, "action", r->status_url);
		telnyx_attr(out, "method", "POST");
	}
	buf_puts(out, "><Number");
	if (r->record && r->consent_url != NULL && r->consent_url[0] != '\0')
		telnyx_attr(out, "url", r->consent_url);
	if (cb) {
		telnyx_attr(out, "statusCallback", r->status_url);
		telnyx_attr(out, "statusCallbackEvent", TWIML_STATUS_EVENTS);
	}
	buf_puts(out, ">");
	buf_xml_text(out, d->dial);
	buf_puts(out, "</Number></Dial></Response>");
}

static void telnyx_render(const struct decision *d, const struct hook_render *r, struct http_response *res)
{
	res->status = 200;
	if (d->kind == DECISION_FORWARD_MESSAGE ||
	    (d->kind == DECISION_ACKNOWLEDGE && r->event == HOOK_MESSAGE)) {
		/* No TeXML <Message>: the text goes out through build_send; the
		 * messaging webhook itself is answered with an empty 200. */
		res->content_type = "text/plain; charset=utf-8";
		return;
	}
	res->content_type = TWIML_CONTENT_TYPE;
	if (d->kind == DECISION_BRIDGE && !telnyx_bridge_is_plain(r)) {
		telnyx_bridge_full(&res->body, d, r);
		return;
	}
	/* TeXML's <Gather> has no actionOnEmptyResult: a <Redirect> follows it */
	struct twiml_args a = {.status_url = r->status_url,
			       .say = r->say,
			       .gather_url = r->gather_url,
			       .gather_digits = r->gather_digits,
			       .gather_timeout = r->gather_timeout,
			       .gather_redirect = 1};
	twiml_render(&res->body, d, &a);
}

/* ------------------------------------------------------------ build_send */

/* s as a JSON string the way JSON.stringify writes it (the SDK's serialiser):
 * '"' and '\\' escaped, \b \f \n \r \t, other controls as lowercase \u00xx,
 * everything else (UTF-8 included) as is. */
static void telnyx_json_str(struct buf *b, const char *in)
{
	/* form values are bytes: well-formed UTF-8 first (util/utf8.h) */
	char *s = utf8_sanitized_dup(in, UTF8_FOR_JSON);
	buf_puts(b, "\"");
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '"': buf_puts(b, "\\\""); break;
		case '\\': buf_puts(b, "\\\\"); break;
		case '\b': buf_puts(b, "\\b"); break;
		case '\f': buf_puts(b, "\\f"); break;
		case '\n': buf_puts(b, "\\n"); break;
		case '\r': buf_puts(b, "\\r"); break;
		case '\t': buf_puts(b, "\\t"); break;
		default:
			if (*p < 0x20)
				buf_printf(b, "\\u%04x", *p);
			else
				buf_append(b, (const char *)p, 1);
		}
	}
	buf_puts(b, "\"");
	free(s);
}

/* POST {api_base}/v2/messages with the JSON body telnyx-node's messages.send({from,
 * to, text, media_urls, webhook_url}) writes (JSON.stringify, keys in that order,
 * absent ones left out); webhook_url brings message.sent / message.finalized back
 * to the interaction's status URL. out->interaction_id is the caller's to set. */
static int telnyx_build_send(const struct service *svc, const struct decision *d, const struct hook_render *r,
			     const char *api_base, struct outgoing *out)
{
	char key[SECRET_MAX_LEN + 1];
	if (d->kind != DECISION_FORWARD_MESSAGE || d->dial == NULL || d->from == NULL || api_base == NULL)
		return MASKD_EINVAL;
	if (service_cred(svc, DIALECT_TELNYX, "api_key", key, sizeof(key)) < 0)
		return MASKD_EINVAL;
	int n = snprintf(out->url, sizeof(out->url), "%s" TELNYX_SEND_PATH, api_base);
	if (n < 0 || (size_t)n >= sizeof(out->url))
		return MASKD_EINVAL;
	n = snprintf(out->authorization, sizeof(out->authorization), "Bearer %s", key);
	if (n < 0 || (size_t)n >= sizeof(out->authorization))
		return MASKD_EINVAL;
	out->dialect = DIALECT_TELNYX;
	snprintf(out->content_type, sizeof(out->content_type), "%s", TELNYX_JSON_TYPE);

	struct buf b;
	buf_init(&b);
	buf_puts(&b, "{\"from\":");
	telnyx_json_str(&b, d->from);
	buf_puts(&b, ",\"to\":");
	telnyx_json_str(&b, d->dial);
	if (r->body != NULL && r->body[0] != '\0') {
		buf_puts(&b, ",\"text\":");
		telnyx_json_str(&b, r->body);
	}
	if (r->n_media > 0) {
		buf_puts(&b, ",\"media_urls\":[");
		for (int i = 0; i < r->n_media; i++) {
			if (i > 0)
				buf_puts(&b, ",");
			telnyx_json_str(&b, r->media[i]);
		}
		buf_puts(&b, "]");
	}
	if (r->status_url != NULL && r->status_url[0] != '\0') {
		buf_puts(&b, ",\"webhook_url\":");
		telnyx_json_str(&b, r->status_url);
	}
	buf_puts(&b, "}");
	out->body = buf_steal(&b, &out->body_len);
	return 0;
}

const struct hook_dialect hook_dialect_telnyx = {
	.id = DIALECT_TELNYX,
	.name = "telnyx",
	.parse = telnyx_parse,
	.verify = telnyx_verify,
	.signed_request = telnyx_signed,
	.render = telnyx_render,
	.build_send = telnyx_build_send,
};
