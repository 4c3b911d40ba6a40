/* SPDX-License-Identifier: MIT */
/* inbound.h - a carrier's webhook in neutral form, and what rendering an answer
 * needs besides the decision: the types a dialect (hooks/) fills and renders and
 * the pipeline (flow/webhook.c) reads and fills, so neither includes the other's
 * header. Data only: no functions, no carrier names, no markup. */
#ifndef MASKD_CORE_INBOUND_H
#define MASKD_CORE_INBOUND_H

#include <stdint.h>

#include "../util/form.h"

#define HOOK_MEDIA_MAX 10 /* media URLs forwarded per message */

/* HOOK_CONSENT: the TwiML family fetches the callee's consent notice from
 * /hooks/{dialect}/consent?interaction=... (<Number url>); parsed like a status
 * callback, answered with render(DECISION_ANNOUNCE, r->say = the message). */
/* HOOK_GATHER: the digits a caller entered after DECISION_GATHER, posted by the
 * carrier to /hooks/{dialect}/gather?attempt=N (the gather_url maskd rendered).
 * Parsed like HOOK_VOICE (from, to, sid = the same inbound call) plus digits;
 * signed like a voice webhook. */
/* HOOK_ANSWER: a click-to-call's first leg answered; the carrier fetches
 * /hooks/{dialect}/answer?interaction=... (the URL maskd gave when it placed the
 * call). Parsed like HOOK_VOICE; the interaction id is what counts. */
enum hook_event { HOOK_VOICE = 0, HOOK_MESSAGE = 1, HOOK_STATUS = 2, HOOK_CONSENT = 3, HOOK_GATHER = 4, HOOK_ANSWER = 5 };

/* A call-progress, dial-result or delivery callback, mapped to one leg. */
struct hook_status {
	char leg;            /* 'a' (the inbound call) or 'b' (the dialled side / sent message) */
	const char *sid;     /* the leg's carrier id; NULL = unknown */
	const char *status;  /* the carrier's status word; NULL = the callback carries none */
	int64_t duration;    /* billable seconds; -1 = not reported */
	int answered;        /* the callback says the leg was answered (answered_at is set once) */
	const char *recording_id;  /* a finished recording of the leg; NULL = none reported */
	const char *recording_url;
	const char *cost;          /* as the carrier reports it (decimal text); NULL = none */
	const char *currency;
};

/* One webhook, parsed. Strings are request-arena memory; numbers are E.164 with '+'. */
struct hook_input {
	enum hook_event event;
	const char *from;        /* voice/message: the caller; NULL when absent */
	const char *to;          /* voice/message: the dialled proxy number; NULL when absent */
	const char *sid;         /* voice/message: the carrier's call or message id */
	const char *body;        /* message text; NULL = none */
	const char *media[HOOK_MEDIA_MAX];
	int n_media;
	const char *digits;      /* gather: the digits entered, without the finishing '#'; NULL or ""
				    when the caller entered none (timeout) */
	const char *interaction_id; /* status: the ?interaction= maskd put in the callback URL */
	struct hook_status st;      /* status only */
	struct form params;         /* POST form fields (what form-based signatures cover) */
	struct form query;          /* the query string's fields */
};

/* What rendering needs besides the decision.
 * - DECISION_BRIDGE and DECISION_FORWARD_MESSAGE with status_url NULL (a forward
 *   of an unknown caller to the service's fallback number; a reply to the sender
 *   of a text) render without any status/action callback attribute.
 * - DECISION_REJECT with say NULL or "" refuses without speaking (TwiML
 *   <Reject/>, Plivo <Hangup reason="rejected"/>, NCCO []).
 * - DECISION_GATHER: say the prompt `say` while collecting up to gather_digits
 *   DTMF digits, finished early by '#', waiting gather_timeout seconds; the
 *   digits go by POST to gather_url. When the caller enters nothing, the carrier
 *   must still request gather_url (with no digits) so maskd can count the attempt:
 *   TwiML actionOnEmptyResult="true"; where a dialect has no such switch, a
 *   redirect to gather_url after the gather verb. */
struct hook_render {
	enum hook_event event;  /* being answered (after parse) */
	const char *status_url; /* bridge/forward: where the carrier reports progress */
	const char *say;        /* reject: the spoken message; gather: the prompt */
	const char *gather_url; /* gather: absolute URL the digits are posted to */
	int gather_digits;      /* gather: most digits to collect */
	int gather_timeout;     /* gather: seconds to wait for input */
	const char *body;       /* forward: the text */
	const char *const *media;
	int n_media;
	/* bridge only; 0 / NULL = off, or the carrier's default */
	int record;                  /* record the bridged call (dual-channel where the dialect can) */
	const char *consent_message; /* with record: said to the caller before the bridge, and to the
					callee after answering, before connecting */
	const char *consent_url;     /* TwiML family: a URL answering the callee's consent document
					(<Number url>); maskd serves it */
	const char *recording_url;   /* where the carrier reports the finished recording */
	int time_limit;              /* seconds the bridged call may last */
	int ring_timeout;            /* seconds to ring the callee */
};

#endif
