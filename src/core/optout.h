/* SPDX-License-Identifier: MIT */
/* optout.h - SMS opt-out, opt-in and help keywords (../shared/reference/PROVIDERS.md §5).
 * A keyword is a whole message of one word, case-insensitive, surrounding ASCII
 * whitespace ignored; "STOP PLEASE" is not one. Keywords are never relayed to the
 * other participant: the carrier (or a later maskd feature) answers the sender. Pure. */
#ifndef MASKD_OPTOUT_H
#define MASKD_OPTOUT_H

enum optout_kind {
	OPTOUT_NONE = 0,
	OPTOUT_STOP,  /* STOP, STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT, REVOKE, OPTOUT */
	OPTOUT_START, /* START, YES, UNSTOP */
	OPTOUT_HELP   /* HELP, INFO */
};

/* The keyword class of a message body (NULL is OPTOUT_NONE). */
enum optout_kind optout_classify(const char *body);

#endif
