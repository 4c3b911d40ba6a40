/* SPDX-License-Identifier: MIT */
/* dialect.h - what a carrier dialect provides to the webhook pipeline (hooks.c):
 * parse its request into a neutral struct hook_input (core/inbound.h), check its signature, and
 * render a decision as its markup. One file per dialect family; the pipeline
 * itself (lookup, routing, recording, idempotency) is shared and knows no carrier.
 * A dialect never logs a real number and never decides anything. */
#ifndef MASKD_DIALECT_H
#define MASKD_DIALECT_H

#include <stdbool.h>
#include <stdint.h>

#include "../core/inbound.h" /* struct hook_input, struct hook_render */
#include "../core/model.h"
#include "../core/route.h"
#include "../http/http.h"
#include "../out/sender.h"

/* struct outgoing: the REST request of build_send, out/sender.h. */

struct service;

struct hook_dialect {
	enum dialect id;
	const char *name; /* the {dialect} of /hooks/{dialect}/... */
	/* Parses req as event into in (fields from req->arena); sets in->event, which
	 * may differ from event (a delivery report posted to /message is a status
	 * callback) and decides how the pipeline handles the request. Returns 0, or the HTTP
	 * status to refuse with (400 malformed, 405 method, 413 too many fields, 415
	 * content type) and a static reason in *why. Missing From/To/sid are not
	 * refusals here: the pipeline checks them, so every dialect answers alike. */
	int (*parse)(const struct http_request *req, enum hook_event event, struct hook_input *in, const char **why);
	/* True when req carries a valid signature by svc's credential for this dialect.
	 * url is the public URL the carrier called (MASKD_PUBLIC_URL + raw target). */
	bool (*verify)(const struct service *svc, const struct http_request *req, const char *url,
		       const struct hook_input *in, int64_t now);
	/* True when req carries the fields this dialect's signature is in (present,
	 * not checked): what lets a request whose owner is not in memory reach the
	 * database at all (hooks.c). Pure; no credential needed. */
	bool (*signed_request)(const struct http_request *req, const struct hook_input *in);
	/* Renders d (and the empty answer, for DECISION_ACKNOWLEDGE and status
	 * callbacks) into res: status 200, content type and body. */
	void (*render)(const struct decision *d, const struct hook_render *r, struct http_response *res);
	/* NULL for dialects whose markup forwards every text. Otherwise called for each
	 * DECISION_FORWARD_MESSAGE; pure (no I/O). Returns:
	 *   0              out holds the REST request that sends d through svc's account
	 *                  (api_base: the carrier's API base URL from
	 *                  MASKD_{TELNYX,PLIVO,VONAGE}_API_URL, no trailing '/'); the
	 *                  pipeline enqueues it (new interactions only) and answers the
	 *                  webhook with render(DECISION_ACKNOWLEDGE);
	 *   MASKD_ENOTFOUND the markup can forward this one (e.g. Plivo SMS without
	 *                  media): the pipeline renders d as usual; out untouched;
	 *   MASKD_EINVAL   svc lacks a REST credential: the pipeline logs it, records a
	 *                  failed leg 'b' and acknowledges. out->body is NULL. */
	int (*build_send)(const struct service *svc, const struct decision *d, const struct hook_render *r,
			  const char *api_base, struct outgoing *out);
};

/* The form-family request (TwiML, Plivo XML): POST with a form body, or GET with the
 * fields in the query. Parses in->query and, for POST, in->params, and points
 * *fields at the form that carries the webhook's fields. Returns 0, or the HTTP
 * status to refuse with (405, 415, 413, 400) and a static reason in *why. */
int hook_parse_form_request(const struct http_request *req, struct hook_input *in, const struct form **fields,
			    const char **why);

/* The dialect served under /hooks/{name}/, or NULL. */
const struct hook_dialect *hook_dialect_find(const char *name, size_t name_len);

/* The dialects, defined one per file family: twilio.c (Twilio, SignalWire),
 * telnyx.c, plivo.c (Plivo, Vobiz), vonage.c. */
extern const struct hook_dialect hook_dialect_twilio;
extern const struct hook_dialect hook_dialect_signalwire;
extern const struct hook_dialect hook_dialect_telnyx;
extern const struct hook_dialect hook_dialect_plivo;
extern const struct hook_dialect hook_dialect_vobiz;
extern const struct hook_dialect hook_dialect_vonage;

#endif
