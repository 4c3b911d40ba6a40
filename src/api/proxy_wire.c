/* SPDX-License-Identifier: MIT */
/* proxy_wire.c - Twilio Proxy v1 SIDs, page tokens, Participants items and
 * error codes; see proxy_wire.h. Pure functions, no allocation beyond jansson's
 * parse of one item. */
#include "proxy_wire.h"
#include "../core/model.h"
#include "../core/pick.h"
#include "../util/err.h"

#include <assert.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define ID_BODY_CHARS 24
#define SID_PAD "00" /* 32 hex digits hold 128 bits; an id has 120 */

/* Native prefix and SID prefix of each resource (searched, never indexed). */
static const struct {
	const char *native;
	const char *sid;
} sid_prefixes[] = {
	{"svc", "KS"}, {"ses", "KC"}, {"par", "KP"}, {"int", "KI"}, {"num", "PN"},
};

/* The id alphabet of util/ids.c, in the same order (a character's index is its
 * 5-bit value). */
static const char id_alphabet[] = "23456789abcdefghijkmnpqrstuvwxyz";

static const char *native_for_sid_prefix(const char *sid_prefix)
{
	for (size_t i = 0; i < sizeof(sid_prefixes) / sizeof(sid_prefixes[0]); i++)
		if (strcmp(sid_prefixes[i].sid, sid_prefix) == 0)
			return sid_prefixes[i].native;
	return NULL;
}

static const char *sid_for_native_prefix(const char *native, size_t len)
{
	for (size_t i = 0; i < sizeof(sid_prefixes) / sizeof(sid_prefixes[0]); i++)
		if (strlen(sid_prefixes[i].native) == len && strncmp(sid_prefixes[i].native, native, len) == 0)
			return sid_prefixes[i].sid;
	return NULL;
}

/* 24 id characters -> 30 hex digits (120 bits, most significant first). */
static void body_to_hex(const char *body, char hex[31])
{
	static const char digits[] = "0123456789abcdef";
	/* 6 chunks of 4 characters (20 bits), each 5 hex digits */
	for (int chunk = 0; chunk < 6; chunk++) {
		uint32_t v = 0;
		for (int k = 0; k < 4; k++)
			v = (v << 5) | (uint32_t)(strchr(id_alphabet, body[chunk * 4 + k]) - id_alphabet);
		for (int k = 4; k >= 0; k--) {
			hex[chunk * 5 + k] = digits[v & 15];
			v >>= 4;
		}
	}
	hex[30] = '\0';
}

static int hex_value(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1; /* upper case is not ours: a SID is lowercase */
}

/* 30 hex digits -> 24 id characters; -1 on a non-hex digit. */
static int hex_to_body(const char *hex, char body[ID_BODY_CHARS + 1])
{
	for (int chunk = 0; chunk < 6; chunk++) {
		uint32_t v = 0;
		for (int k = 0; k < 5; k++) {
			int d = hex_value((unsigned char)hex[chunk * 5 + k]);
			if (d < 0)
				return -1;
			v = (v << 4) | (uint32_t)d;
		}
		for (int k = 3; k >= 0; k--) {
			body[chunk * 4 + k] = id_alphabet[v & 31];
			v >>= 5;
		}
	}
	body[ID_BODY_CHARS] = '\0';
	return 0;
}

int proxy_sid_from_id(const char *id, char out[PROXY_SID_LEN + 1])
{
	assert(id != NULL && out != NULL);
	out[0] = '\0';
	const char *us = strchr(id, '_');
	if (us == NULL)
		return MASKD_EINVAL;
	const char *sp = sid_for_native_prefix(id, (size_t)(us - id));
	if (sp == NULL)
		return MASKD_EINVAL;
	char native[8];
	snprintf(native, sizeof(native), "%.*s", (int)(us - id), id);
	if (!id_valid(native, id))
		return MASKD_EINVAL;
	char hex[31];
	body_to_hex(us + 1, hex);
	snprintf(out, PROXY_SID_LEN + 1, "%s" SID_PAD "%s", sp, hex);
	return 0;
}

int proxy_id_from_sid(const char *sid, const char *want, char out[ID_MAX])
{
	assert(sid != NULL && want != NULL && out != NULL);
	out[0] = '\0';
	const char *native = native_for_sid_prefix(want);
	if (native == NULL || strlen(sid) != PROXY_SID_LEN || strncmp(sid, want, 2) != 0 ||
	    strncmp(sid + 2, SID_PAD, 2) != 0)
		return MASKD_EINVAL;
	char body[ID_BODY_CHARS + 1];
	if (hex_to_body(sid + 4, body) < 0)
		return MASKD_EINVAL;
	snprintf(out, ID_MAX, "%s_%s", native, body);
	return 0;
}

int proxy_token_make(const char *last_sid, char out[PROXY_TOKEN_LEN + 1])
{
	assert(last_sid != NULL && out != NULL);
	out[0] = '\0';
	if (strlen(last_sid) != PROXY_SID_LEN)
		return MASKD_EINVAL;
	snprintf(out, PROXY_TOKEN_LEN + 1, "PT%s", last_sid + 2);
	return 0;
}

int proxy_token_parse(const char *token, const char *want, char out[ID_MAX])
{
	assert(token != NULL && want != NULL && out != NULL);
	out[0] = '\0';
	if (strlen(token) != PROXY_TOKEN_LEN || strncmp(token, "PT", 2) != 0)
		return MASKD_EINVAL;
	char sid[PROXY_SID_LEN + 1];
	snprintf(sid, sizeof(sid), "%.2s%s", want, token + 2);
	return proxy_id_from_sid(sid, want, out);
}

/* Copies the string member key of obj (any key case) into out; absent is
 * fine (out ""), a non-string or a too long one is an error. */
static int item_field(json_t *obj, const char *key, char *out, size_t cap, char *err, size_t err_len)
{
	out[0] = '\0';
	const char *k;
	json_t *v;
	json_object_foreach(obj, k, v)
	{
		if (strcasecmp(k, key) != 0)
			continue;
		const char *s = json_string_value(v);
		if (s == NULL) {
			snprintf(err, err_len, "Participants item %s must be a string", key);
			return MASKD_EINVAL;
		}
		if (strlen(s) >= cap) {
			snprintf(err, err_len, "Participants item %s is too long", key);
			return MASKD_EINVAL;
		}
		snprintf(out, cap, "%s", s);
	}
	return 0;
}

int proxy_participant_item(const char *text, struct proxy_participant_in *out, char *err, size_t err_len)
{
	assert(text != NULL && out != NULL && err != NULL);
	memset(out, 0, sizeof(*out));
	json_error_t je;
	json_t *o = json_loads(text, JSON_REJECT_DUPLICATES, &je);
	int rc = MASKD_EINVAL;
	if (o == NULL || !json_is_object(o)) {
		snprintf(err, err_len, "each Participants item must be a JSON object");
		goto done;
	}
	static const char *const known[] = {"Identifier", "FriendlyName", "ProxyIdentifier", "ProxyIdentifierSid"};
	const char *k;
	json_t *v;
	json_object_foreach(o, k, v)
	{
		bool ok = false;
		for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
			ok = ok || strcasecmp(k, known[i]) == 0;
		if (!ok) {
			snprintf(err, err_len,
				 "unknown field in a Participants item (Identifier, FriendlyName, ProxyIdentifier, ProxyIdentifierSid)");
			goto done;
		}
	}
	if (item_field(o, "Identifier", out->identifier, sizeof(out->identifier), err, err_len) < 0 ||
	    item_field(o, "FriendlyName", out->friendly_name, sizeof(out->friendly_name), err, err_len) < 0 ||
	    item_field(o, "ProxyIdentifier", out->proxy_identifier, sizeof(out->proxy_identifier), err, err_len) < 0 ||
	    item_field(o, "ProxyIdentifierSid", out->proxy_identifier_sid, sizeof(out->proxy_identifier_sid), err,
		       err_len) < 0)
		goto done;
	if (out->identifier[0] == '\0') {
		snprintf(err, err_len, "Missing required parameter Identifier in a Participants item");
		goto done;
	}
	rc = 0;
done:
	json_decref(o);
	return rc;
}

int proxy_create_error_code(int rc, int failed, int *status)
{
	assert(status != NULL);
	*status = 400;
	switch (rc) {
	case MASKD_ECONFLICT:
		if (failed == CREATE_FAIL_UNIQUE_NAME)
			return 80603; /* non-unique session name */
		if (failed >= 0)
			return 80604; /* the identifier already holds that proxy identifier */
		return 80609;         /* the session takes no more participants */
	case MASKD_ENOTFOUND:
		return 80402; /* the named proxy identifier is not in the pool */
	case MASKD_EEXHAUSTED:
		return 80206; /* no available proxy */
	case MASKD_EINVAL:
		return 80103; /* the identifier is in the session already */
	default:
		*status = 503;
		return 20503;
	}
}

const char *proxy_status_name(int native_status)
{
	switch (native_status) {
	case SESSION_OPEN:
		return "open";
	case SESSION_IN_PROGRESS:
		return "in-progress";
	case SESSION_CLOSED:
	case SESSION_BLOCKED:
		return "closed";
	case SESSION_FAILED:
		return "failed";
	default:
		return "unknown";
	}
}

const char *proxy_mode_name(int native_mode)
{
	switch (native_mode) {
	case MODE_VOICE:
		return "voice-only";
	case MODE_MESSAGE:
		return "message-only";
	case MODE_VOICE_AND_MESSAGE:
		return "voice-and-message";
	default:
		return "voice-and-message";
	}
}

int proxy_mode_from_name(const char *s)
{
	if (strcmp(s, "voice-only") == 0)
		return MODE_VOICE;
	if (strcmp(s, "message-only") == 0)
		return MODE_MESSAGE;
	if (strcmp(s, "voice-and-message") == 0)
		return MODE_VOICE_AND_MESSAGE;
	return -1;
}
