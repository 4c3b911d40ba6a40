/* SPDX-License-Identifier: MIT */
/* twilio_sig.h - X-Twilio-Signature / X-SignalWire-Signature checks, exactly as the
 * carriers' official helper libraries check them (../shared/reference/PROVIDERS.md §3.1-3.2).
 * Pure functions over strings; no I/O, thread-safe after crypto_init(). */
#ifndef MASKD_TWILIO_SIG_H
#define MASKD_TWILIO_SIG_H

#include <stdbool.h>
#include <stddef.h>

#include "../util/form.h"

enum twilio_sig_flavor {
	TWILIO_SIG_TWILIO,    /* repeated keys: values de-duplicated and sorted (twilio-node 6.x) */
	TWILIO_SIG_SIGNALWIRE /* repeated keys: values in submission order (@signalwire/compatibility-api) */
};

/* Computes base64(HMAC-SHA1(key, url + sorted key/value concat)) for url exactly as
 * given. out must hold 29 bytes (28 + NUL). */
void twilio_sig_compute(enum twilio_sig_flavor fl, const char *key, const char *url,
			const struct form *params, char out[29]);

/* True when signature matches, trying url as given, with the default port added
 * (:443 for https, :80 otherwise, only when url has no port) and with any port
 * removed. url is the full URL the carrier requested: public base URL + raw
 * request-target, query string included. params are the POST form fields (pass an
 * empty form for GET requests and for JSON bodies). When url carries a
 * bodySHA256 query parameter, the signature is checked with empty params and
 * the lowercase hex SHA-256 of body must equal it. SIGNALWIRE additionally
 * accepts lowercase hex HMAC-SHA1(key, url + raw body) ("scheme A", JSON
 * webhooks). All comparisons are constant-time. NULL or empty signature: false. */
bool twilio_sig_check(enum twilio_sig_flavor fl, const char *key, const char *url,
		      const struct form *params, const char *body, size_t body_len,
		      const char *signature);

#endif
