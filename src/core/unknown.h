/* SPDX-License-Identifier: MIT */
/* unknown.h - the unknown-caller policy: what maskd does with a call or text that
 * has no binding on the dialled number (refuse with the service's message, forward
 * to its fallback number, ask the app's callback, prompt for a PIN), what a callback
 * answer (or its failure) turns into, and the PIN prompt's attempts. Pure: no I/O,
 * no clock; the webhook flow (flow/webhook.c) runs the callback and the lookups. */
#ifndef MASKD_UNKNOWN_H
#define MASKD_UNKNOWN_H

#include <stdbool.h>

#include "model.h"
#include "route.h"

#define UNKNOWN_PIN_PROMPT "Please enter your PIN, then press the pound key."
#define UNKNOWN_PIN_WRONG "That PIN is not valid."
#define UNKNOWN_PIN_FAILED "That PIN is not valid. Goodbye."
#define UNKNOWN_PIN_GATHER_TIMEOUT 8 /* seconds the carrier waits for the PIN's digits */

/* What the app's callback answered (out/callback.h parses it). */
enum callback_decision {
	CALLBACK_REJECT = 0,  /* say message (or the service's unknown-caller message) */
	CALLBACK_FORWARD = 1, /* bridge to number (a support line) */
	CALLBACK_SESSION = 2  /* create a session of the caller and participant, then route */
};

enum unknown_action {
	UNKNOWN_ACT_REFUSE = 0,   /* answer d, telling the caller `say` (NULL = nothing) */
	UNKNOWN_ACT_FORWARD,      /* answer d: a bridge (or text forward) to a number the service names */
	UNKNOWN_ACT_ASK_CALLBACK, /* ask the app's callback, then unknown_after_callback() */
	UNKNOWN_ACT_SESSION       /* create the session the callback named, then route as usual */
};

/* One step of the policy. d.dial / d.from and say borrow from the arguments
 * (svc, in, the callback's number and message): they live as long as those. */
struct unknown_outcome {
	enum unknown_action action;
	struct decision d;
	const char *say;
};

/* True for a call to the service's shared PIN number under the "pin" policy:
 * every such call is asked for its session's PIN, bound or not. */
bool unknown_is_pin_number(const struct service *svc, enum channel channel, const char *to);

/* The service's policy for in, a caller with no binding on in->to: reject (and the
 * "pin" policy off its PIN number) refuses with the unknown-caller text; forward
 * bridges a call to svc->fallback_number (a text is acknowledged: the service's own
 * forward relays calls only, so a support line that replies cannot loop); callback
 * asks the app. */
void unknown_decide(const struct service *svc, const struct inbound *in, struct unknown_outcome *out);

/* What the callback's outcome turns into. answered 0: the callback failed (timeout,
 * garbage): the service's fail-open forwards to the fallback number as above,
 * fail-closed refuses. answered 1 with decision (enum callback_decision): reject
 * refuses saying message ("" or NULL = the service's unknown-caller text); forward
 * bridges to number, and forwards a text with a body or media; session asks the
 * flow to create it. */
void unknown_after_callback(const struct service *svc, const struct inbound *in, int answered, enum callback_decision decision,
			    const char *number, const char *message, struct unknown_outcome *out);

/* A gather on a number that is not the service's PIN number: refused with the
 * unknown-caller message. */
void unknown_gather_refused(const struct service *svc, struct unknown_outcome *out);

/* The PIN prompt after a wrong or missing PIN. attempt_param: the gather URL's
 * ?attempt= (NULL = none). Sets *attempt to the attempt just used (0 when beyond
 * the service's attempts) and returns the next attempt to ask for, or 0 when the
 * caller is refused (then out holds the refusal; untouched otherwise). */
int unknown_pin_retry(const struct service *svc, const char *attempt_param, int *attempt,
		      struct unknown_outcome *out);

#endif
