// SPDX-License-Identifier: MIT
// phone.cc - the extern "C" shim over libphonenumber declared in phone.h.
// Screens the raw input itself ('+', digits and a few separators, bounded length)
// before libphonenumber sees it, so the library's own leniency (letters, "ext",
// national formats) never reaches maskd. Does not log; never throws into C.
#include "phone.h"

#include "err.h"
extern "C" {
#include "xmalloc.h"
}

#include <phonenumbers/logger.h>
#include <phonenumbers/phonenumber.pb.h>
#include <phonenumbers/phonenumberutil.h>
#include <phonenumbers/shortnumberinfo.h>

#include <cstring>
#include <list>
#include <new>
#include <string>

using i18n::phonenumbers::NullLogger;
using i18n::phonenumbers::PhoneNumber;
using i18n::phonenumbers::PhoneNumberUtil;
using i18n::phonenumbers::ShortNumberInfo;

// Longest raw input looked at: 15 digits plus generous formatting
// ("+44 (0) 20-7183-8750" is 20). Longer input is refused, not truncated.
#define PHONE_INPUT_MAX 64
#define PHONE_DIGITS_MAX 15 // E.164: country code and subscriber together
#define PHONE_EMERGENCY_DIGITS_MAX 9 // country code and the longest short number

// Some of the library's log messages quote the number. Upstream already starts
// with a NullLogger, but the choice is the library's; pin it here before the first
// parse. A function-local static is initialised exactly once even with concurrent
// first callers (C++11); SetLogger() itself is not safe against concurrent parses.
static const PhoneNumberUtil *phone_util(void)
{
	static const PhoneNumberUtil *util = [] {
		PhoneNumberUtil *u = PhoneNumberUtil::GetInstance();
		u->SetLogger(new NullLogger()); // owned by the singleton from here
		return u;
	}();
	return util;
}

static bool phone_is_separator(char c)
{
	return c == ' ' || c == '.' || c == '-' || c == '(' || c == ')';
}

// Copies '+' and the digits of input into plus_digits, dropping separators.
// Returns false for anything else: no leading '+', a letter or other byte, no
// digit at all, more than PHONE_DIGITS_MAX digits, input beyond PHONE_INPUT_MAX.
static bool phone_screen(const char *input, char plus_digits[PHONE_DIGITS_MAX + 2])
{
	if (input[0] != '+')
		return false;
	size_t n = 0;
	plus_digits[n++] = '+';
	size_t i;
	for (i = 1; input[i] != '\0' && i < PHONE_INPUT_MAX; i++) {
		char c = input[i];
		if (c >= '0' && c <= '9') {
			if (n > PHONE_DIGITS_MAX)
				return false;
			plus_digits[n++] = c;
		} else if (!phone_is_separator(c)) {
			return false;
		}
	}
	if (input[i] != '\0' || n == 1)
		return false;
	plus_digits[n] = '\0';
	return true;
}

static bool phone_copy(const std::string &s, char *dst, size_t cap)
{
	if (s.size() >= cap)
		return false;
	std::memcpy(dst, s.data(), s.size());
	dst[s.size()] = '\0';
	return true;
}

static int phone_parse_checked(const char *input, struct phone_info *out)
{
	char plus_digits[PHONE_DIGITS_MAX + 2];
	if (!phone_screen(input, plus_digits))
		return MASKD_EINVAL;

	const PhoneNumberUtil *util = phone_util();
	PhoneNumber number;
	// "ZZ": no default region, so only the international form can parse.
	if (util->Parse(plus_digits, "ZZ", &number) != PhoneNumberUtil::NO_PARSING_ERROR)
		return MASKD_EINVAL;
	if (!util->IsValidNumber(number))
		return MASKD_EINVAL;

	struct phone_info info;
	std::memset(&info, 0, sizeof(info));

	std::string e164;
	util->Format(number, PhoneNumberUtil::E164, &e164);
	if (!phone_copy(e164, info.e164, sizeof(info.e164)))
		return MASKD_EINVAL;

	// "001" marks a non-geographic entity (+800, +882...); "ZZ" cannot follow a
	// valid number but is treated the same way: no region.
	std::string region;
	util->GetRegionCodeForNumber(number, &region);
	if (region.size() == 2 && region != "ZZ")
		phone_copy(region, info.region, sizeof(info.region));

	info.country_code = number.country_code();
	info.cc_len = 0;
	for (int cc = info.country_code; cc > 0; cc /= 10)
		info.cc_len++;

	int ac_len = util->GetLengthOfGeographicalAreaCode(number);
	if (ac_len > 0) {
		std::string nsn;
		util->GetNationalSignificantNumber(number, &nsn);
		if ((size_t)ac_len <= nsn.size())
			phone_copy(nsn.substr(0, (size_t)ac_len), info.area_code, sizeof(info.area_code));
	}

	*out = info;
	return 0;
}

extern "C" int phone_parse(const char *input, struct phone_info *out)
{
	if (input == NULL || out == NULL)
		return MASKD_EINVAL;
	std::memset(out, 0, sizeof(*out));
	try {
		return phone_parse_checked(input, out);
	} catch (const std::bad_alloc &) {
		fatal("phone: out of memory");
	} catch (...) {
		// The library reports through return codes; anything thrown is a
		// parse we cannot trust. The exception text may quote the input.
		return MASKD_EINVAL;
	}
}

// Dialled as emergency numbers somewhere in the world and never a subscriber's
// whole number: refused everywhere, whatever the country code (issue 4 §8).
static const char *const phone_global_emergency[] = {"112", "911", "999", "000", "110", "119", "118", "08"};

static bool phone_emergency_checked(const char *input)
{
	std::string digits;
	bool plus = false;
	for (const char *p = input; *p != '\0' && p - input < PHONE_INPUT_MAX; p++) {
		if (*p == '+' && p == input)
			plus = true;
		else if (*p >= '0' && *p <= '9')
			digits.push_back(*p);
		else if (!phone_is_separator(*p))
			return false;
	}
	if (digits.empty() || digits.size() > PHONE_DIGITS_MAX)
		return false;
	/* a country code (at most 3 digits) and a short number (at most 6): anything
	 * longer is a subscriber's number; this keeps ShortNumberInfo off the common path */
	if (digits.size() > PHONE_EMERGENCY_DIGITS_MAX)
		return false;
	for (const char *g : phone_global_emergency)
		if (digits == g)
			return true;
	if (!plus)
		return false;
	// "+<cc><short number>": try each split of a 1-3 digit country code.
	static const ShortNumberInfo short_info;
	const PhoneNumberUtil *util = phone_util();
	for (size_t cc_len = 1; cc_len <= 3 && cc_len < digits.size(); cc_len++) {
		int cc = std::stoi(digits.substr(0, cc_len));
		std::string rest = digits.substr(cc_len);
		std::list<std::string> regions;
		util->GetRegionCodesForCountryCallingCode(cc, &regions);
		if (regions.empty())
			continue; /* not a country code */
		for (const char *g : phone_global_emergency)
			if (rest == g)
				return true;
		for (const std::string &region : regions)
			if (short_info.IsEmergencyNumber(rest, region))
				return true;
	}
	return false;
}

extern "C" int phone_is_emergency(const char *input)
{
	if (input == NULL)
		return 0;
	try {
		return phone_emergency_checked(input) ? 1 : 0;
	} catch (const std::bad_alloc &) {
		fatal("phone: out of memory");
	} catch (...) {
		return 0;
	}
}
