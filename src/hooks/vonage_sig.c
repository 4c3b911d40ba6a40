/* SPDX-License-Identifier: MIT */
/* vonage_sig.c - Vonage signed-webhook JWTs and SMS API "sig"; see vonage_sig.h and
 * docs/internals/signatures.md. The JWT check is written out here rather than taken
 * from a JWT library so that exactly one algorithm (HS256) can ever be accepted.
 * MD5 and SHA-512, needed only by the legacy SMS methods, come straight from
 * OpenSSL's one-shot EVP_Q_* calls; the rest uses util/crypto. */
#include "vonage_sig.h"
#include "sigutil.h"
#include "../util/crypto.h"
#include "../util/err.h"
#include "../util/xmalloc.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <openssl/evp.h>

#define VONAGE_HS256_B64URL_LEN 43	   /* unpadded base64url of 32 bytes */
#define VONAGE_HASH_HEX_LEN 64		   /* hex SHA-256 (payload_hash) */
#define VONAGE_TIME_MAX 9007199254740991LL /* 2^53-1: keeps every sum below in range */
#define VONAGE_UNIX_DIGITS_MAX 16 /* a longer SMS "timestamp" is refused */

static int vonage_fail(const char **detail, int err, const char *why)
{
	if (detail != NULL)
		*detail = why;
	return err;
}

static bool vonage_is_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
			return false;
	}
	return true;
}

/* Lowercases hex in place (only ASCII letters change). */
static void vonage_hex_lower(char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] >= 'A' && s[i] <= 'F')
			s[i] = (char)(s[i] - 'A' + 'a');
}

/* ------------------------------------------------------------ JWT */

/* The token after "Bearer" and one or more spaces, or NULL. */
static const char *vonage_bearer(const char *authorization)
{
	if (authorization == NULL || strncasecmp(authorization, "Bearer", 6) != 0 ||
	    authorization[6] != ' ')
		return NULL;
	const char *p = authorization + 6;
	while (*p == ' ')
		p++;
	return p;
}

static bool vonage_b64url_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_';
}

/* Decodes n characters of unpadded base64url into a fresh buffer (caller frees,
 * NUL-terminated for convenience). Returns the length, or -1 when malformed. */
static long vonage_b64url_decode(const char *s, size_t n, uint8_t **out)
{
	if (n % 4 == 1)
		return -1;
	size_t padded = (n + 3) / 4 * 4;
	char *tmp = xmalloc(padded + 1);
	for (size_t i = 0; i < n; i++)
		tmp[i] = s[i] == '-' ? '+' : s[i] == '_' ? '/' : s[i];
	for (size_t i = n; i < padded; i++)
		tmp[i] = '=';
	uint8_t *buf = xmalloc(padded / 4 * 3 + 1);
	long len = base64_decode(tmp, padded, buf, padded / 4 * 3);
	free(tmp);
	if (len < 0) {
		free(buf);
		return -1;
	}
	buf[len] = '\0';
	*out = buf;
	return len;
}

/* Decodes one JWT part as a JSON object; NULL when it is not one. */
static json_t *vonage_json_part(const char *s, size_t n)
{
	uint8_t *raw;
	long len = vonage_b64url_decode(s, n, &raw);
	if (len < 0)
		return NULL;
	json_error_t jerr;
	json_t *j = json_loadb((const char *)raw, (size_t)len, JSON_REJECT_DUPLICATES, &jerr);
	free(raw);
	if (j != NULL && !json_is_object(j)) {
		json_decref(j);
		return NULL;
	}
	return j;
}

static void vonage_claim_copy(json_t *payload, const char *name, char out[VONAGE_CLAIM_MAX + 1])
{
	json_t *v = json_object_get(payload, name);
	const char *s = json_string_value(v);
	out[0] = '\0';
	if (s != NULL && json_string_length(v) <= VONAGE_CLAIM_MAX && strlen(s) == json_string_length(v))
		memcpy(out, s, json_string_length(v) + 1);
}

/* iat, exp and nbf against now. */
static int vonage_check_times(json_t *payload, int64_t now, int64_t max_age, int64_t max_skew,
			      int64_t *iat_out, const char **detail)
{
	json_t *iat = json_object_get(payload, "iat");
	if (!json_is_integer(iat))
		return vonage_fail(detail, MASKD_EINVAL, "jwt has no integer iat");
	json_int_t t = json_integer_value(iat);
	if (t < now - max_age)
		return vonage_fail(detail, MASKD_EINVAL, "jwt iat too old");
	if (t > now + max_skew)
		return vonage_fail(detail, MASKD_EINVAL, "jwt iat in the future");
	*iat_out = (int64_t)t;

	json_t *exp = json_object_get(payload, "exp");
	if (exp != NULL) {
		if (!json_is_number(exp))
			return vonage_fail(detail, MASKD_EINVAL, "jwt exp is not a number");
		if ((double)now >= json_number_value(exp) + (double)max_skew)
			return vonage_fail(detail, MASKD_EINVAL, "jwt expired");
	}
	json_t *nbf = json_object_get(payload, "nbf");
	if (nbf != NULL) {
		if (!json_is_number(nbf))
			return vonage_fail(detail, MASKD_EINVAL, "jwt nbf is not a number");
		if (json_number_value(nbf) > (double)now + (double)max_skew)
			return vonage_fail(detail, MASKD_EINVAL, "jwt not valid yet");
	}
	return 0;
}

/* payload_hash, when present, against the raw body. */
static int vonage_check_payload_hash(json_t *payload, const char *body, size_t body_len,
				     bool *checked, const char **detail)
{
	json_t *ph = json_object_get(payload, "payload_hash");
	*checked = false;
	if (ph == NULL)
		return 0;
	const char *want = json_string_value(ph);
	if (want == NULL || json_string_length(ph) != VONAGE_HASH_HEX_LEN ||
	    !vonage_is_hex(want, VONAGE_HASH_HEX_LEN))
		return vonage_fail(detail, MASKD_EINVAL, "jwt payload_hash is not hex SHA-256");
	char want_lower[VONAGE_HASH_HEX_LEN + 1];
	memcpy(want_lower, want, sizeof(want_lower));
	vonage_hex_lower(want_lower, VONAGE_HASH_HEX_LEN);
	uint8_t digest[32];
	char hex[VONAGE_HASH_HEX_LEN + 1];
	sha256(body_len > 0 ? body : "", body_len, digest);
	hex_encode(digest, sizeof(digest), hex);
	if (!ct_equal(hex, VONAGE_HASH_HEX_LEN, want_lower, VONAGE_HASH_HEX_LEN))
		return vonage_fail(detail, MASKD_ECRYPTO, "body does not match jwt payload_hash");
	*checked = true;
	return 0;
}

int vonage_sig_check_jwt(const char *secret, const char *authorization, const char *method,
			 const char *body, size_t body_len, int64_t now, int64_t max_age,
			 int64_t max_skew, struct vonage_jwt_claims *claims, const char **detail)
{
	/* An unset credential must never validate a token signed with "". */
	if (secret == NULL || secret[0] == '\0')
		return vonage_fail(detail, MASKD_EINVAL, "no signature secret configured");
	if (method == NULL || (body == NULL && body_len > 0))
		return vonage_fail(detail, MASKD_EINVAL, "no method or no body");
	if (now < -VONAGE_TIME_MAX || now > VONAGE_TIME_MAX || max_age < 0 ||
	    max_age > VONAGE_TIME_MAX || max_skew < 0 || max_skew > VONAGE_TIME_MAX)
		return vonage_fail(detail, MASKD_EINVAL, "bad time window");
	const char *token = vonage_bearer(authorization);
	if (token == NULL)
		return vonage_fail(detail, MASKD_EINVAL, "missing Authorization: Bearer");
	size_t len = strlen(token);
	if (len > VONAGE_JWT_MAX)
		return vonage_fail(detail, MASKD_EINVAL, "jwt too long");

	/* header "." payload "." signature, base64url only. */
	size_t dot1 = 0, dot2 = 0, dots = 0;
	for (size_t i = 0; i < len; i++) {
		if (token[i] == '.') {
			if (dots == 0)
				dot1 = i;
			else
				dot2 = i;
			dots++;
		} else if (!vonage_b64url_char(token[i])) {
			return vonage_fail(detail, MASKD_EINVAL, "jwt is not base64url");
		}
	}
	if (dots != 2 || dot1 == 0 || dot2 == dot1 + 1)
		return vonage_fail(detail, MASKD_EINVAL, "jwt does not have three parts");

	json_t *header = vonage_json_part(token, dot1);
	if (header == NULL)
		return vonage_fail(detail, MASKD_EINVAL, "jwt header is not a JSON object");
	const char *alg = json_string_value(json_object_get(header, "alg"));
	bool hs256 = alg != NULL && strcmp(alg, "HS256") == 0 &&
		     json_string_length(json_object_get(header, "alg")) == 5;
	json_decref(header);
	if (!hs256)
		return vonage_fail(detail, MASKD_EINVAL, "jwt alg is not HS256");

	uint8_t mac[32];
	hmac_sha256(secret, strlen(secret), token, dot2, mac);
	char want[VONAGE_HS256_B64URL_LEN + 2]; /* base64 has one '=' of padding */
	size_t wl = base64_encode(mac, sizeof(mac), want);
	(void)wl;
	for (size_t i = 0; i < VONAGE_HS256_B64URL_LEN; i++)
		want[i] = want[i] == '+' ? '-' : want[i] == '/' ? '_' : want[i];
	if (!ct_equal(want, VONAGE_HS256_B64URL_LEN, token + dot2 + 1, len - dot2 - 1))
		return vonage_fail(detail, MASKD_ECRYPTO, "jwt signature does not match");

	json_t *payload = vonage_json_part(token + dot1 + 1, dot2 - dot1 - 1);
	if (payload == NULL)
		return vonage_fail(detail, MASKD_EINVAL, "jwt payload is not a JSON object");
	int64_t iat = 0;
	int rc = vonage_check_times(payload, now, max_age, max_skew, &iat, detail);
	bool checked = false;
	if (rc == 0 && strcmp(method, "GET") != 0)
		rc = vonage_check_payload_hash(payload, body, body_len, &checked, detail);
	if (rc == 0 && claims != NULL) {
		memset(claims, 0, sizeof(*claims));
		claims->iat = iat;
		vonage_claim_copy(payload, "jti", claims->jti);
		vonage_claim_copy(payload, "api_key", claims->api_key);
		vonage_claim_copy(payload, "application_id", claims->application_id);
		claims->payload_hash_checked = checked;
	}
	json_decref(payload);
	if (rc != 0)
		return rc;
	return vonage_fail(detail, 0, "ok");
}

/* ------------------------------------------------------------ SMS API sig */

static const struct {
	const char *name;
	enum vonage_sms_sig_alg alg;
} vonage_sms_algs[] = {
	{"md5hash", VONAGE_SMS_MD5HASH},       {"md5hmac", VONAGE_SMS_MD5HMAC},
	{"sha1hmac", VONAGE_SMS_SHA1HMAC},     {"sha256hmac", VONAGE_SMS_SHA256HMAC},
	{"sha512hmac", VONAGE_SMS_SHA512HMAC},
};

int vonage_sms_sig_alg_parse(const char *name, enum vonage_sms_sig_alg *out)
{
	if (name == NULL)
		return MASKD_EINVAL;
	for (size_t i = 0; i < sizeof(vonage_sms_algs) / sizeof(vonage_sms_algs[0]); i++) {
		if (strcasecmp(name, vonage_sms_algs[i].name) == 0) {
			*out = vonage_sms_algs[i].alg;
			return 0;
		}
	}
	return MASKD_EINVAL;
}

static int vonage_key_cmp(const void *pa, const void *pb)
{
	const struct form_field *const *a = pa, *const *b = pb;
	return strcmp((*a)->key, (*b)->key);
}

/* "&k=v..." over every field but sig, keys sorted; NULL on a repeated key.
 * The result is xmalloc'd with room for secret_room more bytes. */
static char *vonage_sms_string(const struct form *params, size_t secret_room, size_t *len)
{
	size_t n = params != NULL ? params->n : 0;
	const struct form_field **sorted = xmalloc((n > 0 ? n : 1) * sizeof(*sorted));
	size_t m = 0, total = 0;
	for (size_t i = 0; i < n; i++) {
		if (strcmp(params->fields[i].key, "sig") == 0)
			continue;
		sorted[m++] = &params->fields[i];
		total += 2 + strlen(params->fields[i].key) + strlen(params->fields[i].value);
	}
	qsort(sorted, m, sizeof(*sorted), vonage_key_cmp);
	for (size_t i = 1; i < m; i++) {
		if (strcmp(sorted[i]->key, sorted[i - 1]->key) == 0) {
			free(sorted);
			return NULL;
		}
	}
	char *s = xmalloc(total + secret_room + 1);
	size_t o = 0;
	for (size_t i = 0; i < m; i++) {
		size_t kl = strlen(sorted[i]->key), vl = strlen(sorted[i]->value);
		s[o++] = '&';
		memcpy(s + o, sorted[i]->key, kl);
		o += kl;
		s[o++] = '=';
		for (size_t k = 0; k < vl; k++) {
			char c = sorted[i]->value[k];
			s[o++] = (c == '&' || c == '=') ? '_' : c;
		}
	}
	s[o] = '\0';
	free(sorted);
	*len = o;
	return s;
}

int vonage_sms_sig_compute(enum vonage_sms_sig_alg alg, const char *secret,
			   const struct form *params, char out[VONAGE_SMS_SIG_MAX + 1])
{
	if (secret == NULL || secret[0] == '\0')
		return MASKD_EINVAL;
	size_t secret_len = strlen(secret), len;
	char *s = vonage_sms_string(params, secret_len, &len);
	if (s == NULL)
		return MASKD_EINVAL;
	uint8_t digest[64];
	size_t dlen = 0;
	bool ok = true;
	switch (alg) {
	case VONAGE_SMS_MD5HASH:
		memcpy(s + len, secret, secret_len);
		ok = EVP_Q_digest(NULL, "MD5", NULL, s, len + secret_len, digest, &dlen) == 1;
		break;
	case VONAGE_SMS_MD5HMAC:
		ok = EVP_Q_mac(NULL, "HMAC", NULL, "MD5", NULL, secret, secret_len,
			       (const unsigned char *)s, len, digest, sizeof(digest), &dlen) != NULL;
		break;
	case VONAGE_SMS_SHA1HMAC:
		hmac_sha1(secret, secret_len, s, len, digest);
		dlen = 20;
		break;
	case VONAGE_SMS_SHA256HMAC:
		hmac_sha256(secret, secret_len, s, len, digest);
		dlen = 32;
		break;
	case VONAGE_SMS_SHA512HMAC:
		ok = EVP_Q_mac(NULL, "HMAC", NULL, "SHA512", NULL, secret, secret_len,
			       (const unsigned char *)s, len, digest, sizeof(digest), &dlen) != NULL;
		break;
	}
	free(s); /* an alg outside the enum leaves dlen 0: refused below */
	if (!ok || dlen == 0 || dlen > sizeof(digest))
		return MASKD_ECRYPTO;
	hex_encode(digest, dlen, out);
	return 0;
}

int vonage_sms_sig_check(enum vonage_sms_sig_alg alg, const char *secret,
			 const struct form *params, int64_t now, int64_t tolerance,
			 const char **detail)
{
	if (secret == NULL || secret[0] == '\0')
		return vonage_fail(detail, MASKD_EINVAL, "no signature secret configured");
	if (tolerance < 0 || tolerance > VONAGE_TIME_MAX || now < -VONAGE_TIME_MAX ||
	    now > VONAGE_TIME_MAX)
		return vonage_fail(detail, MASKD_EINVAL, "bad time window");
	if (params == NULL)
		return vonage_fail(detail, MASKD_EINVAL, "missing sig");
	const char *sig = NULL;
	for (size_t i = 0; i < params->n; i++) {
		if (strcmp(params->fields[i].key, "sig") != 0)
			continue;
		if (sig != NULL)
			return vonage_fail(detail, MASKD_EINVAL, "repeated sig");
		sig = params->fields[i].value;
	}
	if (sig == NULL || sig[0] == '\0')
		return vonage_fail(detail, MASKD_EINVAL, "missing sig");
	const char *ts_text = form_get(params, "timestamp");
	int64_t ts;
	if (ts_text == NULL || !sigutil_parse_unix(ts_text, VONAGE_UNIX_DIGITS_MAX, &ts))
		return vonage_fail(detail, MASKD_EINVAL, "missing or malformed timestamp");
	if ((ts > now ? ts - now : now - ts) > tolerance)
		return vonage_fail(detail, MASKD_EINVAL, "timestamp outside the window");

	char want[VONAGE_SMS_SIG_MAX + 1];
	int rc = vonage_sms_sig_compute(alg, secret, params, want);
	if (rc == MASKD_EINVAL)
		return vonage_fail(detail, rc, "repeated key");
	if (rc != 0)
		return vonage_fail(detail, rc, "digest unavailable");
	size_t want_len = strlen(want), sig_len = strlen(sig);
	if (sig_len != want_len || !vonage_is_hex(sig, sig_len))
		return vonage_fail(detail, MASKD_ECRYPTO, "sig does not match");
	char got[VONAGE_SMS_SIG_MAX + 1];
	memcpy(got, sig, sig_len + 1);
	vonage_hex_lower(got, sig_len);
	if (!ct_equal(want, want_len, got, sig_len))
		return vonage_fail(detail, MASKD_ECRYPTO, "sig does not match");
	return vonage_fail(detail, 0, "ok");
}
