/* SPDX-License-Identifier: MIT */
/* phone.h - phone number validation and offline geocoding through libphonenumber
 * (a small extern "C" shim over the C++ library). API path only: a parse costs
 * tens of microseconds (geocoding ~2 us of it; more for the first number of a
 * country, whose geocoding table is loaded then), so the webhook path never
 * calls it. Thread-safe (PhoneNumberUtil is a thread-safe singleton; the one
 * geocoder locks its own lazily loaded tables). */
#ifndef MASKD_PHONE_H
#define MASKD_PHONE_H

#ifdef __cplusplus
extern "C" {
#endif

#define PHONE_E164_MAX 16 /* '+' and at most 15 digits */
/* Bytes of a geocoded region name; REGION_MAX_LEN + 1 of core/model.h, which
 * this util header does not include. */
#define PHONE_GEO_REGION_MAX 48

struct phone_info {
	char e164[PHONE_E164_MAX + 1]; /* normalised "+14155550100" */
	char region[3];                /* ISO 3166-1 alpha-2, "US"; "" for non-geographic (+800) */
	char area_code[8];             /* national destination code for geographic numbers, "" if none */
	int country_code;              /* 1, 44, ... */
	int cc_len;                    /* digits in country_code */
	/* The state/province (or, outside NANP, the place) the number belongs to, in
	 * English, UTF-8, from libphonenumber's offline geocoder: for +1 always the
	 * state-level name as the data writes it ("California", "New York",
	 * "Washington State", "Ontario"), even where the data has a city ("+1 212"
	 * is "New York", not "New York, NY"); elsewhere the number's own entry
	 * ("London", "Berlin", and for some countries' mobiles their home area:
	 * "+86 138..." is "Lianyungang, Jiangsu"). "" when the data knows only the
	 * country: UK, German, Indian mobiles, +1 toll-free and 5XX/600 numbers,
	 * Jamaica, Puerto Rico, France, and non-geographic numbers (+800). A name
	 * longer than PHONE_GEO_REGION_MAX - 1 bytes is cut at a UTF-8 character
	 * boundary. */
	char geo_region[PHONE_GEO_REGION_MAX];
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
