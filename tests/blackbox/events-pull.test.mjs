// SPDX-License-Identifier: MIT
// A service's events_pull (docs/EVENTS.md "Keeping events for the pull API"): true by default;
// false keeps no event for GET /v1/services/{id}/events while the events_url still receives
// every one, signed; turned back on, the next events are kept again. A field of the wrong type
// is a 400 naming it, and the refused POST or PATCH writes nothing.

import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { Webhook } from 'standardwebhooks';

import { useDaemon, waitFor } from './lib/daemon.mjs';
import {
  addPool, assertNoRealNumbers, createService, createSession, expectError, expectStatus, voiceParams,
} from './lib/fixtures.mjs';
import { interactionIdOf } from './lib/markup.mjs';
import { proxy, real } from './lib/numbers.mjs';
import { eventReceiver } from './lib/receiver.mjs';

const { url: RECEIVER, deliveries } = await eventReceiver(); // {headers, body} of each POST

const d = useDaemon({ env: { MASKD_SEND_RETRY_MS: '50' } });
const REALS = [];
let n = 700;
function people() {
  const pair = [real(n), real(n + 1)];
  n += 2;
  REALS.push(...pair);
  return pair;
}

before(async () => {
  await d.ready;
});

async function pulled(serviceId) {
  const p = expectStatus(await d.api('GET', `/v1/services/${serviceId}/events?limit=500`), 200, 'GET events');
  assert.equal(p.next, null);
  return p.events;
}

function deliveredTo(secret, match) {
  const wh = new Webhook(secret);
  return deliveries.map((x) => wh.verify(x.body, x.headers)).filter(match);
}

/** A call from a to the proxy number of their side of session s: the interaction id. */
async function call(s, a) {
  const res = await d.webhook('twilio', 'voice', voiceParams('twilio', { from: a, to: s.participants[0].proxy_number }));
  assert.equal(res.status, 200);
  const id = interactionIdOf(res.text);
  assert.ok(id, res.text);
  return id;
}

test('events_pull is true by default and shown by GET', async () => {
  const svc = await createService(d, { name: 'Default pull' });
  assert.equal(svc.events_pull, true);
  const back = expectStatus(await d.api('GET', `/v1/services/${svc.id}`), 200);
  assert.equal(back.events_pull, true);
});

test('events_pull false: the events_url receives every event, the pull API keeps none; true again keeps the next', async () => {
  const svc = await createService(d, { name: 'Push only', events_url: `${RECEIVER}/events`, events_pull: false });
  assert.equal(svc.events_pull, false);
  await addPool(d, svc.id, [proxy(71), proxy(72)]);
  const [a, b] = people();
  const s = await createSession(d, svc.id, { participants: [[a, 'Rider'], [b, 'Driver']] });
  const first = await call(s, a);
  const mine = (x) => x.data.session_id === s.id;
  await waitFor('session.created and interaction.created delivered', () =>
    deliveredTo(svc.events_secret, mine).length >= 2);
  assert.deepEqual(deliveredTo(svc.events_secret, mine).map((x) => [x.type, x.data.interaction_id ?? null]),
    [['session.created', null], ['interaction.created', first]]);
  assert.deepEqual(await pulled(svc.id), []);

  const on = expectStatus(await d.api('PATCH', `/v1/services/${svc.id}`, { events_pull: true }), 200);
  assert.equal(on.events_pull, true);
  const second = await call(s, a);
  await waitFor('the second interaction.created delivered', () =>
    deliveredTo(svc.events_secret, (x) => x.data.interaction_id === second).length === 1);
  const kept = await pulled(svc.id);
  assert.deepEqual(kept.map((x) => [x.type, x.data.interaction_id]), [['interaction.created', second]]);
  assert.deepEqual(kept[0], deliveredTo(svc.events_secret, (x) => x.data.interaction_id === second)[0]);
  assertNoRealNumbers(JSON.stringify(deliveries.map((x) => x.body)), REALS, 'a delivered event');
});

test('events_pull false without an events_url: calls are answered, nothing is kept or sent', async () => {
  const svc = await createService(d, { name: 'Silent', events_pull: false });
  await addPool(d, svc.id, [proxy(73)]);
  const [a, b] = people();
  const s = await createSession(d, svc.id, { participants: [[a, 'Rider'], [b, 'Driver']] });
  const before = deliveries.length;
  const id = await call(s, a);
  const recorded = expectStatus(await d.api('GET', `/v1/sessions/${s.id}/interactions`), 200);
  assert.deepEqual(recorded.interactions.map((x) => x.id), [id]);
  assert.deepEqual(await pulled(svc.id), []);
  assert.deepEqual(expectStatus(await d.api('GET', `/v1/services/${svc.id}/outbox`), 200).messages, []);
  assert.equal(deliveries.length, before);
});

test('events_pull of the wrong type: a 400 naming it, and nothing written', async () => {
  const before = expectStatus(await d.api('GET', '/v1/services?limit=500'), 200).services.length;
  expectError(await d.api('POST', '/v1/services', {
    name: 'Wrong', carriers: { twilio: { auth_token: d.tokens.twilio } }, events_pull: 'no',
  }), 400, 'invalid_field', 'events_pull');
  assert.equal(expectStatus(await d.api('GET', '/v1/services?limit=500'), 200).services.length, before);

  const svc = await createService(d, { name: 'Kept' });
  expectError(await d.api('PATCH', `/v1/services/${svc.id}`, { name: 'Renamed', events_pull: 0 }), 400,
    'invalid_field', 'events_pull');
  const back = expectStatus(await d.api('GET', `/v1/services/${svc.id}`), 200);
  assert.equal(back.name, 'Kept');
  assert.equal(back.events_pull, true);
});
