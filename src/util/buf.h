/* SPDX-License-Identifier: MIT */
/* buf.h - a growable byte buffer for building replies (markup, JSON, CSV).
 * Heap-backed, owned by whoever called buf_init(); always NUL-terminated.
 * Appends abort only on out-of-memory (xmalloc). */
#ifndef MASKD_BUF_H
#define MASKD_BUF_H

#include <stddef.h>

struct buf {
	char *data;
	size_t len;
	size_t cap;
};

void buf_init(struct buf *b);
void buf_free(struct buf *b);
void buf_reset(struct buf *b);
void buf_append(struct buf *b, const char *s, size_t n);
void buf_puts(struct buf *b, const char *s);
void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Append s escaped for XML the way xmlbuilder (the carriers' SDK builders) does, so
 * documents compare byte for byte. Text: & < > and CR. Attribute values: & < " and
 * tab, LF, CR as character references. What XML 1.0 cannot carry (ill-formed
 * UTF-8, C0 controls but tab/LF/CR, DEL, U+FFFE, U+FFFF) becomes U+FFFD first
 * (utf8_sanitize(), util/utf8.h), so the output is always well-formed. */
void buf_xml_text(struct buf *b, const char *s);
void buf_xml_attr(struct buf *b, const char *s);
/* Hands the data over to the caller (free()); b is empty afterwards. */
char *buf_steal(struct buf *b, size_t *len);

#endif
