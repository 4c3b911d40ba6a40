/* SPDX-License-Identifier: MIT */
/* backfill.c - start-up repairs; see backfill.h. */
#include "backfill.h"
#include "core/model.h"
#include "store/store.h"
#include "util/err.h"
#include "util/phone.h"
#include "util/xmalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Rows are collected first: a store callback must not call the store. */
struct id_list {
	char (*id)[ID_MAX];
	char (*e164)[PHONE_E164_MAX + 1];
	size_t n, cap;
};

static void id_list_add(struct id_list *l, const char *id, const char *e164)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 64;
		l->id = xrealloc(l->id, l->cap * sizeof(*l->id));
		l->e164 = xrealloc(l->e164, l->cap * sizeof(*l->e164));
	}
	snprintf(l->id[l->n], ID_MAX, "%s", id);
	snprintf(l->e164[l->n], PHONE_E164_MAX + 1, "%s", e164 ? e164 : "");
	l->n++;
}

static void add_service(void *ctx, const struct service *svc)
{
	id_list_add(ctx, svc->id, NULL);
}

static void add_unplaced(void *ctx, const struct number *n)
{
	if (n->region[0] == '\0' && n->area_code[0] != '\0')
		id_list_add(ctx, n->id, n->e164);
}

/* Set once the backfill has run to the end: numbers added since are geocoded at
 * insert, so later starts skip the walk over every pool. */
#define BACKFILL_DONE_KEY "backfill.number_regions"

int backfill_number_regions(struct store *st, int *updated)
{
	struct id_list services = {0}, numbers = {0};
	*updated = 0;
	char done[8];
	int rc = store_setting_get(st, BACKFILL_DONE_KEY, done, sizeof(done));
	if (rc == 0)
		return 0;
	if (rc != MASKD_ENOTFOUND)
		return rc;
	rc = store_service_list(st, add_service, &services);
	for (size_t i = 0; rc == 0 && i < services.n; i++)
		rc = store_number_list(st, services.id[i], add_unplaced, &numbers);
	for (size_t i = 0; rc == 0 && i < numbers.n; i++) {
		struct phone_info pi;
		if (phone_parse(numbers.e164[i], &pi) < 0 || pi.geo_region[0] == '\0')
			continue;
		rc = store_number_set_region(st, numbers.id[i], pi.geo_region);
		if (rc == MASKD_ENOTFOUND)
			rc = 0; /* deleted meanwhile */
		else if (rc == 0)
			(*updated)++;
	}
	if (rc == 0)
		rc = store_setting_put(st, BACKFILL_DONE_KEY, "1");
	free(services.id);
	free(services.e164);
	free(numbers.id);
	free(numbers.e164);
	return rc;
}
