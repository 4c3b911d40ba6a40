/* SPDX-License-Identifier: MIT */
/* refusal.c - refusal texts; see refusal.h. */
#include "refusal.h"
#include "route.h"

#include <assert.h>
#include <stddef.h>

const char *refusal_text(const struct service *svc, enum route_reason reason, enum channel channel)
{
	assert(svc != NULL);
	switch (reason) {
	case ROUTE_SESSION_ENDED:
		return svc->ended_message;
	case ROUTE_NO_PEER:
		return channel == CHANNEL_VOICE ? REFUSAL_NO_PEER : NULL;
	case ROUTE_OPTED_OUT:
		return channel == CHANNEL_MESSAGE ? REFUSAL_OPTED_OUT : NULL;
	case ROUTE_MEDIA_REFUSED:
		return channel == CHANNEL_MESSAGE ? REFUSAL_MEDIA : NULL;
	case ROUTE_INTERCEPTED:
		return channel == CHANNEL_VOICE ? svc->unknown_caller_message : REFUSAL_INTERCEPTED;
	case ROUTE_RATE_LIMITED:
		return channel == CHANNEL_VOICE && !svc->rate_silent ? REFUSAL_RATE_LIMITED : NULL;
	case ROUTE_UNKNOWN_CALLER:
	case ROUTE_CHANNEL_DENIED:
	case ROUTE_WRONG_PIN:
		return channel == CHANNEL_VOICE ? svc->unknown_caller_message : NULL;
	case ROUTE_OK:
	case ROUTE_EMPTY_MESSAGE:
	case ROUTE_KEYWORD:
	case ROUTE_BLOCKED:
		break;
	}
	return NULL;
}
