/* SPDX-License-Identifier: MIT */
/* proxy_wire.h - the pure parts of the Twilio Proxy v1 wire format (api/proxy_v1.c):
 * SIDs mapped bijectively onto native ids, list page tokens, one session
 * create Participants item, and maskd errors as Twilio error codes. No I/O, no
 * store, no clock: everything here is a unit test away. */
#ifndef MASKD_PROXY_WIRE_H
#define MASKD_PROXY_WIRE_H

#include <stdbool.h>
#include <stddef.h>

#include "../util/ids.h"

#define PROXY_SID_LEN 34 /* two letters and 32 lowercase hex digits */
#define PROXY_TOKEN_LEN 34

/* The SID of native id (one of svc_, ses_, par_, int_, num_ ids, as id_valid()
 * accepts them): KS, KC, KP, KI, PN, then "00" and the 120 bits of the id's 24
 * characters as 30 hex digits. Returns 0, or MASKD_EINVAL for anything else
 * (out is then ""). */
int proxy_sid_from_id(const char *id, char out[PROXY_SID_LEN + 1]);

/* The inverse: the native id of a SID made by proxy_sid_from_id() with the
 * two-letter prefix want ("KS", ...). Returns 0, or MASKD_EINVAL for any other
 * string (wrong prefix, length, case, or not one of ours), out then "". */
int proxy_id_from_sid(const char *sid, const char *want, char out[ID_MAX]);

/* A PageToken: "PT" and the 32 hex digits of the last SID of the page before,
 * so the next page starts after that row whatever was added or removed since.
 * proxy_token_parse() gives the native id of that row for the SID prefix want;
 * MASKD_EINVAL for a token that is not one. */
int proxy_token_make(const char *last_sid, char out[PROXY_TOKEN_LEN + 1]);
int proxy_token_parse(const char *token, const char *want, char out[ID_MAX]);

/* One Participants item of session create: a JSON object (twilio-node sends
 * JSON.stringify of what the app passed) with Identifier (required),
 * FriendlyName, ProxyIdentifier, ProxyIdentifierSid; key case is ignored, as
 * the SDKs pass the app's own spelling through. Pointers into the item are
 * copied into the caps of out. Returns 0, or MASKD_EINVAL with a message in
 * err (never a value from the item). */
#define PROXY_IDENTIFIER_MAX 191
#define PROXY_FRIENDLY_MAX 255
struct proxy_participant_in {
	char identifier[PROXY_IDENTIFIER_MAX + 1];
	char friendly_name[PROXY_FRIENDLY_MAX + 1];
	char proxy_identifier[PROXY_IDENTIFIER_MAX + 1];
	char proxy_identifier_sid[PROXY_SID_LEN + 1];
};
int proxy_participant_item(const char *json, struct proxy_participant_in *out, char *err, size_t err_len);

/* Twilio's error code for what maskd's session create or participant add
 * returned (rc a negative maskd_err, failed the create_outcome's
 * failed_index), with the HTTP status in *status. */
int proxy_create_error_code(int rc, int failed, int *status);

/* Twilio's session status name of a native one, and the closed_reason shown. */
const char *proxy_status_name(int native_status);

/* Proxy's mode names: message-only, voice-only, voice-and-message; from_name
 * gives the native enum session_mode value or -1. */
const char *proxy_mode_name(int native_mode);
int proxy_mode_from_name(const char *s);

#endif
