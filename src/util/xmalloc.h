/* SPDX-License-Identifier: MIT */
/* xmalloc.h - allocation that cannot fail, and fatal().
 * Running out of memory or breaking an invariant is fatal: the process logs one
 * line and aborts. Anything a peer sent is never fatal (see err.h). */
#ifndef MASKD_XMALLOC_H
#define MASKD_XMALLOC_H

#include <stdarg.h>
#include <stddef.h>

/* Each returns memory owned by the caller (free()); aborts on exhaustion. */
void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);

/* vsnprintf(tmp, tmp_size, fmt, ap) for the printf-style appenders (arena_printf,
 * buf_printf): returns the length of the whole result, which tmp holds when it is
 * below tmp_size; otherwise the caller formats again into room of that length + 1.
 * A bad format breaks an invariant (formats are literals): fatal, naming who. */
size_t xvsnprintf(char *tmp, size_t tmp_size, const char *who, const char *fmt, va_list ap)
	__attribute__((format(printf, 4, 0)));

/* Logs "fatal: ..." and aborts. Never returns. */
void fatal(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

#endif
