// SPDX-License-Identifier: MIT
// Test phone numbers. Every one of them is valid for libphonenumber (the daemon checks API
// numbers with libphonenumber 8.12.57; libphonenumber-js "max" metadata agrees for all of
// these ranges, and assertValid() re-checks the ones a test uses).
//
//   real numbers (the people)     +1 415 237 2000..9999, +1 212 967 4000..9999
//   proxy numbers (the pool)      +1 415 555 0100..0199, +1 212 555 0100..0199, +1 650 555 0100..0199
//
// Proxy numbers are not secret; real numbers must never leave maskd except inside the
// markup that tells the carrier whom to dial.

import { parsePhoneNumberFromString } from 'libphonenumber-js/max';

const pad4 = (n) => String(n).padStart(4, '0');

/** i-th real number of the San Francisco block: +14152372000 + i. */
export function real(i) {
  if (!(i >= 0 && i < 8000)) throw new RangeError(`real(${i})`);
  return `+1415237${pad4(2000 + i)}`;
}

/** i-th real number of the New York block: +12129674000 + i. */
export function realNy(i) {
  if (!(i >= 0 && i < 6000)) throw new RangeError(`realNy(${i})`);
  return `+1212967${pad4(4000 + i)}`;
}

/** i-th proxy number of a pool block ('415' | '212' | '650'): +1{area}5550100 + i. */
export function proxy(i, area = '415') {
  if (!(i >= 0 && i < 100)) throw new RangeError(`proxy(${i})`);
  return `+1${area}555${pad4(100 + i)}`;
}

/** A number libphonenumber rejects (too short). */
export const INVALID_NUMBER = '+1415237';

/** How maskd shows a real US number in API answers: "+1******1234". */
export function masked(e164) {
  assert1(e164);
  return `+1******${e164.slice(-4)}`;
}

/** The three spellings a privacy scan looks for. */
export function spellings(e164) {
  assert1(e164);
  const digits = e164.slice(1);
  return [e164, digits, digits.slice(1)];
}

/** Throws unless libphonenumber-js ("max" metadata) says every number is valid. */
export function assertValid(...numbers) {
  for (const n of numbers.flat()) {
    const p = parsePhoneNumberFromString(n);
    if (!p || !p.isValid() || p.number !== n) {
      throw new Error(`test number ${n} is not a valid E.164 number per libphonenumber-js`);
    }
  }
}

function assert1(e164) {
  if (!/^\+1\d{10}$/.test(e164)) throw new Error(`expected a +1 number, got ${e164}`);
}
