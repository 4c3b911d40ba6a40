/* SPDX-License-Identifier: MIT */
/* plivo.c - the Plivo XML family: Plivo and Vobiz (VobizXML is Plivo XML with
 * <GetDigits>/<GetInput> renamed <Gather>). One parser, one renderer; the two
 * differ in their signature headers and readings (plivo_sig.c), in the digit
 * collecting verb, and in that Plivo has a REST Message API for what its
 * <Message> cannot carry (MMS).
 * Requests are form bodies, or a query string for GET webhooks; numbers arrive as
 * digits without '+' and are written back the same way. Never logs. */
#include "dialect.h"
#include "fields.h"
#include "plivo_sig.h"
#include "../util/crypto.h"
#include "../util/err.h"
#include "../util/utf8.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define PLIVO_CONTENT_TYPE "text/xml"

/* ------------------------------------------------------------ parsing */

/* The first non-empty value of key, or NULL. */
static const char *nonempty(const struct form *f, const char *key)
{
	const char *v = form_get(f, key);
	return v != NULL && v[0] != '\0' ? v : NULL;
}

/* Dial action (DialStatus), Dial callbackUrl events (DialAction), message delivery
 * (MessageUUID + Status), a call's own hangup/ring callback (CallStatus), or the
 * <Record> callbackUrl (RecordingID, RecordUrl: the recording of the caller's
 * call, leg a). */
static void parse_status(const struct form *f, struct hook_status *st)
{
	st->leg = 'b';
	st->duration = -1;
	if (form_get(f, "DialStatus") != NULL) {
		st->sid = nonempty(f, "DialBLegUUID");
		st->status = form_get(f, "DialStatus");
		st->duration = fields_seconds(form_get(f, "DialBLegBillDuration"));
	} else if (form_get(f, "DialAction") != NULL) {
		st->sid = nonempty(f, "DialBLegUUID");
		st->status = nonempty(f, "DialBLegStatus");
		if (st->status == NULL)
			st->status = form_get(f, "DialAction");
		st->duration = fields_seconds(form_get(f, "DialBLegBillDuration"));
	} else if (form_get(f, "MessageUUID") != NULL && form_get(f, "Status") != NULL) {
		st->sid = form_get(f, "MessageUUID");
		st->status = form_get(f, "Status");
	} else if (form_get(f, "CallStatus") != NULL) {
		st->sid = form_get(f, "CallUUID");
		st->status = form_get(f, "CallStatus");
		st->duration = fields_seconds(form_get(f, "BillDuration"));
		const char *dir = form_get(f, "Direction");
		if (dir == NULL || strcmp(dir, "outbound") != 0)
			st->leg = 'a';
	}
	st->recording_id = nonempty(f, "RecordingID");
	st->recording_url = nonempty(f, "RecordUrl");
	if (st->status == NULL && st->recording_id != NULL) {
		st->leg = 'a';
		st->sid = nonempty(f, "CallUUID");
	}
}

/* Media1..MediaN (one-based per Plivo's docs); a Media0 is taken too, first. */
static void parse_media(const struct form *f, struct hook_input *in)
{
	for (int i = 0; i <= HOOK_MEDIA_MAX && in->n_media < HOOK_MEDIA_MAX; i++) {
		char key[16];
		snprintf(key, sizeof(key), "Media%d", i);
		const char *url = nonempty(f, key);
		if (url == NULL) {
			if (i == 0)
				continue;
			break;
		}
		in->media[in->n_media++] = url;
	}
}

static int plivo_parse(const struct http_request *req, enum hook_event event, struct hook_input *in, const char **why)
{
	const struct form *f = NULL;
	int status = hook_parse_form_request(req, in, &f, why);
	if (status != 0)
		return status;
	in->event = event;
	in->from = fields_e164(req->arena, form_get(f, "From"));
	in->to = fields_e164(req->arena, form_get(f, "To"));
	if (event == HOOK_MESSAGE) {
		in->sid = form_get(f, "MessageUUID");
		/* SMS text is "Text"; MMS and WhatsApp put it in "Body". */
		in->body = nonempty(f, "Text");
		if (in->body == NULL)
			in->body = form_get(f, "Body");
		parse_media(f, in);
	} else {
		in->sid = form_get(f, "CallUUID");
	}
	if (event == HOOK_GATHER)
		in->digits = form_digits(req->arena, form_get(f, "Digits"));
	in->interaction_id = form_get(&in->query, "interaction");
	if (event == HOOK_STATUS)
		parse_status(f, &in->st);
	if (event == HOOK_STATUS && in->st.leg == 'b' && form_get(f, "DialStatus") == NULL &&
	    form_get(f, "DialAction") == NULL && form_get(f, "CallStatus") != NULL) {
		/* a click-to-call's first leg is "outbound" too: its hangup URL says leg=a */
		const char *leg = form_get(&in->query, "leg");
		if (leg != NULL && strcmp(leg, "a") == 0)
			in->st.leg = 'a';
	}
	return 0;
}

/* ------------------------------------------------------------ signatures */

struct sig_headers {
	const char *v2, *v2_ma, *v2_nonce;
	const char *v3, *v3_ma, *v3_nonce;
};

static const struct sig_headers plivo_headers = {
	"X-Plivo-Signature-V2", "X-Plivo-Signature-Ma-V2", "X-Plivo-Signature-V2-Nonce",
	"X-Plivo-Signature-V3", "X-Plivo-Signature-Ma-V3", "X-Plivo-Signature-V3-Nonce",
};

static const struct sig_headers vobiz_headers = {
	"X-Vobiz-Signature-V2", "X-Vobiz-Signature-MA-V2", "X-Vobiz-Signature-V2-Nonce",
	"X-Vobiz-Signature-V3", "X-Vobiz-Signature-MA-V3", "X-Vobiz-Signature-V3-Nonce",
};

/* The account's own header, or the main (parent) account's one: a service holds one
 * auth_token, which is whichever of the two its numbers' callbacks are signed with. */
static bool check_v3(enum plivo_sig_flavor fl, const struct sig_headers *h, const char *token,
		     const struct http_request *req, const char *url, const struct hook_input *in)
{
	const char *nonce = http_header(req, h->v3_nonce);
	const struct form *params = strcmp(req->method, "GET") == 0 ? NULL : &in->params;
	return plivo_sig_v3_check(fl, token, req->method, url, params, nonce, http_header(req, h->v3)) ||
	       plivo_sig_v3_check(fl, token, req->method, url, params, nonce, http_header(req, h->v3_ma));
}

static bool check_v2(const struct sig_headers *h, const char *token, const struct http_request *req,
		     const char *url)
{
	const char *nonce = http_header(req, h->v2_nonce);
	return plivo_sig_v2_check(token, url, nonce, http_header(req, h->v2)) ||
	       plivo_sig_v2_check(token, url, nonce, http_header(req, h->v2_ma));
}

/* Plivo signs voice webhooks (and the Dial and GetDigits callbacks) with V3 over URL,
 * params and nonce, and messaging webhooks (and message delivery callbacks) with V2
 * over the query-less URL and nonce only. So: voice, gather and a click-to-call's
 * answer URL need V3, message needs
 * V2, and a status callback or the Dial's confirmSound fetch (the consent notice)
 * may be either; a V3 header, when sent, is the one checked. */
static bool plivo_verify(const struct service *svc, const struct http_request *req, const char *url,
			 const struct hook_input *in, int64_t now)
{
	char token[SECRET_MAX_LEN + 1];
	if (service_cred(svc, DIALECT_PLIVO, "auth_token", token, sizeof(token)) < 0)
		return false;
	const struct sig_headers *h = &plivo_headers;
	bool has_v3 = http_header(req, h->v3) != NULL || http_header(req, h->v3_ma) != NULL;
	if (in->event == HOOK_VOICE || in->event == HOOK_GATHER || in->event == HOOK_ANSWER ||
	    ((in->event == HOOK_STATUS || in->event == HOOK_CONSENT) && has_v3))
		return check_v3(PLIVO_SIG_PLIVO, h, token, req, url, in);
	return check_v2(h, token, req, url);
}

/* Vobiz sends V2 and V3 on every callback (docs.vobiz.ai, PROVIDERS.md §3.4); V3 has
 * two readings (plivo_sig.h), V2 one. V3 is checked when present, else V2. */
static bool vobiz_verify(const struct service *svc, const struct http_request *req, const char *url,
			 const struct hook_input *in, int64_t now)
{
	char token[SECRET_MAX_LEN + 1];
	if (service_cred(svc, DIALECT_VOBIZ, "auth_token", token, sizeof(token)) < 0)
		return false;
	const struct sig_headers *h = &vobiz_headers;
	if (http_header(req, h->v3) != NULL || http_header(req, h->v3_ma) != NULL)
		return check_v3(PLIVO_SIG_VOBIZ, h, token, req, url, in);
	return check_v2(h, token, req, url);
}

static bool any_sig_header(const struct sig_headers *h, const struct http_request *req)
{
	return http_header(req, h->v3) != NULL || http_header(req, h->v3_ma) != NULL || http_header(req, h->v2) != NULL ||
	       http_header(req, h->v2_ma) != NULL;
}

static bool plivo_signed(const struct http_request *req, const struct hook_input *in)
{
	(void)in;
	return any_sig_header(&plivo_headers, req);
}

static bool vobiz_signed(const struct http_request *req, const struct hook_input *in)
{
	(void)in;
	return any_sig_header(&vobiz_headers, req);
}

/* ------------------------------------------------------------ markup */

static void attr(struct buf *out, const char *name, const char *value)
{
	buf_printf(out, " %s=\"", name);
	buf_xml_attr(out, value);
	buf_puts(out, "\"");
}

/* A number as Plivo writes it: without the '+'. */
static const char *digits(const char *e164)
{
	return e164 != NULL && e164[0] == '+' ? e164 + 1 : e164;
}

/* Bridge: <Speak> consent and a background <Record> of the bridged call when
 * recording, then <Dial> with the proxy number as caller ID. The Dial action and
 * the B leg's callbackUrl events go to the status URL; redirect="false" so the
 * action's answer is a notification, not the rest of the call. */
static void render_bridge(struct buf *out, const struct decision *d, const struct hook_render *r)
{
	buf_puts(out, "<Response>");
	if (r->record && r->consent_message != NULL && r->consent_message[0] != '\0') {
		buf_puts(out, "<Speak>");
		buf_xml_text(out, r->consent_message);
		buf_puts(out, "</Speak>");
	}
	if (r->record) {
		buf_puts(out, "<Record");
		attr(out, "recordSession", "true");
		attr(out, "startOnDialAnswer", "true");
		attr(out, "redirect", "false");
		/* Record's maxLength defaults to 60 s: cover the whole call. */
		buf_printf(out, " maxLength=\"%d\"", r->time_limit > 0 ? r->time_limit : 14400);
		attr(out, "fileFormat", "mp3");
		if (r->recording_url != NULL) {
			attr(out, "callbackUrl", r->recording_url);
			attr(out, "callbackMethod", "POST");
		}
		buf_puts(out, "/>");
	}
	buf_puts(out, "<Dial");
	attr(out, "callerId", digits(d->from));
	if (r->ring_timeout > 0)
		buf_printf(out, " timeout=\"%d\"", r->ring_timeout);
	if (r->time_limit > 0)
		buf_printf(out, " timeLimit=\"%d\"", r->time_limit);
	if (r->status_url != NULL) {
		attr(out, "action", r->status_url);
		attr(out, "method", "POST");
		attr(out, "redirect", "false");
		attr(out, "callbackUrl", r->status_url);
		attr(out, "callbackMethod", "POST");
	}
	/* The callee hears the consent document (Play/Speak/Wait only) on answering. */
	if (r->record && r->consent_url != NULL)
		attr(out, "confirmSound", r->consent_url);
	buf_puts(out, "><Number>");
	buf_xml_text(out, digits(d->dial));
	buf_puts(out, "</Number></Dial></Response>");
}

/* <Message> carries text only (type="sms": Plivo's Message XML allows no other
 * type); a message with media is sent through build_send instead, where the carrier
 * has a REST API. Nothing to carry: the empty answer. */
static void render_forward(struct buf *out, const struct decision *d, const struct hook_render *r)
{
	if (r->body == NULL || r->body[0] == '\0') {
		buf_puts(out, "<Response/>");
		return;
	}
	buf_puts(out, "<Response><Message");
	attr(out, "src", digits(d->from));
	attr(out, "dst", digits(d->dial));
	attr(out, "type", "sms");
	if (r->status_url != NULL) {
		attr(out, "callbackUrl", r->status_url);
		attr(out, "callbackMethod", "POST");
	}
	buf_puts(out, ">");
	buf_xml_text(out, r->body);
	buf_puts(out, "</Message></Response>");
}

#define VOBIZ_GATHER_TIMEOUT_MIN 5  /* Gather executionTimeout range (docs.vobiz.ai) */
#define VOBIZ_GATHER_TIMEOUT_MAX 60

/* Collect digits while the prompt is spoken, then a <Redirect> to the same URL: a
 * GetDigits that times out without input goes on to the next element instead of
 * requesting its action.
 *   Plivo: addGetDigits({action, method: 'POST', timeout, digitTimeout, finishOnKey:
 *          '#', numDigits}) - timeout is the wait for the first digit, digitTimeout
 *          the wait between digits (default 2 s, too short for a PIN): both are
 *          gather_timeout.
 *   Vobiz: <Gather> is Plivo's GetInput renamed: addGetInput({action, method:
 *          'POST', inputType: 'dtmf', executionTimeout, finishOnKey: '#', numDigits})
 *          with executionTimeout = gather_timeout within 5..60. */
static void render_gather(struct buf *out, const struct hook_render *r, int vobiz)
{
	const char *url = r->gather_url != NULL ? r->gather_url : "";
	const char *verb = vobiz ? "Gather" : "GetDigits";
	buf_printf(out, "<Response><%s", verb);
	attr(out, "action", url);
	attr(out, "method", "POST");
	if (vobiz) {
		int t = r->gather_timeout;
		t = t < VOBIZ_GATHER_TIMEOUT_MIN ? VOBIZ_GATHER_TIMEOUT_MIN
						  : (t > VOBIZ_GATHER_TIMEOUT_MAX ? VOBIZ_GATHER_TIMEOUT_MAX : t);
		attr(out, "inputType", "dtmf");
		buf_printf(out, " executionTimeout=\"%d\"", t);
	} else {
		buf_printf(out, " timeout=\"%d\" digitTimeout=\"%d\"", r->gather_timeout, r->gather_timeout);
	}
	attr(out, "finishOnKey", "#");
	buf_printf(out, " numDigits=\"%d\"", r->gather_digits);
	if (r->say != NULL && r->say[0] != '\0') {
		buf_puts(out, "><Speak>");
		buf_xml_text(out, r->say);
		buf_printf(out, "</Speak></%s>", verb);
	} else {
		buf_puts(out, "/>");
	}
	buf_puts(out, "<Redirect");
	attr(out, "method", "POST");
	buf_puts(out, ">");
	buf_xml_text(out, url);
	buf_puts(out, "</Redirect></Response>");
}

/* Byte for byte what plivo (npm) 4.79.0's plivo.Response().toXML() prints for the
 * same elements and attributes in the same order (no XML declaration); Vobiz's
 * <Gather> is the GetInput element renamed. */
static void render_markup(const struct decision *d, const struct hook_render *r, struct http_response *res,
			  int vobiz)
{
	res->status = 200;
	res->content_type = PLIVO_CONTENT_TYPE;
	struct buf *out = &res->body;
	switch (d->kind) {
	case DECISION_BRIDGE:
		render_bridge(out, d, r);
		return;
	case DECISION_FORWARD_MESSAGE:
		render_forward(out, d, r);
		return;
	case DECISION_GATHER:
		render_gather(out, r, vobiz);
		return;
	case DECISION_REJECT:
		if (r->say == NULL || r->say[0] == '\0') {
			/* refused unanswered, nothing said */
			buf_puts(out, "<Response><Hangup reason=\"rejected\"/></Response>");
			return;
		}
		buf_puts(out, "<Response><Speak>");
		buf_xml_text(out, r->say);
		buf_puts(out, "</Speak><Hangup/></Response>");
		return;
	case DECISION_ANNOUNCE:
		/* the callee's consent notice, the document the Dial's confirmSound plays */
		if (r->say != NULL && r->say[0] != '\0') {
			buf_puts(out, "<Response><Speak>");
			buf_xml_text(out, r->say);
			buf_puts(out, "</Speak></Response>");
			return;
		}
		break;
	case DECISION_ACKNOWLEDGE:
		break;
	}
	buf_puts(out, "<Response/>");
}

static void plivo_render(const struct decision *d, const struct hook_render *r, struct http_response *res)
{
	render_markup(d, r, res, 0);
}

static void vobiz_render(const struct decision *d, const struct hook_render *r, struct http_response *res)
{
	render_markup(d, r, res, 1);
}

/* ------------------------------------------------------------ REST (MMS) */

#define PLIVO_AUTH_ID_MAX 64

/* A message with media goes through POST {api_base}/v1/Account/{auth_id}/Message/
 * with the JSON plivo (npm) 4.79.0's messages.create({src, dst, text, type: "mms",
 * media_urls, url, method: "POST"}) sends: the same keys in the same order, compact.
 * Anything else: MASKD_ENOTFOUND, out untouched (the renderer's <Message> carries
 * it). The pipeline fills out->interaction_id. */
/* json_string() of s with ill-formed UTF-8 replaced by U+FFFD (util/utf8.h). */
static json_t *plivo_json_str(const char *s)
{
	char *clean = utf8_sanitized_dup(s, UTF8_FOR_JSON);
	json_t *j = json_string(clean);
	free(clean);
	return j;
}

static int plivo_build_send(const struct service *svc, const struct decision *d, const struct hook_render *r,
			    const char *api_base, struct outgoing *out)
{
	if (d->kind != DECISION_FORWARD_MESSAGE || r->n_media <= 0)
		return MASKD_ENOTFOUND;
	char auth_id[PLIVO_AUTH_ID_MAX + 1], token[SECRET_MAX_LEN + 1];
	if (service_cred(svc, DIALECT_PLIVO, "auth_id", auth_id, sizeof(auth_id)) < 0 ||
	    service_cred(svc, DIALECT_PLIVO, "auth_token", token, sizeof(token)) < 0)
		return MASKD_EINVAL;
	/* auth_id goes into a URL path and a Basic credential: letters and digits only. */
	for (const char *p = auth_id; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z')))
			return MASKD_EINVAL;
	int n = snprintf(out->url, sizeof(out->url), "%s/v1/Account/%s/Message/", api_base, auth_id);
	if (n < 0 || (size_t)n >= sizeof(out->url))
		return MASKD_EINVAL;

	char userpass[PLIVO_AUTH_ID_MAX + 1 + SECRET_MAX_LEN + 1];
	n = snprintf(userpass, sizeof(userpass), "%s:%s", auth_id, token);
	if (n < 0 || (size_t)n >= sizeof(userpass) || 6 + 4 * (((size_t)n + 2) / 3) + 1 > sizeof(out->authorization))
		return MASKD_EINVAL;
	memcpy(out->authorization, "Basic ", 6);
	base64_encode((const uint8_t *)userpass, (size_t)n, out->authorization + 6);
	explicit_bzero(userpass, sizeof(userpass));
	explicit_bzero(token, sizeof(token));

	/* form values are bytes: plivo_json_str() makes them well-formed UTF-8 */
	int bad = 0;
	json_t *o = json_object();
	if (r->status_url != NULL) {
		bad |= json_object_set_new(o, "url", plivo_json_str(r->status_url));
		bad |= json_object_set_new(o, "method", json_string("POST"));
	}
	bad |= json_object_set_new(o, "type", json_string("mms"));
	json_t *media = json_array();
	for (int i = 0; i < r->n_media; i++)
		bad |= json_array_append_new(media, plivo_json_str(r->media[i]));
	bad |= json_object_set_new(o, "media_urls", media);
	bad |= json_object_set_new(o, "src", json_string(digits(d->from)));
	bad |= json_object_set_new(o, "dst", json_string(digits(d->dial)));
	if (r->body != NULL && r->body[0] != '\0')
		bad |= json_object_set_new(o, "text", plivo_json_str(r->body));
	char *body = bad ? NULL : json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (body == NULL)
		return MASKD_EINVAL;
	snprintf(out->content_type, sizeof(out->content_type), "application/json");
	out->dialect = DIALECT_PLIVO;
	out->body = body;
	out->body_len = strlen(body);
	return 0;
}

/* ------------------------------------------------------------ the dialects */

const struct hook_dialect hook_dialect_plivo = {
	.id = DIALECT_PLIVO,
	.name = "plivo",
	.parse = plivo_parse,
	.verify = plivo_verify,
	.signed_request = plivo_signed,
	.render = plivo_render,
	.build_send = plivo_build_send,
};

/* No Vobiz messaging API is known (PROVIDERS.md §1.5): its <Message> answer is
 * Plivo's, and media cannot be forwarded. */
const struct hook_dialect hook_dialect_vobiz = {
	.id = DIALECT_VOBIZ,
	.name = "vobiz",
	.parse = plivo_parse,
	.verify = vobiz_verify,
	.signed_request = vobiz_signed,
	.render = vobiz_render,
};
