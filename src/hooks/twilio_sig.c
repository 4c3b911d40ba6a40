/* SPDX-License-Identifier: MIT */
/* twilio_sig.c - X-Twilio-Signature / X-SignalWire-Signature checks; see twilio_sig.h
 * and docs/internals/signatures.md. Signs url + (key + value for each POST field,
 * keys sorted bytewise), HMAC-SHA1, base64. Never re-encodes the URL: the carrier
 * signed the bytes it requested, and any normalisation here would only add
 * mismatches. Does not know where the URL or the key come from. */
#include "twilio_sig.h"
#include "sigutil.h"
#include "../util/crypto.h"
#include "../util/xmalloc.h"

#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define SIG_B64_LEN 28 /* base64 of a 20-byte HMAC-SHA1 */
#define SIG_HEX_LEN 40 /* hex of the same, SignalWire scheme A */
#define SIG_PORT_MAX 6 /* ":443" / ":80" inserted; room for ":65535" */
#define SIG_STACK_ITEMS 64

/* SignalWire: key only; repeated keys stay in submission order. */
static int sig_item_cmp_signalwire(const void *pa, const void *pb)
{
	const struct sigutil_field *a = pa, *b = pb;
	int c = strcmp(a->key, b->key);
	if (c == 0)
		c = (a->order > b->order) - (a->order < b->order);
	return c;
}

/* Returns url_len bytes of room followed by the sorted key+value concatenation
 * (xmalloc'd, caller frees); *concat_len is the length of the concatenation,
 * which starts at buf + room. */
static char *sig_build_concat(enum twilio_sig_flavor fl, const struct form *params, size_t room,
			      size_t *concat_len)
{
	size_t n = params != NULL ? params->n : 0;
	struct sigutil_field stack_items[SIG_STACK_ITEMS];
	struct sigutil_field *items = n <= SIG_STACK_ITEMS ? stack_items : xmalloc(n * sizeof(*items));
	size_t total = 0;
	for (size_t i = 0; i < n; i++) {
		items[i].key = params->fields[i].key;
		items[i].value = params->fields[i].value;
		items[i].order = i;
		total += strlen(items[i].key) + strlen(items[i].value);
	}
	if (n > 1)
		qsort(items, n, sizeof(*items),
		      fl == TWILIO_SIG_TWILIO ? sigutil_field_cmp : sig_item_cmp_signalwire);

	char *buf = xmalloc(room + total + 1);
	char *p = buf + room;
	for (size_t i = 0; i < n; i++) {
		if (fl == TWILIO_SIG_TWILIO && i > 0 && strcmp(items[i].key, items[i - 1].key) == 0 &&
		    strcmp(items[i].value, items[i - 1].value) == 0)
			continue;
		size_t kl = strlen(items[i].key), vl = strlen(items[i].value);
		memcpy(p, items[i].key, kl);
		p += kl;
		memcpy(p, items[i].value, vl);
		p += vl;
	}
	*concat_len = (size_t)(p - (buf + room));
	if (items != stack_items)
		free(items);
	return buf;
}

/* base64(HMAC-SHA1(key, msg)) into out[29]. */
static void sig_b64(const char *key, const char *msg, size_t msg_len, char out[SIG_B64_LEN + 1])
{
	uint8_t mac[20];
	hmac_sha1(key, strlen(key), msg, msg_len, mac);
	size_t n = base64_encode(mac, sizeof(mac), out);
	assert(n == SIG_B64_LEN);
	(void)n;
}

void twilio_sig_compute(enum twilio_sig_flavor fl, const char *key, const char *url,
			const struct form *params, char out[29])
{
	assert(key != NULL && url != NULL);
	size_t url_len = strlen(url), concat_len;
	char *buf = sig_build_concat(fl, params, url_len, &concat_len);
	memcpy(buf, url, url_len);
	sig_b64(key, buf, url_len + concat_len, out);
	free(buf);
}

/* ------------------------------------------------------------ URL variants */

/* Where the port goes in url: authority_end is the offset just past the host
 * (and port); port_start is the offset of ':' when a port is present, else
 * authority_end. Returns false when url has no "scheme://host" shape, in which
 * case only the URL as given is tried. */
struct sig_url {
	size_t port_start;
	size_t authority_end;
	bool has_port;
	bool https;
};

static bool sig_url_split(const char *url, struct sig_url *u)
{
	struct sigutil_authority a;
	if (!sigutil_authority_split(url, &a))
		return false;
	u->https = a.scheme_len == 5 && strncasecmp(url, "https", 5) == 0;
	size_t host = a.host, end = a.end;
	size_t colon = end;
	if (url[host] == '[') {
		const char *close = memchr(url + host, ']', end - host);
		if (close == NULL)
			return false;
		size_t after = (size_t)(close - url) + 1;
		if (after < end && url[after] == ':')
			colon = after;
		else if (after != end)
			return false;
	} else {
		const char *c = memrchr(url + host, ':', end - host);
		if (c != NULL)
			colon = (size_t)(c - url);
	}
	for (size_t i = colon + 1; i < end; i++)
		if (url[i] < '0' || url[i] > '9')
			return false;
	u->port_start = colon;
	u->authority_end = end;
	u->has_port = colon != end;
	return true;
}

/* Writes the port variant of url into dst (url_len + SIG_PORT_MAX bytes of
 * room): any port removed when url has one, else the scheme's default port
 * added. Returns its length. */
static size_t sig_url_variant(const char *url, size_t url_len, const struct sig_url *u, char *dst)
{
	if (u->has_port) {
		memcpy(dst, url, u->port_start);
		memcpy(dst + u->port_start, url + u->authority_end, url_len - u->authority_end);
		return url_len - (u->authority_end - u->port_start);
	}
	const char *port = u->https ? ":443" : ":80";
	size_t pl = strlen(port);
	memcpy(dst, url, u->authority_end);
	memcpy(dst + u->authority_end, port, pl);
	memcpy(dst + u->authority_end + pl, url + u->authority_end, url_len - u->authority_end);
	return url_len + pl;
}

/* First value of the query parameter name in url (raw, not decoded). */
static bool sig_query_param(const char *url, const char *name, const char **val, size_t *val_len)
{
	const char *q = strchr(url, '?');
	if (q == NULL)
		return false;
	q++;
	size_t qlen = strcspn(q, "#");
	size_t name_len = strlen(name);
	size_t i = 0;
	while (i <= qlen) {
		size_t plen = strcspn(q + i, "&#");
		if (i + plen > qlen)
			plen = qlen - i;
		const char *pair = q + i;
		const char *eq = memchr(pair, '=', plen);
		size_t klen = eq != NULL ? (size_t)(eq - pair) : plen;
		if (klen == name_len && memcmp(pair, name, name_len) == 0) {
			*val = eq != NULL ? eq + 1 : pair + plen;
			*val_len = eq != NULL ? plen - klen - 1 : 0;
			return true;
		}
		i += plen + 1;
	}
	return false;
}

/* Scheme B, the Twilio algorithm: tries url as given and its port variant. */
static bool sig_check_form(enum twilio_sig_flavor fl, const char *key, const char *url,
			   const struct form *params, const char *signature, size_t sig_len)
{
	if (sig_len != SIG_B64_LEN)
		return false;
	size_t url_len = strlen(url), concat_len;
	size_t room = url_len + SIG_PORT_MAX;
	char *buf = sig_build_concat(fl, params, room, &concat_len);
	const char *concat = buf + room;
	char expect[SIG_B64_LEN + 1];
	bool ok = false;

	/* The URL is copied right before the concatenation, so both form one message. */
	memcpy(buf + room - url_len, url, url_len);
	sig_b64(key, buf + room - url_len, url_len + concat_len, expect);
	ok = ct_equal(expect, SIG_B64_LEN, signature, sig_len);

	struct sig_url u;
	if (!ok && sig_url_split(url, &u)) {
		char *v = xmalloc(room + concat_len);
		size_t vl = sig_url_variant(url, url_len, &u, v);
		memcpy(v + vl, concat, concat_len);
		sig_b64(key, v, vl + concat_len, expect);
		ok = ct_equal(expect, SIG_B64_LEN, signature, sig_len);
		free(v);
	}
	free(buf);
	return ok;
}

/* SignalWire scheme A: lowercase hex HMAC-SHA1(key, url + raw body), url as given. */
static bool sig_check_scheme_a(const char *key, const char *url, const char *body,
			       size_t body_len, const char *signature, size_t sig_len)
{
	if (sig_len != SIG_HEX_LEN)
		return false;
	size_t url_len = strlen(url);
	char *msg = xmalloc(url_len + body_len + 1);
	memcpy(msg, url, url_len);
	if (body_len > 0)
		memcpy(msg + url_len, body, body_len);
	uint8_t mac[20];
	hmac_sha1(key, strlen(key), msg, url_len + body_len, mac);
	free(msg);
	char expect[SIG_HEX_LEN + 1];
	hex_encode(mac, sizeof(mac), expect);
	return ct_equal(expect, SIG_HEX_LEN, signature, sig_len);
}

bool twilio_sig_check(enum twilio_sig_flavor fl, const char *key, const char *url,
		      const struct form *params, const char *body, size_t body_len,
		      const char *signature)
{
	/* An unset credential must never validate a signature made with "". */
	if (signature == NULL || signature[0] == '\0' || key == NULL || key[0] == '\0' || url == NULL)
		return false;
	assert(body != NULL || body_len == 0);
	size_t sig_len = strlen(signature);
	static const struct form no_params = {NULL, 0};

	const char *want_hash;
	size_t want_hash_len;
	bool has_body_hash = sig_query_param(url, "bodySHA256", &want_hash, &want_hash_len);
	if (has_body_hash) {
		if (sig_check_form(fl, key, url, &no_params, signature, sig_len)) {
			uint8_t digest[32];
			char hex[65];
			sha256(body_len > 0 ? body : "", body_len, digest);
			hex_encode(digest, sizeof(digest), hex);
			if (ct_equal(hex, 64, want_hash, want_hash_len))
				return true;
		}
	} else if (sig_check_form(fl, key, url, params != NULL ? params : &no_params, signature,
				  sig_len)) {
		return true;
	}
	if (fl == TWILIO_SIG_SIGNALWIRE)
		return sig_check_scheme_a(key, url, body_len > 0 ? body : "", body_len, signature,
					  sig_len);
	return false;
}
