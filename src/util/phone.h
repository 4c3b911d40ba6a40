/* SPDX-License-Identifier: MIT */
/* phone.h - phone number validation through libphonenumber (a small extern "C" shim
 * over the C++ library). API path only: a parse costs ~14 us, so the webhook path
 * never calls it. Thread-safe (PhoneNumberUtil is a thread-safe singleton). */
#ifndef MASKD_PHONE_H
#define MASKD_PHONE_H

#ifdef __cplusplus
extern "C" {
#endif

#define PHONE_E164_MAX 16 /* '+' and at most 15 digits */

struct phone_info {
	char e164[PHONE_E164_MAX + 1]; /* normalised "+14155550100" */
	char region[3];                /* ISO 3166-1 alpha-2, "US"; "" for non-geographic (+800) */
	char area_code[8];             /* national destination code for geographic numbers, "" if none */
	int country_code;              /* 1, 44, ... */
	int cc_len;                    /* digits in country_code */
};

/* Parses an international number. input must start with '+' (spaces, dots, dashes
 * and parentheses between digits are tolerated and dropped); the number must be
 * valid per libphonenumber (IsValidNumber). Returns 0 and fills *out, or
 * MASKD_EINVAL (not a number, no '+', invalid for its region, too long). */
int phone_parse(const char *input, struct phone_info *out);

/* True when input names an emergency or short emergency number that maskd must
 * never mask or proxy: one of 112, 911, 999, 000, 110, 119, 118, 08 (as typed,
 * with or without '+' and a country code), or an emergency number of the
 * region(s) of input's country code per libphonenumber's ShortNumberInfo
 * ("+44999", "+61000", "+1911"). Input that is neither is false. */
int phone_is_emergency(const char *input);

#ifdef __cplusplus
}
#endif

#endif
