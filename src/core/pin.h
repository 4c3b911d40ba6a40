/* SPDX-License-Identifier: MIT */
/* pin.h - session PINs of the unknown-caller "pin" policy: the syntax check,
 * turning caller-supplied random bytes into digits without bias, and the
 * attempt counter carried in the gather URL (?attempt=N). Pure: no I/O, no
 * randomness of its own; whether a PIN matches a session is the store's job. */
#ifndef MASKD_PIN_H
#define MASKD_PIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model.h" /* PIN_MIN_LEN, PIN_MAX_LEN */

/* Random bytes to pass pin_from_random() for a PIN of len digits. */
#define PIN_RANDOM_BYTES(len) (4 * (size_t)(len))
/* The highest attempt number the gather URL carries: one digit. */
#define PIN_ATTEMPTS_MAX 9

/* True when s is PIN_MIN_LEN..PIN_MAX_LEN ASCII digits and nothing else (no
 * sign, space, '#' or '*'; leading zeros are digits like any other). NULL is
 * false. Reads at most PIN_MAX_LEN + 1 bytes of s. */
bool pin_valid(const char *s);

/* Writes length digits and a NUL to out (length + 1 bytes), drawn from
 * random[0..n) by rejection sampling: each byte below 250 gives the digit
 * byte % 10 (250 = 25 * 10, so every digit is equally likely), bytes
 * 250..255 are skipped, every byte is used at most once, in order.
 * Pass n >= PIN_RANDOM_BYTES(length) fresh random bytes (random_bytes() of
 * util/crypto.h): fewer than length usable bytes among them then has a
 * probability below 1e-18. Should that happen anyway, the missing digits are
 * taken from the skipped bytes (byte % 10, i.e. digits 0..5), in order, which
 * always suffice when n >= 2 * length: the PIN is always complete, and biased
 * only in that case. Preconditions (asserted): random and out not NULL,
 * PIN_MIN_LEN <= length <= PIN_MAX_LEN, n >= 2 * length; without asserts a
 * digit with no byte left for it is '0'. Pure. */
void pin_from_random(const uint8_t *random, size_t n, int length, char *out);

/* The attempt number carried in the gather URL's ?attempt= value, or 0 when it
 * is beyond max_attempts (the caller has used up their tries).
 * "1".."9" is that number; a longer decimal without a leading zero ("10")
 * is beyond any max_attempts; NULL, "", "0", "01", signs, spaces, letters and
 * other garbage count as 1 (the URL is maskd's own, so garbage means a first
 * try). max_attempts is clamped to 1..PIN_ATTEMPTS_MAX.
 * The next attempt after a wrong PIN is pin_attempt_next("<attempt + 1>", max). */
int pin_attempt_next(const char *attempt_param, int max_attempts);

#endif
