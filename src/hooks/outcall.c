/* SPDX-License-Identifier: MIT */
/* outcall.c - click-to-call request builders; see outcall.h. Twilio and SignalWire
 * share the Calls resource (POST .../2010-04-01/Accounts/{sid}/Calls.json, a form
 * body, HTTP Basic with the account's sid and token); they differ in where the
 * account lives (SignalWire: its space and project) and in the order their SDKs
 * write the fields: twilio (npm) 6 puts Url last, @signalwire/compatibility-api 3
 * (built on the twilio 3 client) right after From. SignalWire's URL is the one that
 * SDK calls: https://<space_url>/2010-04-01/Accounts/<project_id>/Calls.json.
 * Telnyx (TeXML Calls), Plivo and Vobiz (Call API) take a JSON body; so does Vonage
 * (Voice API), authenticated by an RS256 JWT signed with the application's private
 * key through OpenSSL's EVP API. */
#include "outcall.h"
#include "../util/buf.h"
#include "../util/crypto.h"
#include "../util/err.h"
#include "../util/xmalloc.h"

#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#define OUTCALL_FORM_TYPE "application/x-www-form-urlencoded"
#define OUTCALL_JSON_TYPE "application/json"

/* key=value in application/x-www-form-urlencoded as both SDKs write it (qs,
 * RFC 3986: only A-Z a-z 0-9 - _ . ~ stay as they are). */
static void form_field(struct buf *b, const char *key, const char *value)
{
	static const char hexd[] = "0123456789ABCDEF";
	if (b->len > 0)
		buf_puts(b, "&");
	buf_puts(b, key);
	buf_puts(b, "=");
	for (const unsigned char *c = (const unsigned char *)value; *c; c++) {
		if ((*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') ||
		    *c == '-' || *c == '_' || *c == '.' || *c == '~') {
			char one[2] = {(char)*c, '\0'};
			buf_puts(b, one);
		} else {
			char three[4] = {'%', hexd[*c >> 4], hexd[*c & 15], '\0'};
			buf_puts(b, three);
		}
	}
}

/* True when an account id can go into a URL path as it is: letters, digits, '-'
 * and '_' only (Plivo auth ids, Telnyx account UUIDs). */
static bool path_safe(const char *id)
{
	if (id[0] == '\0')
		return false;
	for (const char *p = id; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || *p == '-' ||
		      *p == '_'))
			return false;
	return true;
}

/* "Basic base64(user:secret)" into out->authorization; wipes its copies. */
static int basic_auth(struct outgoing *out, const char *user, const char *secret)
{
	char cred[2 * (SECRET_MAX_LEN + 1) + 2];
	int n = snprintf(cred, sizeof(cred), "%s:%s", user, secret);
	if (n < 0 || (size_t)n >= sizeof(cred))
		return MASKD_ETOOBIG;
	char b64[4 * ((sizeof(cred) + 2) / 3) + 1];
	base64_encode((const uint8_t *)cred, (size_t)n, b64);
	n = snprintf(out->authorization, sizeof(out->authorization), "Basic %s", b64);
	explicit_bzero(cred, sizeof(cred));
	explicit_bzero(b64, sizeof(b64));
	return n < 0 || (size_t)n >= sizeof(out->authorization) ? MASKD_ETOOBIG : 0;
}

/* The Calls resource form, in dialect d's SDK order. */
static void calls_form(enum dialect d, const struct outcall *c, struct outgoing *out)
{
	char timeout[16];
	snprintf(timeout, sizeof(timeout), "%d", c->ring_timeout);
	struct buf b;
	buf_init(&b);
	form_field(&b, "To", c->to);
	form_field(&b, "From", c->from);
	if (d == DIALECT_SIGNALWIRE)
		form_field(&b, "Url", c->answer_url);
	form_field(&b, "StatusCallback", c->status_url);
	form_field(&b, "Timeout", timeout);
	if (d == DIALECT_TWILIO)
		form_field(&b, "Url", c->answer_url);
	out->body = buf_steal(&b, &out->body_len);
}

static int twilio_call(const struct service *svc, const char *api_base, const struct outcall *c,
		       struct outgoing *out, const char **missing)
{
	char sid[SECRET_MAX_LEN + 1], token[SECRET_MAX_LEN + 1];
	if (service_cred(svc, DIALECT_TWILIO, "account_sid", sid, sizeof(sid)) < 0) {
		*missing = "account_sid";
		return MASKD_EINVAL;
	}
	if (service_cred(svc, DIALECT_TWILIO, "auth_token", token, sizeof(token)) < 0) {
		*missing = "auth_token";
		return MASKD_EINVAL;
	}
	int n = snprintf(out->url, sizeof(out->url), "%s/2010-04-01/Accounts/%s/Calls.json", api_base, sid);
	int rc = n < 0 || (size_t)n >= sizeof(out->url) ? MASKD_ETOOBIG : basic_auth(out, sid, token);
	explicit_bzero(token, sizeof(token));
	return rc;
}

static int signalwire_call(const struct service *svc, const char *api_base, const struct outcall *c,
			   struct outgoing *out, const char **missing)
{
	char project[SECRET_MAX_LEN + 1], token[SECRET_MAX_LEN + 1], space[SECRET_MAX_LEN + 1];
	static const char *const need[] = {"project_id", "api_token", "space_url"};
	char *into[] = {project, token, space};
	for (int i = 0; i < 3; i++)
		if (service_cred(svc, DIALECT_SIGNALWIRE, need[i], into[i], SECRET_MAX_LEN + 1) < 0) {
			if (i == 2 && api_base[0] != '\0')
				continue; /* MASKD_SIGNALWIRE_API_URL names the space */
			*missing = need[i];
			explicit_bzero(token, sizeof(token));
			return MASKD_EINVAL;
		}
	int n = api_base[0] != '\0'
			? snprintf(out->url, sizeof(out->url), "%s/2010-04-01/Accounts/%s/Calls.json", api_base, project)
			: snprintf(out->url, sizeof(out->url), "https://%s/2010-04-01/Accounts/%s/Calls.json",
				   space, project);
	int rc = n < 0 || (size_t)n >= sizeof(out->url) ? MASKD_ETOOBIG : basic_auth(out, project, token);
	explicit_bzero(token, sizeof(token));
	return rc;
}

/* A number as Plivo and Vobiz write it: E.164 without the '+'. */
static const char *plus_less(const char *e164)
{
	return e164[0] == '+' ? e164 + 1 : e164;
}

/* The JSON text of o (borrowed) as JSON.stringify writes an object of strings and
 * integers: compact, keys in insertion order, '/' and non-ASCII as they are. */
static int json_body(json_t *o, struct outgoing *out)
{
	char *text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (text == NULL)
		return MASKD_EINVAL;
	out->body = text;
	out->body_len = strlen(text);
	snprintf(out->content_type, sizeof(out->content_type), "%s", OUTCALL_JSON_TYPE);
	return 0;
}

/* Telnyx TeXML: POST {api_base}/v2/texml/Accounts/{account_sid}/Calls with the JSON
 * body telnyx (npm) texml.accounts.calls.calls(account_sid, {body}) sends (keys in
 * the order given: ApplicationSid, To, From, Url, StatusCallback, Timeout) and
 * Authorization: Bearer <api_key>. The TeXML application (application_sid) is the
 * connection that owns the proxy number. */
static int telnyx_call(const struct service *svc, const char *api_base, const struct outcall *c,
		       struct outgoing *out, const char **missing)
{
	char key[SECRET_MAX_LEN + 1], account[SECRET_MAX_LEN + 1], app[SECRET_MAX_LEN + 1];
	static const char *const need[] = {"api_key", "account_sid", "application_sid"};
	char *into[] = {key, account, app};
	for (int i = 0; i < 3; i++)
		if (service_cred(svc, DIALECT_TELNYX, need[i], into[i], SECRET_MAX_LEN + 1) < 0) {
			*missing = need[i];
			explicit_bzero(key, sizeof(key));
			return MASKD_EINVAL;
		}
	if (!path_safe(account)) {
		*missing = "account_sid";
		explicit_bzero(key, sizeof(key));
		return MASKD_EINVAL;
	}
	int n = snprintf(out->url, sizeof(out->url), "%s/v2/texml/Accounts/%s/Calls", api_base, account);
	int rc = n < 0 || (size_t)n >= sizeof(out->url) ? MASKD_ETOOBIG : 0;
	if (rc == 0) {
		n = snprintf(out->authorization, sizeof(out->authorization), "Bearer %s", key);
		rc = n < 0 || (size_t)n >= sizeof(out->authorization) ? MASKD_ETOOBIG : 0;
	}
	explicit_bzero(key, sizeof(key));
	if (rc < 0)
		return rc;
	json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:s,s:i}", "ApplicationSid", app, "To", c->to, "From", c->from, "Url",
			      c->answer_url, "StatusCallback", c->status_url, "Timeout", c->ring_timeout);
	if (o == NULL)
		return MASKD_EINVAL;
	rc = json_body(o, out);
	json_decref(o);
	return rc;
}

/* Plivo and Vobiz: POST {api_base}/v1/Account/{auth_id}/Call/ (Vobiz:
 * {api_base}/api/v1/...) with the JSON body plivo (npm) calls.create(from, to,
 * answer_url, {answer_method, hangup_url, hangup_method, ring_timeout}) sends (the
 * optional parameters first, then from, to, answer_url; numbers without '+') and
 * HTTP Basic with auth_id and auth_token. Vobiz has no SDK; its Call API mirrors
 * Plivo's. */
static int plivo_call(enum dialect d, const struct service *svc, const char *api_base, const struct outcall *c,
		      struct outgoing *out, const char **missing)
{
	char auth_id[SECRET_MAX_LEN + 1], token[SECRET_MAX_LEN + 1];
	if (service_cred(svc, d, "auth_id", auth_id, sizeof(auth_id)) < 0 || !path_safe(auth_id)) {
		*missing = "auth_id";
		return MASKD_EINVAL;
	}
	if (service_cred(svc, d, "auth_token", token, sizeof(token)) < 0) {
		*missing = "auth_token";
		return MASKD_EINVAL;
	}
	int n = snprintf(out->url, sizeof(out->url), "%s%s/v1/Account/%s/Call/", api_base,
			 d == DIALECT_VOBIZ ? "/api" : "", auth_id);
	int rc = n < 0 || (size_t)n >= sizeof(out->url) ? MASKD_ETOOBIG : basic_auth(out, auth_id, token);
	explicit_bzero(token, sizeof(token));
	if (rc < 0)
		return rc;
	json_t *o = json_pack("{s:s,s:s,s:s,s:i,s:s,s:s,s:s}", "answer_method", "POST", "hangup_url", c->status_url,
			      "hangup_method", "POST", "ring_timeout", c->ring_timeout, "from", plus_less(c->from), "to",
			      plus_less(c->to), "answer_url", c->answer_url);
	if (o == NULL)
		return MASKD_EINVAL;
	rc = json_body(o, out);
	json_decref(o);
	return rc;
}

/* base64url without padding (RFC 7515 section 2) of n bytes into b. */
static void b64url(struct buf *b, const uint8_t *in, size_t n)
{
	char *t = xmalloc(4 * ((n + 2) / 3) + 1);
	size_t len = base64_encode(in, n, t);
	while (len > 0 && t[len - 1] == '=')
		t[--len] = '\0';
	for (size_t i = 0; i < len; i++)
		t[i] = t[i] == '+' ? '-' : t[i] == '/' ? '_' : t[i];
	buf_puts(b, t);
	free(t);
}

/* A PEM passphrase callback that gives none: an encrypted key fails to load
 * rather than OpenSSL asking the terminal. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return 0;
}

/* "Bearer <JWT>" into out->authorization: header {"alg":"RS256","typ":"JWT"}, claims
 * {jti, iat, exp, application_id} in the order @vonage/jwt 1.14 tokenGenerate()
 * writes them (jsonwebtoken), signed RSASSA-PKCS1-v1_5 SHA-256 with pem. 0;
 * MASKD_EINVAL when pem is not an unencrypted RSA private key; MASKD_ETOOBIG when
 * the token does not fit. */
static int vonage_bearer(const char *app_id, const char *pem, const struct outcall *c, struct outgoing *out)
{
	BIO *bio = BIO_new_mem_buf(pem, -1);
	EVP_PKEY *key = bio != NULL ? PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL) : NULL;
	BIO_free(bio);
	if (key == NULL || EVP_PKEY_get_base_id(key) != EVP_PKEY_RSA) {
		EVP_PKEY_free(key);
		ERR_clear_error(); /* the refusal is ours to report; leave no error for this thread's next TLS call */
		return MASKD_EINVAL;
	}
	static const char header[] = "{\"alg\":\"RS256\",\"typ\":\"JWT\"}";
	json_t *claims = json_pack("{s:s,s:I,s:I,s:s}", "jti", c->jti != NULL ? c->jti : "", "iat", (json_int_t)c->now,
				   "exp", (json_int_t)(c->now + OUTCALL_JWT_TTL), "application_id", app_id);
	char *claims_text = claims != NULL ? json_dumps(claims, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	json_decref(claims);
	struct buf tok;
	buf_init(&tok);
	b64url(&tok, (const uint8_t *)header, strlen(header));
	buf_puts(&tok, ".");
	if (claims_text != NULL)
		b64url(&tok, (const uint8_t *)claims_text, strlen(claims_text));
	free(claims_text);
	int rc = claims_text == NULL ? MASKD_EINVAL : 0;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	size_t sig_len = 0;
	uint8_t *sig = NULL;
	if (rc == 0 && (md == NULL || EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key) != 1 ||
			EVP_DigestSign(md, NULL, &sig_len, (const uint8_t *)tok.data, tok.len) != 1))
		rc = MASKD_EINVAL;
	if (rc == 0) {
		sig = xmalloc(sig_len);
		if (EVP_DigestSign(md, sig, &sig_len, (const uint8_t *)tok.data, tok.len) != 1)
			rc = MASKD_EINVAL;
	}
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(key);
	if (rc == 0) {
		buf_puts(&tok, ".");
		b64url(&tok, sig, sig_len);
		int n = snprintf(out->authorization, sizeof(out->authorization), "Bearer %s", tok.data);
		rc = n < 0 || (size_t)n >= sizeof(out->authorization) ? MASKD_ETOOBIG : 0;
	}
	free(sig);
	buf_free(&tok);
	return rc;
}

/* Vonage: POST {api_base}/v1/calls with the JSON body @vonage/voice 1.21
 * createOutboundCall({to: [{type, number}], from: {type, number}, answerUrl: [..],
 * eventUrl: [..], ringingTimer}) sends (keys snake_cased in that order; numbers
 * without '+'; answer_url fetched with Vonage's default GET, events POSTed as JSON)
 * and Authorization: Bearer <RS256 JWT> of the application (application_id,
 * private_key). */
static int vonage_call(const struct service *svc, const char *api_base, const struct outcall *c,
		       struct outgoing *out, const char **missing)
{
	char app_id[SECRET_MAX_LEN + 1], pem[PRIVATE_KEY_MAX_LEN + 1];
	if (service_cred(svc, DIALECT_VONAGE, "application_id", app_id, sizeof(app_id)) < 0) {
		*missing = "application_id";
		return MASKD_EINVAL;
	}
	if (service_cred(svc, DIALECT_VONAGE, "private_key", pem, sizeof(pem)) < 0) {
		*missing = "private_key";
		return MASKD_EINVAL;
	}
	int n = snprintf(out->url, sizeof(out->url), "%s/v1/calls", api_base);
	int rc = n < 0 || (size_t)n >= sizeof(out->url) ? MASKD_ETOOBIG : vonage_bearer(app_id, pem, c, out);
	OPENSSL_cleanse(pem, sizeof(pem));
	if (rc == MASKD_EINVAL)
		*missing = "private_key";
	if (rc < 0)
		return rc;
	json_t *o = json_pack("{s:[{s:s,s:s}],s:{s:s,s:s},s:[s],s:[s],s:i}", "to", "type", "phone", "number",
			      plus_less(c->to), "from", "type", "phone", "number", plus_less(c->from), "answer_url",
			      c->answer_url, "event_url", c->status_url, "ringing_timer", c->ring_timeout);
	if (o == NULL)
		return MASKD_EINVAL;
	rc = json_body(o, out);
	json_decref(o);
	return rc;
}

bool outcall_supported(enum dialect d)
{
	return d == DIALECT_TWILIO || d == DIALECT_SIGNALWIRE || d == DIALECT_TELNYX || d == DIALECT_PLIVO ||
	       d == DIALECT_VOBIZ || d == DIALECT_VONAGE;
}

int outcall_build(enum dialect d, const struct service *svc, const char *api_base, const struct outcall *c,
		  struct outgoing *out, const char **missing)
{
	static const char *none = "";
	*missing = none;
	out->body = NULL;
	out->body_len = 0;
	if (api_base == NULL)
		api_base = "";
	int rc;
	switch (d) {
	case DIALECT_TWILIO:
		rc = twilio_call(svc, api_base, c, out, missing);
		break;
	case DIALECT_SIGNALWIRE:
		rc = signalwire_call(svc, api_base, c, out, missing);
		break;
	case DIALECT_TELNYX:
		rc = telnyx_call(svc, api_base, c, out, missing);
		break;
	case DIALECT_PLIVO:
	case DIALECT_VOBIZ:
		rc = plivo_call(d, svc, api_base, c, out, missing);
		break;
	case DIALECT_VONAGE:
		rc = vonage_call(svc, api_base, c, out, missing);
		break;
	default:
		return MASKD_ENOTFOUND;
	}
	if (rc < 0) {
		free(out->body);
		out->body = NULL;
		out->body_len = 0;
		return rc;
	}
	out->dialect = d;
	if (d == DIALECT_TWILIO || d == DIALECT_SIGNALWIRE) {
		snprintf(out->content_type, sizeof(out->content_type), "%s", OUTCALL_FORM_TYPE);
		calls_form(d, c, out);
	}
	return 0;
}
