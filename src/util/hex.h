/* SPDX-License-Identifier: MIT */
/* hex.h - hexadecimal digits: encoding bytes, decoding strict hex strings, and
 * lenient %XX decoding of URL parts. The one home of hex digit parsing in src/;
 * no allocation, thread-safe, knows nothing of what the bytes mean. */
#ifndef MASKD_HEX_H
#define MASKD_HEX_H

#include <stddef.h>
#include <stdint.h>

/* The value 0..15 of one hex digit (either case), or -1 for any other char. */
int hex_digit(int c);

/* Lowercase hex of in[0..n); out must hold 2n+1 bytes (NUL-terminated). */
void hex_encode(const uint8_t *in, size_t n, char *out);

/* Decodes n hex digits (either case) into out (cap bytes). Returns the decoded
 * length n/2, or -1 for an odd n, a non-hex character, or n/2 > cap. */
long hex_decode(const char *in, size_t n, uint8_t *out, size_t cap);

/* Copies s[0..n) into out (cap >= 1 bytes, asserted) with every well-formed
 * %XX replaced by its byte; a '%' not followed by two hex digits is kept as is,
 * '+' is kept (this is not form decoding: util/form.h does that). Stops at cap-1
 * bytes; always NUL-terminated. Returns the bytes written, without the NUL. */
size_t hex_percent_decode(const char *s, size_t n, char *out, size_t cap);

#endif
