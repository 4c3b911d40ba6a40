// SPDX-License-Identifier: MIT
// The events the webhook path writes (docs/EVENTS.md), seen from outside, on two dialects:
// interaction.created for a bridge, a forwarded text and a refusal (with its reason), written
// once (a retried webhook writes no second one); leg.updated and leg.completed from the
// carrier's status callbacks (status, billable seconds); message.opted_out / .opted_in from
// STOP / START texts; number.retired when a number is retired by the API. Each is delivered to the service's events_url signed as Standard
// Webhooks says (the npm `standardwebhooks` package verifies it) and pulled, the same
// document, from GET /v1/services/{id}/events; a service without events_url only records
// them; no delivered or pulled document holds a real number.

import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { Webhook } from 'standardwebhooks';

import { useDaemon, waitFor } from './lib/daemon.mjs';
import {
  addPool, assertNoRealNumbers, closeSession, createService, createSession, expectStatus, interactions, messageParams,
  sid, voiceParams,
} from './lib/fixtures.mjs';
import { interactionIdOf } from './lib/markup.mjs';
import { masked, proxy, real } from './lib/numbers.mjs';
import { eventReceiver } from './lib/receiver.mjs';

const { url: RECEIVER, deliveries } = await eventReceiver(); // {headers, body} of each POST

const d = useDaemon({ env: { MASKD_SEND_RETRY_MS: '50' } });
const REALS = [];
let svc;
let secret;

before(async () => {
  await d.ready;
  svc = await createService(d, { name: 'Webhook events', events_url: `${RECEIVER}/events` });
  secret = svc.events_secret;
  await addPool(d, svc.id, [proxy(61), proxy(62), proxy(63), proxy(64)]);
});

/** Every delivered document, verified, in arrival order. */
function delivered() {
  const wh = new Webhook(secret);
  return deliveries.map((x) => {
    const doc = wh.verify(x.body, x.headers); // throws on a bad signature
    assert.equal(x.headers['webhook-id'], doc.id);
    return doc;
  });
}

async function pulled(serviceId) {
  const out = [];
  let cursor = null;
  for (let page = 0; page < 100; page++) {
    const q = `limit=500${cursor ? `&after=${cursor}` : ''}`;
    const p = expectStatus(await d.api('GET', `/v1/services/${serviceId}/events?${q}`), 200, 'GET events');
    out.push(...p.events);
    if (p.next === null) return out;
    cursor = p.next;
  }
  throw new Error('the cursor never ended');
}

/** The documents of type `type` about interaction / number `key`, delivered and pulled (the same). */
async function eventsOf(type, match, count) {
  await waitFor(`${count} ${type} delivered`, () => delivered().filter((x) => x.type === type && match(x)).length >= count);
  const got = delivered().filter((x) => x.type === type && match(x));
  const pull = (await pulled(svc.id)).filter((x) => x.type === type && match(x));
  assert.deepEqual(pull, got, 'the pull API returns the documents delivered');
  return got;
}

let n = 600;
function people() {
  const pair = [real(n), real(n + 1)];
  n += 2;
  REALS.push(...pair);
  return pair;
}

for (const dialect of ['twilio', 'signalwire']) {
  test(`${dialect}: a bridged call is interaction.created once; its callbacks are leg.updated then leg.completed`, async () => {
    const [a, b] = people();
    const s = await createSession(d, svc.id, { participants: [[a, 'Rider'], [b, 'Driver']] });
    const [rider, driver] = s.participants;
    const callSid = sid(dialect, 'CA');
    const res = await d.webhook(dialect, 'voice', voiceParams(dialect, { from: a, to: rider.proxy_number, callSid }));
    assert.equal(res.status, 200);
    const intId = interactionIdOf(res.text);
    assert.ok(intId, res.text);
    // the carrier retries the same webhook: the same answer, no second event
    const again = await d.webhook(dialect, 'voice', voiceParams(dialect, { from: a, to: rider.proxy_number, callSid }));
    assert.equal(again.text, res.text);

    const child = sid(dialect, 'CA');
    for (const CallStatus of ['ringing', 'in-progress', 'completed']) {
      const p = { CallSid: child, ParentCallSid: callSid, CallStatus, AccountSid: 'AC1' };
      if (CallStatus === 'completed') p.CallDuration = '42';
      expectStatus(await d.webhook(dialect, 'status', p, { query: { interaction: intId } }), 200, CallStatus);
    }
    const [created] = await eventsOf('interaction.created', (x) => x.data.interaction_id === intId, 1);
    assert.equal(created.service_id, svc.id);
    assert.deepEqual(created.data, {
      interaction_id: intId, session_id: s.id, channel: 'voice', decision: 'bridge', carrier: dialect, reason: null,
      from_participant_id: rider.id, to_participant_id: driver.id, proxy_number: rider.proxy_number,
    });
    const updated = await eventsOf('leg.updated', (x) => x.data.interaction_id === intId, 2);
    assert.deepEqual(updated.map((x) => [x.data.leg, x.data.status]), [['b', 'ringing'], ['b', 'in-progress']]);
    const [completed] = await eventsOf('leg.completed', (x) => x.data.interaction_id === intId, 1);
    assert.deepEqual(completed.data, {
      interaction_id: intId, session_id: s.id, leg: 'b', channel: 'voice', status: 'completed', billable_seconds: 42,
      cost: null, currency: null,
    });
    // one interaction.created in all, after the retry too
    assert.equal(delivered().filter((x) => x.type === 'interaction.created' && x.data.interaction_id === intId).length, 1);
    // a session's events go out in its order
    const order = delivered().filter((x) => x.data.session_id === s.id).map((x) => x.type);
    assert.deepEqual(order, ['session.created', 'interaction.created', 'leg.updated', 'leg.updated', 'leg.completed']);

    // the carrier delivers two of the leg's callbacks late, after its end: acknowledged, and
    // neither the leg (status, duration, answer) nor the events change
    const legBefore = (await interactions(d, s.id)).find((x) => x.id === intId).legs.find((l) => l.leg === 'b');
    assert.equal(legBefore.status, 'completed');
    assert.equal(legBefore.duration, 42);
    for (const CallStatus of ['ringing', 'in-progress']) {
      const p = { CallSid: child, ParentCallSid: callSid, CallStatus, CallDuration: '0', AccountSid: 'AC1' };
      expectStatus(await d.webhook(dialect, 'status', p, { query: { interaction: intId } }), 200, `late ${CallStatus}`);
    }
    const legAfter = (await interactions(d, s.id)).find((x) => x.id === intId).legs.find((l) => l.leg === 'b');
    assert.deepEqual(legAfter, legBefore);
    // a later event of the session is delivered after them, so none of them was sent before it
    await closeSession(d, s.id);
    await eventsOf('session.closed', (x) => x.data.session_id === s.id, 1);
    const after = delivered().filter((x) => x.data.session_id === s.id).map((x) => x.type);
    assert.deepEqual(after, [...order, 'session.closed']);
  });

  test(`${dialect}: a forwarded text and a refused call are interaction.created with their decision and reason`, async () => {
    const [a, b] = people();
    const s = await createSession(d, svc.id, { participants: [[a, 'Rider'], [b, 'Driver']] });
    const [rider] = s.participants;
    const text = await d.webhook(dialect, 'message', messageParams(dialect, { from: a, to: rider.proxy_number, body: 'on my way' }));
    const textId = interactionIdOf(text.text);
    assert.ok(textId, text.text);
    await closeSession(d, s.id);
    const refused = await d.webhook(dialect, 'voice', voiceParams(dialect, { from: a, to: rider.proxy_number }));
    assert.equal(refused.status, 200);
    const docs = await eventsOf('interaction.created', (x) => x.data.session_id === s.id, 2);
    assert.deepEqual(docs.map((x) => [x.data.channel, x.data.decision, x.data.reason]),
      [['message', 'forward_message', null], ['voice', 'reject', 'session_ended']]);
    assert.equal(docs[0].data.interaction_id, textId);
  });

  test(`${dialect}: STOP and START are message.opted_out and message.opted_in, written once each`, async () => {
    const [a, b] = people();
    const s = await createSession(d, svc.id, { participants: [[a, 'Rider'], [b, 'Driver']] });
    const [rider] = s.participants;
    const stopSid = sid(dialect, 'SM');
    for (const body of ['STOP', 'START']) {
      const p = messageParams(dialect, { from: a, to: rider.proxy_number, body, messageSid: body === 'STOP' ? stopSid : undefined });
      expectStatus(await d.webhook(dialect, 'message', p), 200, body);
    }
    // a retried STOP records no second opt-out
    expectStatus(await d.webhook(dialect, 'message', messageParams(dialect, { from: a, to: rider.proxy_number, body: 'STOP', messageSid: stopSid })), 200);
    const mine = (x) => x.data.session_id === s.id;
    const [out] = await eventsOf('message.opted_out', mine, 1);
    const [into] = await eventsOf('message.opted_in', mine, 1);
    const numbers = expectStatus(await d.api('GET', `/v1/services/${svc.id}/numbers`), 200).numbers;
    const number = numbers.find((x) => x.number === rider.proxy_number);
    assert.ok(number, JSON.stringify(numbers));
    for (const doc of [out, into])
      assert.deepEqual(doc.data, { session_id: s.id, number_id: number.id, proxy_number: rider.proxy_number, from: masked(a) });
    assert.equal(delivered().filter((x) => x.type === 'message.opted_out' && mine(x)).length, 1);
  });
}

test('retiring a number is number.retired, once; a refused PATCH writes nothing', async () => {
  const number = expectStatus(await d.api('POST', `/v1/services/${svc.id}/numbers`, { number: proxy(68) }), 201);
  const mine = (x) => x.data.number_id === number.id;
  expectStatus(await d.api('PATCH', `/v1/numbers/${number.id}`, { state: 'retired' }), 200);
  expectStatus(await d.api('PATCH', `/v1/numbers/${number.id}`, { state: 'retired' }), 200); // no change: no event
  const bad = await d.api('PATCH', `/v1/numbers/${number.id}`, { state: 'gone' });
  assert.equal(bad.status, 400);
  const [doc] = await eventsOf('number.retired', mine, 1);
  assert.deepEqual(doc.data, { number_id: number.id, proxy_number: proxy(68), in_use: 0 });
  assert.equal((await pulled(svc.id)).filter(mine).length, 1);
  // back to active and retired again: a second crossing, a second event
  expectStatus(await d.api('PATCH', `/v1/numbers/${number.id}`, { state: 'active' }), 200);
  expectStatus(await d.api('PATCH', `/v1/numbers/${number.id}`, { state: 'retired' }), 200);
  await eventsOf('number.retired', mine, 2);
});

test('a service without events_url records the webhook events for the pull API and sends nothing', async () => {
  const quiet = await createService(d, { name: 'Quiet webhooks' });
  await addPool(d, quiet.id, [proxy(69)]);
  const [a, b] = people();
  const s = await createSession(d, quiet.id, { participants: [[a, 'Rider'], [b, 'Driver']] });
  const before = deliveries.length;
  const res = await d.webhook('twilio', 'voice', voiceParams('twilio', { from: a, to: s.participants[0].proxy_number }));
  const intId = interactionIdOf(res.text);
  const types = (await pulled(quiet.id)).map((x) => [x.type, x.data.interaction_id ?? null]);
  assert.deepEqual(types, [['session.created', null], ['interaction.created', intId]]);
  assert.deepEqual(expectStatus(await d.api('GET', `/v1/services/${quiet.id}/outbox`), 200).messages, []);
  assert.equal(deliveries.slice(before).filter((x) => x.body.includes(s.id)).length, 0);
});

test('no delivered or pulled webhook event holds a real number', async () => {
  assert.ok(deliveries.length >= 20, `${deliveries.length} deliveries`);
  for (const x of deliveries) assertNoRealNumbers(x.body, REALS, 'a delivered event');
  assertNoRealNumbers(JSON.stringify(await pulled(svc.id)), REALS, 'the pull API');
});
