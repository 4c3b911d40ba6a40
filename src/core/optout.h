/* SPDX-License-Identifier: MIT */
/* optout.h - SMS opt-out, opt-in and help keywords (../shared/reference/PROVIDERS.md §5).
 * A keyword is a whole message of one word, case-insensitive, surrounding ASCII
 * whitespace ignored; "STOP PLEASE" is not one. Keywords are never relayed to the
 * other participant: the carrier (or a later maskd feature) answers the sender. Pure. */
#ifndef MASKD_OPTOUT_H
#define MASKD_OPTOUT_H

#include <stdbool.h>

#include "model.h"

enum optout_kind {
	OPTOUT_NONE = 0,
	OPTOUT_STOP,  /* STOP, STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT, REVOKE, OPTOUT */
	OPTOUT_START, /* START, YES, UNSTOP */
	OPTOUT_HELP   /* HELP, INFO */
};

/* The keyword class of a message body (NULL is OPTOUT_NONE). */
enum optout_kind optout_classify(const char *body);

/* What a keyword does, in a session whatever its state (route reason
 * ROUTE_KEYWORD: live, ended and cooling off, blocked, waiting for a peer or
 * voice-only) or with no session on the number: STOP and START record the
 * sender's opt-out state on (sender, proxy number); HELP is answered with the
 * service's help text. */
struct optout_action {
	bool record;       /* write the opt-out state (store_optout_set) */
	int opted_out;     /* with record: 1 = STOP, 0 = START */
	const char *reply; /* the text back to the sender (borrowed from svc), or NULL */
};

/* The action of keyword k for svc. OPTOUT_NONE does nothing. */
void optout_action(const struct service *svc, enum optout_kind k, struct optout_action *out);

#endif
