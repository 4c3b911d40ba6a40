/* SPDX-License-Identifier: MIT */
/* plivo_sig.h - X-Plivo-Signature-V2/-V3 and X-Vobiz-Signature-V2/-V3 checks, as the
 * carriers' helper libraries and docs define them (../shared/reference/PROVIDERS.md
 * §3.3-3.4). Pure functions over strings; no I/O, thread-safe after crypto_init().
 * The legacy V1 (HMAC-SHA1) headers are not checked: configure V2/V3. */
#ifndef MASKD_PLIVO_SIG_H
#define MASKD_PLIVO_SIG_H

#include <stdbool.h>
#include <stddef.h>

#include "../util/form.h"

#define PLIVO_SIG_LEN 44 /* base64 of a 32-byte HMAC-SHA256 */

enum plivo_sig_flavor {
	PLIVO_SIG_PLIVO, /* V3 = Plivo's construction; plivo-node and plivo-python readings */
	PLIVO_SIG_VOBIZ  /* V3 = base URL "." nonce (Vobiz docs) or Plivo's construction (Vobiz-Go-SDK) */
};

/* V2 (Plivo messaging, Vobiz V2): writes base64(HMAC-SHA256(token, base + nonce)) to
 * out, where base is url reduced to scheme://host[:port]path (userinfo, query and
 * fragment dropped). Returns false, out untouched, when url is not "scheme://...". */
bool plivo_sig_v2_compute(const char *token, const char *url, const char *nonce,
			  char out[PLIVO_SIG_LEN + 1]);

/* True when signature (the X-*-Signature-V2 header, one value, compared whole as the
 * libraries do) matches url and nonce (the X-*-Signature-V2-Nonce header) under token.
 * url is the full public URL the carrier requested; its query is ignored. The same
 * function checks the -Ma-V2 / -MA-V2 header when given the main (parent) account's
 * token. NULL or empty token, nonce or signature, or a non-absolute url: false.
 * Constant-time comparison. */
bool plivo_sig_v2_check(const char *token, const char *url, const char *nonce,
			const char *signature);

/* The V3 string to sign, plivo-node's construction: base URL, then for GET "?" and
 * the query parameters of url together with params as "k=v" joined by "&"; for POST
 * "?" and url's query as "k=v&..." (when either the query or params is non-empty),
 * "." when both are non-empty, and key+value of each of params; then "." nonce. Keys,
 * then values, sorted bytewise; repeated keys kept. Query parameters are
 * percent-decoded ('+' is a space). Returns a NUL-terminated string the caller
 * frees, with its length in *len; NULL when method is neither "GET" nor "POST", url
 * is not "scheme://..." or its query cannot be decoded (a bad %-escape, %00, more
 * than FORM_FIELDS_MAX fields). params may be NULL (no fields). */
char *plivo_sig_v3_message(const char *method, const char *url, const struct form *params,
			   const char *nonce, size_t *len);

/* True when any comma-separated value of signature (X-Plivo-Signature-V3 /
 * X-Vobiz-Signature-V3, or the -Ma-/-MA- variant with the main account's token)
 * equals base64(HMAC-SHA256(token, message)) for one of the flavour's readings:
 *   PLIVO: plivo_sig_v3_message() as is (plivo-node), or with every byte >= 0x80
 *          encoded again as UTF-8 (plivo-python, which double-encodes non-ASCII
 *          POST values; it cannot handle a non-ASCII URL or query at all);
 *   VOBIZ: base URL + "." + nonce (docs.vobiz.ai), or plivo_sig_v3_message() as is
 *          (Vobiz-Go-SDK, a port of plivo-go).
 * method is the HTTP method of the callback ("GET" or "POST"); url is the full public
 * URL the carrier requested, query included, as received; params are the POST form
 * fields (for GET pass NULL or an empty form: the fields are in url's query). Values
 * are compared whole, without trimming, in constant time. NULL or empty token, nonce
 * or signature, another method, a non-absolute url or an undecodable query: false. */
bool plivo_sig_v3_check(enum plivo_sig_flavor fl, const char *token, const char *method,
			const char *url, const struct form *params, const char *nonce,
			const char *signature);

#endif
