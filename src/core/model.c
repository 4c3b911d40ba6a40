/* SPDX-License-Identifier: MIT */
/* model.c - the names of the model's enums, as the API and the schema spell them. */
#include "model.h"

#include <string.h>

static int name_index(const char *const *names, int n, const char *s)
{
	for (int i = 0; i < n; i++)
		if (names[i] != NULL && strcmp(names[i], s) == 0)
			return i;
	return -1;
}

static const char *const dialect_names[] = {"twilio", "signalwire"};
static const char *const mode_names[] = {NULL, "voice", "message", "voice-and-message"};
static const char *const status_names[] = {"open", "in-progress", "closed", "failed"};
static const char *const state_names[] = {"active", "reserved", "retired"};
static const char *const decision_names[] = {"bridge", "forward_message", "reject", "acknowledge"};
static const char *const channel_names[] = {"voice", "message"};

#define NAME_OF(tab, i) ((i) >= 0 && (size_t)(i) < sizeof(tab) / sizeof(tab[0]) ? tab[i] : NULL)

const char *dialect_name(int d) { return NAME_OF(dialect_names, d); }
int dialect_from_name(const char *s) { return name_index(dialect_names, 2, s); }
const char *mode_name(int m) { return NAME_OF(mode_names, m); }
int mode_from_name(const char *s) { return name_index(mode_names, 4, s); }
const char *session_status_name(int s) { return NAME_OF(status_names, s); }
const char *number_state_name(int s) { return NAME_OF(state_names, s); }
int number_state_from_name(const char *s) { return name_index(state_names, 3, s); }
const char *decision_name(int d) { return NAME_OF(decision_names, d); }
const char *channel_name(int c) { return NAME_OF(channel_names, c); }
