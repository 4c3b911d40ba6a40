/* SPDX-License-Identifier: MIT */
/* twiml.h - renders a decision as TwiML (Twilio) or cXML (SignalWire): the same
 * documents, byte for byte what twilio.twiml.VoiceResponse / MessagingResponse
 * print for them. Pure string building; no I/O. */
#ifndef MASKD_TWIML_H
#define MASKD_TWIML_H

#include "../core/route.h"
#include "../util/arena.h"
#include "../util/buf.h"

#define TWIML_CONTENT_TYPE "text/xml"
#define TWIML_STATUS_EVENTS "initiated ringing answered completed"

struct twiml_args {
	const char *status_url; /* bridge/forward: action and statusCallback URL; NULL or "" = no
				   callback attribute at all (a forward to a fallback number, a reply) */
	int record;                  /* bridge: record both channels from answer */
	const char *consent_message; /* bridge with record: said to the caller first */
	const char *consent_url;     /* bridge with record: <Number url> for the callee */
	int time_limit, ring_timeout; /* bridge: 0 = the carrier's default */
	const char *say;        /* reject: the spoken message (NULL or "": <Reject/>, unanswered);
				   announce: the message; gather: the prompt (NULL or "": none) */
	const char *gather_url; /* gather: the action URL the digits are POSTed to */
	int gather_digits;      /* gather: numDigits */
	int gather_timeout;     /* gather: timeout, seconds */
	int gather_redirect;    /* gather: 0 = actionOnEmptyResult="true" (Twilio, SignalWire);
				   1 = TeXML, which has no such switch: a <Redirect method="POST"> to
				   gather_url after the <Gather> instead */
	const char *body;       /* forward: message text (may be NULL) */
	const char *const *media; /* forward: media URLs in order */
	int n_media;
};

/* Appends the whole document (XML declaration included) to out. */
void twiml_render(struct buf *out, const struct decision *d, const struct twiml_args *a);

/* The empty document, for status callbacks and acknowledged messages. */
void twiml_empty(struct buf *out);


#endif
