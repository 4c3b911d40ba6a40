/* SPDX-License-Identifier: MIT */
/* fuzz_phone.cc - libFuzzer target for E.164 parsing (util/phone.cc over
 * libphonenumber): phone_parse and phone_is_emergency. Properties: never
 * crashes; a number accepted is re-normalised to itself (phone_parse of its
 * e164 succeeds with the same e164, region and country code); the e164 is '+'
 * and at most 15 digits. */
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

#include "util/phone.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 64)
		return 0;
	std::string in(reinterpret_cast<const char *>(data), size);
	(void)phone_is_emergency(in.c_str());
	struct phone_info a, b;
	if (phone_parse(in.c_str(), &a) != 0)
		return 0;
	size_t n = strlen(a.e164);
	if (a.e164[0] != '+' || n < 2 || n > PHONE_E164_MAX)
		abort();
	for (size_t i = 1; i < n; i++)
		if (a.e164[i] < '0' || a.e164[i] > '9')
			abort();
	if (phone_parse(a.e164, &b) != 0 || strcmp(a.e164, b.e164) != 0 || strcmp(a.region, b.region) != 0 ||
	    a.country_code != b.country_code)
		abort();
	return 0;
}
