/* SPDX-License-Identifier: MIT */
/* route.h - the heart of maskd: an inbound call or text plus what the store found
 * for (caller, dialled proxy number) becomes a decision. Pure: no I/O, no clock,
 * no markup; the dialect renders the decision. Never decides to bridge anywhere
 * but to the other participant of a live session that allows the channel. */
#ifndef MASKD_ROUTE_H
#define MASKD_ROUTE_H

#include <stdint.h>

#include "../store/store.h"
#include "model.h"

enum route_reason {
	ROUTE_OK = 0,
	ROUTE_UNKNOWN_CALLER, /* no active binding for (caller, proxy number) */
	ROUTE_SESSION_ENDED,  /* bound, but closed or past its deadline */
	ROUTE_CHANNEL_DENIED, /* the session's mode does not allow this channel */
	ROUTE_EMPTY_MESSAGE,  /* a text with neither body nor media: nothing to forward */
	ROUTE_KEYWORD         /* an opt-out/opt-in/help keyword: never relayed (core/optout.h) */
};

struct inbound {
	int channel; /* enum channel */
	const char *from;
	const char *to;
	const char *body;    /* messages; may be NULL */
	int n_media;         /* messages: MediaUrlN count */
};

struct decision {
	int kind;          /* enum decision_kind */
	int reason;        /* enum route_reason */
	const char *dial;  /* bridge/forward: the other side's real number (borrowed from the view) */
	const char *from;  /* bridge/forward: caller id = the other side's proxy number */
};

/* Decides what to do with in given v (from store_route_lookup) at now. */
void route_inbound(const struct inbound *in, const struct route_view *v, int64_t now, struct decision *out);

const char *route_reason_name(int r);

#endif
