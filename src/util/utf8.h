/* SPDX-License-Identifier: MIT */
/* utf8.h - the one place text from outside (an SMS body, a form value, an API
 * string) is made fit for the markup and JSON maskd renders: strict UTF-8
 * validation with U+FFFD in place of what XML 1.0 or JSON cannot carry. It knows
 * nothing of escaping (buf_xml_*, the JSON writers do that) and allocates only
 * through buf. Thread-safe. */
#ifndef MASKD_UTF8_H
#define MASKD_UTF8_H

#include "buf.h"

#include <stdbool.h>
#include <stddef.h>

/* U+FFFD REPLACEMENT CHARACTER in UTF-8. */
#define UTF8_REPLACEMENT "\xEF\xBF\xBD"

/* What the sanitized text is for. */
enum utf8_target {
	/* JSON strings: every well-formed scalar value is kept (the writer escapes
	 * controls); ill-formed sequences are replaced. */
	UTF8_FOR_JSON,
	/* XML 1.0 character data: also replaces what XML's Char production excludes
	 * or discourages: C0 controls other than tab, LF and CR, DEL, U+FFFE, U+FFFF. */
	UTF8_FOR_XML,
};

/* Appends the len bytes of s to out with one U+FFFD in place of each ill-formed
 * sequence (a maximal subpart per Unicode ch. 3: a stray continuation byte, a
 * truncated sequence, an overlong form, a surrogate as CESU-8/WTF-8 encodes it, a
 * code point above U+10FFFF, the bytes C0, C1, F5-FF) and, for target
 * UTF8_FOR_XML, of each code point XML 1.0 cannot carry. A NUL byte is ill-formed
 * for both targets. Well-formed input is copied byte for byte. */
void utf8_sanitize(struct buf *out, const char *s, size_t len, enum utf8_target target);

/* True when utf8_sanitize() would copy s unchanged. */
bool utf8_is_clean(const char *s, size_t len, enum utf8_target target);

/* utf8_sanitize() of the NUL-terminated s (NULL reads as "") into a new
 * NUL-terminated heap string the caller free()s. Never NULL (aborts on OOM). */
char *utf8_sanitized_dup(const char *s, enum utf8_target target);

#endif
