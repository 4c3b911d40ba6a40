// SPDX-License-Identifier: MIT
// Events to the app (docs/EVENTS.md), seen from outside: a service's events_url (a loopback
// http receiver here) gets every event of its sessions, each signed as Standard Webhooks says,
// which the npm `standardwebhooks` package verifies with the secret shown once; the events of a
// session arrive in order; a receiver that fails gets the event again, signed afresh; the pull
// API (GET /v1/services/{id}/events) returns the same documents, paged by a cursor, scoped like
// the other service routes; an events_url that is not https (http only to loopback) is a 400
// and changes nothing; no delivered document holds a real number.

import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, test } from 'node:test';
import { Webhook } from 'standardwebhooks';

import { useDaemon, waitFor } from './lib/daemon.mjs';
import { addPool, assertNoRealNumbers, createService, createSession, expectError, expectStatus, patchSession } from './lib/fixtures.mjs';
import { masked, proxy, real } from './lib/numbers.mjs';

// ---------------------------------------------------------------------------------------
// The app's receiver: records every delivery; `answer()` scripts its status.

const deliveries = []; // {headers, body, status}
let answer = () => 204;
const receiver = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks).toString('utf8');
    const status = answer(body);
    deliveries.push({ path: req.url, headers: req.headers, body, status });
    res.writeHead(status);
    res.end();
  });
});
await new Promise((resolve) => receiver.listen(0, '127.0.0.1', resolve));
const RECEIVER = `http://127.0.0.1:${receiver.address().port}`;
after(() => new Promise((resolve) => receiver.close(resolve)));

const d = useDaemon({ env: { MASKD_SEND_RETRY_MS: '50' } });
const REALS = [real(1), real(2), real(3), real(4), real(5)];

let svc; // the service with an events_url
let secret;

before(async () => {
  await d.ready;
  svc = await createService(d, { name: 'Events', events_url: `${RECEIVER}/maskd/events` });
  secret = svc.events_secret;
  await addPool(d, svc.id, [proxy(1), proxy(2), proxy(3), proxy(4)]);
});

/** The verified documents delivered (status 2xx) for session `id`, in arrival order. */
function deliveredFor(id) {
  const wh = new Webhook(secret);
  return deliveries.filter((x) => x.status < 300).map((x) => {
    const doc = wh.verify(x.body, x.headers); // throws on a bad signature
    assert.equal(x.headers['webhook-id'], doc.id);
    return doc;
  }).filter((doc) => doc.data.session_id === id);
}

async function pullAll(serviceId, limit) {
  const out = [];
  let cursor = null;
  for (let page = 0; page < 100; page++) {
    const q = `limit=${limit}${cursor ? `&after=${cursor}` : ''}`;
    const p = expectStatus(await d.api('GET', `/v1/services/${serviceId}/events?${q}`), 200, 'GET events');
    out.push(...p.events);
    if (p.next === null) return out;
    cursor = p.next;
  }
  throw new Error('the cursor never ended');
}

test('the secret is whsec_ base64, shown only in the answer that set the first events_url', async () => {
  assert.match(secret, /^whsec_[A-Za-z0-9+/]{43}=$/);
  assert.equal(svc.events_url, `${RECEIVER}/maskd/events`);
  const got = expectStatus(await d.api('GET', `/v1/services/${svc.id}`), 200);
  assert.equal(got.events_url, `${RECEIVER}/maskd/events`);
  assert.equal(got.events_secret, undefined);
  // a service given its first events_url by PATCH sees the secret then, and only then
  const later = await createService(d, { name: 'Later' });
  assert.equal(later.events_url, null);
  assert.equal(later.events_secret, undefined);
  const set = expectStatus(await d.api('PATCH', `/v1/services/${later.id}`, { events_url: `${RECEIVER}/later` }), 200);
  assert.match(set.events_secret, /^whsec_/);
  const again = expectStatus(await d.api('PATCH', `/v1/services/${later.id}`, { events_url: `${RECEIVER}/later2` }), 200);
  assert.equal(again.events_secret, undefined);
  assert.equal(again.events_url, `${RECEIVER}/later2`);
});

test('a session\'s life: created, updated, closed (reason api), signed and in order', async () => {
  const s = await createSession(d, svc.id, { unique_name: 'order-1', participants: [[REALS[0], 'Rider'], [REALS[1], 'Driver']] });
  expectStatus(await patchSession(d, s.id, { ttl: 600 }), 200);
  expectStatus(await patchSession(d, s.id, { status: 'closed' }), 200);
  await waitFor('three events delivered', () => deliveredFor(s.id).length >= 3);
  const docs = deliveredFor(s.id);
  assert.deepEqual(docs.map((x) => x.type), ['session.created', 'session.updated', 'session.closed']);
  const [created, updated, closed] = docs;
  assert.equal(created.service_id, svc.id);
  assert.equal(created.data.unique_name, 'order-1');
  assert.deepEqual(created.data.participants.map((p) => [p.id, p.label, p.proxy_number]),
    s.participants.map((p) => [p.id, p.label, p.proxy_number]));
  assert.deepEqual(created.data.participants.map((p) => p.number), [masked(REALS[0]), masked(REALS[1])]);
  assert.equal(updated.data.ttl, 600);
  assert.equal(closed.data.reason, 'api');
  assert.match(created.id, /^evt_[a-z0-9]{24}$/);
  assert.match(created.timestamp, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
  // each delivery names itself in the outbox as an event to the receiver's origin
  const ob = expectStatus(await d.api('GET', `/v1/services/${svc.id}/outbox?status=sent`), 200);
  assert.ok(ob.messages.filter((m) => m.kind === 'event' && m.session_id === s.id && m.destination === RECEIVER).length >= 3);
});

test('participant.added and participant.number_swapped, and session.closed by the idle ttl', async () => {
  const s = await createSession(d, svc.id, { participants: [[REALS[2], 'Buyer']] });
  const added = expectStatus(await d.api('POST', `/v1/sessions/${s.id}/participants`, { number: REALS[3], label: 'Seller' }), 201);
  const seller = added.participants.find((p) => p.label === 'Seller');
  const swapped = expectStatus(await d.api('PATCH', `/v1/sessions/${s.id}/participants/${seller.id}`, { proxy_number: null }), 200);
  const newProxy = swapped.participants.find((p) => p.id === seller.id).proxy_number;
  expectStatus(await patchSession(d, s.id, { ttl: 1 }), 200);
  await waitFor('the ttl close delivered', () => deliveredFor(s.id).some((x) => x.type === 'session.closed'));
  const docs = deliveredFor(s.id);
  assert.deepEqual(docs.map((x) => x.type),
    ['session.created', 'participant.added', 'participant.number_swapped', 'session.updated', 'session.closed']);
  assert.equal(docs[1].data.participant_id, seller.id);
  assert.equal(docs[2].data.participant_id, seller.id);
  assert.equal(docs[2].data.proxy_number, newProxy);
  assert.equal(docs[4].data.reason, 'ttl');
});

test('a receiver that fails gets the event again, signed afresh; nothing else is lost', async () => {
  let failures = 0;
  answer = (body) => (body.includes('order-503') && failures++ < 2 ? 503 : 204);
  try {
    const s = await createSession(d, svc.id, { unique_name: 'order-503', participants: [[REALS[4], 'Rider']] });
    await waitFor('the created event delivered after two 503s', () => deliveredFor(s.id).length >= 1);
    const tries = deliveries.filter((x) => x.body.includes('order-503'));
    assert.equal(tries.length, 3);
    assert.deepEqual(tries.map((x) => x.status), [503, 503, 204]);
    assert.equal(new Set(tries.map((x) => x.headers['webhook-id'])).size, 1); // one message id: receivers de-duplicate by it
    const wh = new Webhook(secret);
    for (const t of tries) wh.verify(t.body, t.headers);
    assert.throws(() => wh.verify(tries[2].body.replace('order-503', 'order-504'), tries[2].headers));
  } finally {
    answer = () => 204;
  }
});

test('the pull API returns the documents delivered, in order, paged by a cursor', async () => {
  const pulled = await pullAll(svc.id, 2);
  const wh = new Webhook(secret);
  const delivered = new Map(deliveries.filter((x) => x.status < 300).map((x) => [x.headers['webhook-id'], wh.verify(x.body, x.headers)]));
  assert.ok(pulled.length >= 9, `pulled ${pulled.length}`);
  for (const doc of pulled) {
    assert.equal(doc.service_id, svc.id);
    await waitFor(`event ${doc.id} delivered`, () => deliveries.some((x) => x.status < 300 && x.headers['webhook-id'] === doc.id));
  }
  for (const x of deliveries.filter((y) => y.status < 300)) delivered.set(x.headers['webhook-id'], wh.verify(x.body, x.headers));
  for (const doc of pulled.filter((p) => delivered.has(p.id))) assert.deepEqual(doc, delivered.get(doc.id));
  assert.deepEqual(await pullAll(svc.id, 500), pulled); // the page size does not change the sequence
  // bad cursor and limit: 400
  expectError(await d.api('GET', `/v1/services/${svc.id}/events?limit=0`), 400, 'invalid_field', 'limit');
  expectError(await d.api('GET', `/v1/services/${svc.id}/events?after=x`), 400, 'invalid_field', 'after');
  expectError(await d.api('GET', '/v1/services/svc_aaaaaaaaaaaaaaaaaaaaaaaa/events'), 404, 'not_found');
});

test('a service without events_url records its events for the pull API and sends nothing', async () => {
  const quiet = await createService(d, { name: 'Quiet' });
  await addPool(d, quiet.id, [proxy(9)]);
  const before = deliveries.length;
  const s = await createSession(d, quiet.id, { participants: [[REALS[0], 'Rider']] });
  const pulled = await pullAll(quiet.id, 100);
  assert.deepEqual(pulled.map((x) => [x.type, x.data.session_id]), [['session.created', s.id]]);
  const ob = expectStatus(await d.api('GET', `/v1/services/${quiet.id}/outbox`), 200);
  assert.deepEqual(ob.messages, []);
  assert.equal(deliveries.slice(before).filter((x) => x.body.includes(s.id)).length, 0);
});

test('a refused change records no event and sends nothing (the event is in its transaction)', async () => {
  const pulledBefore = (await pullAll(svc.id, 500)).length;
  const deliveredBefore = deliveries.length;
  await createSession(d, svc.id, { unique_name: 'order-taken', participants: [[REALS[0], 'Rider']] });
  // the same unique_name with other people: 409 from inside the create transaction
  expectError(await d.api('POST', `/v1/services/${svc.id}/sessions`,
    { unique_name: 'order-taken', participants: [{ number: REALS[1] }] }), 409, 'conflict');
  const pulled = await pullAll(svc.id, 500);
  assert.equal(pulled.length, pulledBefore + 1);
  assert.equal(pulled.at(-1).data.unique_name, 'order-taken');
  await waitFor('the one created event delivered', () => deliveries.length > deliveredBefore);
  assert.equal(deliveries.slice(deliveredBefore).filter((x) => x.body.includes('order-taken')).length, 1);
});

test('a scoped key reads its own service\'s events and hears 404 for another\'s', async () => {
  const other = await createService(d, { name: 'Other' });
  const key = expectStatus(await d.api('POST', '/v1/keys', { role: 'readonly', service_id: svc.id, label: 'events reader' }), 201);
  const auth = { auth: `Bearer ${key.key}` };
  expectStatus(await d.api('GET', `/v1/services/${svc.id}/events`, undefined, auth), 200);
  expectError(await d.api('GET', `/v1/services/${other.id}/events`, undefined, auth), 404, 'not_found');
});

test('an events_url that is not https (http only to loopback) is a 400 and changes nothing', async () => {
  const count = expectStatus(await d.api('GET', '/v1/services'), 200).services.length;
  for (const url of ['http://app.example.com/events', 'http://127.0.0.1.example.com/e', 'ftp://example.com/e',
    'https://exa mple.com/', 'not a url', 'http://127.0.0.1@example.com/']) {
    expectError(await d.api('POST', '/v1/services', { name: 'Bad', events_url: url }), 400, 'invalid_field', 'events_url');
    expectError(await d.api('PATCH', `/v1/services/${svc.id}`, { events_url: url }), 400, 'invalid_field', 'events_url');
  }
  expectError(await d.api('PATCH', `/v1/services/${svc.id}`, { events_url: 5 }), 400, 'invalid_field', 'events_url');
  assert.equal(expectStatus(await d.api('GET', '/v1/services'), 200).services.length, count);
  assert.equal(expectStatus(await d.api('GET', `/v1/services/${svc.id}`), 200).events_url, `${RECEIVER}/maskd/events`);
  // https anywhere, and http to loopback, are taken (then put back)
  for (const url of ['https://app.example.com/maskd', 'http://localhost:9/e', 'http://[::1]:9/e']) {
    const ok = expectStatus(await d.api('PATCH', `/v1/services/${svc.id}`, { events_url: url }), 200);
    assert.equal(ok.events_url, url);
  }
  expectStatus(await d.api('PATCH', `/v1/services/${svc.id}`, { events_url: `${RECEIVER}/maskd/events` }), 200);
});

test('no delivered or pulled document holds a real number', async () => {
  assert.ok(deliveries.length >= 9);
  for (const x of deliveries) assertNoRealNumbers(x.body, REALS, 'a delivered event');
  assertNoRealNumbers(JSON.stringify(await pullAll(svc.id, 500)), REALS, 'the pull API');
});
