/* SPDX-License-Identifier: MIT */
/* outbox.c - the delivery rules of the outbox; see outbox.h. No I/O, no clock. */
#include "outbox.h"
#include "../util/err.h"

#include <assert.h>
#include <ctype.h>
#include <string.h>

static const char *const status_names[] = {
	[OUTBOX_PENDING] = "pending",
	[OUTBOX_SENDING] = "sending",
	[OUTBOX_SENT] = "sent",
	[OUTBOX_FAILED] = "failed",
};

const char *outbox_status_name(enum outbox_status s)
{
	assert((unsigned)s < sizeof(status_names) / sizeof(status_names[0]));
	return status_names[s];
}

int outbox_status_parse(const char *name)
{
	for (size_t i = 0; i < sizeof(status_names) / sizeof(status_names[0]); i++)
		if (name != NULL && strcmp(name, status_names[i]) == 0)
			return (int)i;
	return -1;
}

enum outbox_outcome outbox_classify(int transport_ok, long status, int refused_inside)
{
	if (!transport_ok)
		return OUTBOX_TRANSIENT;
	if (status >= 200 && status < 300)
		return refused_inside ? OUTBOX_REFUSED : OUTBOX_DELIVERED;
	if (status == 408 || status == 425 || status == 429 || status >= 500)
		return OUTBOX_TRANSIENT;
	return OUTBOX_REFUSED;
}

int64_t outbox_backoff_ms(const struct outbox_policy *p, int tries, uint32_t rnd)
{
	assert(p != NULL && p->base_ms > 0 && p->max_backoff_ms >= p->base_ms && tries >= 1);
	int64_t d = p->base_ms;
	for (int i = 1; i < tries && d < p->max_backoff_ms; i++)
		d *= 2;
	if (d > p->max_backoff_ms)
		d = p->max_backoff_ms;
	int64_t half = d / 2;
	/* rnd / 2^32 of the other half, without floating point */
	return d - half + (int64_t)(((uint64_t)half * rnd) >> 32);
}

void outbox_after(const struct outbox_policy *p, int tries, enum outbox_outcome o, int64_t now, uint32_t rnd,
		  struct outbox_step *out)
{
	assert(p != NULL && p->max_tries >= 1 && out != NULL);
	memset(out, 0, sizeof(*out));
	switch (o) {
	case OUTBOX_DELIVERED:
		out->status = OUTBOX_SENT;
		return;
	case OUTBOX_REFUSED:
		out->status = OUTBOX_FAILED;
		return;
	case OUTBOX_TRANSIENT:
		if (tries >= p->max_tries) {
			out->status = OUTBOX_FAILED;
			return;
		}
		out->status = OUTBOX_PENDING;
		out->next_at = now + outbox_backoff_ms(p, tries, rnd);
		out->hold_until = out->next_at;
		return;
	}
	assert(!"unknown outbox outcome");
}

int outbox_destination(const char *url, char *out, size_t cap)
{
	if (url == NULL)
		return MASKD_EINVAL;
	size_t scheme;
	if (strncmp(url, "https://", 8) == 0)
		scheme = 8;
	else if (strncmp(url, "http://", 7) == 0)
		scheme = 7;
	else
		return MASKD_EINVAL;
	size_t end = scheme + strcspn(url + scheme, "/?#");
	const char *at = memchr(url + scheme, '@', end - scheme); /* userinfo is not part of the destination */
	size_t host = at != NULL ? (size_t)(at - url) + 1 : scheme;
	if (end == host || scheme + (end - host) >= cap)
		return MASKD_EINVAL;
	size_t n = 0;
	for (size_t i = 0; i < scheme; i++)
		out[n++] = url[i];
	for (size_t i = host; i < end; i++)
		out[n++] = (char)tolower((unsigned char)url[i]);
	out[n] = '\0';
	return 0;
}
