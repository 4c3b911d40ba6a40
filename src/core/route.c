/* SPDX-License-Identifier: MIT */
/* route.c - inbound -> decision; see route.h. */
#include "route.h"
#include "optout.h"
#include "session.h"

#include <string.h>

void route_refuse(struct decision *out, enum channel channel, enum route_reason reason)
{
	out->kind = channel == CHANNEL_VOICE ? DECISION_REJECT : DECISION_ACKNOWLEDGE;
	out->reason = reason;
	out->dial = NULL;
	out->from = NULL;
}

void route_inbound(const struct inbound *in, const struct route_view *v, int64_t now, struct decision *out)
{
	if (v->session_id[0] == '\0') {
		route_refuse(out, in->channel, ROUTE_UNKNOWN_CALLER);
		return;
	}
	/* before any state check: a STOP, START or HELP is the sender's own, and is
	 * kept (and HELP answered) whether the session is live, ended, blocked,
	 * waiting for a peer or voice-only */
	if (in->channel == CHANNEL_MESSAGE && optout_classify(in->body) != OPTOUT_NONE) {
		route_refuse(out, in->channel, ROUTE_KEYWORD);
		return;
	}
	if (v->session_status == SESSION_BLOCKED) {
		route_refuse(out, in->channel, ROUTE_BLOCKED);
		return;
	}
	if (!session_live(v->session_status, v->session_expires_at, v->session_ttl, v->session_last_activity_at,
			  now)) {
		route_refuse(out, in->channel, ROUTE_SESSION_ENDED);
		return;
	}
	if (v->to_participant[0] == '\0' || v->to_number[0] == '\0' || v->to_proxy_e164[0] == '\0') {
		route_refuse(out, in->channel, ROUTE_NO_PEER);
		return;
	}
	int need = in->channel == CHANNEL_VOICE ? MODE_VOICE : MODE_MESSAGE;
	if ((v->session_mode & need) == 0) {
		route_refuse(out, in->channel, ROUTE_CHANNEL_DENIED);
		return;
	}
	if (in->channel == CHANNEL_MESSAGE && (in->body == NULL || in->body[0] == '\0') && in->n_media == 0) {
		route_refuse(out, in->channel, ROUTE_EMPTY_MESSAGE);
		return;
	}
	if (in->channel == CHANNEL_MESSAGE && v->to_opted_out) {
		route_refuse(out, in->channel, ROUTE_OPTED_OUT);
		return;
	}
	out->kind = in->channel == CHANNEL_VOICE ? DECISION_BRIDGE : DECISION_FORWARD_MESSAGE;
	out->reason = ROUTE_OK;
	out->dial = v->to_number;
	out->from = v->to_proxy_e164;
}

const char *route_reason_name(int r)
{
	static const char *const names[] = {
		[ROUTE_OK] = "ok",
		[ROUTE_UNKNOWN_CALLER] = "unknown_caller",
		[ROUTE_SESSION_ENDED] = "session_ended",
		[ROUTE_CHANNEL_DENIED] = "channel_denied",
		[ROUTE_EMPTY_MESSAGE] = "empty_message",
		[ROUTE_KEYWORD] = "keyword",
		[ROUTE_BLOCKED] = "blocked",
		[ROUTE_NO_PEER] = "no_peer",
		[ROUTE_OPTED_OUT] = "opted_out",
		[ROUTE_RATE_LIMITED] = "rate_limited",
		[ROUTE_WRONG_PIN] = "wrong_pin",
		[ROUTE_MEDIA_REFUSED] = "media_refused",
		[ROUTE_INTERCEPTED] = "intercepted",
	};
	return r >= 0 && r <= ROUTE_INTERCEPTED ? names[r] : "unknown";
}

enum route_media route_media_plan(int n_media, unsigned to_caps, enum mms_fallback fallback)
{
	if (n_media <= 0 || (to_caps & CAP_MMS) != 0)
		return ROUTE_MEDIA_RELAY;
	return fallback == MMS_FALLBACK_REFUSE ? ROUTE_MEDIA_REFUSE : ROUTE_MEDIA_DROP;
}
