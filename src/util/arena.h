/* SPDX-License-Identifier: MIT */
/* arena.h - request-scoped memory.
 * One arena per request: everything allocated from it is freed at once by
 * arena_free() when the response has been queued. Not thread-safe; an arena
 * belongs to the thread serving its request. Allocation aborts on exhaustion. */
#ifndef MASKD_ARENA_H
#define MASKD_ARENA_H

#include <stddef.h>

struct arena_chunk;
struct arena {
	struct arena_chunk *head;
	size_t used; /* bytes used in head */
	size_t cap;  /* bytes available in head */
};

#define ARENA_INIT {NULL, 0, 0}

/* Returns 16-byte aligned memory valid until arena_free(). */
void *arena_alloc(struct arena *a, size_t n);
/* Copies n bytes of s and adds a NUL. */
char *arena_strndup(struct arena *a, const char *s, size_t n);
char *arena_strdup(struct arena *a, const char *s);
/* printf into the arena. */
char *arena_printf(struct arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Frees every chunk; the arena can be reused afterwards. */
void arena_free(struct arena *a);

#endif
