/* SPDX-License-Identifier: MIT */
/* model.c - the names of the model's enums, as the API and the schema spell them. */
#include "model.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "../util/err.h"

static int name_index(const char *const *names, int n, const char *s)
{
	for (int i = 0; i < n; i++)
		if (names[i] != NULL && strcmp(names[i], s) == 0)
			return i;
	return -1;
}

static const char *const dialect_names[] = {"twilio", "signalwire", "telnyx", "plivo", "vobiz", "vonage"};
static const char *const mode_names[] = {NULL, "voice", "message", "voice-and-message"};
static const char *const status_names[] = {"open", "in-progress", "closed", "failed", "blocked"};
static const char *const state_names[] = {"active", "reserved", "retired"};
static const char *const decision_names[] = {"bridge", "forward_message", "reject", "acknowledge", "announce", "gather"};
static const char *const channel_names[] = {"voice", "message"};
static const char *const geo_names[] = {"country", "area-code", "region"};
static const char *const selection_names[] = {"prefer-sticky", "avoid-sticky"};
static const char *const unknown_names[] = {"reject", "forward", "pin", "callback"};

#define NAME_OF(tab, i) ((i) >= 0 && (size_t)(i) < sizeof(tab) / sizeof(tab[0]) ? tab[i] : NULL)

const char *dialect_name(int d) { return NAME_OF(dialect_names, d); }
int dialect_from_name(const char *s) { return name_index(dialect_names, DIALECT_COUNT, s); }
const char *mode_name(int m) { return NAME_OF(mode_names, m); }
int mode_from_name(const char *s) { return name_index(mode_names, 4, s); }
const char *session_status_name(int s) { return NAME_OF(status_names, s); }
const char *number_state_name(int s) { return NAME_OF(state_names, s); }
int number_state_from_name(const char *s) { return name_index(state_names, 3, s); }
const char *decision_name(int d) { return NAME_OF(decision_names, d); }
const char *channel_name(int c) { return NAME_OF(channel_names, c); }
const char *geo_match_name(int g) { return NAME_OF(geo_names, g); }
int geo_match_from_name(const char *s) { return name_index(geo_names, 3, s); }
const char *number_selection_name(int n) { return NAME_OF(selection_names, n); }
int number_selection_from_name(const char *s) { return name_index(selection_names, 2, s); }
const char *unknown_caller_name(int u) { return NAME_OF(unknown_names, u); }
int unknown_caller_from_name(const char *s) { return name_index(unknown_names, 4, s); }

static const char *const cred_twilio[] = {"auth_token", NULL};
static const char *const cred_signalwire[] = {"signing_key", "project_id", "api_token", "space_url", NULL};
static const char *const cred_telnyx[] = {"public_key", "api_key", "messaging_profile_id", NULL};
static const char *const cred_plivo[] = {"auth_token", "auth_id", NULL};
static const char *const cred_vobiz[] = {"auth_token", "auth_id", NULL};
static const char *const cred_vonage[] = {"signature_secret", "api_key", "api_secret", "signature_method", NULL};
static const char *const *const cred_fields[DIALECT_COUNT] = {cred_twilio, cred_signalwire, cred_telnyx,
							     cred_plivo, cred_vobiz, cred_vonage};

const char *const *dialect_cred_fields(int d)
{
	return d >= 0 && d < DIALECT_COUNT ? cred_fields[d] : NULL;
}

int service_cred(const struct service *svc, int d, const char *field, char *out, size_t cap)
{
	if (d < 0 || d >= DIALECT_COUNT || svc->secrets[d][0] == '\0')
		return MASKD_ENOTFOUND;
	json_t *o = json_loads(svc->secrets[d], 0, NULL);
	const char *v = json_string_value(json_object_get(o, field));
	int rc = MASKD_ENOTFOUND;
	if (v != NULL && v[0] != '\0' && strlen(v) < cap) {
		snprintf(out, cap, "%s", v);
		rc = 0;
	}
	json_decref(o);
	return rc;
}

bool leg_status_final(const char *status)
{
	static const char *const finals[] = {"completed", "busy", "failed", "no-answer", "canceled",
					     "delivered", "undelivered", "sent", NULL};
	for (int i = 0; status != NULL && finals[i]; i++)
		if (strcmp(status, finals[i]) == 0)
			return true;
	return false;
}
