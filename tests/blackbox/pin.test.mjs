// SPDX-License-Identifier: MIT
// The PIN unknown-caller policy (docs/POLICY.md "PIN"): every session of the service gets a
// PIN; a call to the service's shared, reserved pin_number is asked for it with <Gather>;
// the digits come back to /hooks/twilio/gather?attempt=N; a PIN of an open session in which
// the caller is a participant bridges to the other participant, anything else asks again
// up to pin_attempts, then hangs up. Webhooks are signed with the twilio SDK; answers are
// compared with twilio.twiml's builders, the gather one attribute by attribute as well.

import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';

import twilio from 'twilio';

import { PUBLIC_URL, useDaemon } from './lib/daemon.mjs';
import {
  addNumber, addPool, assertAnswersClean, assertLogClean, closeSession, createService, createSession, expectError,
  expectStatus, getSession, interactions, messageParams, numbersByE164, postSession, sid, voiceParams,
} from './lib/fixtures.mjs';
import * as markup from './lib/markup.mjs';
import { assertValid, masked, proxy, real } from './lib/numbers.mjs';

const d = useDaemon();
const DIALECT = 'twilio';
const ASK = 'Please enter your PIN, then press the pound key.';
const INVALID = 'That PIN is not valid.';
const UNKNOWN_MESSAGE = 'Unknown caller, goodbye.';
const PIN_DIGITS = 8; // the most digits a PIN has: what the gather collects
const GATHER_TIMEOUT = 8;

const PIN_NUMBER = proxy(90, '650');
const PIN_NUMBER_4 = proxy(91, '650');
const POOL = [proxy(0, '650'), proxy(1, '650'), proxy(2, '650')];
const POOL_4 = [proxy(3, '650')];
const [A, B, C, D2, STRANGER, E, F] = Array.from({ length: 7 }, (_, i) => real(3000 + i));
const REALS = [A, B, C, D2, STRANGER, E, F];
assertValid(PIN_NUMBER, PIN_NUMBER_4, POOL, POOL_4, REALS);

let svc;
let ab; // session A–B, PIN drawn by maskd
let cd; // session C–D2, PIN 4821

const call = (from, to, callSid) => d.webhook(DIALECT, 'voice', voiceParams(DIALECT, { from, to, callSid }));
/** The carrier posting the digits of a <Gather> (signed like a voice webhook). */
const gather = (from, { attempt, digits, callSid, to = PIN_NUMBER, opts = {} }) => {
  const p = { ...voiceParams(DIALECT, { from, to, callSid }), CallStatus: 'in-progress' };
  if (digits !== undefined) {
    p.Digits = digits;
    p.FinishedOnKey = '#';
  }
  return d.webhook(DIALECT, 'gather', p, { ...opts, query: { attempt } });
};

/** Parses <Response><Gather ...>[<Say>..</Say>]</Gather></Response>: {attrs, say}. */
function parseGather(xml) {
  const m = /^<\?xml version="1\.0" encoding="UTF-8"\?><Response><Gather((?: [A-Za-z]+="[^"]*")*)(?:\/>|>(?:<Say>([^<]*)<\/Say>)?<\/Gather>)<\/Response>$/
    .exec(xml);
  assert.ok(m, `not a lone <Gather> document: ${xml}`);
  const attrs = {};
  for (const [, k, v] of m[1].matchAll(/ ([A-Za-z]+)="([^"]*)"/g)) attrs[k] = v.replace(/&amp;/g, '&');
  const say = m[2] === undefined ? null
    : m[2].replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, '&');
  return { attrs, say };
}

/** Asserts a gather answer asking for attempt `attempt`, whose prompt satisfies `prompt`. */
function assertGather(res, attempt, prompt, what) {
  assert.equal(res.status, 200, `${what}: HTTP ${res.status} ${res.text}`);
  assert.match(res.headers['content-type'] ?? '', /^text\/xml\b/, `${what}: Content-Type`);
  const { attrs, say } = parseGather(res.text);
  const url = `${PUBLIC_URL}/hooks/${DIALECT}/gather?attempt=${attempt}`;
  assert.equal(attrs.action, url, `${what}: action`);
  assert.equal(attrs.numDigits, String(PIN_DIGITS), `${what}: numDigits`);
  assert.equal(attrs.finishOnKey, '#', `${what}: finishOnKey`);
  assert.equal(attrs.timeout, String(GATHER_TIMEOUT), `${what}: timeout`);
  assert.equal(attrs.actionOnEmptyResult, 'true', `${what}: actionOnEmptyResult`);
  if (attrs.method !== undefined) assert.equal(attrs.method, 'POST', `${what}: method`);
  if (attrs.input !== undefined) assert.equal(attrs.input, 'dtmf', `${what}: input`);
  const extra = Object.keys(attrs).filter((k) =>
    !['action', 'numDigits', 'finishOnKey', 'timeout', 'actionOnEmptyResult', 'method', 'input'].includes(k));
  assert.deepEqual(extra, [], `${what}: unexpected attributes`);
  assert.ok(say !== null, `${what}: no prompt`);
  if (prompt instanceof RegExp) assert.match(say, prompt, `${what}: prompt`);
  else assert.equal(say, prompt, `${what}: prompt`);
  // and exactly what the SDK builds for it
  if (typeof markup.expectedGather === 'function') {
    assert.equal(res.text, markup.expectedGather(DIALECT, { prompt: say, url, digits: PIN_DIGITS, timeout: GATHER_TIMEOUT }),
      `${what}: differs from twilio.twiml's <Gather>`);
  } else {
    const r = new twilio.twiml.VoiceResponse();
    r.gather({ action: url, numDigits: PIN_DIGITS, finishOnKey: '#', timeout: GATHER_TIMEOUT, actionOnEmptyResult: true })
      .say(say);
    assert.equal(res.text, r.toString(), `${what}: differs from twilio.twiml's <Gather>`);
  }
}

/** Asserts the call ends: no new gather, no bridge, a hangup or reject. */
function assertHangup(res, what) {
  assert.equal(res.status, 200, `${what}: HTTP ${res.status} ${res.text}`);
  assert.doesNotMatch(res.text, /<Gather|<Dial/, `${what}: still asking or bridging: ${res.text}`);
  assert.match(res.text, /<Hangup\/>|<Reject\/>/, `${what}: not hung up: ${res.text}`);
}

function assertBridge(res, { callerId, real: realNumber }, what) {
  assert.equal(res.status, 200, `${what}: HTTP ${res.status} ${res.text}`);
  const intId = markup.interactionIdOf(res.text);
  assert.ok(intId, `${what}: no interaction id (not a session bridge): ${res.text}`);
  assert.equal(res.text, markup.bridge(DIALECT, { callerId, real: realNumber, intId }), `${what}: differs from the SDK's <Dial>`);
  return intId;
}

function assertNotBridged(res, what) {
  assert.equal(res.status, 200, `${what}: HTTP ${res.status} ${res.text}`);
  assert.doesNotMatch(res.text, /<Dial/, `${what}: bridged: ${res.text}`);
  for (const r of REALS) assert.ok(!res.text.includes(r), `${what}: a real number in ${res.text}`);
}

before(async () => {
  await d.ready;
  svc = await createService(d, {
    name: 'PIN line', signalwire: false,
    defaults: { unknown_caller_message: UNKNOWN_MESSAGE },
    unknown_caller: { policy: 'pin', pin_number: PIN_NUMBER, pin_attempts: 3 },
  });
  await addNumber(d, svc.id, PIN_NUMBER, { reserved: true });
  await addPool(d, svc.id, POOL);
  ab = await createSession(d, svc.id, { participants: [[A, 'Guest'], [B, 'Host']] });
  cd = await createSession(d, svc.id, { pin: '4821', participants: [[C, 'Guest'], [D2, 'Host']] });
});

describe('PIN at session create', () => {
  test('the service echoes the policy; a session gets a 6-digit PIN; the PIN number is never bound', async () => {
    const mark = d.transcript.length;
    assert.deepEqual(
      { policy: svc.unknown_caller.policy, pin_number: svc.unknown_caller.pin_number,
        pin_length: svc.unknown_caller.pin_length, pin_attempts: svc.unknown_caller.pin_attempts },
      { policy: 'pin', pin_number: PIN_NUMBER, pin_length: 6, pin_attempts: 3 });
    assert.match(ab.pin ?? '', /^\d{6}$/, `pin: ${JSON.stringify(ab.pin)}`);
    assert.equal(cd.pin, '4821');
    assert.equal((await getSession(d, ab.id)).pin, ab.pin);
    for (const s of [ab, cd]) {
      for (const p of s.participants) assert.notEqual(p.proxy_number, PIN_NUMBER, 'a participant was bound to the PIN number');
    }
    assert.deepEqual(ab.participants.map((p) => p.number), [masked(A), masked(B)]);
    const nums = await numbersByE164(d, svc.id);
    assert.equal(nums[PIN_NUMBER].state, 'reserved');
    assert.equal(nums[PIN_NUMBER].in_use, 0);
    assertAnswersClean(d, REALS, mark);
  });

  test('a PIN with letters, too short or with 9 digits → 400 "pin must be 4 to 8 digits"', async () => {
    const mark = d.transcript.length;
    for (const pin of ['12ab', '123', '123456789', '12 34', '']) {
      expectError(await postSession(d, svc.id, { pin, participants: [[E], [F]] }), 400, 'invalid_field',
        'pin must be 4 to 8 digits');
    }
    expectError(await postSession(d, svc.id, { pin: 4821, participants: [[E], [F]] }), 400, 'invalid_field', 'pin');
    const list = expectStatus(await d.api('GET', `/v1/services/${svc.id}/sessions`), 200).sessions;
    assert.equal(list.length, 2, 'a refused session was created');
    assertAnswersClean(d, REALS, mark);
  });

  test('pin_length 4: a 4-digit PIN is drawn; a service without the pin policy refuses "pin"', async () => {
    const mark = d.transcript.length;
    const four = await createService(d, {
      name: 'PIN 4', signalwire: false, unknown_caller: { policy: 'pin', pin_number: PIN_NUMBER_4, pin_length: 4 },
    });
    assert.equal(four.unknown_caller.pin_length, 4);
    await addNumber(d, four.id, PIN_NUMBER_4, { reserved: true });
    await addPool(d, four.id, POOL_4);
    const s = await createSession(d, four.id, { participants: [[E], [F]] });
    assert.match(s.pin ?? '', /^\d{4}$/);
    expectError(await d.api('POST', '/v1/services', { name: 'No pin number', unknown_caller: { policy: 'pin' } }),
      400, 'missing_field', 'pin_number');
    expectError(await d.api('POST', '/v1/services', { name: 'Long', unknown_caller: { policy: 'pin', pin_number: PIN_NUMBER_4,
      pin_length: 9 } }), 400, 'invalid_field', 'pin_length');
    expectError(await d.api('POST', '/v1/services', { name: 'Many', unknown_caller: { policy: 'pin', pin_number: PIN_NUMBER_4,
      pin_attempts: 6 } }), 400, 'invalid_field', 'pin_attempts');
    const plain = await createService(d, { name: 'No PIN policy', signalwire: false });
    await addNumber(d, plain.id, proxy(4, '650'));
    const r = await postSession(d, plain.id, { pin: '1234', participants: [[E], [F]] });
    expectError(r, 400, 'invalid_field', 'pin');
    assertAnswersClean(d, REALS, mark);
  });
});

describe('PIN on the phone', () => {
  test('wrong PIN → asked again (attempt 2, "That PIN is not valid."); right PIN → bridged to the other participant', async () => {
    const mark = d.transcript.length;
    const callSid = sid(DIALECT, 'CA');
    assertGather(await call(A, PIN_NUMBER, callSid), 1, ASK, 'call to the PIN number');
    const wrong = ab.pin === '000000' ? '111111' : '000000';
    assertGather(await gather(A, { attempt: 1, digits: wrong, callSid }), 2, new RegExp(`^${INVALID.replace(/\./g, '\\.')}`),
      'wrong PIN');
    const [a, b] = ab.participants;
    const intId = assertBridge(await gather(A, { attempt: 2, digits: ab.pin, callSid }), { callerId: b.proxy_number, real: B },
      'right PIN');
    const list = await interactions(d, ab.id);
    const i = list.find((x) => x.id === intId);
    assert.ok(i, `the bridge is not an interaction of the session: ${JSON.stringify(list)}`);
    assert.equal(i.decision, 'bridge');
    assert.equal(i.from_participant, a.id);
    assert.equal(i.to_participant, b.id);
    // the other participant, the other way round; a trailing '#' in Digits is not part of the PIN
    assertGather(await call(B, PIN_NUMBER), 1, ASK, 'B calls the PIN number');
    assertBridge(await gather(B, { attempt: 1, digits: `${ab.pin}#` }), { callerId: a.proxy_number, real: A }, 'B enters the PIN');
    assertAnswersClean(d, REALS, mark);
  });

  test('a non-participant with the right PIN is not bridged, nor a participant of another session', async () => {
    const mark = d.transcript.length;
    assertGather(await call(STRANGER, PIN_NUMBER), 1, ASK, 'stranger calls the PIN number');
    const r = await gather(STRANGER, { attempt: 1, digits: ab.pin });
    assertNotBridged(r, 'stranger with the right PIN');
    assertGather(r, 2, new RegExp(`^${INVALID.replace(/\./g, '\\.')}`), 'stranger with the right PIN');
    const r2 = await gather(C, { attempt: 1, digits: ab.pin });
    assertNotBridged(r2, 'C with the PIN of the A–B session');
    assertGather(r2, 2, new RegExp(`^${INVALID.replace(/\./g, '\\.')}`), 'C with A–B\'s PIN');
    // C with its own PIN is bridged to D2
    assertBridge(await gather(C, { attempt: 2, digits: '4821' }), { callerId: cd.participants[1].proxy_number, real: D2 },
      'C with its own PIN');
    assertAnswersClean(d, REALS, mark);
  });

  test('no digits, 9 digits, symbols: wrong attempts; after pin_attempts the call is hung up', async () => {
    const mark = d.transcript.length;
    const callSid = sid(DIALECT, 'CA');
    assertGather(await call(A, PIN_NUMBER, callSid), 1, ASK, 'call');
    assertGather(await gather(A, { attempt: 1, callSid }), 2, /./, 'nothing entered (timeout)');
    assertGather(await gather(A, { attempt: 2, digits: `${ab.pin}9`.padEnd(9, '9'), callSid }), 3, /./, '9 digits');
    assertHangup(await gather(A, { attempt: 3, digits: '12*4', callSid }), 'third wrong attempt');
    assertAnswersClean(d, REALS, mark);
  });

  test('the PIN of a closed session does not bridge', async () => {
    const mark = d.transcript.length;
    const s = await createSession(d, svc.id, { pin: '97531', participants: [[E, 'Guest'], [F, 'Host']] });
    assertBridge(await gather(E, { attempt: 1, digits: '97531' }), { callerId: s.participants[1].proxy_number, real: F },
      'open session');
    await closeSession(d, s.id);
    const r = await gather(E, { attempt: 1, digits: '97531' });
    assertNotBridged(r, 'closed session');
    assertGather(r, 2, new RegExp(`^${INVALID.replace(/\./g, '\\.')}`), 'closed session');
    assertAnswersClean(d, REALS, mark);
  });

  test('gather is signed like any webhook: unsigned or signed for another attempt → 403', async () => {
    const mark = d.transcript.length;
    assert.equal((await gather(A, { attempt: 1, digits: ab.pin, opts: { signature: null } })).status, 403);
    const other = `${PUBLIC_URL}/hooks/${DIALECT}/gather?attempt=3`;
    assert.equal((await gather(A, { attempt: 1, digits: ab.pin, opts: { signUrl: other } })).status, 403);
    assertAnswersClean(d, REALS, mark);
  });

  test('other numbers of a pin service: strangers get the unknown-caller message; texts to the PIN number are not relayed', async () => {
    const mark = d.transcript.length;
    const res = await call(STRANGER, POOL[0]);
    assert.equal(res.text, markup.rejectVoice(DIALECT, UNKNOWN_MESSAGE));
    const t = await d.webhook(DIALECT, 'message', messageParams(DIALECT, { from: A, to: PIN_NUMBER, body: ab.pin }));
    assert.equal(t.status, 200);
    assert.doesNotMatch(t.text, /<Message/, `a text to the PIN number was relayed: ${t.text}`);
    // participants still reach each other through their own proxy numbers
    const [a, b] = ab.participants;
    assertBridge(await call(A, a.proxy_number), { callerId: b.proxy_number, real: B }, 'A on its own proxy number');
    assertAnswersClean(d, REALS, mark);
  });

  test('the log holds no real number', () => {
    assertLogClean(d, REALS);
  });
});
