/* SPDX-License-Identifier: MIT */
/* outcall.c - click-to-call request builders; see outcall.h. Twilio and SignalWire
 * share the Calls resource (POST .../2010-04-01/Accounts/{sid}/Calls.json, a form
 * body, HTTP Basic with the account's sid and token); they differ in where the
 * account lives (SignalWire: its space and project) and in the order their SDKs
 * write the fields: twilio (npm) 6 puts Url last, @signalwire/compatibility-api 3
 * (built on the twilio 3 client) right after From. SignalWire's URL is the one that
 * SDK calls: https://<space_url>/2010-04-01/Accounts/<project_id>/Calls.json. */
#include "outcall.h"
#include "../util/buf.h"
#include "../util/crypto.h"
#include "../util/err.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define OUTCALL_FORM_TYPE "application/x-www-form-urlencoded"

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

bool outcall_supported(enum dialect d)
{
	return d == DIALECT_TWILIO || d == DIALECT_SIGNALWIRE;
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
	default:
		return MASKD_ENOTFOUND;
	}
	if (rc < 0)
		return rc;
	out->dialect = d;
	snprintf(out->content_type, sizeof(out->content_type), "%s", OUTCALL_FORM_TYPE);
	calls_form(d, c, out);
	return 0;
}
