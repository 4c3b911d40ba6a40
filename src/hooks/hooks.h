/* SPDX-License-Identifier: MIT */
/* hooks.h - the carrier webhooks, the edge of the pipeline in flow/webhook.h:
 *   /hooks/{dialect}/voice    an inbound call: bridge, refuse, forward or ask for a PIN
 *   /hooks/{dialect}/message  an inbound text: forward, refuse, keywords (STOP/START/HELP)
 *   /hooks/{dialect}/status   call progress, dial results, recordings, delivery reports
 *   /hooks/{dialect}/consent  the callee's consent notice of a recorded bridge (TwiML
 *                             family, <Number url>, ?interaction=...): said, then connected
 *   /hooks/{dialect}/gather   the digits a caller entered after a PIN prompt (?attempt=N,
 *                             the URL maskd rendered): routed into their session or asked again
 * Each request flows down once and back up once: find the dialect, parse, read the
 * clock and the random source once, run the pipeline (which has the dialect verify
 * the carrier's signature with the service's credential), render the decision.
 * Never answers 500 to a caller it cannot place: an unknown caller is a spoken
 * message; only a store failure is a 503. */
#ifndef MASKD_HOOKS_H
#define MASKD_HOOKS_H

#include "../http/http.h"

struct app;

/* True when path is a webhook path (under /hooks/); fills res in every case it
 * handles: 404 for an unknown dialect or event, the dialect's refusal (400, 405,
 * 413, 415) for a malformed request, 403 for a bad signature, 503 for a store
 * failure, else 200 with the dialect's markup. Runs on the calling HTTP thread;
 * strings live in req->arena. */
int hooks_handle(struct app *app, const struct http_request *req, struct http_response *res);

#endif
