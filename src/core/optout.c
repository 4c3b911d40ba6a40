/* SPDX-License-Identifier: MIT */
/* optout.c - keyword classification; see optout.h. */
#include "optout.h"

#include <assert.h>
#include <stddef.h>
#include <string.h>
#include <strings.h>

#define OPTOUT_WORD_MAX 16 /* longer than any keyword: not one */

static const struct {
	const char *word;
	enum optout_kind kind;
} keywords[] = {
	{"STOP", OPTOUT_STOP},	   {"STOPALL", OPTOUT_STOP}, {"UNSUBSCRIBE", OPTOUT_STOP}, {"CANCEL", OPTOUT_STOP},
	{"END", OPTOUT_STOP},	   {"QUIT", OPTOUT_STOP},    {"REVOKE", OPTOUT_STOP},	   {"OPTOUT", OPTOUT_STOP},
	{"START", OPTOUT_START},   {"YES", OPTOUT_START},    {"UNSTOP", OPTOUT_START},	   {"HELP", OPTOUT_HELP},
	{"INFO", OPTOUT_HELP},
};

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

enum optout_kind optout_classify(const char *body)
{
	if (body == NULL)
		return OPTOUT_NONE;
	while (is_space(*body))
		body++;
	size_t n = strlen(body);
	while (n > 0 && is_space(body[n - 1]))
		n--;
	if (n == 0 || n > OPTOUT_WORD_MAX)
		return OPTOUT_NONE;
	for (size_t i = 0; i < sizeof(keywords) / sizeof(keywords[0]); i++)
		if (strlen(keywords[i].word) == n && strncasecmp(body, keywords[i].word, n) == 0)
			return keywords[i].kind;
	return OPTOUT_NONE;
}

void optout_action(const struct service *svc, enum optout_kind k, struct optout_action *out)
{
	assert(svc != NULL && out != NULL);
	out->record = k == OPTOUT_STOP || k == OPTOUT_START;
	out->opted_out = k == OPTOUT_STOP;
	out->reply = k == OPTOUT_HELP ? svc->help_text : NULL;
}
