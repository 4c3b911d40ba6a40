/* SPDX-License-Identifier: MIT */
/* twiml.c - TwiML/cXML rendering; see twiml.h. Attribute order follows the order
 * in which the official builders print them, so answers compare byte for byte. */
#include "twiml.h"

#include <assert.h>
#include <string.h>

#define XML_DECL "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"

void twiml_empty(struct buf *out)
{
	assert(out != NULL);
	buf_puts(out, XML_DECL "<Response/>");
}

static void attr(struct buf *out, const char *name, const char *value)
{
	buf_printf(out, " %s=\"", name);
	buf_xml_attr(out, value);
	buf_puts(out, "\"");
}

static int present(const char *s)
{
	return s != NULL && s[0] != '\0';
}

/* VoiceResponse().gather({action, numDigits, finishOnKey: '#', timeout,
 * actionOnEmptyResult: true}).say(prompt): the prompt is heard while the digits are
 * collected, and the action is requested even when none come. TeXML (gather_redirect)
 * has no actionOnEmptyResult: the document goes on to a <Redirect> to the same URL. */
static void render_gather(struct buf *out, const struct twiml_args *a)
{
	assert(a->gather_url != NULL);
	const char *url = a->gather_url != NULL ? a->gather_url : "";
	buf_puts(out, XML_DECL "<Response><Gather");
	attr(out, "action", url);
	buf_printf(out, " numDigits=\"%d\"", a->gather_digits);
	attr(out, "finishOnKey", "#");
	buf_printf(out, " timeout=\"%d\"", a->gather_timeout);
	if (!a->gather_redirect)
		attr(out, "actionOnEmptyResult", "true");
	if (present(a->say)) {
		buf_puts(out, "><Say>");
		buf_xml_text(out, a->say);
		buf_puts(out, "</Say></Gather>");
	} else {
		buf_puts(out, "/>");
	}
	if (a->gather_redirect) {
		buf_puts(out, "<Redirect");
		attr(out, "method", "POST");
		buf_puts(out, ">");
		buf_xml_text(out, url);
		buf_puts(out, "</Redirect>");
	}
	buf_puts(out, "</Response>");
}

void twiml_render(struct buf *out, const struct decision *d, const struct twiml_args *a)
{
	assert(out != NULL && d != NULL && a != NULL);
	switch (d->kind) {
	case DECISION_BRIDGE: {
		int cb = present(a->status_url);
		buf_puts(out, XML_DECL "<Response>");
		if (a->record && a->consent_message != NULL && a->consent_message[0] != '\0') {
			buf_puts(out, "<Say>");
			buf_xml_text(out, a->consent_message);
			buf_puts(out, "</Say>");
		}
		buf_puts(out, "<Dial");
		attr(out, "callerId", d->from);
		if (a->ring_timeout > 0)
			buf_printf(out, " timeout=\"%d\"", a->ring_timeout);
		if (a->time_limit > 0)
			buf_printf(out, " timeLimit=\"%d\"", a->time_limit);
		attr(out, "answerOnBridge", "true");
		if (a->record)
			attr(out, "record", "record-from-answer-dual");
		if (a->record && cb) {
			attr(out, "recordingStatusCallback", a->status_url);
			attr(out, "recordingStatusCallbackEvent", "completed");
		}
		if (cb)
			attr(out, "action", a->status_url);
		buf_puts(out, "><Number");
		if (a->record && a->consent_url != NULL)
			attr(out, "url", a->consent_url);
		if (cb) {
			attr(out, "statusCallback", a->status_url);
			attr(out, "statusCallbackEvent", TWIML_STATUS_EVENTS);
		}
		buf_puts(out, ">");
		buf_xml_text(out, d->dial);
		buf_puts(out, "</Number></Dial></Response>");
		return;
	}
	case DECISION_FORWARD_MESSAGE:
		buf_puts(out, XML_DECL "<Response><Message");
		attr(out, "to", d->dial);
		attr(out, "from", d->from);
		if (present(a->status_url))
			attr(out, "action", a->status_url);
		buf_puts(out, ">");
		if (a->body != NULL && a->body[0] != '\0') {
			buf_puts(out, "<Body>");
			buf_xml_text(out, a->body);
			buf_puts(out, "</Body>");
		}
		for (int i = 0; i < a->n_media; i++) {
			buf_puts(out, "<Media>");
			buf_xml_text(out, a->media[i]);
			buf_puts(out, "</Media>");
		}
		buf_puts(out, "</Message></Response>");
		return;
	case DECISION_REJECT:
		if (!present(a->say)) {
			/* VoiceResponse().reject(): refused unanswered, nothing said */
			buf_puts(out, XML_DECL "<Response><Reject/></Response>");
			return;
		}
		buf_puts(out, XML_DECL "<Response><Say>");
		buf_xml_text(out, a->say);
		buf_puts(out, "</Say><Hangup/></Response>");
		return;
	case DECISION_ANNOUNCE:
		buf_puts(out, XML_DECL "<Response><Say>");
		buf_xml_text(out, a->say);
		buf_puts(out, "</Say></Response>");
		return;
	case DECISION_GATHER:
		render_gather(out, a);
		return;
	case DECISION_ACKNOWLEDGE:
		break;
	}
	twiml_empty(out); /* an acknowledgement, and anything outside the enum */
}
