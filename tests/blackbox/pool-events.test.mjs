// SPDX-License-Identifier: MIT
// Pool events (docs/EVENTS.md), seen from outside: pool.low once per crossing of a service's
// pool_low_threshold (not again while the pool stays low, again after it went back above), and
// pool.exhausted for every create refused for want of a free number (a session, a profile), each
// recorded alone before the 409 and delivered signed (verified with npm `standardwebhooks`); the
// pull API holds the same documents; threshold 0 turns pool.low off; a bad threshold is a 400
// that changes nothing; no pool event carries a real number.

import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { Webhook } from 'standardwebhooks';

import { useDaemon, waitFor } from './lib/daemon.mjs';
import { addPool, assertNoRealNumbers, createService, createSession, expectError, expectStatus, postSession } from './lib/fixtures.mjs';
import { masked, proxy, real } from './lib/numbers.mjs';
import { eventReceiver } from './lib/receiver.mjs';

const { url: RECEIVER, deliveries } = await eventReceiver(); // {headers, body} of each POST

const d = useDaemon({ env: { MASKD_SEND_RETRY_MS: '50' } });
const REALS = Array.from({ length: 13 }, (_, i) => real(40 + i));

let svc;
let secret;

before(async () => {
  await d.ready;
  // one session per number (number_cap 1), three numbers: free = 3 - open sessions
  svc = await createService(d, { name: 'Pool events', events_url: `${RECEIVER}/events`,
    defaults: { number_cap: 1, pool_low_threshold: 1 } });
  secret = svc.events_secret;
  await addPool(d, svc.id, [proxy(41), proxy(42), proxy(43)]);
});

/** The verified pool documents delivered for service `id`, in arrival order. */
function poolDelivered(id) {
  const wh = new Webhook(secret);
  return deliveries.map((x) => {
    const doc = wh.verify(x.body, x.headers); // throws on a bad signature
    assert.equal(x.headers['webhook-id'], doc.id);
    return doc;
  }).filter((doc) => doc.service_id === id && doc.type.startsWith('pool.'));
}

async function pulledPool(id) {
  const p = expectStatus(await d.api('GET', `/v1/services/${id}/events?limit=500`), 200, 'GET events');
  return p.events.filter((e) => e.type.startsWith('pool.'));
}

test('the service shows its pool_low_threshold (default 0, off) and refuses a bad one, changing nothing', async () => {
  assert.equal(svc.defaults.pool_low_threshold, 1);
  const plain = await createService(d, { name: 'Default threshold' });
  assert.equal(plain.defaults.pool_low_threshold, 0);
  await addPool(d, plain.id, [proxy(51)]);
  await createSession(d, plain.id, { participants: [[REALS[0], 'A']] }); // one number, one free left
  assert.deepEqual(await pulledPool(plain.id), [], 'off by default');
  expectError(await d.api('PATCH', `/v1/services/${svc.id}`, { defaults: { pool_low_threshold: -1 } }), 400, 'invalid_field', 'pool_low_threshold');
  expectError(await d.api('PATCH', `/v1/services/${svc.id}`, { defaults: { pool_low_threshold: 'two' } }), 400, 'invalid_field', 'pool_low_threshold');
  const got = expectStatus(await d.api('GET', `/v1/services/${svc.id}`), 200);
  assert.equal(got.defaults.pool_low_threshold, 1);
});

test('pool.low once per crossing, pool.exhausted for each refused create, before the 409', async () => {
  const s1 = await createSession(d, svc.id, { participants: [[REALS[0], 'A']] }); // free 2
  assert.deepEqual(await pulledPool(svc.id), [], 'no pool event while free numbers are above the threshold');
  const s2 = await createSession(d, svc.id, { participants: [[REALS[1], 'B']] }); // free 1: the crossing
  const s3 = await createSession(d, svc.id, { participants: [[REALS[2], 'C']] }); // free 0: still low
  let pulled = await pulledPool(svc.id);
  assert.deepEqual(pulled.map((e) => e.type), ['pool.low'], 'one pool.low for one crossing');
  assert.deepEqual(pulled[0].data, { capabilities: ['voice', 'sms'], request: 'session', free_numbers: 1, threshold: 1, session_id: s2.id });

  // no free number: a 409, and its pool.exhausted is already listed when the answer comes
  expectError(await postSession(d, svc.id, { participants: [[REALS[3], 'D']] }), 409, 'pool_exhausted');
  pulled = await pulledPool(svc.id);
  assert.deepEqual(pulled.map((e) => e.type), ['pool.low', 'pool.exhausted']);
  assert.deepEqual(pulled[1].data, { capabilities: ['voice', 'sms'], request: 'session', participant: 0,
    number: masked(REALS[3]), geo_level: null });
  // the refused create wrote no session
  const open = expectStatus(await d.api('GET', `/v1/services/${svc.id}/sessions?status=open`), 200);
  assert.deepEqual(open.sessions.map((s) => s.id).sort(), [s1.id, s2.id, s3.id].sort());

  // a profile that finds no free number: the same, with request profile
  expectError(await d.api('POST', `/v1/services/${svc.id}/profiles`, { number: REALS[4], label: 'Agent' }), 409, 'pool_exhausted');
  pulled = await pulledPool(svc.id);
  assert.deepEqual(pulled.map((e) => e.type), ['pool.low', 'pool.exhausted', 'pool.exhausted']);
  assert.deepEqual(pulled[2].data, { capabilities: ['voice', 'sms'], request: 'profile', participant: null,
    number: masked(REALS[4]), geo_level: null });

  // back above the threshold (three numbers added): a create leaving 2 free tells nothing and
  // clears the mark; the next create that leaves 1 is a new crossing
  await addPool(d, svc.id, [proxy(48), proxy(49), proxy(50)]);
  const s5 = await createSession(d, svc.id, { participants: [[REALS[5], 'E']] }); // free 2
  assert.equal((await pulledPool(svc.id)).length, 3, 'no pool event above the threshold');
  const s6 = await createSession(d, svc.id, { participants: [[REALS[6], 'F']] }); // free 1
  pulled = await pulledPool(svc.id);
  assert.deepEqual(pulled.map((e) => e.type), ['pool.low', 'pool.exhausted', 'pool.exhausted', 'pool.low']);
  assert.equal(pulled[3].data.session_id, s6.id);
  assert.equal(pulled[3].data.free_numbers, 1);

  // pushed to events_url, signed, the same documents in the same order
  await waitFor('four pool events delivered', () => poolDelivered(svc.id).length >= 4);
  assert.deepEqual(poolDelivered(svc.id), pulled);
  for (const e of pulled) assertNoRealNumbers(JSON.stringify(e), REALS, `${e.type} document`);
  // the creates that cleared and set the mark are committed like any other
  for (const s of [s5, s6]) assert.equal(expectStatus(await d.api('GET', `/v1/sessions/${s.id}`), 200).status, 'open');
  const inUse = expectStatus(await d.api('GET', `/v1/services/${svc.id}/numbers`), 200).numbers
    .filter((n) => [proxy(48), proxy(49), proxy(50)].includes(n.number)).map((n) => n.in_use).sort();
  assert.deepEqual(inUse, [0, 1, 1]);
});

test('adding a participant crosses the threshold as a create does', async () => {
  const other = await createService(d, { name: 'Pool add', defaults: { number_cap: 1, pool_low_threshold: 1 } });
  await addPool(d, other.id, [proxy(44), proxy(45), proxy(46)]);
  const s = await createSession(d, other.id, { participants: [[REALS[7], 'Buyer']] }); // free 2
  assert.deepEqual(await pulledPool(other.id), []);
  // the first number is at its cap, so the second participant takes a number of its own: free 1
  expectStatus(await d.api('POST', `/v1/sessions/${s.id}/participants`, { number: REALS[8], label: 'Seller' }), 201);
  let pulled = await pulledPool(other.id);
  assert.deepEqual(pulled.map((e) => [e.type, e.data.request, e.data.session_id, e.data.free_numbers]),
    [['pool.low', 'participant', s.id, 1]]);
  // no second crossing while low: a session on the last free number
  await createSession(d, other.id, { participants: [[REALS[9], 'Waiting']] }); // free 0
  assert.equal((await pulledPool(other.id)).length, 1);
});

test('pool_low_threshold 0 (off): no pool.low, pool.exhausted still', async () => {
  const off = await createService(d, { name: 'Pool off', defaults: { number_cap: 1, pool_low_threshold: 0 } });
  assert.equal(off.defaults.pool_low_threshold, 0);
  await addPool(d, off.id, [proxy(47)]);
  await createSession(d, off.id, { participants: [[REALS[11], 'A']] }); // free 0
  expectError(await postSession(d, off.id, { participants: [[REALS[12], 'B']] }), 409, 'pool_exhausted');
  assert.deepEqual((await pulledPool(off.id)).map((e) => e.type), ['pool.exhausted']);
});
