/* SPDX-License-Identifier: MIT */
/* refusal.h - what a refused caller is told: the spoken or texted-back message for
 * a (service, route reason, channel). Pure: no I/O, no clock; the dialect renders
 * the text, the webhook flow (flow/webhook.c) decides when a refusal applies. */
#ifndef MASKD_REFUSAL_H
#define MASKD_REFUSAL_H

#include "model.h"
#include "route.h" /* enum route_reason */

#define REFUSAL_NO_PEER "The other participant has not joined this conversation yet."
#define REFUSAL_RATE_LIMITED "Too many calls from this number. Please try again later."
#define REFUSAL_OPTED_OUT \
	"Your message was not delivered: the recipient has opted out of texts from this number."
#define REFUSAL_MEDIA \
	"Your message was not delivered: this number cannot send pictures or files. Send it as text only."
/* a text the service's intercept_url refused without a message of its own, or could not be asked */
#define REFUSAL_INTERCEPTED "Your message was not delivered."

/* The text for a caller refused for reason (enum route_reason) on channel (enum
 * channel), or NULL to refuse without a word. A returned pointer is a static
 * string or a field of svc (borrowed: lives as long as *svc), possibly "". */
const char *refusal_text(const struct service *svc, enum route_reason reason, enum channel channel);

#endif
