/* SPDX-License-Identifier: MIT */
/* telnyx_sig.c - Telnyx Ed25519 webhook signatures; see telnyx_sig.h and
 * docs/internals/signatures.md. Validates the headers in the order telnyx-node does
 * (timestamp window before the signature, so a replay is reported as one), then
 * verifies with libsodium. Knows nothing of where the key or the clock come from. */
#include "telnyx_sig.h"
#include "sigutil.h"
#include "../util/crypto.h"
#include "../util/err.h"
#include "../util/xmalloc.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#define TELNYX_SIG_RAW_LEN 64	       /* Ed25519 signature */
#define TELNYX_SIG_B64_LEN 88	       /* its padded base64 */
#define TELNYX_KEY_B64_LEN 44	       /* padded base64 of the 32-byte key */
#define TELNYX_TS_MAX 9007199254740991LL /* 2^53-1, Number.isSafeInteger in telnyx-node */
#define TELNYX_TS_DIGITS_MAX 32	       /* longer headers are refused before parsing */

static pthread_once_t sodium_once = PTHREAD_ONCE_INIT;
static int sodium_status;

static void telnyx_sodium_init(void)
{
	sodium_status = sodium_init();
}

static void telnyx_require_sodium(void)
{
	if (pthread_once(&sodium_once, telnyx_sodium_init) != 0 || sodium_status < 0)
		fatal("telnyx_sig: libsodium failed to initialise");
}

static int telnyx_fail(const char **detail, int err, const char *why)
{
	if (detail != NULL)
		*detail = why;
	return err;
}

int telnyx_sig_key_parse(const char *public_key_b64, uint8_t out[TELNYX_SIG_KEY_LEN])
{
	if (public_key_b64 == NULL)
		return MASKD_EINVAL;
	size_t n = strlen(public_key_b64);
	if (n != TELNYX_KEY_B64_LEN)
		return MASKD_EINVAL;
	uint8_t key[TELNYX_SIG_KEY_LEN];
	if (base64_decode(public_key_b64, n, key, sizeof(key)) != TELNYX_SIG_KEY_LEN)
		return MASKD_EINVAL;
	memcpy(out, key, sizeof(key));
	return 0;
}

int telnyx_sig_check(const char *public_key_b64, const char *body, size_t body_len,
		     const char *signature_b64, const char *timestamp, int64_t now,
		     const char **detail)
{
	uint8_t key[TELNYX_SIG_KEY_LEN];
	if (telnyx_sig_key_parse(public_key_b64, key) != 0)
		return telnyx_fail(detail, MASKD_EINVAL, "public key is not base64 of 32 bytes");
	if (signature_b64 == NULL || signature_b64[0] == '\0')
		return telnyx_fail(detail, MASKD_EINVAL, "missing telnyx-signature-ed25519");
	if (timestamp == NULL || timestamp[0] == '\0')
		return telnyx_fail(detail, MASKD_EINVAL, "missing telnyx-timestamp");
	if (body == NULL && body_len > 0)
		return telnyx_fail(detail, MASKD_EINVAL, "no body");

	int64_t ts;
	if (!sigutil_parse_unix(timestamp, TELNYX_TS_DIGITS_MAX, &ts))
		return telnyx_fail(detail, MASKD_EINVAL, "telnyx-timestamp is not a Unix time");
	/* ts and now are both far from the int64_t limits here: no overflow. */
	if (now > TELNYX_TS_MAX || now < -TELNYX_TS_MAX ||
	    (ts > now ? ts - now : now - ts) > TELNYX_SIG_TOLERANCE)
		return telnyx_fail(detail, MASKD_EINVAL, "telnyx-timestamp outside the window");

	uint8_t sig[TELNYX_SIG_RAW_LEN];
	size_t sig_len = strlen(signature_b64);
	if (sig_len != TELNYX_SIG_B64_LEN ||
	    base64_decode(signature_b64, sig_len, sig, sizeof(sig)) != TELNYX_SIG_RAW_LEN)
		return telnyx_fail(detail, MASKD_EINVAL,
				   "telnyx-signature-ed25519 is not base64 of 64 bytes");

	telnyx_require_sodium();
	size_t ts_len = strlen(timestamp);
	size_t msg_len = ts_len + 1 + body_len;
	unsigned char *msg = xmalloc(msg_len);
	memcpy(msg, timestamp, ts_len);
	msg[ts_len] = '|';
	if (body_len > 0)
		memcpy(msg + ts_len + 1, body, body_len);
	int rc = crypto_sign_verify_detached(sig, msg, msg_len, key);
	free(msg);
	if (rc != 0)
		return telnyx_fail(detail, MASKD_ECRYPTO, "signature does not match");
	return telnyx_fail(detail, 0, "ok");
}
