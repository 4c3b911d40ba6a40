/* SPDX-License-Identifier: MIT */
/* fields.h - reading the values every carrier dialect reads the same way: a
 * non-negative count of seconds, a number written as bare digits. Pure helpers
 * over strings the dialect already took from its request; no parsing of bodies,
 * no decisions, no logging. */
#ifndef MASKD_HOOKS_FIELDS_H
#define MASKD_HOOKS_FIELDS_H

#include <stdint.h>

#include "../util/arena.h"

/* s as a whole non-negative decimal number of seconds, or -1 when s is NULL,
 * empty, negative or not all number ("12s"). */
int64_t fields_seconds(const char *s);

/* s as E.164: an all-digit value ("14155550100") gets its '+' (in a's memory);
 * anything else (NULL, "", already "+...", a SIP URI, "anonymous") is returned
 * as is, for the pipeline to judge. */
const char *fields_e164(struct arena *a, const char *s);

/* Whether s may be a carrier's call, message or recording id: NULL (absent), or
 * 1 to FIELDS_ID_MAX characters of letters, digits and "-_.:". Every carrier's
 * documented ids fit (Twilio CA/SM/MM + 32 hex, SignalWire and Plivo UUIDs,
 * Telnyx "v3:..." call control ids, Vonage UUIDs); a newline, a space or a
 * quote does not. */
#define FIELDS_ID_MAX 128
int fields_id_ok(const char *s);

#endif
