// SPDX-License-Identifier: MIT
// GET /v1/stats, the /metrics counters as JSON for the admin console: it needs
// the API key, has every outcome of every dialect, counts a bridged call and a
// bad signature as they happen (in total and under the dialect), counts
// session creates, and holds no number, real or proxy.

import assert from 'node:assert/strict';
import test from 'node:test';

import { useDaemon, waitFor } from './lib/daemon.mjs';
import { addNumber, assertNoRealNumbersAny, createService, createSession, expectError, expectStatus, voiceParams } from './lib/fixtures.mjs';

const d = useDaemon();
const OUTCOMES = ['bridge', 'forward_message', 'reject', 'acknowledge', 'status', 'retried', 'bad_signature',
  'bad_request', 'unknown_number', 'error'];
const RIDER = '+14152371234';
const DRIVER = '+14152375678';
const POOL = ['+14155550100', '+14155550101'];

async function stats() {
  return expectStatus(await d.api('GET', '/v1/stats'), 200, 'GET /v1/stats');
}

test('GET /v1/stats needs the key', async () => {
  await d.ready;
  expectError(await d.api('GET', '/v1/stats', undefined, { auth: null }), 401, 'unauthorized');
  expectError(await d.api('GET', '/v1/stats', undefined, { auth: 'Bearer wrong-key-wrong-key' }), 401, 'unauthorized');
  expectError(await d.api('POST', '/v1/stats', {}), 405, 'method_not_allowed');
});

test('the counters move with webhooks and creates, and hold no number', async () => {
  await d.ready;
  const before = await stats();
  assert.deepEqual(Object.keys(before.webhooks), OUTCOMES);
  assert.deepEqual(Object.keys(before.webhooks_by_dialect), ['twilio', 'signalwire', 'telnyx', 'plivo', 'vobiz', 'vonage', 'sip']);
  for (const o of Object.values(before.webhooks_by_dialect)) assert.deepEqual(Object.keys(o), OUTCOMES);
  for (const k of ['requests', 'errors', 'rate_limited']) assert.equal(typeof before.api[k], 'number');

  const svc = await createService(d);
  for (const n of POOL) await addNumber(d, svc.id, n);
  const ses = await createSession(d, svc.id, { participants: [[RIDER, 'Rider'], [DRIVER, 'Driver']] });
  const proxy = ses.participants[0].proxy_number;
  const ok = await d.webhook('twilio', 'voice', voiceParams('twilio', { from: RIDER, to: proxy }));
  assert.equal(ok.status, 200);
  const bad = await d.webhook('twilio', 'voice', voiceParams('twilio', { from: RIDER, to: proxy }), { token: 'not-the-token' });
  assert.equal(bad.status, 403);

  const after = await stats();
  assert.equal(after.webhooks.bridge, before.webhooks.bridge + 1);
  assert.equal(after.webhooks_by_dialect.twilio.bridge, before.webhooks_by_dialect.twilio.bridge + 1);
  assert.equal(after.webhooks.bad_signature, before.webhooks.bad_signature + 1);
  assert.equal(after.webhooks_by_dialect.signalwire.bridge, before.webhooks_by_dialect.signalwire.bridge);
  assert.equal(after.sessions.created, before.sessions.created + 1);
  assert.ok(after.api.requests > before.api.requests);
  // the store copy comes from the sweeper (every second here): it shows the open session
  const withStore = await waitFor('the store gauges to show the open session', async () => {
    const s = await stats();
    return s.store && s.store.sessions_open >= 1 ? s : null;
  });
  assert.equal(withStore.store.numbers, 2);
  assert.equal(withStore.store.services, 1);
  const text = JSON.stringify(withStore);
  assertNoRealNumbersAny(text, [RIDER, DRIVER, ...POOL], 'GET /v1/stats');
});
