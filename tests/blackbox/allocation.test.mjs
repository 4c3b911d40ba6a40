// SPDX-License-Identifier: MIT
// Proxy-number allocation: a number of the service's pool, state active, with the capabilities
// the mode needs, not already bound to that participant's real number by an open session;
// least-loaded first; explicit proxy_number honoured; pool exhaustion → 409 pool_exhausted.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { useDaemon } from './lib/daemon.mjs';
import {
  addNumber, addPool, closeSession, createService, createSession, expectError, expectOneOfErrors, expectStatus,
  inUse, listNumbers, postSession, setNumberState,
} from './lib/fixtures.mjs';
import { assertValid, proxy, real, realNy } from './lib/numbers.mjs';

const d = useDaemon();
let n = 0;
const fresh = () => real(n++);

async function sessionCount(svcId) {
  return expectStatus(await d.api('GET', `/v1/services/${svcId}/sessions`), 200).sessions.length;
}

describe('exhaustion', () => {
  test('one-number pool: a real number already bound to it → 409 pool_exhausted naming the participant', async () => {
    const svc = await createService(d, { name: 'Tiny pool' });
    const other = await createService(d, { name: 'Neighbour' });
    await addPool(d, other.id, [proxy(1, '650'), proxy(2, '650')]); // another service's numbers are never used
    const P = proxy(0, '650');
    assertValid(P);
    await addNumber(d, svc.id, P);
    const [r1, r2, d1, d2] = [fresh(), fresh(), fresh(), fresh()];
    const s1 = await createSession(d, svc.id, { participants: [[r1, 'Rider'], [d1, 'Driver']] });
    assert.deepEqual(s1.participants.map((p) => p.proxy_number), [P, P]);
    expectError(await postSession(d, svc.id, { participants: [[r1], [d2]] }), 409, 'pool_exhausted', 'participants[0]');
    expectError(await postSession(d, svc.id, { participants: [[r2], [d1]] }), 409, 'pool_exhausted', 'participants[1]');
    const e = expectError(await postSession(d, svc.id, { mode: 'voice', participants: [[r1], [d2]] }),
      409, 'pool_exhausted', 'participants[0]');
    assert.match(e.message, /voice/);
    assert.equal(await sessionCount(svc.id), 1, 'a refused session was created');
    const s2 = await createSession(d, svc.id, { participants: [[r2], [d2]] });
    assert.deepEqual(s2.participants.map((p) => p.proxy_number), [P, P]);
  });

  test('20 sessions in parallel for one rider on a 20-number pool: 20 distinct proxies; the 21st → 409', async () => {
    const svc = await createService(d, { name: 'Parallel' });
    const pool = Array.from({ length: 20 }, (_, i) => proxy(i, '212'));
    assertValid(pool);
    await addPool(d, svc.id, pool);
    const rider = realNy(0);
    const drivers = Array.from({ length: 21 }, (_, i) => realNy(100 + i));
    const results = await Promise.all(drivers.slice(0, 20).map((drv, i) =>
      postSession(d, svc.id, { unique_name: `ride-${i}`, participants: [[rider, 'Rider'], [drv, 'Driver']] })));
    for (const r of results) expectStatus(r, 201, 'parallel session');
    const riderProxies = results.map((r) => r.json.participants[0].proxy_number);
    assert.equal(new Set(riderProxies).size, 20, `rider proxies not distinct: ${riderProxies.join(' ')}`);
    assert.deepEqual([...riderProxies].sort(), [...pool].sort());
    for (const r of results) assert.ok(pool.includes(r.json.participants[1].proxy_number));
    expectError(await postSession(d, svc.id, { participants: [[rider], [drivers[20]]] }),
      409, 'pool_exhausted', 'participants[0]');
    assert.equal(await sessionCount(svc.id), 20);
    const use = await inUse(d, svc.id);
    for (const p of pool) assert.ok(use[p] >= 1, `in_use of ${p} is ${use[p]}`);
  });
});

describe('what may be picked', () => {
  test('reserved and retired numbers are never picked; re-activated ones are', async () => {
    const svc = await createService(d, { name: 'States' });
    const active = [proxy(10), proxy(11), proxy(12)];
    const reservedAtCreation = [proxy(13), proxy(14)];
    const toRetire = proxy(15);
    const toReserve = proxy(16);
    assertValid(active, reservedAtCreation, toRetire, toReserve);
    await addPool(d, svc.id, active);
    const res = [];
    for (const x of reservedAtCreation) res.push(await addNumber(d, svc.id, x, { reserved: true }));
    const retired = await addNumber(d, svc.id, toRetire);
    const reserved = await addNumber(d, svc.id, toReserve);
    assert.equal((await setNumberState(d, retired.id, 'retired')).state, 'retired');
    assert.equal((await setNumberState(d, reserved.id, 'reserved')).state, 'reserved');
    const rider = fresh();
    const got = [];
    for (;;) {
      const r = await postSession(d, svc.id, { participants: [[rider], [fresh()]] });
      if (r.status !== 201) {
        expectError(r, 409, 'pool_exhausted', 'participants[0]');
        break;
      }
      got.push(...r.json.participants.map((p) => p.proxy_number));
      assert.ok(got.length <= 2 * active.length, 'more sessions than active numbers');
    }
    assert.equal(got.length, 2 * active.length);
    for (const p of got) assert.ok(active.includes(p), `picked ${p}, which is not active`);
    // un-reserve one: it is picked next
    assert.equal((await setNumberState(d, res[0].id, 'active')).state, 'active');
    const s = await createSession(d, svc.id, { participants: [[rider], [fresh()]] });
    assert.equal(s.participants[0].proxy_number, reservedAtCreation[0]);
  });

  test('capabilities follow the mode: voice → voice, message → sms, both → voice+sms', async () => {
    const svc = await createService(d, { name: 'Capabilities' });
    const V = proxy(20);
    const S = proxy(21);
    const F = proxy(22);
    assertValid(V, S, F);
    await addNumber(d, svc.id, V, { capabilities: ['voice'] });
    await addNumber(d, svc.id, S, { capabilities: ['sms', 'mms'] });
    const v = await createSession(d, svc.id, { mode: 'voice', participants: [[fresh()], [fresh()]] });
    assert.deepEqual(v.participants.map((p) => p.proxy_number), [V, V]);
    const m = await createSession(d, svc.id, { mode: 'message', participants: [[fresh()], [fresh()]] });
    assert.deepEqual(m.participants.map((p) => p.proxy_number), [S, S]);
    const e = expectError(await postSession(d, svc.id, { mode: 'voice-and-message', participants: [[fresh()], [fresh()]] }),
      409, 'pool_exhausted', 'participants[0]');
    assert.match(e.message, /voice/);
    assert.match(e.message, /sms/);
    await addNumber(d, svc.id, F);
    const b = await createSession(d, svc.id, { mode: 'voice-and-message', participants: [[fresh()], [fresh()]] });
    assert.deepEqual(b.participants.map((p) => p.proxy_number), [F, F]);
  });

  test('least-loaded first', async () => {
    const svc = await createService(d, { name: 'Load' });
    const [A, B, C] = [proxy(30), proxy(31), proxy(32)];
    assertValid(A, B, C);
    await addPool(d, svc.id, [A, B, C]);
    const onA = [];
    for (let i = 0; i < 3; i++) onA.push(await createSession(d, svc.id, { participants: [[fresh(), 'R', A], [fresh(), 'D', A]] }));
    for (let i = 0; i < 2; i++) await createSession(d, svc.id, { participants: [[fresh(), 'R', B], [fresh(), 'D', B]] });
    const s = await createSession(d, svc.id, { participants: [[fresh()], [fresh()]] });
    assert.deepEqual(s.participants.map((p) => p.proxy_number), [C, C], 'not the least-loaded number (A: 3 sessions, B: 2, C: 0)');
    await createSession(d, svc.id, { participants: [[fresh(), 'R', C], [fresh(), 'D', C]] });
    for (const o of onA) await closeSession(d, o.id);
    const s2 = await createSession(d, svc.id, { participants: [[fresh()], [fresh()]] });
    assert.deepEqual(s2.participants.map((p) => p.proxy_number), [A, A], 'not the least-loaded number after closes (A: 0, B: 2, C: 2)');
  });

  test('in_use = open/in-progress sessions bound to the number; drops on close and delete', async () => {
    const svc = await createService(d, { name: 'In use' });
    const [X, Y] = [proxy(33), proxy(34)];
    assertValid(X, Y);
    await addPool(d, svc.id, [X, Y]);
    assert.deepEqual(await inUse(d, svc.id), { [X]: 0, [Y]: 0 });
    const both = await createSession(d, svc.id, { participants: [[fresh(), 'R', X], [fresh(), 'D', X]] });
    assert.deepEqual(await inUse(d, svc.id), { [X]: 1, [Y]: 0 }, 'one session with both participants on X');
    const split = await createSession(d, svc.id, { participants: [[fresh(), 'R', X], [fresh(), 'D', Y]] });
    assert.deepEqual(await inUse(d, svc.id), { [X]: 2, [Y]: 1 });
    await closeSession(d, both.id);
    assert.deepEqual(await inUse(d, svc.id), { [X]: 1, [Y]: 1 });
    expectStatus(await d.api('DELETE', `/v1/sessions/${split.id}`), 204);
    assert.deepEqual(await inUse(d, svc.id), { [X]: 0, [Y]: 0 });
    for (const x of await listNumbers(d, svc.id)) assert.equal(typeof x.in_use, 'number');
  });
});

describe('explicit proxy_number', () => {
  test('honoured (also when spelled with punctuation)', async () => {
    const svc = await createService(d, { name: 'Explicit' });
    const [A, B] = [proxy(40), proxy(41)];
    await addPool(d, svc.id, [A, B]);
    const s = await createSession(d, svc.id, { participants: [[fresh(), 'Rider', B], [fresh(), 'Driver', A]] });
    assert.deepEqual(s.participants.map((p) => p.proxy_number), [B, A]);
    const s2 = await createSession(d, svc.id, { participants: [[fresh(), 'Rider', '+1 (415) 555-0141'], [fresh(), 'Driver']] });
    assert.equal(s2.participants[0].proxy_number, B);
  });

  test('not in the pool, in another service\'s pool, or already bound to that real number → 400/409', async () => {
    const svc = await createService(d, { name: 'Explicit errors' });
    const other = await createService(d, { name: 'Explicit neighbour' });
    const [A, B, X, Y] = [proxy(50), proxy(51), proxy(52), proxy(53)];
    assertValid(A, B, X, Y);
    await addPool(d, svc.id, [A, B]);
    await addNumber(d, other.id, X);
    const rider = fresh();
    await createSession(d, svc.id, { participants: [[rider, 'Rider', A], [fresh(), 'Driver']] });
    const before = await sessionCount(svc.id);
    const allowed = { 400: 'invalid_field', 409: ['conflict', 'pool_exhausted'] };
    expectOneOfErrors(await postSession(d, svc.id, { participants: [[fresh()], [fresh(), 'D', Y]] }), allowed,
      'participants[1].proxy_number');
    expectOneOfErrors(await postSession(d, svc.id, { participants: [[fresh(), 'R', X], [fresh()]] }), allowed,
      'participants[0].proxy_number');
    expectOneOfErrors(await postSession(d, svc.id, { participants: [[rider, 'R', A], [fresh()]] }), allowed,
      'participants[0]');
    assert.equal(await sessionCount(svc.id), before, 'a refused session was created');
    // the same rider with the other number is fine
    const ok = await createSession(d, svc.id, { participants: [[rider, 'R', B], [fresh()]] });
    assert.equal(ok.participants[0].proxy_number, B);
  });
});

test('duplicate open unique_name → 409 conflict; allowed again once the first is closed', async () => {
  const svc = await createService(d, { name: 'Unique names' });
  await addPool(d, svc.id, [proxy(60), proxy(61)]);
  const first = await createSession(d, svc.id, { unique_name: 'order-7', participants: [[fresh()], [fresh()]] });
  expectError(await postSession(d, svc.id, { unique_name: 'order-7', participants: [[fresh()], [fresh()]] }), 409, 'conflict');
  assert.equal(await sessionCount(svc.id), 1);
  await closeSession(d, first.id);
  const again = await createSession(d, svc.id, { unique_name: 'order-7', participants: [[fresh()], [fresh()]] });
  assert.notEqual(again.id, first.id);
  const open = expectStatus(await d.api('GET', `/v1/services/${svc.id}/sessions?status=open&unique_name=order-7`), 200).sessions;
  assert.deepEqual(open.map((s) => s.id), [again.id]);
  const all = expectStatus(await d.api('GET', `/v1/services/${svc.id}/sessions?unique_name=order-7`), 200).sessions;
  assert.deepEqual(all.map((s) => s.id).sort(), [first.id, again.id].sort());
});
