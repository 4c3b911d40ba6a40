// SPDX-License-Identifier: MIT
// The intercept (docs/EVENTS.md "Intercept"), seen from outside on two dialects: before a
// bridge or a forwarded text, a service with an intercept_url POSTs the interaction to a
// local app, signed as events are (the npm `standardwebhooks` package verifies it with the
// events secret), masked numbers only; the app allows, denies (said on a call, texted back
// on a text) or replaces a text's body (the carrier markup carries the replacement); a slow
// app fails open or closed as the service says; the decision is recorded on the
// interaction (interactions API, interaction.created event) and a retried webhook is
// answered from it without asking the app again. The settings refuse bad values with a 400
// naming the field and change nothing.

import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, test } from 'node:test';
import { Webhook } from 'standardwebhooks';

import { useDaemon } from './lib/daemon.mjs';
import {
  addPool, assertNoRealNumbers, createService, createSession, expectError, expectStatus, interactions, messageParams,
  sid, voiceParams,
} from './lib/fixtures.mjs';
import { bridge, forward, interactionIdOf, reply, rejectVoice } from './lib/markup.mjs';
import { masked, proxy, real } from './lib/numbers.mjs';

const asks = []; // {headers, body, doc}
const plans = new Map(); // session id -> (doc) => {status, json, delayMs}
const app = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks).toString('utf8');
    const doc = JSON.parse(body);
    asks.push({ headers: req.headers, body, doc });
    const plan = plans.get(doc.data.session_id) ?? (() => ({ json: { action: 'allow' } }));
    const { status = 200, json, delayMs = 0 } = plan(doc);
    setTimeout(() => {
      if (res.destroyed) return;
      res.writeHead(status, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(json ?? {}));
    }, delayMs);
  });
});
await new Promise((resolve) => app.listen(0, '127.0.0.1', resolve));
const APP = `http://127.0.0.1:${app.address().port}/intercept`;
after(() => { app.closeAllConnections(); return new Promise((resolve) => app.close(resolve)); });

const d = useDaemon();
const REALS = [];
let open; // fail open, the default
let closed; // intercept_fail_open false
let plain; // no intercept_url

before(async () => {
  await d.ready;
  open = await createService(d, { name: 'Intercept open', intercept_url: APP, intercept_timeout_ms: 300 });
  closed = await createService(d, {
    name: 'Intercept closed', intercept_url: APP, intercept_timeout_ms: 300, intercept_fail_open: false,
  });
  plain = await createService(d, { name: 'No intercept' });
  await addPool(d, open.id, [proxy(71), proxy(72)]);
  await addPool(d, closed.id, [proxy(73), proxy(74)]);
  await addPool(d, plain.id, [proxy(75), proxy(76)]);
});

let n = 700;
async function pairOn(svc, plan) {
  const a = real(n);
  const b = real(n + 1);
  n += 2;
  REALS.push(a, b);
  const s = await createSession(d, svc.id, { participants: [[a, 'Rider'], [b, 'Driver']] });
  if (plan) plans.set(s.id, plan);
  return { a, b, s, rider: s.participants[0], driver: s.participants[1] };
}

/** The verified asks about session s, in arrival order. */
function asksOf(svc, s) {
  const wh = new Webhook(svc.events_secret);
  return asks.filter((x) => x.doc.data.session_id === s.id).map((x) => {
    const doc = wh.verify(x.body, x.headers); // throws on a bad signature
    assert.equal(x.headers['webhook-id'], doc.id);
    assertNoRealNumbers(x.body, REALS, 'intercept request');
    return doc;
  });
}

async function createdEvent(svcId, intId) {
  const p = expectStatus(await d.api('GET', `/v1/services/${svcId}/events?limit=500`), 200, 'GET events');
  return p.events.find((x) => x.type === 'interaction.created' && x.data.interaction_id === intId);
}

test('settings: shown, defaulted, patched; the events secret is shown with a first intercept_url', async () => {
  assert.ok(open.events_secret?.startsWith('whsec_'), 'the secret is shown at creation with an intercept_url');
  assert.equal(open.intercept_url, APP);
  assert.equal(open.intercept_timeout_ms, 300);
  assert.equal(open.intercept_fail_open, true);
  assert.equal(plain.intercept_url, null);
  assert.equal(plain.intercept_timeout_ms, 2000);
  assert.equal(plain.intercept_fail_open, true);
  const svc = await createService(d, { name: 'Patch me' });
  assert.equal(svc.events_secret, undefined);
  const p = expectStatus(await d.api('PATCH', `/v1/services/${svc.id}`, {
    intercept_url: 'https://app.example.com/intercept', intercept_timeout_ms: 5000, intercept_fail_open: false,
  }), 200, 'PATCH intercept');
  assert.equal(p.intercept_url, 'https://app.example.com/intercept');
  assert.equal(p.intercept_timeout_ms, 5000);
  assert.equal(p.intercept_fail_open, false);
  assert.ok(p.events_secret?.startsWith('whsec_'));
  const bad = [
    [{ intercept_url: 'http://app.example.com/x' }, 'intercept_url'],
    [{ intercept_url: 'ftp://127.0.0.1/x' }, 'intercept_url'],
    [{ intercept_url: 7 }, 'intercept_url'],
    [{ intercept_timeout_ms: 0 }, 'intercept_timeout_ms'],
    [{ intercept_timeout_ms: 5001 }, 'intercept_timeout_ms'],
    [{ intercept_timeout_ms: '100' }, 'intercept_timeout_ms'],
    [{ intercept_fail_open: 'yes' }, 'intercept_fail_open'],
    [{ name: 'changed', intercept_timeout_ms: -1 }, 'intercept_timeout_ms'],
  ];
  for (const [body, field] of bad) {
    expectError(await d.api('PATCH', `/v1/services/${svc.id}`, body), 400, 'invalid_field', field);
    expectError(await d.api('POST', '/v1/services', { name: 'Bad', ...body }), 400, 'invalid_field', field);
  }
  const got = expectStatus(await d.api('GET', `/v1/services/${svc.id}`), 200, 'GET service');
  assert.equal(got.name, 'Patch me');
  assert.equal(got.intercept_url, 'https://app.example.com/intercept');
  assert.equal(got.intercept_timeout_ms, 5000);
  assert.equal(got.intercept_fail_open, false);
  const cleared = expectStatus(await d.api('PATCH', `/v1/services/${svc.id}`, { intercept_url: null }), 200, 'clear');
  assert.equal(cleared.intercept_url, null);
});

for (const dialect of ['twilio', 'signalwire']) {
  test(`${dialect}: an allowed call is bridged; the signed request names ids and masked numbers; a retry asks nothing`, async () => {
    const { a, b, s, rider, driver } = await pairOn(open, () => ({ json: { action: 'allow' } }));
    const callSid = sid(dialect, 'CA');
    const res = await d.webhook(dialect, 'voice', voiceParams(dialect, { from: a, to: rider.proxy_number, callSid }));
    assert.equal(res.status, 200);
    const intId = interactionIdOf(res.text);
    assert.equal(res.text, bridge(dialect, { callerId: driver.proxy_number, real: b, intId }));
    const [ask] = asksOf(open, s);
    assert.equal(ask.type, 'interaction.intercept');
    assert.equal(ask.id, intId);
    assert.equal(ask.service_id, open.id);
    assert.deepEqual(ask.data, {
      interaction_id: intId, session_id: s.id, channel: 'voice', carrier: dialect, carrier_sid: callSid,
      from_participant_id: rider.id, to_participant_id: driver.id, from: masked(a), to: masked(b),
      proxy_number: rider.proxy_number,
    });
    const again = await d.webhook(dialect, 'voice', voiceParams(dialect, { from: a, to: rider.proxy_number, callSid }));
    assert.equal(again.text, res.text);
    assert.equal(asksOf(open, s).length, 1, 'the retried webhook did not ask the app again');
    const [it] = await interactions(d, s.id);
    assert.equal(it.intercept, 'allowed');
    assert.equal((await createdEvent(open.id, intId)).data.intercept, 'allowed');
  });

  test(`${dialect}: a denied call hears the app's message; a retry hears it again without asking`, async () => {
    const { a, s, rider } = await pairOn(open, () => ({ json: { action: 'deny', message: 'This driver is off duty.' } }));
    const callSid = sid(dialect, 'CA');
    const res = await d.webhook(dialect, 'voice', voiceParams(dialect, { from: a, to: rider.proxy_number, callSid }));
    assert.equal(res.status, 200);
    assert.equal(res.text, rejectVoice(dialect, 'This driver is off duty.'));
    const again = await d.webhook(dialect, 'voice', voiceParams(dialect, { from: a, to: rider.proxy_number, callSid }));
    assert.equal(again.text, res.text);
    assert.equal(asksOf(open, s).length, 1);
    const [it] = await interactions(d, s.id);
    assert.equal(it.intercept, 'denied');
    assert.equal(it.decision, 'reject');
    const ev = await createdEvent(open.id, it.id);
    assert.equal(ev.data.intercept, 'denied');
    assert.equal(ev.data.reason, 'intercepted');
  });

  test(`${dialect}: a denied text is answered with the app's message, not relayed`, async () => {
    const { a, s, rider } = await pairOn(open, () => ({ json: { action: 'deny', message: 'No links, please.' } }));
    const res = await d.webhook(dialect, 'message',
      messageParams(dialect, { from: a, to: rider.proxy_number, body: 'see http://x.example' }));
    assert.equal(res.status, 200);
    assert.equal(res.text, reply(dialect, { to: a, from: rider.proxy_number, body: 'No links, please.' }));
    const [ask] = asksOf(open, s);
    assert.equal(ask.data.body, 'see http://x.example');
    assert.equal(ask.data.media_count, 0);
    const [it] = await interactions(d, s.id);
    assert.equal(it.intercept, 'denied');
  });

  test(`${dialect}: a replaced body reaches the carrier markup; a retry forwards the replacement without asking`, async () => {
    const { a, b, s, rider, driver } = await pairOn(open,
      () => ({ json: { action: 'allow', body: 'call me at [redacted]' } }));
    const messageSid = sid(dialect, 'SM');
    const params = messageParams(dialect, { from: a, to: rider.proxy_number, body: 'call me at 415 555 9999', messageSid });
    const res = await d.webhook(dialect, 'message', params);
    assert.equal(res.status, 200);
    const intId = interactionIdOf(res.text);
    assert.equal(res.text, forward(dialect, { to: b, from: driver.proxy_number, intId, body: 'call me at [redacted]' }));
    const again = await d.webhook(dialect, 'message', params);
    assert.equal(again.text, res.text);
    assert.equal(asksOf(open, s).length, 1);
    const [it] = await interactions(d, s.id);
    assert.equal(it.intercept, 'replaced');
    assert.equal((await createdEvent(open.id, intId)).data.intercept, 'replaced');
  });
}

test('a slow app: the call is bridged on a fail-open service', async () => {
  const { a, b, s, rider, driver } = await pairOn(open, () => ({ delayMs: 1500, json: { action: 'deny' } }));
  const res = await d.webhook('twilio', 'voice', voiceParams('twilio', { from: a, to: rider.proxy_number }));
  assert.equal(res.status, 200);
  const intId = interactionIdOf(res.text);
  assert.equal(res.text, bridge('twilio', { callerId: driver.proxy_number, real: b, intId }));
  const [it] = await interactions(d, s.id);
  assert.equal(it.intercept, 'failed_open');
});

test('a slow app: the call is refused with the refusal text on a fail-closed service', async () => {
  const { a, s, rider } = await pairOn(closed, () => ({ delayMs: 1500, json: { action: 'allow' } }));
  const res = await d.webhook('twilio', 'voice', voiceParams('twilio', { from: a, to: rider.proxy_number }));
  assert.equal(res.status, 200);
  assert.equal(res.text, rejectVoice('twilio', closed.defaults.unknown_caller_message));
  const [it] = await interactions(d, s.id);
  assert.equal(it.intercept, 'failed_closed');
  assert.equal(it.decision, 'reject');
});

test('a non-2xx or garbage answer fails closed on a fail-closed service (a text gets the refusal text)', async () => {
  const { a, s, rider } = await pairOn(closed, (doc) => (doc.data.body === 'one'
    ? { status: 500, json: { action: 'allow' } }
    : { json: { action: 'perhaps' } }));
  for (const body of ['one', 'two']) {
    const res = await d.webhook('twilio', 'message', messageParams('twilio', { from: a, to: rider.proxy_number, body }));
    assert.equal(res.status, 200);
    assert.equal(res.text, reply('twilio', { to: a, from: rider.proxy_number, body: 'Your message was not delivered.' }));
  }
  const its = await interactions(d, s.id);
  assert.deepEqual(its.map((x) => x.intercept), ['failed_closed', 'failed_closed']);
});

test('a service without intercept_url asks nothing and records no intercept', async () => {
  const { a, b, s, rider, driver } = await pairOn(plain);
  const res = await d.webhook('twilio', 'voice', voiceParams('twilio', { from: a, to: rider.proxy_number }));
  const intId = interactionIdOf(res.text);
  assert.equal(res.text, bridge('twilio', { callerId: driver.proxy_number, real: b, intId }));
  assert.equal(asks.filter((x) => x.doc.data.session_id === s.id).length, 0);
  const [it] = await interactions(d, s.id);
  assert.equal(it.intercept, undefined);
  assert.equal((await createdEvent(plain.id, intId)).data.intercept, undefined);
});
