/* SPDX-License-Identifier: MIT */
/* dialect.h - what a carrier dialect provides to the webhook pipeline (hooks.c):
 * parse its request into a neutral struct hook_input, check its signature, and
 * render a decision as its markup. One file per dialect family; the pipeline
 * itself (lookup, routing, recording, idempotency) is shared and knows no carrier.
 * A dialect never logs a real number and never decides anything. */
#ifndef MASKD_DIALECT_H
#define MASKD_DIALECT_H

#include <stdbool.h>
#include <stdint.h>

#include "../core/model.h"
#include "../core/route.h"
#include "../http/http.h"
#include "../out/sender.h"
#include "../util/form.h"

#define HOOK_MEDIA_MAX 10 /* media URLs forwarded per message */

/* HOOK_CONSENT: the TwiML family fetches the callee's consent notice from
 * /hooks/{dialect}/consent?interaction=... (<Number url>); parsed like a status
 * callback, answered with render(DECISION_ANNOUNCE, r->say = the message). */
/* HOOK_GATHER: the digits a caller entered after DECISION_GATHER, posted by the
 * carrier to /hooks/{dialect}/gather?attempt=N (the gather_url maskd rendered).
 * Parsed like HOOK_VOICE (from, to, sid = the same inbound call) plus digits;
 * signed like a voice webhook. */
enum hook_event { HOOK_VOICE = 0, HOOK_MESSAGE = 1, HOOK_STATUS = 2, HOOK_CONSENT = 3, HOOK_GATHER = 4 };

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
	int event;               /* enum hook_event */
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
	int event;              /* enum hook_event being answered (after parse) */
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

/* struct outgoing: the REST request of build_send, out/sender.h. */

struct service;

struct hook_dialect {
	int id;           /* enum dialect */
	const char *name; /* the {dialect} of /hooks/{dialect}/... */
	/* Parses req as event into in (fields from req->arena); sets in->event, which
	 * may differ from event (a delivery report posted to /message is a status
	 * callback) and decides how the pipeline handles the request. Returns 0, or the HTTP
	 * status to refuse with (400 malformed, 405 method, 413 too many fields, 415
	 * content type) and a static reason in *why. Missing From/To/sid are not
	 * refusals here: the pipeline checks them, so every dialect answers alike. */
	int (*parse)(const struct http_request *req, int event, struct hook_input *in, const char **why);
	/* True when req carries a valid signature by svc's credential for this dialect.
	 * url is the public URL the carrier called (MASKD_PUBLIC_URL + raw target). */
	bool (*verify)(const struct service *svc, const struct http_request *req, const char *url,
		       const struct hook_input *in, int64_t now);
	/* Renders d (and the empty answer, for DECISION_ACKNOWLEDGE and status
	 * callbacks) into res: status 200, content type and body. */
	void (*render)(const struct decision *d, const struct hook_render *r, struct http_response *res);
	/* NULL for dialects whose markup forwards every text. Otherwise called for each
	 * DECISION_FORWARD_MESSAGE; pure (no I/O). Returns:
	 *   0              out holds the REST request that sends d through svc's account
	 *                  (api_base: the carrier's API base URL from
	 *                  MASKD_{TELNYX,PLIVO,VONAGE}_API_URL, no trailing '/'); the
	 *                  pipeline enqueues it (new interactions only) and answers the
	 *                  webhook with render(DECISION_ACKNOWLEDGE);
	 *   MASKD_ENOTFOUND the markup can forward this one (e.g. Plivo SMS without
	 *                  media): the pipeline renders d as usual; out untouched;
	 *   MASKD_EINVAL   svc lacks a REST credential: the pipeline logs it, records a
	 *                  failed leg 'b' and acknowledges. out->body is NULL. */
	int (*build_send)(const struct service *svc, const struct decision *d, const struct hook_render *r,
			  const char *api_base, struct outgoing *out);
};

/* The form-family request (TwiML, Plivo XML): POST with a form body, or GET with the
 * fields in the query. Parses in->query and, for POST, in->params, and points
 * *fields at the form that carries the webhook's fields. Returns 0, or the HTTP
 * status to refuse with (405, 415, 413, 400) and a static reason in *why. */
int hook_parse_form_request(const struct http_request *req, struct hook_input *in, const struct form **fields,
			    const char **why);

/* The dialect served under /hooks/{name}/, or NULL. */
const struct hook_dialect *hook_dialect_find(const char *name, size_t name_len);

/* The dialects, defined one per file family: twilio.c (Twilio, SignalWire),
 * telnyx.c, plivo.c (Plivo, Vobiz), vonage.c. */
extern const struct hook_dialect hook_dialect_twilio;
extern const struct hook_dialect hook_dialect_signalwire;
extern const struct hook_dialect hook_dialect_telnyx;
extern const struct hook_dialect hook_dialect_plivo;
extern const struct hook_dialect hook_dialect_vobiz;
extern const struct hook_dialect hook_dialect_vonage;

#endif
