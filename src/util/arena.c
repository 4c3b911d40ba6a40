/* SPDX-License-Identifier: MIT */
/* arena.c - bump allocator over a list of chunks; see arena.h. */
#include "arena.h"
#include "xmalloc.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARENA_CHUNK_MIN 4096

struct arena_chunk {
	struct arena_chunk *next;
	size_t cap;
	_Alignas(16) unsigned char data[];
};

void *arena_alloc(struct arena *a, size_t n)
{
	n = (n + 15) & ~(size_t)15;
	if (a->head == NULL || a->cap - a->used < n) {
		size_t cap = n > ARENA_CHUNK_MIN ? n : ARENA_CHUNK_MIN;
		if (a->head != NULL && a->head->cap * 2 > cap && a->head->cap < 1 << 20)
			cap = a->head->cap * 2 > n ? a->head->cap * 2 : n;
		struct arena_chunk *c = xmalloc(sizeof(*c) + cap);
		c->next = a->head;
		c->cap = cap;
		a->head = c;
		a->used = 0;
		a->cap = cap;
	}
	void *p = a->head->data + a->used;
	a->used += n;
	return p;
}

char *arena_strndup(struct arena *a, const char *s, size_t n)
{
	char *p = arena_alloc(a, n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *arena_strdup(struct arena *a, const char *s)
{
	return arena_strndup(a, s, strlen(s));
}

char *arena_printf(struct arena *a, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char tmp[256];
	size_t n = xvsnprintf(tmp, sizeof(tmp), "arena_printf", fmt, ap);
	va_end(ap);
	if (n < sizeof(tmp))
		return arena_strndup(a, tmp, n);
	char *p = arena_alloc(a, n + 1);
	va_start(ap, fmt);
	vsnprintf(p, n + 1, fmt, ap);
	va_end(ap);
	return p;
}

void arena_free(struct arena *a)
{
	struct arena_chunk *c = a->head;
	while (c != NULL) {
		struct arena_chunk *next = c->next;
		free(c);
		c = next;
	}
	a->head = NULL;
	a->used = 0;
	a->cap = 0;
}
