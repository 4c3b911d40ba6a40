/* SPDX-License-Identifier: MIT */
/* hooks.h - the carrier webhooks: /hooks/{dialect}/{voice,message,status}.
 * Each request flows down once and back up once: parse, one lookup, verify the
 * carrier's signature with the service's credential, route (core/), record the
 * interaction (idempotent on the carrier's call or message id), render markup.
 * Never answers 500 to a caller it cannot place: an unknown caller is a spoken
 * message; only a store failure is a 503. */
#ifndef MASKD_HOOKS_H
#define MASKD_HOOKS_H

#include "../http/http.h"

struct app;

/* True when path is a webhook path; fills res in every case it handles. */
int hooks_handle(struct app *app, const struct http_request *req, struct http_response *res);

#endif
