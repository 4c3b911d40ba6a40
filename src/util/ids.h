/* SPDX-License-Identifier: MIT */
/* ids.h - opaque, random, prefixed ids: "ses_" + 24 base32 characters (120 bits).
 * Thread-safe (random_bytes). */
#ifndef MASKD_IDS_H
#define MASKD_IDS_H

#include <stdbool.h>
#include <stddef.h>

#define ID_MAX 32 /* prefix (at most 4 letters), '_', 24 chars, NUL */

/* prefix is one of "svc", "num", "ses", "par", "int", "leg", "evt". */
void id_new(const char *prefix, char out[ID_MAX]);

/* True when s looks like an id with this prefix (so a malformed id in a URL is a
 * 404 without touching the store). */
bool id_valid(const char *prefix, const char *s);

#endif
