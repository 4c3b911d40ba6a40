// SPDX-License-Identifier: MIT
// PATCH /v1/services/{id} (docs/API.md): an operator changes a running service — its
// name, defaults, unknown-caller policy, rate limits and carrier credentials — and the
// next webhook follows the change: a new unknown-caller message is heard, a rotated
// Twilio auth token signs (the old one is refused), a forward policy bridges strangers to
// the fallback line. Bad input is refused with the POST's answers and changes nothing;
// credentials are never echoed.

import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { before, test } from 'node:test';

import { useDaemon } from './lib/daemon.mjs';
import {
  addNumber, cleanTest, assertLogClean, createService, createSession, expectError, expectStatus,
  voiceParams,
} from './lib/fixtures.mjs';
import * as markup from './lib/markup.mjs';
import { assertValid, proxy, real } from './lib/numbers.mjs';

const d = useDaemon();
const DIALECT = 'twilio';

// Pool numbers and the fallback line (not secret).
const SUPPORT = proxy(99, '415');
assertValid(SUPPORT);

// Real numbers (secret): none may appear in an API answer or the log.
const REALS = [];
const r = (i) => { const n = real(700 + i); REALS.push(n); return n; };

let seq = 0;
let numSeq = 10;

/** A Twilio-only service with one pool number; returns {svc, number}. */
async function serviceWithNumber(extra = {}) {
  const svc = await createService(d, { name: `Patch ${++seq}`, signalwire: false, ...extra });
  const number = proxy(numSeq++);
  await addNumber(d, svc.id, number);
  return { svc, number };
}

const patch = (id, body) => d.api('PATCH', `/v1/services/${id}`, body);
const getService = async (id) => expectStatus(await d.api('GET', `/v1/services/${id}`), 200, 'GET service');
const call = (from, to, opts = {}) => d.webhook(DIALECT, 'voice', voiceParams(DIALECT, { from, to }), opts);

function assertXml(res, expected, what) {
  assert.equal(res.status, 200, `${what}: HTTP ${res.status} ${res.text}`);
  assert.match(res.headers['content-type'] ?? '', /^text\/xml\b/, `${what}: Content-Type`);
  assert.equal(res.text, expected, `${what}: differs from the SDK's markup`);
}

/** A test whose API answers are scanned for real numbers and credentials. */
const stest = cleanTest(d, REALS);

before(async () => {
  await d.ready;
});

stest('PATCH defaults.unknown_caller_message: the next stranger hears the new one', async () => {
  const { svc, number } = await serviceWithNumber({ defaults: { unknown_caller_message: 'Old message.' } });
  const stranger = r(0);
  assertXml(await call(stranger, number), markup.rejectVoice(DIALECT, 'Old message.'), 'before');
  const res = expectStatus(await patch(svc.id, { defaults: { unknown_caller_message: 'New message.' } }), 200, 'PATCH');
  assert.equal(res.defaults.unknown_caller_message, 'New message.');
  // everything else as it was, in the GET's shape
  const got = await getService(svc.id);
  assert.deepEqual(res, got);
  assert.equal(got.name, svc.name);
  assert.equal(got.created_at, svc.created_at);
  assert.deepEqual({ ...got.defaults, unknown_caller_message: 'x' }, { ...svc.defaults, unknown_caller_message: 'x' });
  assert.deepEqual(got.unknown_caller, svc.unknown_caller);
  assert.deepEqual(got.rate_limits, svc.rate_limits);
  assert.deepEqual(got.carriers, svc.carriers);
  assertXml(await call(stranger, number), markup.rejectVoice(DIALECT, 'New message.'), 'after');
});

stest('PATCH name, defaults and rate_limits: only the fields given change', async () => {
  const { svc } = await serviceWithNumber({ defaults: { ttl: 600, mode: 'voice' } });
  const res = expectStatus(await patch(svc.id, {
    name: 'Renamed', defaults: { number_cap: 5, geo_match: 'area-code', cooloff: 0 },
    rate_limits: { calls_per_hour: 7 },
  }), 200);
  assert.equal(res.name, 'Renamed');
  assert.equal(res.defaults.number_cap, 5);
  assert.equal(res.defaults.geo_match, 'area-code');
  assert.equal(res.defaults.cooloff, 0);
  assert.equal(res.defaults.ttl, 600);
  assert.equal(res.defaults.mode, 'voice');
  assert.equal(res.rate_limits.calls_per_hour, 7);
  assert.equal(res.rate_limits.texts_per_hour, svc.rate_limits.texts_per_hour);
  assert.deepEqual(await getService(svc.id), res);
  const list = expectStatus(await d.api('GET', '/v1/services'), 200).services;
  assert.equal(list.find((s) => s.id === svc.id).name, 'Renamed');
});

stest('rotate the Twilio auth token: the old signature is refused 403, the new one passes; secrets never echoed', async () => {
  const { svc, number } = await serviceWithNumber();
  const stranger = r(1);
  const oldToken = d.tokens.twilio;
  const newToken = `twtok_rotated_${crypto.randomBytes(16).toString('hex')}`;
  assert.equal((await call(stranger, number)).status, 200, 'old token before the rotation');
  const res = expectStatus(await patch(svc.id, { carriers: { twilio: { auth_token: newToken } } }), 200, 'rotate');
  assert.deepEqual(res.carriers.twilio, { configured: true });
  for (const text of [JSON.stringify(res), JSON.stringify(await getService(svc.id))]) {
    assert.ok(!text.includes(newToken) && !text.includes(oldToken), `a credential echoed: ${text}`);
  }
  assert.equal((await call(stranger, number)).status, 403, 'old token after the rotation');
  assert.equal((await call(stranger, number, { token: newToken })).status, 200, 'new token');
  // a carrier can be added and removed; removing Twilio refuses its webhooks
  const sw = `PSK_${crypto.randomBytes(16).toString('hex')}`;
  const added = expectStatus(await patch(svc.id, { carriers: { signalwire: { signing_key: sw } } }), 200);
  assert.equal(added.carriers.signalwire.configured, true);
  assert.equal(added.carriers.twilio.configured, true, 'naming one carrier leaves the others');
  const removed = expectStatus(await patch(svc.id, { carriers: { twilio: null } }), 200);
  assert.equal(removed.carriers.twilio.configured, false);
  assert.equal(removed.carriers.signalwire.configured, true);
  assert.equal((await call(stranger, number, { token: newToken })).status, 403, 'twilio removed');
  const log = d.logTail(16 * 1024 * 1024);
  for (const s of [newToken, sw]) assert.ok(!log.includes(s), 'a credential in the log');
});

stest('switch unknown_caller to forward: a stranger is bridged to the fallback line; participants as usual', async () => {
  const { svc, number } = await serviceWithNumber();
  const stranger = r(2);
  const [A, B] = [r(3), r(4)];
  await createSession(d, svc.id, { participants: [[A, 'Rider', number], [B, 'Driver', number]] });
  assert.match((await call(stranger, number)).text, /<Reject|<Hangup/, 'rejected before');
  const res = expectStatus(await patch(svc.id, { unknown_caller: { policy: 'forward', fallback_number: SUPPORT } }), 200);
  assert.equal(res.unknown_caller.policy, 'forward');
  assert.equal(res.unknown_caller.fallback_number, SUPPORT);
  assertXml(await call(stranger, number), markup.expectedBridgeWithoutCallbacks(DIALECT, { callerId: number, real: SUPPORT }),
    'stranger forwarded');
  const bridged = await call(A, number);
  const intId = markup.interactionIdOf(bridged.text);
  assert.ok(intId, `participant not bridged: ${bridged.text}`);
  assertXml(bridged, markup.bridge(DIALECT, { callerId: number, real: B, intId }), 'participant');
  // the unknown_caller object replaces the policy whole: back to reject drops the fallback line
  const back = expectStatus(await patch(svc.id, { unknown_caller: { policy: 'reject' } }), 200);
  assert.equal(back.unknown_caller.policy, 'reject');
  assert.equal(back.unknown_caller.fallback_number, null);
});

stest('bad input → 400 and nothing changed', async () => {
  const { svc } = await serviceWithNumber({ defaults: { unknown_caller_message: 'Keep me.' } });
  const before = await getService(svc.id);
  const cases = [
    [{ colour: 'red' }, 'unknown_field', 'colour'],
    [{ name: 'X', defaults: { shade: 1 } }, 'unknown_field', 'shade'],
    [{ carriers: { twilio: { token: 'x' } } }, 'unknown_field', 'token'],
    [{ carriers: { acme: { auth_token: 'x' } } }, 'unknown_field', 'acme'],
    [{ carriers: { twilio: {} } }, 'missing_field', 'auth_token'],
    [{ carriers: { twilio: { auth_token: '' } } }, 'invalid_field', 'auth_token'],
    [{}, 'missing_field'],
    [{ name: '' }, 'invalid_field', 'name'],
    [{ name: null }, 'invalid_field', 'name'],
    [{ name: 5 }, 'invalid_field', 'name'],
    [{ unknown_caller: { policy: 'forward' } }, 'missing_field', 'fallback_number'],
    [{ unknown_caller: { fallback_number: SUPPORT } }, 'missing_field', 'policy'],
    [{ unknown_caller: { policy: 'pin' } }, 'missing_field', 'pin_number'],
    [{ unknown_caller: { policy: 'callback', callback_url: 'https://app.example/u', callback_fail_open: true } },
      'missing_field', 'fallback_number'],
    [{ unknown_caller: { policy: 'forward', fallback_number: '911' } }, 'invalid_field', 'emergency'],
    [{ defaults: { geo_match: 'city' } }, 'invalid_field', 'geo_match'],
    [{ defaults: { mode: 'fax' } }, 'invalid_field', 'mode'],
    [{ defaults: { unknown_caller_message: '' } }, 'invalid_field', 'unknown_caller_message'],
    [{ rate_limits: { calls_per_hour: -1 } }, 'invalid_field', 'calls_per_hour'],
    // a valid part does not land when another part is refused
    [{ name: 'Half', defaults: { geo_match: 'city' } }, 'invalid_field', 'geo_match'],
    [{ defaults: { unknown_caller_message: 'Half.' }, unknown_caller: { policy: 'forward' } }, 'missing_field',
      'fallback_number'],
  ];
  for (const [body, code, ...mentions] of cases) {
    expectError(await patch(svc.id, body), 400, code, ...mentions);
  }
  expectError(await d.api('PATCH', `/v1/services/${svc.id}`, '[1]'), 400, 'invalid_json');
  expectError(await d.api('PATCH', `/v1/services/${svc.id}`, '{"name":'), 400, 'invalid_json');
  expectError(await d.api('PATCH', `/v1/services/${svc.id}`, 'name=x', { contentType: 'application/x-www-form-urlencoded' }),
    415, 'unsupported_media_type');
  assert.deepEqual(await getService(svc.id), before, 'a refused PATCH changed the service');
});

stest('PATCH an unknown service → 404; no key → 401', async () => {
  const { svc } = await serviceWithNumber();
  const unknown = `svc_${svc.id.slice(4).split('').reverse().join('')}`; // well-formed, not stored
  expectError(await patch(unknown, { name: 'X' }), 404, 'not_found', 'service');
  expectError(await patch('svc_doesnotexist', { name: 'X' }), 404, 'not_found');
  expectError(await d.api('PATCH', `/v1/services/${svc.id}`, { name: 'X' }, { auth: null }), 401, 'unauthorized');
  assert.equal((await getService(svc.id)).name, svc.name);
});

test('the log holds no real number', () => {
  assertLogClean(d, REALS);
});
