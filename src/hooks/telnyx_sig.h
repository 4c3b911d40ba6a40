/* SPDX-License-Identifier: MIT */
/* telnyx_sig.h - telnyx-signature-ed25519 / telnyx-timestamp checks, as telnyx-node's
 * TelnyxWebhook.verify does them (../shared/reference/PROVIDERS.md §3.5): Ed25519 over
 * timestamp "|" raw body, 300 s tolerance both ways. Pure: the caller passes the
 * clock. No I/O; thread-safe (libsodium is initialised once, internally). */
#ifndef MASKD_TELNYX_SIG_H
#define MASKD_TELNYX_SIG_H

#include <stddef.h>
#include <stdint.h>

#define TELNYX_SIG_TOLERANCE 300 /* seconds, either side of now */
#define TELNYX_SIG_KEY_LEN 32    /* raw Ed25519 public key */

/* Decodes the account public key as Mission Control shows it (strict, padded
 * base64 of 32 bytes) into out. Returns 0, or MASKD_EINVAL (out untouched) for a
 * NULL, empty, malformed or wrong-length key. Use it to refuse a bad
 * carriers.telnyx.public_key at start rather than on every webhook. */
int telnyx_sig_key_parse(const char *public_key_b64, uint8_t out[TELNYX_SIG_KEY_LEN]);

/* Checks one Telnyx webhook. public_key_b64 is the account public key (as for
 * telnyx_sig_key_parse); body/body_len the raw request body exactly as received (body
 * may be NULL when body_len is 0); signature_b64 and timestamp the values of the
 * telnyx-signature-ed25519 and telnyx-timestamp headers (NULL when absent); now the
 * current Unix time in seconds. The timestamp must be all ASCII digits and at most
 * 2^53-1 (as in telnyx-node), within TELNYX_SIG_TOLERANCE seconds of now either way
 * (inclusive); the signature must be strict padded base64 of 64 bytes and verify
 * (libsodium crypto_sign_verify_detached) over timestamp "|" body, the header text
 * used byte for byte. Returns 0 when the webhook is authentic and fresh;
 * MASKD_EINVAL for a missing or malformed header or key, or a timestamp outside the
 * window (a replay); MASKD_ECRYPTO when the signature does not verify. *detail, when
 * detail is not NULL, gets a static string saying which (never NULL; "ok" on
 * success). Aborts only if libsodium cannot initialise. */
int telnyx_sig_check(const char *public_key_b64, const char *body, size_t body_len,
		     const char *signature_b64, const char *timestamp, int64_t now,
		     const char **detail);

#endif
