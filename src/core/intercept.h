/* SPDX-License-Identifier: MIT */
/* intercept.h - the rule of the intercept: what a service's intercept_url
 * answered (or failed to answer) before a bridge or a forwarded text becomes the
 * recorded outcome and what the caller gets: the bridge or forward as decided,
 * a forward with the app's replacement body, or a refusal with the app's
 * message (or the service's refusal text). Pure: no I/O, no clock; out/intercept.c
 * asks the app and parses its answer, flow/intercept.c applies the outcome. */
#ifndef MASKD_INTERCEPT_H
#define MASKD_INTERCEPT_H

#include <stdbool.h>

#include "model.h"

/* The recorded decision (interaction.intercept); 0 = the app was not asked. The
 * numbers are stored: append only. */
enum intercept_outcome {
	INTERCEPT_NONE = 0,
	INTERCEPT_ALLOWED = 1,       /* the app allowed it as it came */
	INTERCEPT_DENIED = 2,        /* the app denied it (its message, or the refusal text) */
	INTERCEPT_REPLACED = 3,      /* a text the app allowed with a replacement body */
	INTERCEPT_FAILED_OPEN = 4,   /* no valid answer in time; intercept_fail_open allowed it */
	INTERCEPT_FAILED_CLOSED = 5, /* no valid answer in time; denied with the refusal text */
};

/* "allowed", "denied", "replaced", "failed_open", "failed_closed"; NULL for
 * INTERCEPT_NONE or a number that is no outcome. */
const char *intercept_outcome_name(int outcome);

enum intercept_action {
	INTERCEPT_ACTION_ALLOW,
	INTERCEPT_ACTION_DENY,
};

/* An app's valid answer (out/intercept.c parses it). */
struct intercept_answer {
	enum intercept_action action;
	bool has_message;                       /* deny: a message was given (it may be "") */
	char message[INTERCEPT_TEXT_MAX + 1];   /* deny: said on a call, texted back on a text */
	bool has_body;                          /* allow on a text: a replacement body was given */
	char body[INTERCEPT_TEXT_MAX + 1];      /* allow: the replacement body ("" allowed only with media) */
};

/* The outcome of asking: answered is true when a (parsed, valid) answer a
 * arrived, false on a timeout, transport error, non-2xx or garbage (a is not
 * read then). fail_open is the service's intercept_fail_open. A replacement body
 * counts on texts only: on a call it is ignored (allowed). Returns the outcome;
 * never INTERCEPT_NONE. */
enum intercept_outcome intercept_decide(bool answered, const struct intercept_answer *a, enum channel channel,
					bool fail_open);

/* True when outcome refuses the interaction (denied, failed closed). */
bool intercept_refuses(enum intercept_outcome outcome);

/* The text that goes with a recorded outcome, for the interaction's
 * intercept_text: the app's deny message (when it gave a non-empty one) or its
 * replacement body; "" otherwise. A borrowed pointer into a (or a literal). */
const char *intercept_text_of(enum intercept_outcome outcome, const struct intercept_answer *a);

#endif
