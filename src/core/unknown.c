/* SPDX-License-Identifier: MIT */
/* unknown.c - the unknown-caller policy; see unknown.h. */
#include "unknown.h"
#include "pin.h"
#include "refusal.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

bool unknown_is_pin_number(const struct service *svc, enum channel channel, const char *to)
{
	assert(svc != NULL && to != NULL);
	return channel == CHANNEL_VOICE && svc->unknown_caller == UNKNOWN_PIN && strcmp(to, svc->pin_number) == 0;
}

static void refuse(const struct service *svc, enum channel channel, const char *say, struct unknown_outcome *out)
{
	out->action = UNKNOWN_ACT_REFUSE;
	route_refuse(&out->d, channel, ROUTE_UNKNOWN_CALLER);
	out->say = say != NULL ? say : refusal_text(svc, ROUTE_UNKNOWN_CALLER, channel);
}

/* A bridge to number showing the dialled proxy number as caller id; a text goes
 * the same way only when texts is set and it has something to forward. */
static void forward(const struct inbound *in, const char *number, int texts, struct unknown_outcome *out)
{
	out->action = UNKNOWN_ACT_FORWARD;
	out->say = NULL;
	out->d = (struct decision){.kind = DECISION_BRIDGE, .reason = ROUTE_UNKNOWN_CALLER, .dial = number, .from = in->to};
	if (in->channel == CHANNEL_VOICE)
		return;
	out->d.kind = texts && (in->body != NULL || in->n_media > 0) ? DECISION_FORWARD_MESSAGE : DECISION_ACKNOWLEDGE;
	if (out->d.kind == DECISION_ACKNOWLEDGE)
		out->d.dial = out->d.from = NULL;
}

void unknown_decide(const struct service *svc, const struct inbound *in, struct unknown_outcome *out)
{
	assert(svc != NULL && in != NULL && out != NULL);
	switch (svc->unknown_caller) {
	case UNKNOWN_FORWARD:
		forward(in, svc->fallback_number, 0, out);
		return;
	case UNKNOWN_CALLBACK:
		out->action = UNKNOWN_ACT_ASK_CALLBACK;
		out->say = NULL;
		route_refuse(&out->d, in->channel, ROUTE_UNKNOWN_CALLER);
		return;
	case UNKNOWN_REJECT:
	case UNKNOWN_PIN: /* a PIN is asked for on the PIN number only: a call elsewhere is refused */
		break;
	}
	refuse(svc, in->channel, NULL, out);
}

void unknown_after_callback(const struct service *svc, const struct inbound *in, int answered, enum callback_decision decision,
			    const char *number, const char *message, struct unknown_outcome *out)
{
	assert(svc != NULL && in != NULL && out != NULL);
	if (!answered) {
		if (svc->callback_fail_open)
			forward(in, svc->fallback_number, 0, out);
		else
			refuse(svc, in->channel, NULL, out);
		return;
	}
	switch (decision) {
	case CALLBACK_SESSION:
		out->action = UNKNOWN_ACT_SESSION;
		out->say = NULL;
		route_refuse(&out->d, in->channel, ROUTE_UNKNOWN_CALLER);
		return;
	case CALLBACK_FORWARD:
		forward(in, number, 1, out);
		return;
	case CALLBACK_REJECT:
		break;
	}
	refuse(svc, in->channel, message != NULL && message[0] != '\0' ? message : NULL, out);
}

void unknown_gather_refused(const struct service *svc, struct unknown_outcome *out)
{
	assert(svc != NULL && out != NULL);
	refuse(svc, CHANNEL_VOICE, svc->unknown_caller_message, out);
}

int unknown_pin_retry(const struct service *svc, const char *attempt_param, int *attempt,
		      struct unknown_outcome *out)
{
	assert(svc != NULL && attempt != NULL && out != NULL);
	*attempt = pin_attempt_next(attempt_param, svc->pin_attempts);
	int next = 0;
	if (*attempt > 0) {
		char buf[16];
		snprintf(buf, sizeof(buf), "%d", *attempt + 1);
		next = pin_attempt_next(buf, svc->pin_attempts);
	}
	if (next > 0)
		return next;
	out->action = UNKNOWN_ACT_REFUSE;
	route_refuse(&out->d, CHANNEL_VOICE, ROUTE_WRONG_PIN);
	out->say = UNKNOWN_PIN_FAILED;
	return 0;
}
