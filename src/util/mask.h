/* SPDX-License-Identifier: MIT */
/* mask.h - the shown form of a real number: "+14155550101" -> "+1******0101".
 * Keeps '+', the country calling code and the last four digits. Used for API
 * answers and log lines; needs no libphonenumber (ITU codes are prefix-free). */
#ifndef MASKD_MASK_H
#define MASKD_MASK_H

#include <stddef.h>

#define MASK_MAX 24 /* enough for any E.164 number masked, with NUL */

/* Writes the masked form of e164 into out (cap >= MASK_MAX). Input that is not
 * '+' and digits gives "(invalid)"; a short input keeps fewer digits. */
void mask_e164(const char *e164, char *out, size_t cap);

/* Digits in the country calling code starting at digits[0] (1, 2 or 3). */
int mask_cc_len(const char *digits);

#endif
