/* SPDX-License-Identifier: MIT */
/* stats.h - the /metrics page: the process counters of util/metrics.h labelled
 * with maskd's dialect names, then the gauges read from the store (pool numbers,
 * open sessions, bindings, services). Reads the store; holds no state. */
#ifndef MASKD_STATS_H
#define MASKD_STATS_H

#include "../util/buf.h"

struct store;

/* Appends the whole page (Prometheus text format 0.0.4) to out. The gauges are
 * left out when the store cannot answer (the counters are still there), so a
 * scrape during a database outage still sees them. Thread-safe. */
void stats_render(struct buf *out, struct store *st);

#endif
