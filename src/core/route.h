/* SPDX-License-Identifier: MIT */
/* route.h - the heart of maskd: an inbound call or text plus what the store found
 * for (caller, dialled proxy number) becomes a decision. Pure: no I/O, no clock,
 * no markup; the dialect renders the decision. Never decides to bridge anywhere
 * but to the other participant of a live session that allows the channel. */
#ifndef MASKD_ROUTE_H
#define MASKD_ROUTE_H

#include <stdint.h>

#include "model.h"

enum route_reason {
	ROUTE_OK = 0,
	ROUTE_UNKNOWN_CALLER, /* no active binding for (caller, proxy number) */
	ROUTE_SESSION_ENDED,  /* bound, but closed or past its deadline */
	ROUTE_CHANNEL_DENIED, /* the session's mode does not allow this channel */
	ROUTE_EMPTY_MESSAGE,  /* a text with neither body nor media: nothing to forward */
	ROUTE_KEYWORD,        /* an opt-out/opt-in/help keyword: never relayed (core/optout.h) */
	ROUTE_BLOCKED,        /* the session was blocked by the API: refused without a word */
	ROUTE_NO_PEER,        /* a single-party session still waits for its second participant */
	ROUTE_OPTED_OUT,      /* a text towards a participant who opted out of this proxy number */
	ROUTE_RATE_LIMITED,   /* the binding's per-hour limit for the channel is used up */
	ROUTE_WRONG_PIN,      /* PIN number: the digits name no session of this caller */
	ROUTE_MEDIA_REFUSED,  /* a text with media towards a proxy number without mms, and the
				 service's mms_fallback is refuse */
	ROUTE_INTERCEPTED     /* the service's intercept_url denied it (or failed, failing closed) */
};

/* What a webhook needs to decide, found by one indexed lookup of (caller, proxy). */
struct route_view {
	struct number number;                  /* the dialled proxy number (number.id "" = not in any pool) */
	char session_id[ID_MAX];               /* "" = no active binding for this caller */
	enum session_status session_status;
	enum session_mode session_mode;
	int64_t session_ttl;
	int64_t session_expires_at;
	int64_t session_last_activity_at;
	char from_participant[ID_MAX];
	char to_participant[ID_MAX];
	char to_number[PHONE_E164_MAX + 1];     /* the other side's real number (unsealed) */
	char to_proxy_e164[PHONE_E164_MAX + 1]; /* the other side's proxy number */
	char to_country[3];                     /* the other side's region */
	struct call_policy session_policy;      /* the session's overrides (-1 = inherit) */
	int to_opted_out; /* the other side texted STOP to its proxy number (to_proxy_e164) and
			     has not texted START since: texts towards it are not sent */
	unsigned to_proxy_caps; /* enum capability bits of to_proxy_e164 (0 while single-party) */
};

struct inbound {
	enum channel channel;
	const char *from;
	const char *to;
	const char *body;    /* messages; may be NULL */
	int n_media;         /* messages: MediaUrlN count */
};

struct decision {
	enum decision_kind kind;
	enum route_reason reason;
	const char *dial;  /* bridge/forward: the other side's real number (borrowed from the view) */
	const char *from;  /* bridge/forward: caller id = the other side's proxy number */
};

/* Decides what to do with in given v (from store_route_lookup) at now, in this
 * order: unknown caller, keyword (a text that is a STOP, START or HELP word:
 * read as one in every session state, so it is always recorded and answered),
 * blocked, ended (closed or past its deadline: the binding is cooling off), no
 * peer yet, channel denied, empty text, opted-out recipient, else bridge /
 * forward. */
void route_inbound(const struct inbound *in, const struct route_view *v, int64_t now, struct decision *out);

/* Replaces out with a refusal for reason: a call is rejected (DECISION_REJECT), a
 * text acknowledged (DECISION_ACKNOWLEDGE); dial/from cleared. */
void route_refuse(struct decision *out, enum channel channel, enum route_reason reason);

const char *route_reason_name(int r);

/* What happens to the media of a text the route forwards (decided after
 * route_inbound() chose DECISION_FORWARD_MESSAGE). Media goes out only from a
 * proxy number with the mms capability: the text leaves from the other side's
 * proxy number (to_caps, route_view.to_proxy_caps). Without it the service's
 * mms_fallback applies. */
enum route_media {
	ROUTE_MEDIA_RELAY,   /* no media, or the number has mms: forward as it came */
	ROUTE_MEDIA_DROP,    /* forward the text without its media, with ROUTE_MEDIA_NOTE */
	ROUTE_MEDIA_REFUSE   /* relay nothing: refuse with ROUTE_MEDIA_REFUSED */
};
enum route_media route_media_plan(int n_media, unsigned to_caps, enum mms_fallback fallback);

/* The note ROUTE_MEDIA_DROP adds to the forwarded text (after a blank line when
 * the text has a body, alone when it had only media). */
#define ROUTE_MEDIA_NOTE "[A picture or file was sent with this message but could not be delivered.]"

#endif
