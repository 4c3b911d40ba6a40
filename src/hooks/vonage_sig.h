/* SPDX-License-Identifier: MIT */
/* vonage_sig.h - Vonage signed webhooks (../shared/reference/PROVIDERS.md §3.6): the
 * "Authorization: Bearer <JWT>" of the Voice/Messages APIs, HS256 pinned, with the
 * payload_hash and an iat window checked; and the legacy SMS API "sig" parameter.
 * Pure: the caller passes the clock. No I/O; thread-safe after crypto_init(). */
#ifndef MASKD_VONAGE_SIG_H
#define MASKD_VONAGE_SIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../util/form.h"

#define VONAGE_JWT_MAX 8192  /* longer Authorization values are refused (MASKD_EINVAL) */
#define VONAGE_CLAIM_MAX 128 /* longest jti / api_key / application_id copied out */

/* What a verified token said, for logs and for de-duplicating jti. */
struct vonage_jwt_claims {
	int64_t iat;
	char jti[VONAGE_CLAIM_MAX + 1];		   /* "" when absent, not a string or too long */
	char api_key[VONAGE_CLAIM_MAX + 1];	   /* same */
	char application_id[VONAGE_CLAIM_MAX + 1]; /* same */
	bool payload_hash_checked;		   /* payload_hash was present and matched */
};

/* Checks a Voice/Messages signed webhook. authorization is the Authorization header
 * value ("Bearer " + JWT; scheme case-insensitive; NULL when absent). The token must
 * be three base64url parts without padding; its header must say "alg":"HS256" ("none",
 * RS256 and every other value are refused whatever the signature); the signature
 * must equal base64url(HMAC-SHA256(secret, header "." payload)) (constant time); the
 * payload must be a JSON object with an integer iat, now - max_age <= iat <= now +
 * max_skew; exp and nbf, when present, must be numbers and hold at now, with max_skew
 * of tolerance. Duplicate JSON keys are refused. method is the request's HTTP
 * method: for any method but "GET" a payload_hash claim, when present, must be the
 * hex SHA-256 of body/body_len (the raw body; body may be NULL when body_len is 0;
 * hex compared case-insensitively); for GET (Vonage's default answer webhook, no
 * body) payload_hash is not checked, because what Vonage hashes then is unverified
 * (PROVIDERS.md §7.6). claims, when not NULL, is filled on success (zeroed first).
 * Returns 0 when authentic and fresh; MASKD_EINVAL for a missing, oversized or
 * malformed header/token/claim, an empty secret, a bad method or window argument, a
 * refused alg or an iat/exp/nbf outside the window; MASKD_ECRYPTO when the signature
 * or payload_hash does not match. *detail, when detail is not NULL, gets a static
 * string saying which (never NULL; "ok" on success). */
int vonage_sig_check_jwt(const char *secret, const char *authorization, const char *method,
			 const char *body, size_t body_len, int64_t now, int64_t max_age,
			 int64_t max_skew, struct vonage_jwt_claims *claims, const char **detail);

/* The SMS API signature methods (the account's "signature method" setting), named
 * as @vonage/auth's AlgorithmTypes. */
enum vonage_sms_sig_alg {
	VONAGE_SMS_MD5HASH,    /* md5(string + secret): Vonage's default */
	VONAGE_SMS_MD5HMAC,    /* HMAC-MD5(secret, string) */
	VONAGE_SMS_SHA1HMAC,   /* HMAC-SHA1 */
	VONAGE_SMS_SHA256HMAC, /* HMAC-SHA256 */
	VONAGE_SMS_SHA512HMAC  /* HMAC-SHA512 */
};

#define VONAGE_SMS_SIG_MAX 128 /* hex of the longest digest, SHA-512 */

/* Maps "md5hash", "md5hmac", "sha1hmac", "sha256hmac", "sha512hmac" (any case) to
 * the enum. Returns 0, or MASKD_EINVAL for NULL or any other name. */
int vonage_sms_sig_alg_parse(const char *name, enum vonage_sms_sig_alg *out);

/* Writes the lowercase hex signature @vonage/sms verifySignature expects for params
 * (every field but "sig"; keys sorted bytewise; "&" key "=" value with '&' and '='
 * in values replaced by '_') into out. params are the decoded fields of the inbound
 * SMS (query for GET, form body for POST). Returns 0; MASKD_EINVAL for an empty secret
 * or a repeated key (the library cannot express one); MASKD_ECRYPTO when OpenSSL
 * refuses the digest (MD5 in FIPS mode). */
int vonage_sms_sig_compute(enum vonage_sms_sig_alg alg, const char *secret,
			   const struct form *params, char out[VONAGE_SMS_SIG_MAX + 1]);

/* Checks an inbound SMS: the "sig" field must equal vonage_sms_sig_compute()
 * (hex compared case-insensitively, constant time), and the signed "timestamp"
 * field (Unix seconds, digits only) must be within tolerance seconds of now, either
 * way (inclusive) - @vonage/sms does not check freshness, the signature covers the
 * timestamp precisely so a receiver can. Returns 0 when authentic and fresh;
 * MASKD_EINVAL for a missing/empty sig or timestamp, a repeated key, an empty secret,
 * a negative tolerance or a timestamp outside the window; MASKD_ECRYPTO on mismatch.
 * *detail as for vonage_sig_check_jwt(). */
int vonage_sms_sig_check(enum vonage_sms_sig_alg alg, const char *secret,
			 const struct form *params, int64_t now, int64_t tolerance,
			 const char **detail);

#endif
