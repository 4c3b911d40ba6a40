// SPDX-License-Identifier: MIT
// Audit entries commit with the change they record (docs/PRIVACY.md "Audit entries and
// their changes"): a service change (PATCH /v1/services/{id}), a data-subject erasure, a
// session close (PATCH status closed, DELETE) and a participant's number swap write their
// entry in the same store transaction as the change itself.
//   - a refused change (4xx) writes no entry at all;
//   - kill -9 of the daemon in the middle of four streams (service changes, erasures,
//     session closes, number swaps) never leaves a change without its entry, nor an entry
//     without its change. Each stream runs one change after another, so what survived is a
//     prefix: the service's last name "atomic-<j>" means exactly j service.changed entries;
//     exactly as many erasures audited as sessions erased (each closed, its number gone);
//     each closed session has exactly one close entry and each open one none; and the
//     swapped participant has as many participant.swapped entries as number_swapped
//     events — whatever moment the signal lands.
// SQLite by default; PostgreSQL with MASKD_TEST_PG_URL.

import assert from 'node:assert/strict';
import { after, test } from 'node:test';

import { startDaemon } from './lib/daemon.mjs';
import { addPool, createService, createSession, expectError, expectStatus, sessionEvents } from './lib/fixtures.mjs';
import { assertValid, masked, proxy, real } from './lib/numbers.mjs';

const POOL = [proxy(60), proxy(61), proxy(62)];
const SUBJECTS = 40;           // sessions whose first participant gets erased
const FIRST_REAL = 7300;       // real(7300..7379)
const KILL_AFTER = 60;         // kill -9 once this many changes (all kinds) are acknowledged
const PAIRS = Array.from({ length: SUBJECTS }, (_, i) => [real(FIRST_REAL + 2 * i), real(FIRST_REAL + 2 * i + 1)]);
const CLOSE_POOL = [proxy(63), proxy(64)];
const CLOSES = 40;             // sessions closed one by one (even: DELETE, odd: PATCH status closed)
const CLOSE_PAIRS = Array.from({ length: CLOSES }, (_, i) => [real(7400 + 2 * i), real(7400 + 2 * i + 1)]);
const SWAP_POOL = [proxy(66), proxy(67), proxy(68)];
const SWAP_PAIR = [real(7480), real(7481)];
assertValid(POOL, PAIRS.flat(), CLOSE_POOL, CLOSE_PAIRS.flat(), SWAP_POOL, SWAP_PAIR);

const daemons = [];
let failed = false;
after(async () => {
  for (const d of daemons) {
    if (!d.exited) {
      try { await d.stop(); } catch (e) { failed = true; process.stderr.write(`# ${e.message}\n`); }
    }
  }
  for (const d of daemons) {
    if (failed || process.env.MASKD_TEST_KEEP) process.stderr.write(`# maskd temp dir kept: ${d.tmp}\n`);
    else await d.removeTmp();
  }
});

async function auditEntries(d) {
  const res = await d.api('GET', '/v1/audit/export');
  assert.equal(res.status, 200, res.text);
  return res.text.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l));
}

test('a refused change writes no audit entry', async (t) => {
  t.after(() => { if (t.passed === false) failed = true; });
  const d = await startDaemon();
  daemons.push(d);
  const svc = await createService(d, { name: 'Refused' });
  const before = (await auditEntries(d)).length;
  expectError(await d.api('PATCH', `/v1/services/${svc.id}`, { defaults: { ttl: -5 } }), 400, 'invalid_field', 'ttl');
  expectError(await d.api('PATCH', `/v1/services/${svc.id}`, { color: 'red' }), 400, 'unknown_field', 'color');
  expectError(await d.api('POST', '/v1/privacy/erase', { number: '+1415237', reason: 'DSAR' }), 400,
    'invalid_field', 'number');
  expectError(await d.api('POST', '/v1/privacy/erase', { number: real(FIRST_REAL) }), 400, 'missing_field', 'reason');
  // refused session changes and swaps
  await addPool(d, svc.id, [proxy(69)]);
  const ses = await createSession(d, svc.id, { participants: [{ number: real(7490) }, { number: real(7491) }] });
  const par = ses.participants[0].id;
  expectError(await d.api('PATCH', `/v1/sessions/${ses.id}`, { status: 'paused' }), 400, 'invalid_field', 'status');
  expectError(await d.api('PATCH', `/v1/sessions/${ses.id}`, {}), 400, 'missing_field', 'status');
  const unknown = `ses_${[...ses.id.slice(4)].reverse().join('')}`; // well-formed, no such session
  expectError(await d.api('DELETE', `/v1/sessions/${unknown}`), 404, 'not_found', 'session');
  expectError(await d.api('PATCH', `/v1/sessions/${ses.id}/participants/${par}`, {}), 400, 'missing_field',
    'proxy_number');
  expectError(await d.api('PATCH', `/v1/sessions/${ses.id}/participants/${par}`, { proxy_number: proxy(99) }), 409,
    'conflict', 'proxy_number');
  expectError(await d.api('PATCH', `/v1/sessions/${ses.id}/participants/${par}`, { proxy_number: null }), 409,
    'pool_exhausted');
  assert.equal((await auditEntries(d)).length, before, 'a refused request wrote an audit entry');
  // an accepted close writes exactly one, with its reason
  const closed = await d.request('DELETE', `/v1/sessions/${ses.id}`, {
    headers: { Authorization: `Bearer ${d.adminKey}`, 'X-Audit-Reason': 'order cancelled' },
  });
  assert.equal(closed.status, 204, closed.text);
  const afterClose = await auditEntries(d);
  assert.equal(afterClose.length, before + 1);
  const c = afterClose[afterClose.length - 1];
  assert.deepEqual([c.action, c.target, c.reason], ['session.deleted', ses.id, 'order cancelled']);
  // a swap of a closed session is refused: no entry
  expectError(await d.api('PATCH', `/v1/sessions/${ses.id}/participants/${par}`, { proxy_number: null }), 409,
    'conflict', 'not open');
  assert.equal((await auditEntries(d)).length, before + 1, 'a refused swap wrote an audit entry');
  // and an accepted service change writes exactly one
  const res = await d.request('PATCH', `/v1/services/${svc.id}`, {
    headers: { Authorization: `Bearer ${d.adminKey}`, 'Content-Type': 'application/json', 'X-Audit-Reason': 'rename' },
    body: JSON.stringify({ name: 'Accepted' }),
  });
  assert.equal(res.status, 200, res.text);
  const entries = await auditEntries(d);
  assert.equal(entries.length, before + 2);
  const e = entries[entries.length - 1];
  assert.deepEqual([e.action, e.target, e.reason, e.detail], ['service.changed', svc.id, 'rename', 'fields=name']);
  await d.stop();
});

test('kill -9 never leaves a service change, an erasure, a close or a swap without its audit entry', async (t) => {
  t.after(() => { if (t.passed === false) failed = true; });
  const d1 = await startDaemon();
  daemons.push(d1);
  const svc = await createService(d1, { name: 'atomic-0' });
  await addPool(d1, svc.id, POOL);
  const sessions = [];
  for (const [a, b] of PAIRS) {
    sessions.push(await createSession(d1, svc.id, { participants: [{ number: a }, { number: b }] }));
  }
  const closeSvc = await createService(d1, { name: 'closes' });
  await addPool(d1, closeSvc.id, CLOSE_POOL);
  const toClose = [];
  for (const [a, b] of CLOSE_PAIRS) {
    toClose.push(await createSession(d1, closeSvc.id, { participants: [{ number: a }, { number: b }] }));
  }
  const swapSvc = await createService(d1, { name: 'swaps' });
  await addPool(d1, swapSvc.id, SWAP_POOL);
  const swapSes = await createSession(d1, swapSvc.id, { participants: [{ number: SWAP_PAIR[0] }, { number: SWAP_PAIR[1] }] });
  const swapPar = swapSes.participants[0].id;

  let acked = 0;
  let killed = false;
  const ack = () => {
    acked++;
    if (acked === KILL_AFTER && !killed) {
      killed = true;
      d1.child.kill('SIGKILL'); // right after an answer, with the other stream's request in flight
    }
  };
  async function renames() {
    for (let j = 1; !killed && j <= 1000; j++) {
      let res;
      try {
        res = await d1.api('PATCH', `/v1/services/${svc.id}`, { name: `atomic-${j}` });
      } catch {
        return; // in flight when the daemon died
      }
      if (killed) return;
      expectStatus(res, 200, `rename #${j}`);
      ack();
    }
  }
  async function erasures() {
    for (let i = 0; !killed && i < SUBJECTS; i++) {
      let res;
      try {
        res = await d1.api('POST', '/v1/privacy/erase', { number: PAIRS[i][0], reason: `DSAR ${i}` });
      } catch {
        return;
      }
      if (killed) return;
      const body = expectStatus(res, 200, `erase #${i}`);
      assert.equal(body.participants_erased, 1, `erase #${i}`);
      ack();
    }
  }
  async function closes() {
    for (let i = 0; !killed && i < CLOSES; i++) {
      let res;
      try {
        res = i % 2 === 0 ? await d1.api('DELETE', `/v1/sessions/${toClose[i].id}`)
          : await d1.api('PATCH', `/v1/sessions/${toClose[i].id}`, { status: 'closed' });
      } catch {
        return;
      }
      if (killed) return;
      expectStatus(res, i % 2 === 0 ? 204 : 200, `close #${i}`);
      ack();
    }
  }
  async function swaps() {
    for (let j = 1; !killed && j <= 1000; j++) {
      let res;
      try {
        res = await d1.api('PATCH', `/v1/sessions/${swapSes.id}/participants/${swapPar}`, { proxy_number: null });
      } catch {
        return;
      }
      if (killed) return;
      expectStatus(res, 200, `swap #${j}`);
      ack();
    }
  }
  await Promise.all([renames(), erasures(), closes(), swaps()]);
  assert.ok(killed, `the streams ended before ${KILL_AFTER} acknowledged changes`);
  const exit = await d1.exit;
  assert.equal(exit.signal, 'SIGKILL', `the daemon should have been killed, exited ${JSON.stringify(exit)}`);

  const d2 = await startDaemon({ env: { MASKD_DB: d1.env.MASKD_DB, MASKD_KEY_FILE: d1.env.MASKD_KEY_FILE } });
  daemons.push(d2);
  const entries = await auditEntries(d2);
  const verify = expectStatus(await d2.api('GET', '/v1/audit/verify'), 200, 'audit verify');
  assert.equal(verify.ok, true, `the chain breaks after kill -9: ${JSON.stringify(verify)}`);

  const name = expectStatus(await d2.api('GET', `/v1/services/${svc.id}`), 200, 'GET service').name;
  const m = /^atomic-(\d+)$/.exec(name);
  assert.ok(m, `service name ${name}`);
  const changes = entries.filter((e) => e.action === 'service.changed' && e.target === svc.id).length;
  assert.equal(changes, Number(m[1]), `the service is at ${name} but ${changes} service.changed entries survived`);

  let erased = 0;
  for (let i = 0; i < SUBJECTS; i++) {
    const s = expectStatus(await d2.api('GET', `/v1/sessions/${sessions[i].id}`), 200, `session ${i}`);
    const gone = s.participants[0].number !== masked(PAIRS[i][0]);
    // erased: closed with it, in the same transaction; not erased: untouched and open
    assert.equal(s.status, gone ? 'closed' : 'open', `session ${i} (${s.participants[0].number})`);
    assert.equal(s.participants[1].number, masked(PAIRS[i][1]), `session ${i}: the other participant stays`);
    if (gone) erased++;
  }
  const erasures_ = entries.filter((e) => e.action === 'privacy.erased');
  assert.equal(erasures_.length, erased, `${erased} numbers erased but ${erasures_.length} erasure entries`);
  for (const e of erasures_) assert.equal(e.detail, 'sessions_closed=1 participants=1 optouts=0 profiles=0 profiles_retired=0');

  let closedN = 0;
  for (let i = 0; i < CLOSES; i++) {
    const s = expectStatus(await d2.api('GET', `/v1/sessions/${toClose[i].id}`), 200, `closed session ${i}`);
    const mine = entries.filter((e) => e.target === toClose[i].id);
    const action = i % 2 === 0 ? 'session.deleted' : 'session.changed';
    if (s.status === 'closed') {
      closedN++;
      assert.deepEqual(mine.map((e) => e.action), [action], `session ${i} is closed: its entries`);
    } else {
      assert.equal(s.status, 'open', `session ${i}`);
      assert.deepEqual(mine, [], `session ${i} is open but has audit entries`);
    }
  }
  const swapEvents = (await sessionEvents(d2, swapSes.id)).filter((ev) => ev.kind === 'number_swapped').length;
  const swapEntries = entries.filter((e) => e.action === 'participant.swapped' && e.target === swapPar).length;
  assert.equal(swapEntries, swapEvents, `${swapEvents} swaps survived but ${swapEntries} swap entries`);
  const acked_ = changes + erased + closedN + swapEvents;
  assert.ok(acked_ >= KILL_AFTER, `acknowledged changes lost: ${acked_} < ${KILL_AFTER}`);
  assert.ok(closedN > 0 && swapEvents > 0, `every stream should have run: ${closedN} closes, ${swapEvents} swaps`);
  await d2.stop();
});
