// SPDX-License-Identifier: MIT
// Session and pool policy (docs/POLICY.md, the contract): geo-match, stickiness, cool-off,
// per-participant uniqueness and the 85% warning, per-number cap, opt-out keywords,
// emergency service numbers, blocking, unknown-caller forward and callback, number swap,
// re-open, create-or-return, single-party sessions, rate limits and pool visibility.
// Webhooks are signed with the twilio SDK; answers are compared with what twilio.twiml
// builds for the same decision. Every test also scans the answers it got for the real
// numbers (only <Dial>/<Message> markup may hold one), and the last test scans the log.

import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import http from 'node:http';
import { before, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';


import { SCALE, startDaemon, useDaemon, waitFor } from './lib/daemon.mjs';
import {
  addNumber, addPool, cleanTest, assertLogClean, assertNoRealNumbersAny, closeSession,
  createService, createSession, expectError, expectStatus, getPool, getSession, interactions, listSessions, logText,
  maskedAny, messageParams, metricValue, numbersByE164, patchSession, postSession, rfc3339In, sessionEvents,
  setNumberState, sid, voiceParams,
} from './lib/fixtures.mjs';
import * as markup from './lib/markup.mjs';
import { assertValid, masked, proxy, real, realNy } from './lib/numbers.mjs';

const d = useDaemon();
const DIALECT = 'twilio';

const UNKNOWN_MESSAGE = 'Unknown caller, goodbye.';
const ENDED = 'This conversation has ended.';
const NOT_JOINED = 'The other participant has not joined this conversation yet.';
const OPTED_OUT_NOTICE = 'Your message was not delivered: the recipient has opted out of texts from this number.';
const TOO_MANY_CALLS = 'Too many calls from this number. Please try again later.';
const GEO_LEVELS_ERROR = /geo_match must be country, area-code or region/;

// Pool numbers (not secret). Geo-match: one per area plus London.
const SF = proxy(0, '415');
const NY = proxy(0, '212');
const MV = proxy(0, '650');
const LDN = '+442071838750';
const LDN2 = '+442071838751';
const SUPPORT = proxy(99, '415'); // a service's fallback line (not a participant, shown as given)
const APP_FORWARD = proxy(98, '415'); // a number a callback forwards to
const NOT_IN_POOL = proxy(97, '415');
assertValid(SF, NY, MV, LDN, LDN2, SUPPORT, APP_FORWARD, NOT_IN_POOL);

// Real numbers (secret). Each test uses its own block so no test's history touches another's.
const UK_LONDON = '+442071838760'; // a London landline: area code 20, region London
const UK_LEEDS = '+441134960123'; // a Leeds landline: area code 113, region Leeds
const REALS = [UK_LONDON, UK_LEEDS];
const r415 = (i) => { const n = real(i); REALS.push(n); return n; };
const r212 = (i) => { const n = realNy(i); REALS.push(n); return n; };
assertValid(UK_LONDON, UK_LEEDS);

let svcSeq = 0;

/** A Twilio-only service with a recognisable unknown-caller message. */
async function service(extra = {}) {
  const { defaults = {}, ...rest } = extra;
  return createService(d, {
    name: `Policy ${++svcSeq}`, signalwire: false,
    defaults: { unknown_caller_message: UNKNOWN_MESSAGE, ...defaults }, ...rest,
  });
}

const call = (from, to, callSid) => d.webhook(DIALECT, 'voice', voiceParams(DIALECT, { from, to, callSid }));
const text = (from, to, body) => d.webhook(DIALECT, 'message', messageParams(DIALECT, { from, to, body }));
const proxiesOf = (s) => s.participants.map((p) => p.proxy_number);

function assertXml(res, expected, what) {
  assert.equal(res.status, 200, `${what}: HTTP ${res.status} ${res.text}`);
  assert.match(res.headers['content-type'] ?? '', /^text\/xml\b/, `${what}: Content-Type`);
  assert.equal(res.text, expected, `${what}: differs from the SDK's markup`);
}

/** A bridge with status callbacks to `realNumber`, caller ID `callerId`; returns the interaction id. */
function assertBridge(res, { callerId, real: realNumber }, what = 'bridge') {
  assert.equal(res.status, 200, `${what}: HTTP ${res.status} ${res.text}`);
  const intId = markup.interactionIdOf(res.text);
  assert.ok(intId, `${what}: no interaction id in ${res.text}`);
  assertXml(res, markup.bridge(DIALECT, { callerId, real: realNumber, intId }), what);
  return intId;
}

function assertForward(res, { to, from, body }, what = 'forward') {
  assert.equal(res.status, 200, `${what}: HTTP ${res.status} ${res.text}`);
  const intId = markup.interactionIdOf(res.text);
  assert.ok(intId, `${what}: no interaction id in ${res.text}`);
  assertXml(res, markup.forward(DIALECT, { to, from, intId, body }), what);
  return intId;
}

const assertReject = (res, message, what) => assertXml(res, markup.rejectVoice(DIALECT, message), what);
const assertEmpty = (res, what) => assertXml(res, markup.empty(DIALECT), what);

/** A test whose answers (API and non-markup webhook answers) are scanned for real numbers. */
const ptest = cleanTest(d, REALS);

before(async () => {
  await d.ready;
});

// ---------------------------------------------------------------------------------------

ptest('geo-match: area-code, region, country, any; strict → 409 naming participant and level; unknown level → 400', async () => {
  const A = r415(0);
  const B = r212(0);
  const C = r415(1);
  const E = r212(1);
  const F = r212(2);
  const G = r212(3);
  const J = r415(2);
  const K = r415(3);
  const svc = await service({ defaults: { geo_match: 'area-code' } });
  assert.equal(svc.defaults.geo_match, 'area-code');
  assert.equal(svc.defaults.geo_match_strict, false);
  await addPool(d, svc.id, [SF, NY, MV, LDN]);

  // numbers are geocoded when added
  const nums = await numbersByE164(d, svc.id);
  const geo = (n) => ({ country: n.country, area_code: n.area_code, region: n.region });
  assert.deepEqual(geo(nums[SF]), { country: 'US', area_code: '415', region: 'California' });
  assert.deepEqual(geo(nums[NY]), { country: 'US', area_code: '212', region: 'New York' });
  assert.deepEqual(geo(nums[MV]), { country: 'US', area_code: '650', region: 'California' });
  assert.deepEqual(geo(nums[LDN]), { country: 'GB', area_code: '20', region: 'London' });

  // area-code: each participant gets the number of its own area code
  const s1 = await createSession(d, svc.id, { participants: [[A, 'Rider'], [B, 'Driver']] });
  assert.deepEqual(proxiesOf(s1), [SF, NY], 'area-code match');
  assert.deepEqual(s1.participants.map((p) => p.number), [masked(A), masked(B)]);
  const s2 = await createSession(d, svc.id, { participants: [[UK_LONDON, 'Guest'], [C, 'Host']] });
  assert.deepEqual(proxiesOf(s2), [LDN, SF], 'a London landline gets the London number');
  assert.equal(s2.participants[0].number, maskedAny(UK_LONDON));

  // A holds SF: the next level is its region (California) → MV
  const s3 = await createSession(d, svc.id, { participants: [[A], [E]] });
  assert.deepEqual(proxiesOf(s3), [MV, NY], 'region fallback');

  // strict: only the asked level
  expectError(await postSession(d, svc.id, { geo_match_strict: true, participants: [[A], [F]] }),
    409, 'pool_exhausted', 'participants[0]', /geo_match area-code/);
  expectError(await postSession(d, svc.id, { geo_match_strict: true, participants: [[K], [A]] }),
    409, 'pool_exhausted', 'participants[1]', /geo_match area-code/);
  expectError(await postSession(d, svc.id, { geo_match: 'region', geo_match_strict: true, participants: [[A], [F]] }),
    409, 'pool_exhausted', 'participants[0]', /geo_match region/);

  // not strict: California is used up for A → country (US) → NY
  const s4 = await createSession(d, svc.id, { participants: [[A], [F]] });
  assert.deepEqual(proxiesOf(s4), [NY, NY], 'country fallback');
  expectError(await postSession(d, svc.id, { geo_match: 'country', geo_match_strict: true, participants: [[A], [G]] }),
    409, 'pool_exhausted', 'participants[0]', /geo_match country/);
  // A holds every US number: any number of the pool
  const s5 = await createSession(d, svc.id, { participants: [[A], [G]] });
  assert.deepEqual(proxiesOf(s5), [LDN, NY], 'any-number fallback');

  // a Leeds landline: no 113 number, no Leeds number → its country (GB) → London
  const s6 = await createSession(d, svc.id, { participants: [[UK_LEEDS, 'Guest'], [J, 'Host']] });
  assert.deepEqual(proxiesOf(s6), [LDN, SF]);
  expectError(await postSession(d, svc.id, { geo_match_strict: true, participants: [[UK_LEEDS], [K]] }),
    409, 'pool_exhausted', 'participants[0]', /geo_match area-code/);

  // unknown level → 400, at service create and at session create
  expectError(await d.api('POST', '/v1/services', { name: 'Bad geo', defaults: { geo_match: 'city' } }),
    400, 'invalid_field', GEO_LEVELS_ERROR);
  const before = (await listSessions(d, svc.id)).length;
  expectError(await postSession(d, svc.id, { geo_match: 'zip', participants: [[K], [F]] }),
    400, 'invalid_field', GEO_LEVELS_ERROR);
  assert.equal((await listSessions(d, svc.id)).length, before, 'a refused session was created');
});

ptest('sticky: the same pair gets its numbers back (during cool-off and with cooloff 0); avoid-sticky does not', async () => {
  const [P10, P11, P12] = [proxy(10), proxy(11), proxy(12)];
  const R = r415(100);
  const D = r415(101);
  const X = [r415(102), r415(103), r415(104), r415(105), r415(106), r415(107)];
  const svc = await service();
  assert.equal(svc.defaults.number_selection, 'prefer-sticky');
  assert.equal(svc.defaults.cooloff, 86400);
  await addPool(d, svc.id, [P10, P11, P12]);
  const s1 = await createSession(d, svc.id, { participants: [[R, 'Rider', P12], [D, 'Driver', P11]] });
  await closeSession(d, s1.id);
  let nums = await numbersByE164(d, svc.id);
  assert.equal(nums[P12].cooling_off, 1, `P12 ${JSON.stringify(nums[P12])}`);
  assert.equal(nums[P11].cooling_off, 1, `P11 ${JSON.stringify(nums[P11])}`);
  assert.equal(nums[P12].in_use, 0);
  // load P11 and P12 (two open sessions each) so that the pool rule alone picks P10
  await createSession(d, svc.id, { participants: [[X[0], 'x', P12], [X[1], 'y', P11]] });
  await createSession(d, svc.id, { participants: [[X[2], 'x', P12], [X[3], 'y', P11]] });
  const fresh = await createSession(d, svc.id, { participants: [[X[4]], [X[5]]] });
  assert.deepEqual(proxiesOf(fresh), [P10, P10], 'a new pair gets the least-loaded number');
  // the same two people meet again, listed the other way round
  const s2 = await createSession(d, svc.id, { participants: [[D, 'Driver'], [R, 'Rider']] });
  assert.deepEqual(proxiesOf(s2), [P11, P12], 'not the numbers the pair had last time');
  nums = await numbersByE164(d, svc.id);
  assert.equal(nums[P12].cooling_off, 0, 'the cooling-off binding was not taken back');
  assert.equal(nums[P11].cooling_off, 0, 'the cooling-off binding was not taken back');
  await closeSession(d, s2.id);
  // avoid-sticky: last time's numbers only when nothing else fits
  const s3 = await createSession(d, svc.id, { number_selection: 'avoid-sticky', participants: [[R], [D]] });
  assert.notEqual(s3.participants[0].proxy_number, P12, 'avoid-sticky gave R last time\'s number');
  assert.notEqual(s3.participants[1].proxy_number, P11, 'avoid-sticky gave D last time\'s number');
  expectError(await postSession(d, svc.id, { number_selection: 'sometimes', participants: [[X[4]], [R]] }),
    400, 'invalid_field', 'number_selection');

  // cooloff 0: released at once, still sticky from history
  const [P13, P14, P15] = [proxy(13), proxy(14), proxy(15)];
  const R2 = r415(110);
  const D2 = r415(111);
  const Y = [r415(112), r415(113)];
  const svc0 = await service({ defaults: { cooloff: 0 } });
  assert.equal(svc0.defaults.cooloff, 0);
  await addPool(d, svc0.id, [P13, P14, P15]);
  const t1 = await createSession(d, svc0.id, { participants: [[R2, 'Rider', P15], [D2, 'Driver', P14]] });
  await closeSession(d, t1.id);
  nums = await numbersByE164(d, svc0.id);
  assert.equal(nums[P15].cooling_off, 0, 'cooloff 0 must release at once');
  assert.equal(nums[P14].cooling_off, 0, 'cooloff 0 must release at once');
  await createSession(d, svc0.id, { participants: [[Y[0], 'x', P15], [Y[1], 'y', P14]] });
  const t2 = await createSession(d, svc0.id, { participants: [[R2], [D2]] });
  assert.deepEqual(proxiesOf(t2), [P15, P14], 'not sticky after the bindings were released');
});

ptest('cool-off: late call hears ended_message, late text gets it back; a third party never gets the binding', async () => {
  const [P20, P21] = [proxy(20), proxy(21)];
  const R = r415(200);
  const D = r415(201);
  const X = r415(202);
  const Y = r415(203);
  const MSG = 'This ride has ended. Book again in the app.';
  const COOLOFF = 3;
  const svc = await service({ defaults: { cooloff: COOLOFF, ended_message: MSG } });
  assert.equal(svc.defaults.ended_message, MSG);
  await addPool(d, svc.id, [P20, P21]);
  const s1 = await createSession(d, svc.id, { participants: [[R, 'Rider', P20], [D, 'Driver', P20]] });
  assertBridge(await call(R, P20), { callerId: P20, real: D });
  const released0 = (await metricValue(d, 'maskd_bindings_released_total')) ?? 0;
  await closeSession(d, s1.id);
  const closedAt = Date.now();

  assertReject(await call(D, P20), MSG, 'late call from the driver');
  assertReject(await call(R, P20), MSG, 'late call from the rider');
  assertXml(await text(R, P20, 'are you there?'), markup.reply(DIALECT, { to: R, from: P20, body: MSG }), 'late text');
  assert.ok(!(await interactions(d, s1.id)).some((i) => i.decision === 'forward_message'), 'late text was forwarded');

  // a third party's session: R does not get P20 while it cools off
  const s2 = await createSession(d, svc.id, { participants: [[R, 'Rider'], [X, 'Driver']] });
  assert.equal(s2.participants[0].proxy_number, P21, 'R was given its cooling-off binding in another pair\'s session');
  assertReject(await call(D, P20), MSG, 'late call after another session started');
  assertReject(await call(R, P20), MSG, 'R on its cooling-off number reaches the new driver');
  expectError(await postSession(d, svc.id, { participants: [[R], [Y]] }), 409, 'pool_exhausted', 'participants[0]');
  assert.ok(Date.now() - closedAt < COOLOFF * 1000, 'too slow to check the cool-off window; raise COOLOFF');

  // the cool-off ends: the sweeper frees the bindings; a late caller is then unknown
  await waitFor('the cool-off of P20 to end', async () =>
    (await numbersByE164(d, svc.id))[P20].cooling_off === 0, { timeoutMs: (COOLOFF + 10) * 1000, intervalMs: 200 });
  assert.ok(Date.now() - closedAt >= (COOLOFF - 1) * 1000, 'released before the cool-off ended');
  assertReject(await call(D, P20), UNKNOWN_MESSAGE, 'call after the cool-off');
  assert.ok((await metricValue(d, 'maskd_bindings_released_total')) >= released0 + 2, 'maskd_bindings_released_total');
  const s3 = await createSession(d, svc.id, { participants: [[R], [Y]] });
  assert.equal(s3.participants[0].proxy_number, P20);

  // cooloff_reuse: another pair may take a cooling-off binding when nothing else fits
  const P22 = proxy(22);
  const R3 = r415(210);
  const D3 = r415(211);
  const X3 = r415(212);
  const reuse = await service({ defaults: { cooloff: 3600, cooloff_reuse: true } });
  assert.equal(reuse.defaults.cooloff_reuse, true);
  await addNumber(d, reuse.id, P22);
  const u1 = await createSession(d, reuse.id, { participants: [[R3], [D3]] });
  await closeSession(d, u1.id);
  const u2 = await createSession(d, reuse.id, { participants: [[R3], [X3]] });
  assert.deepEqual(proxiesOf(u2), [P22, P22]);
});

ptest('a real number holds each proxy number once: one-number pool, two riders, one driver → 409 for the driver', async () => {
  const P30 = proxy(30);
  const [R1, R2, DRV] = [r415(300), r415(301), r415(302)];
  const svc = await service();
  await addNumber(d, svc.id, P30);
  const a = await createSession(d, svc.id, { participants: [[R1, 'Rider'], [DRV, 'Driver']] });
  assert.deepEqual(proxiesOf(a), [P30, P30]);
  const exhausted0 = (await metricValue(d, 'maskd_pool_exhausted_total')) ?? 0;
  const e = expectError(await postSession(d, svc.id, { participants: [[R2, 'Rider'], [DRV, 'Driver']] }),
    409, 'pool_exhausted', 'participants[1]');
  assertNoRealNumbersAny(e.message, REALS, 'error message');
  assert.equal(await metricValue(d, 'maskd_pool_exhausted_total'), exhausted0 + 1);
  assert.equal((await listSessions(d, svc.id)).length, 1);
});

ptest('pool warning: a driver in 6 sessions of a 7-number pool → "pool use at 86%" in the log', async () => {
  const pool = Array.from({ length: 7 }, (_, i) => proxy(31 + i));
  const riders = Array.from({ length: 8 }, (_, i) => r415(310 + i));
  const DRV = r415(320);
  const svc = await service();
  await addPool(d, svc.id, pool);
  const warnings0 = (await metricValue(d, 'maskd_pool_warnings_total')) ?? 0;
  const warnFor = new RegExp(`service ${svc.id}: pool use at`);
  const sessions = [];
  for (let i = 0; i < 5; i++) {
    sessions.push(await createSession(d, svc.id, { participants: [[riders[i], 'Rider'], [DRV, 'Driver']] }));
  }
  assert.doesNotMatch(logText(d), warnFor, 'warned at 5 of 7 (71%)');
  sessions.push(await createSession(d, svc.id, { participants: [[riders[5], 'Rider'], [DRV, 'Driver']] }));
  const driverPar = sessions[5].participants[1].id;
  const line = `service ${svc.id}: pool use at 86% for participant ${driverPar}: it holds 6 of the 7 numbers it can get`;
  await waitFor('the 86% warning in the log', async () => logText(d).includes(line), { timeoutMs: 5000, intervalMs: 50 });
  const warned = logText(d).split('\n').filter((l) => warnFor.test(l));
  assert.equal(warned.length, 1, `one warning expected (riders hold 1 of 7): ${warned.join('\n')}`);
  assert.match(warned[0], /\bwarn\b/i, 'logged at warning level');
  assert.equal(await metricValue(d, 'maskd_pool_warnings_total'), warnings0 + 1);
  const seventh = await createSession(d, svc.id, { participants: [[riders[6], 'Rider'], [DRV, 'Driver']] });
  await waitFor('the 100% warning', async () => logText(d).includes(
    `service ${svc.id}: pool use at 100% for participant ${seventh.participants[1].id}: it holds 7 of the 7 numbers`),
  { timeoutMs: 5000, intervalMs: 50 });
  expectError(await postSession(d, svc.id, { participants: [[riders[7], 'Rider'], [DRV, 'Driver']] }),
    409, 'pool_exhausted', 'participants[1]');
  const pool2 = await getPool(d, svc.id);
  assert.equal(pool2.participants.max_sessions_of_one, 7);
  assert.equal(pool2.participants.headroom_of_busiest, 0);
});

ptest('pool warning counts the numbers a participant can get: all of them when geo-match is not strict', async () => {
  const pool = [proxy(5, '415'), proxy(5, '212'), proxy(5, '650'), proxy(6, '212'), proxy(7, '212'), proxy(8, '212'),
    proxy(9, '212')];
  const [A, B, C, D] = [r415(340), r415(341), r415(342), r415(343)];
  const loose = await service({ defaults: { geo_match: 'area-code' } });
  await addPool(d, loose.id, pool.slice(0, 4));
  const s = await createSession(d, loose.id, { participants: [[A], [B]] });
  assert.equal(s.participants[0].proxy_number, pool[0]);
  const looseLines = logText(d).split('\n').filter((l) => l.includes(`service ${loose.id}: pool use at`));
  assert.deepEqual(looseLines, [], 'a participant holding 1 of the 4 numbers it can get (not strict) was warned about');
  // strict: the one 415 number is all a 415 participant can get → 100%
  const strict = await service({ defaults: { geo_match: 'area-code', geo_match_strict: true } });
  await addPool(d, strict.id, pool.slice(4));
  await addNumber(d, strict.id, proxy(6, '415'));
  const t = await createSession(d, strict.id, { participants: [[C], [D]] });
  await waitFor('the strict 100% warning', async () => logText(d).includes(
    `service ${strict.id}: pool use at 100% for participant ${t.participants[0].id}: it holds 1 of the 1 numbers it can get`),
  { timeoutMs: 5000, intervalMs: 50 });
});

ptest('number_cap: a full number is skipped; naming one is a 409', async () => {
  const [PA, PB] = [proxy(38), proxy(39)];
  const people = Array.from({ length: 6 }, (_, i) => r415(330 + i));
  const svc = await service({ defaults: { number_cap: 1 } });
  assert.equal(svc.defaults.number_cap, 1);
  await addPool(d, svc.id, [PA, PB]);
  await createSession(d, svc.id, { participants: [[people[0], 'R', PA], [people[1], 'D', PA]] });
  const b = await createSession(d, svc.id, { participants: [[people[2]], [people[3]]] });
  assert.deepEqual(proxiesOf(b), [PB, PB], 'a full number was picked');
  expectError(await postSession(d, svc.id, { participants: [[people[4]], [people[5]]] }), 409, 'pool_exhausted');
  const r = await postSession(d, svc.id, { participants: [[people[4], 'R', PA], [people[5]]] });
  assert.equal(r.status, 409, `naming a full number: HTTP ${r.status} ${r.text}`);
});

ptest('STOP / START / HELP: keywords are not relayed; texts towards an opted-out party are refused with a notice', async () => {
  const [P40, P41] = [proxy(40), proxy(41)];
  const A = r415(400);
  const B = r415(401);
  const HELP = 'Rides masked messaging. Reply STOP to opt out. Help: rides.example/help';
  const svc = await service({ defaults: { help_text: HELP } });
  assert.equal(svc.defaults.help_text, HELP);
  await addPool(d, svc.id, [P40, P41]);
  const s = await createSession(d, svc.id, { participants: [[A, 'Rider', P40], [B, 'Driver', P41]] });
  assertForward(await text(A, P40, 'hello'), { to: B, from: P41, body: 'hello' }, 'before STOP');

  const stop = await text(B, P41, 'STOP');
  assertEmpty(stop, 'STOP is not relayed');
  assert.ok(!stop.text.includes(A));
  const refused = await text(A, P40, 'are you coming?');
  assertXml(refused, markup.reply(DIALECT, { to: A, from: P40, body: OPTED_OUT_NOTICE }), 'text towards an opted-out party');
  assert.ok(!refused.text.includes(B), 'the opted-out party\'s number in the reply');
  const fwd = (await interactions(d, s.id)).filter((i) => i.decision === 'forward_message');
  assert.equal(fwd.length, 1, `only the text before STOP is forwarded: ${JSON.stringify(fwd)}`);
  // B may still text A, and calls are not affected
  assertForward(await text(B, P41, 'five minutes'), { to: A, from: P40, body: 'five minutes' }, 'opted-out sender');
  assertBridge(await call(A, P40), { callerId: P41, real: B }, 'a call towards the opted-out party');

  assertEmpty(await text(B, P41, ' start '), 'START is not relayed');
  assertForward(await text(A, P40, 'hello again'), { to: B, from: P41, body: 'hello again' }, 'after START');

  assertXml(await text(A, P40, 'Help'), markup.reply(DIALECT, { to: A, from: P40, body: HELP }), 'HELP');
  assertXml(await text(B, P41, 'INFO'), markup.reply(DIALECT, { to: B, from: P41, body: HELP }), 'INFO');
  // an opt-out spelled otherwise is still one
  assertEmpty(await text(B, P41, 'unsubscribe'), 'UNSUBSCRIBE is not relayed');
  assertXml(await text(A, P40, 'still there?'), markup.reply(DIALECT, { to: A, from: P40, body: OPTED_OUT_NOTICE }),
    'after UNSUBSCRIBE');
});

test('emergency numbers as fallback_number or pin_number → 400 at service create', async () => {
  const before = expectStatus(await d.api('GET', '/v1/services'), 200).services.length;
  const cases = [
    ['fallback_number', { policy: 'forward', fallback_number: '911' }],
    ['fallback_number', { policy: 'forward', fallback_number: '+44999' }],
    ['fallback_number', { policy: 'callback', callback_url: 'http://127.0.0.1:9/cb', callback_fail_open: true,
      fallback_number: '+1 911' }],
    ['pin_number', { policy: 'pin', pin_number: '112' }],
    ['pin_number', { policy: 'pin', pin_number: '+61000' }],
  ];
  for (const [field, unknown] of cases) {
    const res = await d.api('POST', '/v1/services', { name: 'Emergency', unknown_caller: unknown });
    expectError(res, 400, 'invalid_field', `unknown_caller.${field}`, 'emergency');
  }
  assert.equal(expectStatus(await d.api('GET', '/v1/services'), 200).services.length, before, 'a refused service exists');
});

ptest('blocked: every call refused without a word, texts dropped, status and event "blocked"', async () => {
  const [P45, P46, P47] = [proxy(45), proxy(46), proxy(47)];
  const A = r415(450);
  const B = r415(451);
  const X = r415(452);
  const svc = await service();
  await addPool(d, svc.id, [P45, P46, P47]);
  const s = await createSession(d, svc.id, { participants: [[A, 'Rider', P45], [B, 'Driver', P46]] });
  assertBridge(await call(A, P45), { callerId: P46, real: B }, 'before the block');
  const blocked0 = await interactions(d, s.id);
  const r = await patchSession(d, s.id, { status: 'blocked' });
  assert.equal(expectStatus(r, 200, 'PATCH blocked').status, 'blocked');
  assertXml(await call(A, P45), markup.expectedSilentReject(DIALECT), 'call from A after the block');
  assertXml(await call(B, P46), markup.expectedSilentReject(DIALECT), 'call from B after the block');
  assertEmpty(await text(A, P45, 'let me through'), 'text from A after the block');
  assertEmpty(await text(B, P46, 'hello?'), 'text from B after the block');
  const got = await getSession(d, s.id);
  assert.equal(got.status, 'blocked');
  const listed = expectStatus(await d.api('GET', `/v1/services/${svc.id}/sessions?status=blocked`), 200).sessions;
  assert.deepEqual(listed.map((x) => x.id), [s.id]);
  const seen = new Set(blocked0.map((i) => i.id));
  const added = (await interactions(d, s.id)).filter((i) => !seen.has(i.id));
  assert.ok(!added.some((i) => i.decision === 'bridge' || i.decision === 'forward_message'),
    `bridged or forwarded after the block: ${JSON.stringify(added)}`);
  const kinds = (await sessionEvents(d, s.id)).map((e) => e.kind);
  assert.ok(kinds.includes('blocked'), `events: ${kinds.join(',')}`);
  // the bindings cool off like a closed session's
  const nums = await numbersByE164(d, svc.id);
  assert.equal(nums[P45].in_use, 0);
  assert.equal(nums[P45].cooling_off, 1);
  assert.equal(nums[P46].cooling_off, 1);
  const other = await createSession(d, svc.id, { participants: [[A], [X]] });
  assert.notEqual(other.participants[0].proxy_number, P45, 'the blocked binding was handed to A\'s new session');
});

ptest('unknown caller, forward policy: bridged to fallback_number with the proxy as caller ID; texts not relayed', async () => {
  const P50 = proxy(50);
  const STRANGER = r415(500);
  const [A, B] = [r415(501), r415(502)];
  expectError(await d.api('POST', '/v1/services', { name: 'No fallback', unknown_caller: { policy: 'forward' } }),
    400, 'missing_field', 'fallback_number');
  const svc = await service({ unknown_caller: { policy: 'forward', fallback_number: SUPPORT } });
  assert.equal(svc.unknown_caller.policy, 'forward');
  assert.equal(svc.unknown_caller.fallback_number, SUPPORT);
  await addNumber(d, svc.id, P50);
  assertXml(await call(STRANGER, P50), markup.expectedBridgeWithoutCallbacks(DIALECT, { callerId: P50, real: SUPPORT }), 'stranger forwarded');
  assertEmpty(await text(STRANGER, P50, 'hello?'), 'a stranger\'s text');
  // participants are routed as usual
  await createSession(d, svc.id, { participants: [[A, 'Rider', P50], [B, 'Driver', P50]] });
  assertBridge(await call(A, P50), { callerId: P50, real: B }, 'participant');
});

ptest('unknown caller, callback policy: forward, session, timeout (fail-open), garbage (fail-closed); masked "from"', async (t) => {
  const [P51, P52, P54] = [proxy(51), proxy(52), proxy(54)];
  const [S1, S2, S3, S4, S5] = [r415(510), r415(511), r415(512), r415(513), r415(514)];
  const HOST = r415(515);
  const hits = [];
  let answer = async () => ({ status: 200, body: '{"decision":"reject"}' });
  const srv = http.createServer(async (req, res) => {
    const chunks = [];
    for await (const c of req) chunks.push(c);
    const hit = { method: req.method, url: req.url, headers: req.headers, text: Buffer.concat(chunks).toString('utf8') };
    hits.push(hit);
    const a = await answer(hit);
    if (res.destroyed) return;
    res.writeHead(a.status, { 'Content-Type': a.type ?? 'application/json' });
    res.end(a.body);
  });
  await new Promise((resolve) => srv.listen(0, '127.0.0.1', resolve));
  t.after(() => { srv.closeAllConnections(); srv.close(); });
  const url = `http://127.0.0.1:${srv.address().port}/maskd/unknown`;
  const TIMEOUT_MS = 400;

  expectError(await d.api('POST', '/v1/services', { name: 'Open without fallback',
    unknown_caller: { policy: 'callback', callback_url: url, callback_fail_open: true } }), 400, 'missing_field', 'fallback_number');
  const open = await service({ unknown_caller: { policy: 'callback', callback_url: url, callback_timeout_ms: TIMEOUT_MS,
    callback_fail_open: true, fallback_number: SUPPORT } });
  assert.deepEqual(
    { policy: open.unknown_caller.policy, url: open.unknown_caller.callback_url, ms: open.unknown_caller.callback_timeout_ms,
      failOpen: open.unknown_caller.callback_fail_open },
    { policy: 'callback', url, ms: TIMEOUT_MS, failOpen: true });
  await addPool(d, open.id, [P51, P52]);
  const failures0 = (await metricValue(d, 'maskd_callback_failures_total')) ?? 0;

  // (a) forward
  answer = async () => ({ status: 200, body: JSON.stringify({ decision: 'forward', number: APP_FORWARD }) });
  const callSid = sid(DIALECT, 'CA');
  assertXml(await call(S1, P51, callSid), markup.expectedBridgeWithoutCallbacks(DIALECT, { callerId: P51, real: APP_FORWARD }), 'callback forward');
  assert.equal(hits.length, 1, 'the callback was not asked');
  const q = hits[0];
  assert.equal(q.method, 'POST');
  assert.equal(q.url, '/maskd/unknown');
  assert.match(q.headers['content-type'] ?? '', /^application\/json\b/);
  assert.deepEqual(JSON.parse(q.text), {
    event: 'unknown_caller', service_id: open.id, channel: 'voice', carrier: DIALECT, carrier_sid: callSid,
    from: masked(S1), from_country: 'US', to: P51, body: null,
  });

  // (b) session: the caller keeps the number it dialled; this very call is bridged
  answer = async () => ({ status: 200, body: JSON.stringify({ decision: 'session',
    participant: { number: HOST, label: 'Host' }, caller_label: 'Guest', ttl: 3600 }) });
  const res = await call(S2, P51);
  assert.equal(res.status, 200, res.text);
  const sessions = await listSessions(d, open.id);
  assert.equal(sessions.length, 1, `one session expected: ${JSON.stringify(sessions)}`);
  const ses = sessions[0];
  const guest = ses.participants.find((p) => p.label === 'Guest');
  const host = ses.participants.find((p) => p.label === 'Host');
  assert.ok(guest && host, JSON.stringify(ses.participants));
  assert.equal(guest.number, masked(S2));
  assert.equal(guest.proxy_number, P51, 'the caller does not keep the number it dialled');
  assert.equal(host.number, masked(HOST));
  assert.equal(ses.ttl, 3600);
  const intId = assertBridge(res, { callerId: host.proxy_number, real: HOST }, 'callback session');
  assert.deepEqual((await interactions(d, ses.id)).map((i) => i.id), [intId]);
  const asked = hits.length;
  assertBridge(await call(S2, P51), { callerId: host.proxy_number, real: HOST }, 'the guest calls again');
  assertBridge(await call(HOST, host.proxy_number), { callerId: P51, real: S2 }, 'the host calls back');
  assert.equal(hits.length, asked, 'the callback was asked about a bound caller');

  // (c) timeout with fail-open → the fallback number
  answer = async () => { await delay(TIMEOUT_MS * 4 * SCALE); return { status: 200, body: '{"decision":"reject"}' }; };
  const t0 = Date.now();
  assertXml(await call(S3, P52), markup.expectedBridgeWithoutCallbacks(DIALECT, { callerId: P52, real: SUPPORT }), 'timeout, fail-open');
  assert.ok(Date.now() - t0 < TIMEOUT_MS * 4 * SCALE, 'maskd waited past callback_timeout_ms');
  answer = async () => ({ status: 200, body: 'certainly not JSON' });
  assertXml(await call(S3, P52), markup.expectedBridgeWithoutCallbacks(DIALECT, { callerId: P52, real: SUPPORT }), 'garbage, fail-open');

  // (d) fail-closed: garbage, unknown decision, an emergency number, non-2xx → the unknown-caller message
  const closed = await service({ unknown_caller: { policy: 'callback', callback_url: url, callback_timeout_ms: TIMEOUT_MS } });
  assert.equal(closed.unknown_caller.callback_fail_open, false);
  await addNumber(d, closed.id, P54);
  const garbage = [
    { status: 200, body: 'certainly not JSON' },
    { status: 200, body: '{"decision":"maybe"}' },
    { status: 200, body: '{"decision":"forward","number":"911"}' },
    { status: 200, body: JSON.stringify({ decision: 'session', participant: { number: '112' } }) },
    { status: 500, body: JSON.stringify({ decision: 'forward', number: APP_FORWARD }) },
  ];
  for (const g of garbage) {
    answer = async () => g;
    assertReject(await call(S4, P54), UNKNOWN_MESSAGE, `fail-closed on ${g.status} ${g.body}`);
  }
  assert.equal((await listSessions(d, closed.id)).length, 0, 'a session was created from a garbage answer');
  assert.ok((await metricValue(d, 'maskd_callback_failures_total')) >= failures0 + 2 + garbage.length,
    'maskd_callback_failures_total');

  // (e) a text: the app is asked with the body; the caller's number stays masked
  answer = async () => ({ status: 200, body: JSON.stringify({ decision: 'reject' }) });
  const n = hits.length;
  const tr = await text(S5, P52, `call me on ${S5}`);
  assert.equal(tr.status, 200, tr.text);
  assert.ok(!tr.text.includes(HOST) && !tr.text.includes(SUPPORT), `a rejected text was relayed: ${tr.text}`);
  assert.equal(hits.length, n + 1, 'the callback was not asked about a text');
  const tq = JSON.parse(hits[n].text);
  assert.equal(tq.channel, 'message');
  assert.equal(tq.from, masked(S5));
  assert.equal(tq.to, P52);
  assert.equal(typeof tq.body, 'string');

  // (f) "forward" for a text: relayed to the app's number from the proxy number it was sent to
  answer = async () => ({ status: 200, body: JSON.stringify({ decision: 'forward', number: APP_FORWARD }) });
  const fw = await text(S5, P52, 'where is my order?');
  assertXml(fw, markup.reply(DIALECT, { to: APP_FORWARD, from: P52, body: 'where is my order?' }), 'callback forward of a text');

  // no callback body holds a real number (the text body is the sender's own words: skip that field)
  for (const h of hits) {
    const o = JSON.parse(h.text);
    assertNoRealNumbersAny(JSON.stringify({ ...o, body: null }), REALS, `callback body ${h.text}`);
  }
  // every callback is signed with its service's callback_secret: v1=HMAC-SHA256(secret, ts "." body)
  const secrets = [open.unknown_caller.callback_secret, closed.unknown_caller.callback_secret];
  assert.match(secrets[0], /^[0-9a-f]{64}$/);
  assert.notEqual(secrets[0], secrets[1], 'two services share a callback secret');
  assert.equal((await d.api('GET', `/v1/services/${open.id}`)).json.unknown_caller.callback_secret, secrets[0]);
  for (const h of hits) {
    const ts = h.headers['x-maskd-timestamp'];
    assert.ok(Math.abs(Date.now() / 1000 - Number(ts)) < 300, `timestamp ${ts}`);
    const sigs = secrets.map((k) => `v1=${crypto.createHmac('sha256', k).update(`${ts}.${h.text}`).digest('hex')}`);
    assert.ok(sigs.includes(h.headers['x-maskd-signature']), `bad callback signature ${h.headers['x-maskd-signature']}`);
  }
});

ptest('number swap: named and null, recorded as an event; the number it already holds → 409', async () => {
  const [P60, P61, P62, P63] = [proxy(60), proxy(61), proxy(62), proxy(63)];
  const A = r415(600);
  const B = r415(601);
  const svc = await service();
  const added = await addPool(d, svc.id, [P60, P61, P62, P63]);
  const s = await createSession(d, svc.id, { participants: [[A, 'Rider', P60], [B, 'Driver', P61]] });
  const [pa, pb] = s.participants.map((p) => p.id);
  const swap = (par, proxyNumber) => d.api('PATCH', `/v1/sessions/${s.id}/participants/${par}`, { proxy_number: proxyNumber });

  const r1 = expectStatus(await swap(pa, P62), 200, 'swap to a named number');
  assert.equal(r1.id, s.id);
  assert.deepEqual(proxiesOf(r1), [P62, P61]);
  let events = (await sessionEvents(d, s.id)).filter((e) => e.kind === 'number_swapped');
  assert.equal(events.length, 1, JSON.stringify(events));
  assert.match(events[0].id, /^evt_/);
  assert.equal(events[0].participant_id, pa);
  assert.equal(events[0].detail, `${P60} -> ${P62}`);
  assertBridge(await call(A, P62), { callerId: P61, real: B }, 'A on its new number');
  assertBridge(await call(B, P61), { callerId: P62, real: A }, 'B sees A\'s new number');
  // the old binding is released at once: A is an unknown caller on it
  assertReject(await call(A, P60), UNKNOWN_MESSAGE, 'A on its old number');
  const nums = await numbersByE164(d, svc.id);
  assert.equal(nums[P60].in_use, 0);
  assert.equal(nums[P60].cooling_off, 0);

  const r2 = expectStatus(await swap(pa, null), 200, 'swap, maskd picks');
  const picked = r2.participants[0].proxy_number;
  assert.ok([P60, P61, P63].includes(picked), `picked ${picked}`);
  assert.equal(r2.participants[1].proxy_number, P61);
  events = (await sessionEvents(d, s.id)).filter((e) => e.kind === 'number_swapped');
  assert.equal(events.length, 2);
  assert.equal(events[1].detail, `${P62} -> ${picked}`);

  const refused = async (res, what) => {
    assert.equal(res.status, 409, `${what}: HTTP ${res.status} ${res.text}`);
    assert.ok(res.json?.error?.code, `${what}: ${res.text}`);
  };
  await refused(await swap(pa, picked), 'the number it already holds');
  await refused(await swap(pa, NOT_IN_POOL), 'a number not in the pool');
  const toRetire = [P60, P63].find((x) => x !== picked);
  await setNumberState(d, added.find((n) => n.number === toRetire).id, 'retired');
  await refused(await swap(pb, toRetire), 'a retired number');
  await closeSession(d, s.id);
  await refused(await swap(pb, null), 'a closed session');
  assert.equal((await sessionEvents(d, s.id)).filter((e) => e.kind === 'number_swapped').length, 2);
});

ptest('re-open, create-or-return by unique_name, single-party sessions', async () => {
  const [P70, P71, P72] = [proxy(70), proxy(71), proxy(72)];
  const [A, B, E, F, G, H, I, J] = Array.from({ length: 8 }, (_, i) => r415(700 + i));
  const svc = await service();
  await addPool(d, svc.id, [P70, P71, P72]);

  // re-open a closed session: same numbers, routing again
  const s = await createSession(d, svc.id, { participants: [[A, 'Rider'], [B, 'Driver']] });
  await closeSession(d, s.id);
  const re = expectStatus(await patchSession(d, s.id, { status: 'open' }), 200, 're-open');
  assert.equal(re.status, 'open');
  assert.deepEqual(proxiesOf(re), proxiesOf(s));
  assertBridge(await call(A, s.participants[0].proxy_number), { callerId: s.participants[1].proxy_number, real: B },
    'after re-open');
  // and a blocked one
  expectStatus(await patchSession(d, s.id, { status: 'blocked' }), 200, 'block');
  assert.equal(expectStatus(await patchSession(d, s.id, { status: 'open' }), 200, 're-open blocked').status, 'open');
  const kinds = (await sessionEvents(d, s.id)).map((e) => e.kind);
  assert.deepEqual(kinds.filter((k) => ['closed', 'blocked', 'reopened'].includes(k)),
    ['closed', 'reopened', 'blocked', 'reopened'], `events: ${kinds.join(',')}`);

  // create-or-return
  const u1 = await postSession(d, svc.id, { unique_name: 'order-11', participants: [[E, 'Rider'], [F, 'Driver']] });
  const first = expectStatus(u1, 201, 'first create');
  const u2 = await postSession(d, svc.id, { unique_name: 'order-11', participants: [[E, 'Rider'], [F, 'Driver']] });
  assert.equal(expectStatus(u2, 200, 'same pair again').id, first.id);
  assert.deepEqual(proxiesOf(u2.json), proxiesOf(first));
  const u3 = await postSession(d, svc.id, { unique_name: 'order-11', participants: [[F], [E]] });
  assert.equal(expectStatus(u3, 200, 'same pair, other order').id, first.id);
  expectError(await postSession(d, svc.id, { unique_name: 'order-11', participants: [[E], [G]] }), 409, 'conflict');
  assert.equal((await listSessions(d, svc.id, 'unique_name=order-11')).length, 1);

  // single-party session
  const sp = await createSession(d, svc.id, { participants: [[H, 'Rider']] });
  assert.equal(sp.participants.length, 1);
  assert.equal(sp.status, 'open');
  const hp = sp.participants[0].proxy_number;
  assertReject(await call(H, hp), NOT_JOINED, 'lone participant calls');
  const add = await d.api('POST', `/v1/sessions/${sp.id}/participants`, { number: I, label: 'Driver' });
  const full = expectStatus(add, 201, 'add the second participant');
  assert.equal(full.participants.length, 2);
  assert.equal(full.participants[1].number, masked(I));
  assert.equal(full.participants[1].label, 'Driver');
  assertBridge(await call(H, hp), { callerId: full.participants[1].proxy_number, real: I }, 'after the second joined');
  assert.ok((await sessionEvents(d, sp.id)).some((e) => e.kind === 'participant_added'));
  const third = await d.api('POST', `/v1/sessions/${sp.id}/participants`, { number: J, label: 'Third' });
  assert.equal(third.status, 409, `a third participant: HTTP ${third.status} ${third.text}`);
});

ptest('re-open: 409 once another session took the binding; an expired session needs a new expires_at', async () => {
  const P74 = proxy(74);
  const [A, B, C] = [r415(750), r415(751), r415(752)];
  const svc = await service({ defaults: { cooloff: 0 } });
  await addNumber(d, svc.id, P74);
  const s = await createSession(d, svc.id, { participants: [[A], [B]] });
  await closeSession(d, s.id);
  await createSession(d, svc.id, { participants: [[A], [C]] }); // takes (A, P74) again
  const r = await patchSession(d, s.id, { status: 'open' });
  assert.equal(r.status, 409, `re-open with a taken binding: HTTP ${r.status} ${r.text}`);
  assert.equal((await getSession(d, s.id)).status, 'closed');

  const P75 = proxy(75);
  const [D, E] = [r415(753), r415(754)];
  const svc2 = await service();
  await addNumber(d, svc2.id, P75);
  const x = await createSession(d, svc2.id, { expires_at: rfc3339In(1), participants: [[D], [E]] });
  await waitFor('the session to expire', async () => (await getSession(d, x.id)).status === 'closed',
    { timeoutMs: 10_000, intervalMs: 200 });
  const noExpiry = await patchSession(d, x.id, { status: 'open' });
  assert.ok(noExpiry.status >= 400 && noExpiry.status < 500, `re-open past expires_at: HTTP ${noExpiry.status} ${noExpiry.text}`);
  const ok = expectStatus(await patchSession(d, x.id, { status: 'open', expires_at: rfc3339In(3600) }), 200,
    're-open with a new expires_at');
  assert.equal(ok.status, 'open');
  assert.deepEqual(proxiesOf(ok), [P75, P75]);
});

ptest('rate limits: the third call in an hour hears the message (or nothing with silent); texts dropped', async () => {
  const [P80, P81, P82] = [proxy(80), proxy(81), proxy(82)];
  const [A, B, C, D] = [r415(800), r415(801), r415(802), r415(803)];
  const svc = await service({ rate_limits: { calls_per_hour: 2, texts_per_hour: 1 } });
  assert.deepEqual(svc.rate_limits, { calls_per_hour: 2, texts_per_hour: 1, silent: false });
  await addPool(d, svc.id, [P80, P81]);
  await createSession(d, svc.id, { participants: [[A, 'Rider', P80], [B, 'Driver', P81]] });
  const calls0 = (await metricValue(d, 'maskd_rate_limited_calls_total')) ?? 0;
  const texts0 = (await metricValue(d, 'maskd_rate_limited_texts_total')) ?? 0;
  assertBridge(await call(A, P80), { callerId: P81, real: B }, 'first call');
  assertBridge(await call(A, P80), { callerId: P81, real: B }, 'second call');
  assertReject(await call(A, P80), TOO_MANY_CALLS, 'third call');
  assertBridge(await call(B, P81), { callerId: P80, real: A }, 'the other participant has its own count');
  assertForward(await text(A, P80, 'one'), { to: B, from: P81, body: 'one' }, 'first text');
  const dropped = await text(A, P80, 'two');
  assertEmpty(dropped, 'second text');
  assert.equal(await metricValue(d, 'maskd_rate_limited_calls_total'), calls0 + 1);
  assert.equal(await metricValue(d, 'maskd_rate_limited_texts_total'), texts0 + 1);

  const quiet = await service({ rate_limits: { calls_per_hour: 1, silent: true } });
  await addNumber(d, quiet.id, P82);
  await createSession(d, quiet.id, { participants: [[C], [D]] });
  assertBridge(await call(C, P82), { callerId: P82, real: D }, 'first call (silent)');
  assertXml(await call(C, P82), markup.expectedSilentReject(DIALECT), 'second call (silent)');
});

test('API rate limit: MASKD_API_RATE=5 → 429 rate_limited with Retry-After', async () => {
  const d2 = await startDaemon({ env: { MASKD_API_RATE: '5' } });
  let ok = false;
  try {
    const answers = [];
    for (let i = 0; i < 12; i++) answers.push(await d2.api('GET', '/v1/services'));
    const limited = answers.filter((a) => a.status === 429);
    assert.ok(answers.filter((a) => a.status === 200).length >= 1, 'no request was allowed');
    assert.ok(limited.length >= 1, `no 429 in 12 requests: ${answers.map((a) => a.status).join(' ')}`);
    assert.ok(answers.slice(0, 5).every((a) => a.status === 200), `the first 5 must pass: ${answers.map((a) => a.status).join(' ')}`);
    const e = expectError(limited[0], 429, 'rate_limited');
    assert.ok(e);
    const ra = limited[0].headers['retry-after'];
    assert.match(ra ?? '', /^\d+$/, `Retry-After: ${ra}`);
    assert.ok(Number(ra) >= 1 && Number(ra) <= 2, `Retry-After ${ra} for a per-second window`);
    assert.ok((await metricValue(d2, 'maskd_api_rate_limited_total')) >= limited.length);
    await delay(Number(ra) * 1000);
    assert.equal((await d2.api('GET', '/v1/services')).status, 200, 'still limited after Retry-After');
    ok = true;
  } finally {
    await d2.stop();
    if (ok) await d2.removeTmp();
    else process.stderr.write(`# rate-limit daemon kept: ${d2.tmp}\n`);
  }
});

ptest('pool visibility: GET /pool totals, by_area_code, headroom; /metrics maskd_bindings_cooling', async () => {
  const [NY10, NY11, MV10, NY12, MV11] = [proxy(10, '212'), proxy(11, '212'), proxy(10, '650'), proxy(12, '212'),
    proxy(11, '650')];
  const [A, B, C, D] = [r415(900), r415(901), r415(902), r415(903)];
  const CAP = 3;
  const svc = await service({ defaults: { number_cap: CAP } });
  await addPool(d, svc.id, [NY10, NY11, MV10, LDN2]);
  await addNumber(d, svc.id, NY12, { reserved: true });
  const retired = await addNumber(d, svc.id, MV11);
  await setNumberState(d, retired.id, 'retired');
  const open = await createSession(d, svc.id, { participants: [[A], [B]] });
  const gone = await createSession(d, svc.id, { participants: [[C], [D]] });
  await closeSession(d, gone.id);
  const nums = await numbersByE164(d, svc.id);
  const sessions = Object.values(nums).reduce((n, x) => n + x.in_use, 0);
  assert.equal(sessions, new Set(proxiesOf(open)).size);
  assert.equal(Object.values(nums).reduce((n, x) => n + x.cooling_off, 0), 2);

  const pool = await getPool(d, svc.id);
  assert.equal(pool.service_id, svc.id);
  assert.equal(pool.number_cap, CAP);
  const tot = pool.total;
  assert.deepEqual(
    { numbers: tot.numbers, active: tot.active, reserved: tot.reserved, retired: tot.retired, sessions: tot.sessions,
      cooling_off: tot.cooling_off, capacity: tot.capacity, headroom: tot.headroom },
    { numbers: 6, active: 4, reserved: 1, retired: 1, sessions, cooling_off: 2, capacity: 4 * CAP,
      headroom: 4 * CAP - sessions });
  assert.ok(Math.abs(tot.utilisation - sessions / (4 * CAP)) < 1e-9, `utilisation ${tot.utilisation}`);
  assert.deepEqual(Object.keys(pool.by_area_code).sort(), ['GB/20', 'US/212', 'US/650']);
  assert.equal(pool.by_area_code['US/212'].numbers, 3);
  assert.equal(pool.by_area_code['US/212'].reserved, 1);
  assert.equal(pool.by_area_code['US/650'].retired, 1);
  assert.equal(pool.by_area_code['GB/20'].numbers, 1);
  assert.equal(pool.by_area_code['GB/20'].capacity, CAP);
  assert.equal(pool.by_country.US.numbers, 5);
  assert.equal(pool.by_country.GB.numbers, 1);
  assert.equal(pool.by_capability.voice.numbers, 6);
  assert.deepEqual(pool.participants, { with_open_sessions: 2, max_sessions_of_one: 1, headroom_of_busiest: 3 });
  expectError(await d.api('GET', '/v1/services/svc_doesnotexist/pool'), 404, 'not_found');

  // the store gauges are refreshed by the sweeper (each MASKD_SWEEP_INTERVAL), not per scrape
  await waitFor('maskd_bindings_cooling >= 2', async () => (await metricValue(d, 'maskd_bindings_cooling')) >= 2);
  for (const m of ['maskd_pool_numbers_active', 'maskd_bindings_active', 'maskd_pool_exhausted_total',
    'maskd_pool_warnings_total']) {
    assert.notEqual(await metricValue(d, m), null, `${m} missing from /metrics`);
  }
});

test('the log holds no real number of this file', () => {
  assertLogClean(d, REALS);
});
