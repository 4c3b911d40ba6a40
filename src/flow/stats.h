/* SPDX-License-Identifier: MIT */
/* stats.h - the /metrics page: the process counters of util/metrics.h labelled
 * with maskd's dialect names, then the store's gauges (pool numbers, open
 * sessions, bindings, services; the outbox's backlog, oldest age and per
 * destination backlog and failures) from a copy the sweeper thread refreshes
 * (stats_refresh), so a scrape never touches the store whatever its size. */
#ifndef MASKD_STATS_H
#define MASKD_STATS_H

#include "../util/buf.h"

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

#endif
