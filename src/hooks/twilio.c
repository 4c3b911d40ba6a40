/* SPDX-License-Identifier: MIT */
/* twilio.c - the TwiML family: Twilio and SignalWire (cXML). Same request
 * parameters, same markup (twiml.c), one signature algorithm with two flavors of
 * repeated-key handling (twilio_sig.c). Requests are form bodies, or a query string
 * for GET webhooks; a <Gather> action (HOOK_GATHER) is a voice request plus Digits. */
#include "dialect.h"
#include "fields.h"
#include "twilio_sig.h"
#include "twiml.h"
#include "../util/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Dial action (DialCallStatus), per-leg status (CallStatus, ParentCallSid on the
 * dialled leg), message delivery (MessageStatus), or a finished recording of the
 * bridged call (RecordingSid; it lands on the inbound leg, whose CallSid it carries). */
static void parse_status(const struct form *f, struct hook_status *st)
{
	st->leg = 'b';
	st->duration = -1;
	const char *status = form_get(f, "CallStatus");
	if (form_get(f, "RecordingSid") != NULL && form_get(f, "DialCallStatus") == NULL &&
	    (status == NULL || form_get(f, "RecordingStatus") != NULL)) {
		st->leg = 'a';
		st->sid = form_get(f, "CallSid");
		st->status = NULL;
		st->recording_id = form_get(f, "RecordingSid");
		st->recording_url = form_get(f, "RecordingUrl");
		return;
	}
	if (form_get(f, "DialCallStatus") != NULL) {
		st->sid = form_get(f, "DialCallSid");
		st->status = form_get(f, "DialCallStatus");
		st->duration = fields_seconds(form_get(f, "DialCallDuration"));
		st->answered = strcmp(st->status, "completed") == 0 || strcmp(st->status, "answered") == 0;
	} else if (form_get(f, "MessageStatus") != NULL) {
		st->sid = form_get(f, "MessageSid");
		st->status = form_get(f, "MessageStatus");
	} else if (form_get(f, "CallStatus") != NULL) {
		st->sid = form_get(f, "CallSid");
		st->status = form_get(f, "CallStatus");
		st->duration = fields_seconds(form_get(f, "CallDuration"));
		st->answered = strcmp(st->status, "in-progress") == 0 || strcmp(st->status, "answered") == 0;
		if (form_get(f, "ParentCallSid") == NULL)
			st->leg = 'a';
	}
}

static int twiml_parse(const struct http_request *req, enum hook_event event, struct hook_input *in, const char **why)
{
	const struct form *f = NULL;
	int status = hook_parse_form_request(req, in, &f, why);
	if (status != 0)
		return status;
	in->event = event;
	in->from = form_get(f, "From");
	in->to = form_get(f, "To");
	in->sid = form_get(f, event == HOOK_MESSAGE ? "MessageSid" : "CallSid");
	in->body = form_get(f, "Body");
	if (event == HOOK_GATHER)
		in->digits = form_digits(req->arena, form_get(f, "Digits"));
	for (int i = 0; event == HOOK_MESSAGE && i < HOOK_MEDIA_MAX; i++) {
		char key[16];
		snprintf(key, sizeof(key), "MediaUrl%d", i);
		const char *url = form_get(f, key);
		if (url == NULL)
			break;
		in->media[in->n_media++] = url;
	}
	in->interaction_id = form_get(&in->query, "interaction");
	if (event == HOOK_STATUS)
		parse_status(f, &in->st);
	if (event == HOOK_STATUS && in->st.recording_url == NULL)
		in->st.recording_url = form_get(f, "RecordingUrl");
	if (event == HOOK_STATUS && in->st.recording_id == NULL)
		in->st.recording_id = form_get(f, "RecordingSid");
	return 0;
}

static bool twiml_verify(enum twilio_sig_flavor fl, const struct service *svc, enum dialect d, const struct http_request *req,
			 const char *url, const struct hook_input *in, const char *sig)
{
	char key[SECRET_MAX_LEN + 1];
	if (service_cred(svc, d, dialect_cred_fields(d)[0], key, sizeof(key)) < 0)
		return false;
	return twilio_sig_check(fl, key, url, &in->params, req->body, req->body_len, sig);
}

static bool twilio_verify(const struct service *svc, const struct http_request *req, const char *url,
			  const struct hook_input *in, int64_t now)
{
	return twiml_verify(TWILIO_SIG_TWILIO, svc, DIALECT_TWILIO, req, url, in,
			    http_header(req, "X-Twilio-Signature"));
}

static bool signalwire_verify(const struct service *svc, const struct http_request *req, const char *url,
			      const struct hook_input *in, int64_t now)
{
	const char *sig = http_header(req, "X-SignalWire-Signature");
	if (sig == NULL)
		sig = http_header(req, "X-Twilio-Signature");
	return twiml_verify(TWILIO_SIG_SIGNALWIRE, svc, DIALECT_SIGNALWIRE, req, url, in, sig);
}

static bool twilio_signed(const struct http_request *req, const struct hook_input *in)
{
	(void)in;
	return http_header(req, "X-Twilio-Signature") != NULL;
}

static bool signalwire_signed(const struct http_request *req, const struct hook_input *in)
{
	(void)in;
	return http_header(req, "X-SignalWire-Signature") != NULL || http_header(req, "X-Twilio-Signature") != NULL;
}

static void twiml_answer(const struct decision *d, const struct hook_render *r, struct http_response *res)
{
	struct twiml_args a = {
		.status_url = r->status_url,
		.say = r->say,
		.body = r->body,
		.media = r->media,
		.n_media = r->n_media,
		.record = r->record,
		.consent_message = r->consent_message,
		.consent_url = r->consent_url,
		.time_limit = r->time_limit,
		.ring_timeout = r->ring_timeout,
		.gather_url = r->gather_url,
		.gather_digits = r->gather_digits,
		.gather_timeout = r->gather_timeout,
	};
	res->status = 200;
	res->content_type = TWIML_CONTENT_TYPE;
	twiml_render(&res->body, d, &a);
}

const struct hook_dialect hook_dialect_twilio = {
	.id = DIALECT_TWILIO,
	.name = "twilio",
	.parse = twiml_parse,
	.verify = twilio_verify,
	.signed_request = twilio_signed,
	.render = twiml_answer,
};

const struct hook_dialect hook_dialect_signalwire = {
	.id = DIALECT_SIGNALWIRE,
	.name = "signalwire",
	.parse = twiml_parse,
	.verify = signalwire_verify,
	.signed_request = signalwire_signed,
	.render = twiml_answer,
};
