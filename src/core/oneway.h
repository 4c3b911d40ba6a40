/* SPDX-License-Identifier: MIT */
/* oneway.h - the rules of one-way sessions: a hidden participant (an agent, an
 * interviewer) reaches a respondent, who sees only the service's branded number
 * (or a pool number) and may call or text it back within the service's callback
 * window. Pure: no I/O, no clock reads; the store lists the candidate sessions,
 * flow/oneway.c reads them and acts on the verdicts here. What a two-way
 * session does is not decided here (core/route.h). */
#ifndef MASKD_ONEWAY_H
#define MASKD_ONEWAY_H

#include <stdint.h>

#include "model.h"

/* The most candidate sessions looked at for one caller on one proxy number: an
 * agent with more open one-way sessions on it than this is asked for a PIN among
 * the newest ones. */
#define ONEWAY_CANDIDATES_MAX 32

/* One one-way session in which a caller is a participant on the dialled proxy
 * number (the store's row of it; no real number). */
struct oneway_candidate {
	char participant_id[ID_MAX]; /* the caller's row */
	char session_id[ID_MAX];
	enum session_status status;
	int64_t ttl, expires_at, last_activity_at, closed_at, created_at;
	char pin[PIN_MAX_LEN + 1];
};

/* What a create request's participants say about its direction. */
enum oneway_shape {
	ONEWAY_SHAPE_OK = 0,       /* two-way with no hidden participant, or one-way with exactly one */
	ONEWAY_SHAPE_NO_HIDDEN,    /* one-way, but no participant is hidden */
	ONEWAY_SHAPE_TWO_HIDDEN,   /* one-way, and more than one participant is hidden */
	ONEWAY_SHAPE_NEEDS_TWO,    /* one-way with fewer than two participants */
	ONEWAY_SHAPE_HIDDEN_TWO_WAY /* a hidden participant in a two-way session */
};

/* Checks the hidden flags of the n participants p[0..n) of a session of
 * direction d. Pure. */
enum oneway_shape oneway_check(enum session_direction d, const struct participant *p, int n);

/* The index of the hidden participant of a checked one-way session, or -1. */
int oneway_hidden_index(const struct participant *p, int n);

/* True when c is still open at now (status open or in progress and before its
 * deadline: session_live()). */
bool oneway_open(const struct oneway_candidate *c, int64_t now);

/* The respondent's call back: among its n candidate sessions c[0..n) on the
 * dialled number (any order), the most recent one (created_at, then id) that is
 * open at now, or that ended no more than window seconds before now (ended:
 * closed_at, or the deadline it passed while still marked open). A blocked
 * session is never reached. Returns its index, or -1: the service's fallback or
 * unknown-caller policy answers. */
int oneway_callback_pick(const struct oneway_candidate *c, int n, int64_t now, int64_t window);

/* What an agent calling the branded number gets, from its candidate sessions
 * (the hidden side's rows on that number). */
enum oneway_agent {
	ONEWAY_AGENT_NONE = 0, /* no open one-way session: not an agent here */
	ONEWAY_AGENT_BRIDGE,   /* exactly one: bridged to its respondent directly */
	ONEWAY_AGENT_ASK_PIN   /* several: asked for the session's PIN */
};

/* Counts the open sessions among c[0..n) at now: none, exactly one (its index
 * in *which), or several (*which -1). */
enum oneway_agent oneway_agent_plan(const struct oneway_candidate *c, int n, int64_t now, int *which);

/* The open session among c[0..n) whose PIN is digits, or -1 (NULL digits, no
 * match). */
int oneway_pin_pick(const struct oneway_candidate *c, int n, const char *digits, int64_t now);

/* A caller maskd cannot place on a proxy number (no live binding there, not
 * the hidden side of an open one-way session on it, no respondent within its
 * callback window, no fallback number for it): true when it is asked for the
 * PIN of a one-way session on that number, that is when the service's
 * unknown-caller policy is pin, the call is a voice call and at least one of
 * c[0..n) (the hidden rows of one-way sessions on the number, as the store
 * lists them) is open at now. Otherwise the unknown-caller policy answers as
 * everywhere (a text is never asked for a PIN). */
bool oneway_stranger_asked(enum unknown_caller policy, enum channel channel, const struct oneway_candidate *c, int n,
			   int64_t now);

/* The one-way session a PIN names for such a caller: among c[0..n) (hidden
 * rows on the dialled number), the one still marked open or in progress whose
 * PIN is digits; -1 when none (NULL or malformed digits, no match). A session
 * past its deadline but not yet swept is named (its bridge then gives the ended
 * message); a closed, failed or blocked one is not: its PIN may already belong
 * to another session of the service, so it counts as a wrong PIN. */
int oneway_stranger_pin_pick(const struct oneway_candidate *c, int n, const char *digits);

const char *oneway_direction_name(enum session_direction d);

#endif
