// SPDX-License-Identifier: MIT
// Data-subject requests (docs/API.md "Data-subject requests"): one real number in an open
// session of one service and a closed session of another, with a call and an opt-out.
//   - lookup (privacy key) finds both sessions, the call and the opt-out, masked, and is
//     audited; bad input (not E.164, no reason) is a 400 that erases nothing;
//   - erase closes the open session, wipes the sealed number, the blind index and the
//     opt-out everywhere, keeps records (ids, durations), is audited, and a second erase
//     finds nothing and says so;
//   - afterwards a call from that number reaches no one, and the database (file and WAL on
//     SQLite, a pg_dump on PostgreSQL), the log, the audit export and every answer hold
//     neither the number nor its blind index.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { test } from 'node:test';

import { PG_URL, psql, useDaemon } from './lib/daemon.mjs';
import {
  addPool, createService, createSession, expectError, expectStatus, messageParams, voiceParams,
} from './lib/fixtures.mjs';
import { assertValid, masked, proxy, real, realNy, spellings } from './lib/numbers.mjs';

const execFileP = promisify(execFile);
const d = useDaemon();

const SUBJECT = real(6401);
const PEER_A = real(6402);
const PEER_B = realNy(5403);
const POOL_A = [proxy(87), proxy(88)];
const POOL_B = [proxy(89), proxy(90)];
assertValid([SUBJECT, PEER_A, PEER_B], POOL_A, POOL_B);

async function sql(q) {
  if (PG_URL) return (await psql(d.env.MASKD_DB, q)).split('\n').filter((l) => l !== '');
  const { stdout } = await execFileP('python3', ['-c',
    'import sqlite3,sys\nc=sqlite3.connect(sys.argv[1], timeout=10)\nfor r in c.execute(sys.argv[2]): print("|".join(map(str,r)))',
    d.dbPath, q]);
  return stdout.split('\n').filter((l) => l !== '');
}

test('lookup, erase, and nothing of the number left anywhere', async () => {
  const dpo = expectStatus(await d.api('POST', '/v1/keys', { role: 'privacy', label: 'DPO' }), 201);
  const auth = { auth: `Bearer ${dpo.key}` };
  const svcA = await createService(d, { name: 'A' });
  const svcB = await createService(d, { name: 'B' });
  await addPool(d, svcA.id, POOL_A);
  await addPool(d, svcB.id, POOL_B);
  const open = await createSession(d, svcA.id, { participants: [{ number: SUBJECT }, { number: PEER_A }] });
  const old = await createSession(d, svcB.id, { participants: [{ number: SUBJECT }, { number: PEER_B }] });
  const proxyA = open.participants[0].proxy_number; // what SUBJECT dials to reach PEER_A
  // a bridged call and an opt-out in A; then B's session ends
  const call = await d.webhook('twilio', 'voice', voiceParams('twilio', { from: SUBJECT, to: proxyA }));
  assert.equal(call.status, 200);
  assert.ok(call.text.includes(PEER_A), 'the call is bridged to the peer before the erasure');
  expectStatus(await d.webhook('twilio', 'message', messageParams('twilio', { from: SUBJECT, to: proxyA, body: 'STOP' })),
    200);
  expectStatus(await d.api('PATCH', `/v1/sessions/${old.id}`, { status: 'closed' }), 200);
  const bidx = (await sql(`SELECT DISTINCT bidx FROM participants WHERE id IN ('${open.participants[0].id}', ` +
    `'${old.participants[0].id}')`));
  assert.equal(bidx.length, 1, 'one blind index for the subject');
  assert.ok(bidx[0].length >= 16);
  assert.equal((await sql(`SELECT COUNT(*) FROM optouts WHERE bidx = '${bidx[0]}'`))[0], '1');
  const recordsBefore = expectStatus(await d.api('GET', `/v1/services/${svcA.id}/records`), 200).records;
  assert.ok(recordsBefore.length >= 1);

  // --- lookup
  const found = expectStatus(await d.api('POST', '/v1/privacy/lookup', { number: SUBJECT, reason: 'DSAR 17' }, auth),
    200);
  assert.equal(found.number, masked(SUBJECT));
  assert.deepEqual(found.sessions.map((s) => [s.session_id, s.service_id, s.status]).sort(), [
    [open.id, svcA.id, 'in-progress'], [old.id, svcB.id, 'closed']].sort());
  const inA = found.sessions.find((s) => s.session_id === open.id);
  assert.equal(inA.number, masked(SUBJECT));
  assert.equal(inA.interactions.length, 2); // the call and the STOP
  assert.equal(found.optouts.length, 1);
  assert.equal(found.optouts[0].service_id, svcA.id);

  // --- bad input changes nothing
  const ro = expectStatus(await d.api('POST', '/v1/keys', { role: 'service', service_id: svcA.id }), 201);
  expectError(await d.api('POST', '/v1/privacy/erase', { number: SUBJECT, reason: 'x' }, { auth: `Bearer ${ro.key}` }),
    403, 'forbidden');
  expectError(await d.api('POST', '/v1/privacy/erase', { number: '+1415237', reason: 'x' }, auth), 400,
    'invalid_field', 'number');
  expectError(await d.api('POST', '/v1/privacy/erase', { number: '4152376401', reason: 'x' }, auth), 400,
    'invalid_field', 'number');
  expectError(await d.api('POST', '/v1/privacy/erase', { number: SUBJECT }, auth), 400, 'missing_field', 'reason');
  expectError(await d.api('POST', '/v1/privacy/erase', { number: SUBJECT, reason: '' }, auth), 400, 'missing_field',
    'reason');
  expectError(await d.api('POST', '/v1/privacy/lookup', { number: 'nope' }, auth), 400, 'invalid_field', 'number');
  assert.equal((await sql(`SELECT COUNT(*) FROM participants WHERE bidx = '${bidx[0]}'`))[0], '2');
  assert.equal(expectStatus(await d.api('GET', `/v1/sessions/${open.id}`), 200).status, 'in-progress');

  // --- erase, twice
  const erased = expectStatus(await d.api('POST', '/v1/privacy/erase', { number: SUBJECT, reason: 'DSAR 17' }, auth),
    200);
  assert.deepEqual({ ...erased, audit_seq: 0 }, {
    found: true, sessions_closed: 1, participants_erased: 2, optouts_erased: 1, profiles_erased: 0,
    profiles_retired: 0, audit_seq: 0,
  });
  const again = expectStatus(await d.api('POST', '/v1/privacy/erase', { number: SUBJECT, reason: 'DSAR 17' }, auth),
    200);
  assert.deepEqual({ ...again, audit_seq: 0 }, {
    found: false, sessions_closed: 0, participants_erased: 0, optouts_erased: 0, profiles_erased: 0,
    profiles_retired: 0, audit_seq: 0,
  });
  const none = expectStatus(await d.api('POST', '/v1/privacy/lookup', { number: SUBJECT }, auth), 200);
  assert.deepEqual([none.sessions, none.optouts, none.profiles], [[], [], []]);
  assert.equal(expectStatus(await d.api('GET', `/v1/sessions/${open.id}`), 200).status, 'closed');
  // records keep their ids and durations
  const recordsAfter = expectStatus(await d.api('GET', `/v1/services/${svcA.id}/records`), 200).records;
  assert.deepEqual(recordsAfter.map((r) => [r.session_id, r.interaction_id, r.duration]),
    recordsBefore.map((r) => [r.session_id, r.interaction_id, r.duration]));
  // the audit log says who, when and why, and nothing of the number
  const audit = (await d.api('GET', '/v1/audit/export')).text;
  const lines = audit.split('\n').filter((l) => l).map((l) => JSON.parse(l));
  const kinds = lines.filter((e) => e.action.startsWith('privacy.')).map((e) => [e.action, e.reason, e.key_id]);
  assert.deepEqual(kinds, [
    ['privacy.lookup', 'DSAR 17', dpo.id], ['privacy.erased', 'DSAR 17', dpo.id],
    ['privacy.erased', 'DSAR 17', dpo.id], ['privacy.lookup', '', dpo.id]]);
  expectStatus(await d.api('GET', '/v1/audit/verify'), 200);

  // --- a call from the number reaches no one
  const late = await d.webhook('twilio', 'voice', voiceParams('twilio', { from: SUBJECT, to: proxyA }));
  assert.equal(late.status, 200);
  assert.ok(!late.text.includes('<Dial'), `not bridged: ${late.text}`);
  assert.ok(!late.text.includes(PEER_A));
  // and the peer, whose binding still cools off, hears the ended message: its other side is erased
  const peer = await d.webhook('twilio', 'voice', voiceParams('twilio', { from: PEER_A, to: open.participants[1].proxy_number }));
  assert.equal(peer.status, 200, `the peer's late call: ${peer.text}`);
  assert.ok(!peer.text.includes('<Dial'), `not bridged: ${peer.text}`);
  const metrics = await d.request('GET', '/metrics');

  // --- scan everything for the number and its blind index
  await d.stop();
  const needles = [...spellings(SUBJECT), bidx[0]];
  const files = fs.readdirSync(d.tmp).map((f) => path.join(d.tmp, f)).filter((p) => fs.statSync(p).isFile());
  assert.ok(files.some((f) => f.endsWith('maskd.db')), 'the database (or its dump) is scanned');
  const found2 = [];
  for (const f of files) {
    const buf = fs.readFileSync(f);
    for (const n of needles) if (buf.includes(Buffer.from(n))) found2.push(`${path.basename(f)}: ${n}`);
  }
  for (const [what, text] of [['audit export', audit], ['metrics', metrics.text]]) {
    for (const n of needles) if (text.includes(n)) found2.push(`${what}: ${n}`);
  }
  for (const a of d.transcript) {
    if (a.kind === 'webhook' && /<(Dial|Message)[ >]/.test(a.text)) continue; // the bridge before the erasure
    for (const n of needles) if ((a.text ?? '').includes(n)) found2.push(`answer to ${a.method} ${a.path}: ${n}`);
  }
  assert.deepEqual(found2, []);
});
