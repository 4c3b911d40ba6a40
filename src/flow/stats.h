/* SPDX-License-Identifier: MIT */
/* stats.h - the /metrics page: the process counters of util/metrics.h labelled
 * with maskd's dialect names, then the store's gauges (pool numbers, open
 * sessions, bindings, services; the outbox's backlog, oldest age and per
 * destination backlog and failures) from a copy the sweeper thread refreshes
 * (stats_refresh), so a scrape never touches the store whatever its size. */
#ifndef MASKD_STATS_H
#define MASKD_STATS_H

#include "../util/buf.h"

#include <stdint.h>

struct store;

/* Appends the whole page (Prometheus text format 0.0.4) to out from memory only:
 * the counters, and the store gauges of the last stats_refresh() with their age
 * (maskd_store_gauges_age_seconds); the store gauges are left out until a first
 * refresh succeeds. Thread-safe. */
void stats_render(struct buf *out);

/* Reads the store gauges (COUNT queries: tens of ms on a large database) into
 * the copy stats_render() shows. Called off the request path: by the sweeper
 * each interval. Returns 0, or the store's negative maskd_err (the old copy stays). */
int stats_refresh(struct store *st);

struct store_stats;

/* Copies the store gauges of the last stats_refresh() into out and returns their
 * age in milliseconds, or -1 (out untouched) before a first refresh succeeded.
 * Memory only; thread-safe (the /v1/stats answer). */
int64_t stats_store_copy(struct store_stats *out);

#endif
