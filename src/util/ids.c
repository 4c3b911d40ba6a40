/* SPDX-License-Identifier: MIT */
/* ids.c - random prefixed ids; see ids.h. */
#include "ids.h"
#include "crypto.h"

#include <stdint.h>
#include <string.h>

#define ID_RANDOM_CHARS 24
static const char id_alphabet[] = "abcdefghijkmnpqrstuvwxyz23456789"; /* 32, no l/o/0/1 */

void id_new(const char *prefix, char out[ID_MAX])
{
	uint8_t rnd[ID_RANDOM_CHARS];
	random_bytes(rnd, sizeof(rnd));
	size_t p = strlen(prefix);
	memcpy(out, prefix, p);
	out[p++] = '_';
	for (size_t i = 0; i < ID_RANDOM_CHARS; i++)
		out[p++] = id_alphabet[rnd[i] & 31];
	out[p] = '\0';
}

bool id_valid(const char *prefix, const char *s)
{
	size_t p = strlen(prefix);
	if (strncmp(s, prefix, p) != 0 || s[p] != '_')
		return false;
	s += p + 1;
	if (strlen(s) != ID_RANDOM_CHARS)
		return false;
	for (; *s; s++)
		if (strchr(id_alphabet, *s) == NULL)
			return false;
	return true;
}
