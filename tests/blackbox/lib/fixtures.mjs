// SPDX-License-Identifier: MIT
// Helpers shared by the test files: API fixtures (services, pools, sessions), the carriers'
// webhook parameters, and assertions on answers.

import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { test } from 'node:test';

import { spellings } from './numbers.mjs';

export const ID = {
  service: /^svc_[A-Za-z0-9_-]+$/,
  number: /^num_[A-Za-z0-9_-]+$/,
  session: /^ses_[A-Za-z0-9_-]+$/,
  participant: /^par_[A-Za-z0-9_-]+$/,
  interaction: /^int_[A-Za-z0-9_-]+$/,
  leg: /^leg_[A-Za-z0-9_-]+$/,
};
export const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

/** RFC 3339 UTC, whole seconds, `seconds` from now (rounded up to the next second). */
export function rfc3339In(seconds) {
  const ms = Math.ceil(Date.now() / 1000) * 1000 + seconds * 1000;
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function show(res) {
  return `HTTP ${res.status} ${res.text?.slice(0, 2000)}`;
}

/** Asserts the status and returns the parsed JSON body. */
export function expectStatus(res, status, what = '') {
  assert.equal(res.status, status, `${what} expected HTTP ${status}, got ${show(res)}`);
  return res.json;
}

/** Asserts a JSON error answer: status, error.code and (optionally) words in error.message. */
export function expectError(res, status, code, ...mentions) {
  assert.equal(res.status, status, `expected HTTP ${status} ${code}, got ${show(res)}`);
  assert.match(res.headers['content-type'] ?? '', /^application\/json\b/, `error Content-Type: ${show(res)}`);
  assert.ok(res.json && typeof res.json === 'object' && res.json.error, `error body shape: ${show(res)}`);
  assert.equal(res.json.error.code, code, `error.code: ${show(res)}`);
  assert.equal(typeof res.json.error.message, 'string', `error.message: ${show(res)}`);
  assert.ok(res.json.error.message.length > 0, `empty error.message: ${show(res)}`);
  for (const m of mentions) {
    if (m instanceof RegExp) assert.match(res.json.error.message, m, `error.message: ${show(res)}`);
    else assert.ok(res.json.error.message.includes(m), `error.message should name "${m}": ${show(res)}`);
  }
  return res.json.error;
}

/** Asserts a status in `statuses`, and the matching error code for it. */
export function expectOneOfErrors(res, allowed, ...mentions) {
  const code = allowed[res.status];
  assert.ok(code, `expected HTTP ${Object.keys(allowed).join(' or ')}, got ${show(res)}`);
  const codes = [].concat(code);
  assert.ok(codes.includes(res.json?.error?.code), `error.code should be ${codes.join('|')}: ${show(res)}`);
  return expectError(res, res.status, res.json.error.code, ...mentions);
}

/** Fails when any spelling of any of `reals` appears in `text`. */
export function assertNoRealNumbers(text, reals, where = 'answer') {
  for (const r of reals) {
    for (const s of spellings(r)) {
      assert.ok(!text.includes(s), `${where} contains the real number ${r} (as "${s}"): ${text.slice(0, 2000)}`);
    }
  }
}

// ---------------------------------------------------------------------------------------
// API fixtures

/** A service; its carrier credentials are d.tokens unless `tokens` names others. */
export async function createService(d, {
  name = 'Rides', twilio = true, signalwire = true, defaults, tokens = d.tokens, ...rest
} = {}) {
  const carriers = {};
  if (twilio) carriers.twilio = { auth_token: tokens.twilio };
  if (signalwire) carriers.signalwire = { signing_key: tokens.signalwire };
  const body = { name, carriers, ...rest };
  if (defaults) body.defaults = defaults;
  const res = await d.api('POST', '/v1/services', body);
  return expectStatus(res, 201, 'POST /v1/services');
}

/** A pool number; with no `carrier` it takes the webhooks of any dialect. */
export async function addNumber(d, serviceId, number, { carrier, capabilities, reserved } = {}) {
  const body = { number };
  if (carrier) body.carrier = carrier;
  if (capabilities) body.capabilities = capabilities;
  if (reserved !== undefined) body.reserved = reserved;
  const res = await d.api('POST', `/v1/services/${serviceId}/numbers`, body);
  return expectStatus(res, 201, `POST numbers ${number}`);
}

export async function addPool(d, serviceId, numbers, opts = {}) {
  const out = [];
  for (const n of numbers) out.push(await addNumber(d, serviceId, n, opts));
  return out;
}

export async function setNumberState(d, numberId, state) {
  return expectStatus(await d.api('PATCH', `/v1/numbers/${numberId}`, { state }), 200, `PATCH number ${state}`);
}

export async function listNumbers(d, serviceId) {
  return expectStatus(await d.api('GET', `/v1/services/${serviceId}/numbers`), 200, 'GET numbers').numbers;
}

/** in_use per number, keyed by E.164. */
export async function inUse(d, serviceId) {
  return Object.fromEntries((await listNumbers(d, serviceId)).map((n) => [n.number, n.in_use]));
}

/**
 * POST a session. participants: [[real, label?, proxy?], ...] or full objects.
 * Returns the raw answer (status, json, ...).
 */
export async function postSession(d, serviceId, { participants, ...rest }) {
  if (!Array.isArray(participants)) {
    return d.api('POST', `/v1/services/${serviceId}/sessions`, participants === undefined ? rest : { ...rest, participants });
  }
  const parts = participants.map((p) => {
    if (!Array.isArray(p)) return p;
    const [number, label, proxyNumber] = p;
    const o = { number };
    if (label !== undefined) o.label = label;
    if (proxyNumber !== undefined) o.proxy_number = proxyNumber;
    return o;
  });
  return d.api('POST', `/v1/services/${serviceId}/sessions`, { ...rest, participants: parts });
}

export async function createSession(d, serviceId, body) {
  return expectStatus(await postSession(d, serviceId, body), 201, 'POST sessions');
}

export async function getSession(d, sessionId) {
  return expectStatus(await d.api('GET', `/v1/sessions/${sessionId}`), 200, 'GET session');
}

export async function closeSession(d, sessionId) {
  return expectStatus(await d.api('PATCH', `/v1/sessions/${sessionId}`, { status: 'closed' }), 200, 'close session');
}

export async function interactions(d, sessionId) {
  return expectStatus(await d.api('GET', `/v1/sessions/${sessionId}/interactions`), 200, 'GET interactions').interactions;
}

// ---------------------------------------------------------------------------------------
// Carrier webhook parameters (what Twilio / SignalWire post)

const hex = (n) => crypto.randomBytes(n).toString('hex');

/** A carrier id of the given Twilio prefix ('CA', 'SM', 'MM', 'AC'); SignalWire uses UUIDs. */
export function sid(dialect, prefix) {
  return dialect === 'twilio' ? `${prefix}${hex(16)}` : crypto.randomUUID();
}

const accounts = { twilio: `AC${hex(16)}`, signalwire: crypto.randomUUID() };

/** The account (project) id this test run's webhooks come from. */
export function accountSid(dialect) {
  return accounts[dialect];
}

/** An inbound call from `from` to the proxy number `to`. */
export function voiceParams(dialect, { from, to, callSid = sid(dialect, 'CA') }) {
  const p = {
    AccountSid: accounts[dialect],
    ApiVersion: '2010-04-01',
    CallSid: callSid,
    CallStatus: 'ringing',
    Called: to,
    Caller: from,
    Direction: 'inbound',
    From: from,
    To: to,
  };
  if (from === undefined) { delete p.From; delete p.Caller; }
  if (to === undefined) { delete p.To; delete p.Called; }
  return p;
}

/**
 * An inbound SMS/MMS. media: [url, ...] or [[url, contentType], ...]. Returns pairs
 * ([k, v] in the order a carrier posts them) so tests can also reorder them.
 */
export function messageParams(dialect, { from, to, body = '', media = [], messageSid }) {
  const msid = messageSid ?? sid(dialect, media.length ? 'MM' : 'SM');
  const pairs = [
    ['AccountSid', accounts[dialect]],
    ['ApiVersion', '2010-04-01'],
    ['Body', body],
    ['From', from],
    ['MessageSid', msid],
    ['NumMedia', String(media.length)],
    ['NumSegments', '1'],
    ['SmsMessageSid', msid],
    ['SmsSid', msid],
    ['SmsStatus', 'received'],
    ['To', to],
  ].filter(([, v]) => v !== undefined);
  media.forEach((m, i) => {
    const [url, type] = Array.isArray(m) ? m : [m, 'image/jpeg'];
    pairs.push([`MediaContentType${i}`, type], [`MediaUrl${i}`, url]);
  });
  return pairs;
}

/** The value of a key in a pairs list. */
export function param(pairs, key) {
  return pairs.find(([k]) => k === key)?.[1];
}

// ---------------------------------------------------------------------------------------
// Session and pool policy (docs/POLICY.md): events, pool, metrics, log, replies, privacy
// scans for numbers of any country.

/**
 * The spellings a privacy scan looks for, for a number of any country: "+442071838760",
 * "442071838760" and the national significant number "2071838760".
 */
export function spellingsAny(e164) {
  if (!/^\+\d{8,15}$/.test(e164)) throw new Error(`expected an E.164 number, got ${e164}`);
  const digits = e164.slice(1);
  const cc = digits.startsWith('1') || digits.startsWith('7') ? 1 : ['20', '27', '30', '31', '32', '33', '34', '36',
    '39', '40', '41', '43', '44', '45', '46', '47', '48', '49', '51', '52', '53', '54', '55', '56', '57', '58', '60',
    '61', '62', '63', '64', '65', '66', '81', '82', '84', '86', '90', '91', '92', '93', '94', '95', '98']
    .includes(digits.slice(0, 2)) ? 2 : 3;
  return [e164, digits, digits.slice(cc)];
}

/** How maskd shows a real number of any country: "+44******8760" (at most half the subscriber digits). */
export function maskedAny(e164) {
  const [, digits, national] = spellingsAny(e164);
  const cc = digits.slice(0, digits.length - national.length);
  const tail = Math.min(4, Math.floor(national.length / 2));
  return `+${cc}${'*'.repeat(national.length - tail)}${national.slice(national.length - tail)}`;
}

/** Fails when any spelling of any of `reals` (any country) appears in `text`. */
export function assertNoRealNumbersAny(text, reals, where = 'answer') {
  for (const r of reals) {
    for (const s of spellingsAny(r)) {
      assert.ok(!text.includes(s), `${where} contains the real number ${r} (as "${s}"): ${text.slice(0, 2000)}`);
    }
  }
}

/**
 * Scans every answer d gave since transcript index `mark` for the real numbers: API answers
 * never hold one; webhook answers only inside the markup that tells the carrier whom to dial
 * or text (<Dial>, <Message>), which is skipped.
 */
export function assertAnswersClean(d, reals, mark = 0) {
  const answers = d.transcript.slice(mark);
  for (const a of answers) {
    if (a.kind === 'webhook' && a.status === 200 && /<(Dial|Message)[ >]/.test(a.text)) continue;
    assertNoRealNumbersAny(a.text ?? '', reals, `answer to ${a.method} ${a.path.slice(0, 120)} (${a.status})`);
  }
  return answers.length;
}

/** A node:test `test` whose answers (API answers, and webhook answers other than a
 * bridge or forward) are scanned for any of `reals` once the test body ran. */
export function cleanTest(d, reals) {
  return (name, fn) => test(name, async (t) => {
    const mark = d.transcript.length;
    await fn(t);
    assertAnswersClean(d, reals, mark);
  });
}

/** Fails when the daemon's log holds any spelling of any of `reals`. */
export function assertLogClean(d, reals) {
  assertNoRealNumbersAny(logText(d), reals, `log ${d.logPath}`);
}

/** The whole log of d so far. */
export function logText(d) {
  return d.logTail(64 * 1024 * 1024);
}

/** PATCH /v1/sessions/{id}; returns the raw answer. */
export async function patchSession(d, sessionId, body) {
  return d.api('PATCH', `/v1/sessions/${sessionId}`, body);
}

/** GET /v1/sessions/{id}/events → the events array (oldest first). */
export async function sessionEvents(d, sessionId) {
  return expectStatus(await d.api('GET', `/v1/sessions/${sessionId}/events`), 200, 'GET events').events;
}

/** GET /v1/services/{id}/pool. */
export async function getPool(d, serviceId) {
  return expectStatus(await d.api('GET', `/v1/services/${serviceId}/pool`), 200, 'GET pool');
}

/** Sessions of a service (first page), optionally with a query string ("status=open"). */
export async function listSessions(d, serviceId, query = '') {
  return expectStatus(await d.api('GET', `/v1/services/${serviceId}/sessions${query ? `?${query}` : ''}`), 200,
    'GET sessions').sessions;
}

/** The numbers of a service keyed by E.164. */
export async function numbersByE164(d, serviceId) {
  return Object.fromEntries((await listNumbers(d, serviceId)).map((n) => [n.number, n]));
}

/**
 * The value of a /metrics series: the sum over its label sets (null when absent).
 * name: the metric name without labels.
 */
export async function metricValue(d, name) {
  const res = await d.request('GET', '/metrics');
  assert.equal(res.status, 200, `GET /metrics: HTTP ${res.status}`);
  let sum = null;
  for (const line of res.text.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (m && m[1] === name) sum = (sum ?? 0) + Number(m[3]);
  }
  return sum;
}

