/* SPDX-License-Identifier: MIT */
/* redact.h - keeping secrets out of messages that get logged or answered: the
 * password a connection URL carries (userinfo or password= parameter, raw and
 * %-decoded) replaced by "***" wherever a message repeats it, and messages folded
 * to one log line. Knows no database: a backend adds what its library parsed. */
#ifndef MASKD_REDACT_H
#define MASKD_REDACT_H

#include <stddef.h>

#include "buf.h"

/* Replaces every occurrence of secret in *b with "***". An empty secret (or
 * NULL) does nothing. */
void redact_secret(struct buf *b, const char *secret);

/* Replaces in *b, raw and %-decoded, every password url spells out: the password
 * of scheme://user:password@host (userinfo up to the last '@' before the path)
 * and the value of every "password=" (a URI parameter or a key=value pair, up to
 * '&', space or tab). url is not changed; NULL does nothing. */
void redact_url_password(struct buf *b, const char *url);

/* Copies b into out (cap bytes) as one line: CR, LF and tab folded into one
 * space, trailing spaces trimmed, cut to cap-1 bytes; NUL-terminated when cap > 0. */
void redact_one_line(const struct buf *b, char *out, size_t cap);

/* The three above: msg (NULL as "") with url's password scrubbed, one line, into
 * out. For a message from a library that may echo its connection string. */
void redact_message(const char *url, const char *msg, char *out, size_t cap);

#endif
