// SPDX-License-Identifier: MIT
// Session lifecycle changes are all-or-nothing: a PATCH that re-opens a session and sets its
// ttl or expires_at is checked whole before anything is written, so a refused re-open (409)
// leaves ttl, expires_at, status, in_use and the events as they were; an accepted one applies
// every field. The sweeper (MASKD_SWEEP_INTERVAL=1) closes the expiring sessions used here.

import assert from 'node:assert/strict';
import { before, test } from 'node:test';

import { useDaemon, waitFor } from './lib/daemon.mjs';
import {
  addPool, closeSession, createService, createSession, expectError, expectStatus, getSession, inUse, metricValue,
  patchSession, rfc3339In, sessionEvents,
} from './lib/fixtures.mjs';
import { assertValid, proxy, real } from './lib/numbers.mjs';

const d = useDaemon();
const POOL = [proxy(20), proxy(21), proxy(22), proxy(23)];
assertValid(POOL);
let svc;
let n = 600;
const pair = () => [[real(n++), 'Rider'], [real(n++), 'Driver']];

before(async () => {
  await d.ready;
  svc = await createService(d, { name: 'Lifecycle' });
  await addPool(d, svc.id, POOL);
});

async function waitClosed(id) {
  return waitFor(`session ${id} to be closed by the sweeper`, async () => {
    const s = await getSession(d, id);
    return s.status === 'closed' ? s : null;
  }, { timeoutMs: 20_000, intervalMs: 200 });
}

test('a refused re-open of an expired session changes nothing: not its ttl, status, in_use or events', async () => {
  const s = await createSession(d, svc.id, { expires_at: rfc3339In(2), participants: pair() });
  assert.equal(s.ttl, 0);
  const closed = await waitClosed(s.id);
  const eventsBefore = await sessionEvents(d, s.id);
  const inUseBefore = await inUse(d, svc.id);
  expectError(await patchSession(d, s.id, { status: 'open', ttl: 77 }), 409, 'conflict', 'expires_at');
  const g = await getSession(d, s.id);
  assert.equal(g.ttl, 0, 'the refused PATCH changed ttl');
  assert.equal(g.status, 'closed');
  assert.equal(g.expires_at, closed.expires_at);
  assert.equal(g.closed_at, closed.closed_at);
  assert.deepEqual(await sessionEvents(d, s.id), eventsBefore, 'the refused PATCH recorded an event');
  assert.deepEqual(await inUse(d, svc.id), inUseBefore, 'the refused PATCH changed in_use');
});

test('a refused re-open (unique_name taken) leaves ttl alone; the same PATCH succeeds once the name is free', async () => {
  const parts = pair();
  const a = await createSession(d, svc.id, { unique_name: 'lifecycle-1', participants: parts });
  await closeSession(d, a.id);
  const b = await createSession(d, svc.id, { unique_name: 'lifecycle-1', participants: pair() });
  expectError(await patchSession(d, a.id, { status: 'open', ttl: 55 }), 409, 'conflict', 'unique_name');
  let g = await getSession(d, a.id);
  assert.equal(g.ttl, 0, 'the refused PATCH changed ttl');
  assert.equal(g.status, 'closed');
  await closeSession(d, b.id);
  g = expectStatus(await patchSession(d, a.id, { status: 'open', ttl: 55 }), 200, 're-open');
  assert.equal(g.status, 'open');
  assert.equal(g.ttl, 55);
  assert.equal(g.closed_at, null);
  const kinds = (await sessionEvents(d, a.id)).map((e) => e.kind);
  assert.deepEqual(kinds, ['closed', 'reopened']);
});

test('re-open of an expired session with a new expires_at and ttl applies both', async () => {
  const s = await createSession(d, svc.id, { expires_at: rfc3339In(2), participants: pair() });
  await waitClosed(s.id);
  const at = rfc3339In(3600);
  const g = expectStatus(await patchSession(d, s.id, { status: 'open', ttl: 77, expires_at: at }), 200, 're-open');
  assert.equal(g.status, 'open');
  assert.equal(g.ttl, 77);
  assert.equal(g.expires_at, at);
  const again = await getSession(d, s.id);
  assert.equal(again.ttl, 77);
  assert.equal(again.expires_at, at);
});

test('the close and block counters count only changes: closing a closed session, or blocking a blocked one, counts nothing', async () => {
  const closed = async () => (await metricValue(d, 'maskd_sessions_closed_total')) ?? 0;
  const blocked = async () => (await metricValue(d, 'maskd_sessions_blocked_total')) ?? 0;
  const s = await createSession(d, svc.id, { participants: pair() });
  const c0 = await closed();
  const b0 = await blocked();
  await closeSession(d, s.id);
  assert.equal(await closed(), c0 + 1, 'the close is counted');
  await closeSession(d, s.id);
  assert.equal((await d.api('DELETE', `/v1/sessions/${s.id}`)).status, 204);
  expectStatus(await patchSession(d, s.id, { status: 'closed', ttl: 30 }), 200, 'close again with a ttl');
  assert.equal(await closed(), c0 + 1, 'closing a closed session was counted');
  expectStatus(await patchSession(d, s.id, { status: 'blocked' }), 200, 'block');
  expectStatus(await patchSession(d, s.id, { status: 'blocked' }), 200, 'block again');
  assert.equal(await blocked(), b0 + 1, 'blocking a blocked session was counted');
  const kinds = (await sessionEvents(d, s.id)).map((e) => e.kind);
  assert.deepEqual(kinds, ['closed', 'blocked']);
});
