// SPDX-License-Identifier: MIT
// A refused PATCH changes nothing (docs/API.md, "Errors"): every PATCH of a session, a
// service, a number or a participant is checked whole and applied in one transaction, or not
// at all. Each case here GETs the resource (and what hangs off it: in_use, events) before and
// after a refused PATCH and compares them deep-equal.

import assert from 'node:assert/strict';
import { before, test } from 'node:test';

import { useDaemon, waitFor } from './lib/daemon.mjs';
import {
  addPool, closeSession, createService, createSession, expectError, expectStatus, getSession, inUse, listNumbers,
  patchSession, rfc3339In, sessionEvents,
} from './lib/fixtures.mjs';
import { assertValid, proxy, real } from './lib/numbers.mjs';

const d = useDaemon();
const POOL = [proxy(40), proxy(41), proxy(42)];
assertValid(POOL);
let svc;
let n = 900;
const pair = () => [[real(n++), 'Rider'], [real(n++), 'Driver']];

before(async () => {
  await d.ready;
  svc = await createService(d, { name: 'Refusals', defaults: { ttl: 3600 } });
  await addPool(d, svc.id, POOL);
});

/** Everything a refused PATCH could touch: the session, its events, the pool's counts. */
async function sessionState(id) {
  return { session: await getSession(d, id), events: await sessionEvents(d, id), inUse: await inUse(d, svc.id) };
}

/** PATCHes `path` with `body`, expects a 4xx, and that `state()` reads the same before and after. */
async function refusedLeavesAlone(path, body, status, state) {
  const before = await state();
  const res = await d.api('PATCH', path, body);
  assert.equal(res.status, status, `PATCH ${path} ${JSON.stringify(body)}: HTTP ${res.status} ${res.text}`);
  assert.ok(res.json?.error?.message, `no error message: ${res.text}`);
  assert.deepEqual(await state(), before, `PATCH ${path} ${JSON.stringify(body)} was refused but changed state`);
}

test('sessions: a refused PATCH leaves status, ttl, expires_at, events and in_use as they were', async () => {
  const open = await createSession(d, svc.id, { unique_name: 'refusals-1', participants: pair() });
  const st = () => sessionState(open.id);
  const p = `/v1/sessions/${open.id}`;
  await refusedLeavesAlone(p, { status: 'closed', ttl: -1 }, 400, st);
  await refusedLeavesAlone(p, { status: 'paused', ttl: 60 }, 400, st);
  await refusedLeavesAlone(p, { ttl: 60, expires_at: '2001-01-01T00:00:00Z' }, 400, st);
  await refusedLeavesAlone(p, { status: 'blocked', ttl: 60, colour: 'red' }, 400, st);
  // a closed session whose unique_name another open session took: the re-open is refused whole
  await closeSession(d, open.id);
  const other = await createSession(d, svc.id, { unique_name: 'refusals-1', participants: pair() });
  await refusedLeavesAlone(p, { status: 'open', ttl: 61, expires_at: rfc3339In(7200) }, 409, st);
  await closeSession(d, other.id);
  // an expired session: a re-open without a new expires_at is refused, ttl and all
  const exp = await createSession(d, svc.id, { expires_at: rfc3339In(2), participants: pair() });
  await waitFor(`session ${exp.id} closed by the sweeper`, async () => (await getSession(d, exp.id)).status === 'closed',
    { timeoutMs: 20_000, intervalMs: 200 });
  await refusedLeavesAlone(`/v1/sessions/${exp.id}`, { status: 'open', ttl: 77 }, 409, () => sessionState(exp.id));
});

test('services: a refused PATCH leaves every field as it was', async () => {
  const s = await createService(d, { name: 'Refused service', defaults: { ttl: 120, help_text: 'Help: example' } });
  const st = async () => expectStatus(await d.api('GET', `/v1/services/${s.id}`), 200, 'GET service');
  const p = `/v1/services/${s.id}`;
  await refusedLeavesAlone(p, { name: 'Renamed', defaults: { ttl: -5 } }, 400, st);
  await refusedLeavesAlone(p, { name: 'Renamed', unknown_caller: { policy: 'forward' } }, 400, st);
  await refusedLeavesAlone(p, { defaults: { ttl: 60 }, rate_limits: { calls_per_hour: -1 } }, 400, st);
  await refusedLeavesAlone(p, { defaults: { help_text: 'new' }, carriers: { twilio: null, nope: {} } }, 400, st);
  await refusedLeavesAlone(p, { name: '', defaults: { ttl: 60 } }, 400, st);
});

test('numbers: a refused PATCH leaves the number as it was', async () => {
  const nums = await listNumbers(d, svc.id);
  const id = nums[0].id;
  const st = async () => (await listNumbers(d, svc.id)).find((x) => x.id === id);
  await refusedLeavesAlone(`/v1/numbers/${id}`, { state: 'asleep' }, 400, st);
  await refusedLeavesAlone(`/v1/numbers/${id}`, { state: 'retired', capabilities: ['voice'] }, 400, st);
});

test('participants: a refused number swap leaves the session and the pool as they were', async () => {
  const s = await createSession(d, svc.id, { participants: pair() });
  const [p1] = s.participants;
  const st = () => sessionState(s.id);
  const p = `/v1/sessions/${s.id}/participants/${p1.id}`;
  await refusedLeavesAlone(p, { proxy_number: '+1415237' }, 400, st);
  await refusedLeavesAlone(p, { proxy_number: p1.proxy_number }, 409, st);
  await refusedLeavesAlone(p, { proxy_number: proxy(49) }, 409, st);
  await refusedLeavesAlone(p, { proxy_number: null, extra: true }, 400, st);
});

test('deleting a number in use says what frees it (its open sessions, with their count), and retiring does not', async () => {
  const svc2 = await createService(d, { name: 'Delete me' });
  const [num] = await addPool(d, svc2.id, [proxy(45)]);
  const a = await createSession(d, svc2.id, { participants: pair() });
  const b = await createSession(d, svc2.id, { participants: pair() });
  const del = () => d.api('DELETE', `/v1/numbers/${num.id}`);
  expectError(await del(), 409, 'conflict', '2 open sessions', 'close them', 'retiring it does not release it');
  expectStatus(await d.api('PATCH', `/v1/numbers/${num.id}`, { state: 'retired' }), 200, 'retire');
  expectError(await del(), 409, 'conflict', '2 open sessions');
  await closeSession(d, a.id);
  expectError(await del(), 409, 'conflict', '1 open session:', 'close it');
  await closeSession(d, b.id);
  assert.equal((await del()).status, 204, 'the number is free once its sessions are closed (cooling bindings go with it)');
});
