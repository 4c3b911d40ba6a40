/* SPDX-License-Identifier: MIT */
/* xmalloc.c - allocation wrappers that abort on exhaustion, and fatal(). */
#include "xmalloc.h"
#include "err.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void fatal(const char *fmt, ...)
{
	va_list ap;
	fputs("maskd: fatal: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (p == NULL)
		fatal("out of memory (%zu bytes)", n);
	return p;
}

void *xcalloc(size_t nmemb, size_t size)
{
	void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);
	if (p == NULL)
		fatal("out of memory (%zu x %zu bytes)", nmemb, size);
	return p;
}

void *xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (q == NULL)
		fatal("out of memory (%zu bytes)", n);
	return q;
}

char *xstrndup(const char *s, size_t n)
{
	char *p = xmalloc(n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

const char *maskd_strerror(int err)
{
	switch (err) {
	case MASKD_OK: return "ok";
	case MASKD_EINVAL: return "invalid input";
	case MASKD_ENOTFOUND: return "not found";
	case MASKD_ECONFLICT: return "conflict";
	case MASKD_ETOOBIG: return "too big";
	case MASKD_EDB: return "store failure";
	case MASKD_ECRYPTO: return "crypto failure";
	case MASKD_EEXHAUSTED: return "pool exhausted";
	case MASKD_EEXISTS: return "exists";
	case MASKD_ERETRY: return "lost a race, retry";
	}
	return "unknown error";
}

size_t xvsnprintf(char *tmp, size_t tmp_size, const char *who, const char *fmt, va_list ap)
{
	int n = vsnprintf(tmp, tmp_size, fmt, ap);
	if (n < 0)
		fatal("%s: bad format", who);
	return (size_t)n;
}
