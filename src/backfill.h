/* SPDX-License-Identifier: MIT */
/* backfill.h - start-up repairs of data written by an older maskd, run once by
 * main() before the daemon serves: today, the geocoded region of proxy numbers
 * added before migration 2 (geo-match by region needs it; SQL cannot geocode).
 * Idempotent, so nodes starting together may all run it. */
#ifndef MASKD_BACKFILL_H
#define MASKD_BACKFILL_H

struct store;

/* Geocodes every pool number whose region is "" and stores what libphonenumber
 * knows (mobiles and non-geographic numbers stay ""). Runs once per database: a
 * setting records that it finished, and later calls return at once. *updated
 * gets how many changed. Returns 0 or a negative maskd_err from the store. */
int backfill_number_regions(struct store *st, int *updated);

#endif
