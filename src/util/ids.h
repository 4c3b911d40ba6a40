/* SPDX-License-Identifier: MIT */
/* ids.h - opaque, prefixed, time-ordered ids: "ses_" + 24 base32 characters.
 * The first 12 characters are a 60-bit stamp (milliseconds since the epoch, then a
 * per-process sequence), so ids made later sort later as bytes and as text and new
 * rows land on the rightmost leaf of every index keyed by id; the last 12 are 60
 * random bits, so an id cannot be guessed from another one. Thread-safe. */
#ifndef MASKD_IDS_H
#define MASKD_IDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ID_MAX 32 /* prefix (at most 4 letters), '_', 24 chars, NUL */

/* prefix is one of "svc", "num", "ses", "par", "int", "leg", "evt". Within one
 * process every id is strictly greater (strcmp, after the prefix) than every id made
 * before it by any thread, even within one millisecond: the stamp is the clock's
 * millisecond times 1024 plus a sequence, and when more than 1024 ids are drawn in
 * one millisecond the stamp runs ahead of the clock rather than repeat or go back. */
void id_new(const char *prefix, char out[ID_MAX]);

/* As id_new with the clock reading given (milliseconds since the epoch): for tests. */
void id_new_at(const char *prefix, int64_t now_ms, char out[ID_MAX]);

/* True when s looks like an id with this prefix (so a malformed id in a URL is a
 * 404 without touching the store). Ids made before the stamp (all 24 characters
 * random, same alphabet) are still valid. */
bool id_valid(const char *prefix, const char *s);

#endif
