/* SPDX-License-Identifier: MIT */
/* replay.h - a retried webhook (its carrier id was recorded before) is answered
 * with the decision it was first given, rebuilt from the stored interaction, so a
 * carrier's retry never routes twice or differently. Pure: the flow reads the rows. */
#ifndef MASKD_REPLAY_H
#define MASKD_REPLAY_H

#include <stdbool.h>

#include "model.h"
#include "route.h"

/* True when the stored decision of it dials a number again (a bridge or a text
 * forward): the flow then reads the session and the callee's real number. */
bool replay_needs_number(const struct interaction *it);

/* Rebuilds the first answer of it into d: its decision kind, ROUTE_OK; for a
 * bridge or forward, dial = number (the callee's real number) and from = the
 * callee's proxy number in s ("" if s no longer lists it). s and number may be
 * NULL when replay_needs_number() is false. d borrows from s and number. */
void replay_decide(const struct interaction *it, const struct session *s, const char *number, struct decision *d);

#endif
