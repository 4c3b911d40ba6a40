// SPDX-License-Identifier: MIT
// Expiry: the sweeper (MASKD_SWEEP_INTERVAL=1) closes sessions whose idle ttl ran out or whose
// expires_at passed; a closed session's participants then get the "conversation has ended" answer
// while its bindings cool off (the service's default 24 h).
// Every wait polls the API with a bound (20 s, times MASKD_TEST_TIMEOUT_SCALE); nothing here
// assumes how fast the daemon is.

import assert from 'node:assert/strict';
import { before, test } from 'node:test';

import { useDaemon, waitFor } from './lib/daemon.mjs';
import {
  TIMESTAMP, addPool, createService, createSession, expectError, expectStatus, getSession, inUse,
  messageParams, postSession, rfc3339In, voiceParams,
} from './lib/fixtures.mjs';
import * as markup from './lib/markup.mjs';
import { assertValid, proxy, real } from './lib/numbers.mjs';

const d = useDaemon();
const MESSAGE = 'This masked number has expired. Goodbye.';
const ENDED = 'This ride has ended.';
const POOL = [proxy(0), proxy(1), proxy(2), proxy(3)];
assertValid(POOL);
let svc;
let n = 200;
const pair = () => [[real(n++), 'Rider'], [real(n++), 'Driver']];

before(async () => {
  await d.ready;
  svc = await createService(d, { name: 'Expiring', defaults: { unknown_caller_message: MESSAGE, ended_message: ENDED } });
  await addPool(d, svc.id, POOL);
});

async function waitClosed(id) {
  return waitFor(`session ${id} to be closed by the sweeper`, async () => {
    const s = await getSession(d, id);
    return s.status === 'closed' ? s : null;
  }, { timeoutMs: 20_000, intervalMs: 200 });
}

/* Closed: the binding cools off, so a late call hears the ended message and a late text gets it
 * back, never the other participant. */
async function assertEnded(s, participants) {
  const [p0] = s.participants;
  const res = await d.webhook('twilio', 'voice', voiceParams('twilio', { from: participants[0][0], to: p0.proxy_number }));
  assert.equal(res.status, 200, res.text);
  assert.equal(res.text, markup.rejectVoice('twilio', ENDED));
  const msg = await d.webhook('twilio', 'message',
    messageParams('twilio', { from: participants[0][0], to: p0.proxy_number, body: 'late' }));
  assert.equal(msg.status, 200, msg.text);
  assert.equal(msg.text, markup.reply('twilio', { to: participants[0][0], from: p0.proxy_number, body: ENDED }));
  assert.ok(!msg.text.includes(participants[1][0]), 'the other participant was reached');
}

test('ttl 2: closed by the sweeper (an open ttl-0 session is not), then the caller hears it ended', async () => {
  const keepParts = pair();
  const keep = await createSession(d, svc.id, { ttl: 0, participants: keepParts });
  const parts = pair();
  const s = await createSession(d, svc.id, { ttl: 2, participants: parts });
  assert.equal(s.ttl, 2);
  assert.equal(s.status, 'open');
  const before = await inUse(d, svc.id);
  const closed = await waitClosed(s.id);
  assert.match(closed.closed_at, TIMESTAMP);
  assert.equal((await getSession(d, keep.id)).status, 'open', 'the sweeper closed a session without ttl or expiry');
  const after = await inUse(d, svc.id);
  const released = new Set(s.participants.map((p) => p.proxy_number));
  for (const num of released) assert.ok(after[num] < before[num], `in_use of ${num} did not drop on expiry`);
  await assertEnded(s, parts);
});

test('ttl counts from the last interaction: an in-progress session also expires', async () => {
  const parts = pair();
  const s = await createSession(d, svc.id, { ttl: 2, participants: parts });
  const res = await d.webhook('twilio', 'voice', voiceParams('twilio', { from: parts[0][0], to: s.participants[0].proxy_number }));
  assert.equal(res.status, 200, res.text);
  const intId = markup.interactionIdOf(res.text);
  assert.equal(res.text, markup.bridge('twilio', { callerId: s.participants[1].proxy_number, real: parts[1][0], intId }));
  await waitClosed(s.id);
  await assertEnded(s, parts);
});

test('PATCH ttl on an open session: then closed by the sweeper', async () => {
  const parts = pair();
  const s = await createSession(d, svc.id, { participants: parts });
  assert.equal(s.ttl, 0);
  expectStatus(await d.api('PATCH', `/v1/sessions/${s.id}`, { ttl: 1 }), 200);
  await waitClosed(s.id);
  await assertEnded(s, parts);
});

test('expires_at in the past → 400 (POST and PATCH); nothing created or changed', async () => {
  const parts = pair();
  const count = async () => expectStatus(await d.api('GET', `/v1/services/${svc.id}/sessions`), 200).sessions.length;
  const before = await count();
  const past = new Date(Date.now() - 3600_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
  expectError(await postSession(d, svc.id, { expires_at: past, participants: parts }), 400, 'invalid_field', 'expires_at');
  expectError(await postSession(d, svc.id, { expires_at: '2001-01-01T00:00:00Z', participants: parts }),
    400, 'invalid_field', 'expires_at');
  assert.equal(await count(), before, 'a rejected request created a session');
  const s = await createSession(d, svc.id, { participants: parts });
  expectError(await d.api('PATCH', `/v1/sessions/${s.id}`, { expires_at: past }), 400, 'invalid_field', 'expires_at');
  const g = await getSession(d, s.id);
  assert.equal(g.status, 'open');
  assert.equal(g.expires_at, null);
});

test('expires_at 3 s ahead: closed when it passes', async () => {
  const parts = pair();
  const at = rfc3339In(3);
  const s = await createSession(d, svc.id, { expires_at: at, participants: parts });
  assert.equal(s.expires_at, at);
  assert.equal(s.status, 'open');
  const closed = await waitClosed(s.id);
  assert.ok(Date.parse(closed.closed_at) >= Date.parse(at) - 1000, `closed at ${closed.closed_at}, before ${at}`);
  await assertEnded(s, parts);
});

test('PATCH expires_at 2 s ahead on an open session: closed when it passes', async () => {
  const parts = pair();
  const s = await createSession(d, svc.id, { participants: parts });
  const at = rfc3339In(2);
  assert.equal(expectStatus(await d.api('PATCH', `/v1/sessions/${s.id}`, { expires_at: at }), 200).expires_at, at);
  await waitClosed(s.id);
  await assertEnded(s, parts);
});
