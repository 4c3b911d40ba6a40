// SPDX-License-Identifier: MIT
// phone.cc - the extern "C" shim over libphonenumber declared in phone.h.
// Screens the raw input itself ('+', digits and a few separators, bounded length)
// before libphonenumber sees it, so the library's own leniency (letters, "ext",
// national formats) never reaches maskd; geocodes valid numbers to a region name
// with the library's offline geocoder. Does not log; never throws into C.
#include "phone.h"

#include "err.h"
extern "C" {
#include "xmalloc.h"
}

#include <phonenumbers/geocoding/phonenumber_offline_geocoder.h>
#include <phonenumbers/logger.h>
#include <phonenumbers/phonenumber.pb.h>
#include <phonenumbers/phonenumberutil.h>
#include <phonenumbers/shortnumberinfo.h>
#include <unicode/locid.h>
#include <unicode/unistr.h>

#include <cstring>
#include <list>
#include <new>
#include <string>

using i18n::phonenumbers::NullLogger;
using i18n::phonenumbers::PhoneNumber;
using i18n::phonenumbers::PhoneNumberOfflineGeocoder;
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

// ---- Geocoding ---------------------------------------------------------------

// One geocoder for the process: it loads a country's prefix table on first use
// and guards its table cache with its own mutex, so one const instance serves
// every thread. Created on first use (a function-local static is initialised
// once even with concurrent first callers) and deliberately never destroyed, so
// a late API thread cannot geocode through a destructed object during exit.
static const PhoneNumberOfflineGeocoder &phone_geocoder(void)
{
	static const PhoneNumberOfflineGeocoder *geocoder = [] {
		(void)phone_util(); // the geocoder shares the util singleton: logger first
		return new PhoneNumberOfflineGeocoder();
	}();
	return *geocoder;
}

// NANP state, district, territory and province codes as the geocoding data
// writes them after a city ("San Francisco, CA"), each mapped to the name the
// same data gives at area-code level, so that a number geocoded through a city
// and one geocoded through its area code compare equal ("Washington State",
// not "Washington"; the data has one entry for Nova Scotia and PEI).
static const struct {
	char code[3];
	const char *name;
} phone_nanp_states[] = {
	{"AL", "Alabama"}, {"AK", "Alaska"}, {"AZ", "Arizona"}, {"AR", "Arkansas"},
	{"CA", "California"}, {"CO", "Colorado"}, {"CT", "Connecticut"}, {"DE", "Delaware"},
	{"DC", "Washington D.C."}, {"FL", "Florida"}, {"GA", "Georgia"}, {"HI", "Hawaii"},
	{"ID", "Idaho"}, {"IL", "Illinois"}, {"IN", "Indiana"}, {"IA", "Iowa"},
	{"KS", "Kansas"}, {"KY", "Kentucky"}, {"LA", "Louisiana"}, {"ME", "Maine"},
	{"MD", "Maryland"}, {"MA", "Massachusetts"}, {"MI", "Michigan"}, {"MN", "Minnesota"},
	{"MS", "Mississippi"}, {"MO", "Missouri"}, {"MT", "Montana"}, {"NE", "Nebraska"},
	{"NV", "Nevada"}, {"NH", "New Hampshire"}, {"NJ", "New Jersey"}, {"NM", "New Mexico"},
	{"NY", "New York"}, {"NC", "North Carolina"}, {"ND", "North Dakota"}, {"OH", "Ohio"},
	{"OK", "Oklahoma"}, {"OR", "Oregon"}, {"PA", "Pennsylvania"}, {"RI", "Rhode Island"},
	{"SC", "South Carolina"}, {"SD", "South Dakota"}, {"TN", "Tennessee"}, {"TX", "Texas"},
	{"UT", "Utah"}, {"VT", "Vermont"}, {"VA", "Virginia"}, {"WA", "Washington State"},
	{"WV", "West Virginia"}, {"WI", "Wisconsin"}, {"WY", "Wyoming"},
	{"PR", "Puerto Rico"}, {"VI", "U.S. Virgin Islands"}, {"GU", "Guam"},
	{"AS", "American Samoa"}, {"MP", "Northern Mariana Islands"},
	{"AB", "Alberta"}, {"BC", "British Columbia"}, {"MB", "Manitoba"},
	{"NB", "New Brunswick"}, {"NL", "Newfoundland and Labrador"},
	{"NS", "Nova Scotia/Prince Edward Island"}, {"PE", "Nova Scotia/Prince Edward Island"},
	{"NT", "Northwest Territories/Nunavut/Yukon"}, {"NU", "Northwest Territories/Nunavut/Yukon"},
	{"YT", "Northwest Territories/Nunavut/Yukon"}, {"ON", "Ontario"}, {"QC", "Quebec"},
	{"SK", "Saskatchewan"},
};

// Area-code entries that name a city with no state code: in the 8.12.57 data
// only +1 445, the Philadelphia overlay of 215/267 ("Pennsylvania").
static const struct {
	const char *city;
	const char *state;
} phone_nanp_cities[] = {
	{"Philadelphia", "Pennsylvania"},
};

// "City, ST" -> the state's name; a state name or anything else unchanged.
static std::string phone_nanp_state(const std::string &desc)
{
	size_t n = desc.size();
	if (n > 4 && desc.compare(n - 4, 2, ", ") == 0) {
		for (const auto &st : phone_nanp_states)
			if (desc.compare(n - 2, 2, st.code) == 0)
				return st.name;
	}
	for (const auto &c : phone_nanp_cities)
		if (desc == c.city)
			return c.state;
	return desc;
}

// English area-level description of number ("London", "California",
// "San Francisco, CA"), "" when the data has none. The public
// GetDescriptionForValidNumber() falls back to the country's name when the data
// knows only the country; that name is computed exactly as libphonenumber does
// (ICU's display name of the number's region in English) and undone, so a number
// with no area entry gives "". number need not be valid (the NANP probe below is
// not): the call does not validate. Thread-safe: the geocoder locks its tables.
static std::string phone_area_description(const PhoneNumber &number)
{
	static const icu::Locale english("en");
	std::string desc = phone_geocoder().GetDescriptionForValidNumber(number, english);
	if (desc.empty())
		return desc;
	std::string region;
	phone_util()->GetRegionCodeForNumber(number, &region);
	if (region.size() == 2 && region != "ZZ") {
		icu::UnicodeString country;
		icu::Locale("", region.c_str()).getDisplayCountry(english, country);
		std::string name;
		country.toUTF8String(name);
		if (desc == name)
			return std::string();
	}
	return desc;
}

// Fills geo_region (see struct phone_info). number is valid and geographic.
// NANP: the data maps most area codes to a state ("1415|California") and some
// exchanges to a city ("1415555|San Francisco, CA"), and GetDescription takes
// the longest prefix, so the state comes from a probe of the bare area code:
// +1 NPA 0000000, which no real exchange (never starting with 0) can refine.
// Area codes with no entry of their own (+1 203, +1 310) fall back to the
// number's city and its state code.
static std::string phone_geo_region(const PhoneNumber &number, const std::string &nsn)
{
	if (number.country_code() != 1)
		return phone_area_description(number);

	std::string desc;
	if (nsn.size() == 10) {
		PhoneNumber npa;
		npa.set_country_code(1);
		npa.set_national_number(number.national_number() / 10000000u * 10000000u);
		desc = phone_area_description(npa);
	}
	if (desc.empty())
		desc = phone_area_description(number);
	return phone_nanp_state(desc);
}

// Like phone_copy, but cuts an over-long s at the last whole UTF-8 character.
static void phone_copy_utf8(const std::string &s, char *dst, size_t cap)
{
	size_t n = s.size();
	if (n >= cap) {
		n = cap - 1;
		while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
			n--; // s[n] continues a character: cut before its lead byte
	}
	std::memcpy(dst, s.data(), n);
	dst[n] = '\0';
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

	std::string nsn;
	util->GetNationalSignificantNumber(number, &nsn);
	int ac_len = util->GetLengthOfGeographicalAreaCode(number);
	if (ac_len > 0 && (size_t)ac_len <= nsn.size())
		phone_copy(nsn.substr(0, (size_t)ac_len), info.area_code, sizeof(info.area_code));

	if (info.region[0] != '\0')
		phone_copy_utf8(phone_geo_region(number, nsn), info.geo_region, sizeof(info.geo_region));

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
// whole number: refused everywhere, whatever the country code (docs/POLICY.md,
// "Emergency numbers").
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
