// SPDX-License-Identifier: MIT
// Data-subject requests and profiles (docs/API.md "Data-subject requests", docs/PRIVACY.md):
// an agent's real number is the number of a profile (its stable proxy number) used in a
// session with a customer, and of a second profile in another service.
//   - lookup (privacy key) finds both profiles, masked, with their ids, and the session;
//   - erase closes the session, retires both profiles (their proxy numbers stay reserved
//     through the cool-off), wipes their sealed numbers and blind index with the
//     participant row, is audited with the counts; a second erase finds nothing;
//   - afterwards a call from the number to the profile's proxy number (and to its own
//     proxy number in the session) reaches no one, the customer's call does not reach the
//     agent, the profile cannot be used in a new session, and the database (file and WAL
//     on SQLite, a pg_dump on PostgreSQL), the log, the audit export, /metrics and every
//     answer hold neither the number nor its blind index.
// Runs on SQLite, and on PostgreSQL when MASKD_TEST_PG_URL is set.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { test } from 'node:test';

import { PG_URL, psql, useDaemon } from './lib/daemon.mjs';
import {
  addPool, createService, createSession, expectError, expectStatus, listNumbers, voiceParams,
} from './lib/fixtures.mjs';
import { assertValid, masked, proxy, real, spellings } from './lib/numbers.mjs';

const execFileP = promisify(execFile);
const d = useDaemon();

const AGENT = real(6501);
const CUSTOMER = real(6502);
const POOL_A = [proxy(91), proxy(92), proxy(93)];
const POOL_B = [proxy(94), proxy(95)];
assertValid([AGENT, CUSTOMER], POOL_A, POOL_B);

async function sql(q) {
  if (PG_URL) return (await psql(d.env.MASKD_DB, q)).split('\n').filter((l) => l !== '');
  const { stdout } = await execFileP('python3', ['-c',
    'import sqlite3,sys\nc=sqlite3.connect(sys.argv[1], timeout=10)\nfor r in c.execute(sys.argv[2]): print("|".join(map(str,r)))',
    d.dbPath, q]);
  return stdout.split('\n').filter((l) => l !== '');
}

const call = (from, to) => d.webhook('twilio', 'voice', voiceParams('twilio', { from, to }));
const numberState = async (svcId, e164) => (await listNumbers(d, svcId)).find((n) => n.number === e164).state;

test('lookup and erase find and wipe the profiles of a number', async () => {
  const dpo = expectStatus(await d.api('POST', '/v1/keys', { role: 'privacy', label: 'DPO' }), 201);
  const auth = { auth: `Bearer ${dpo.key}` };
  const svcA = await createService(d, { name: 'Support A', defaults: { cooloff: 3600 } });
  const svcB = await createService(d, { name: 'Support B' });
  await addPool(d, svcA.id, POOL_A);
  await addPool(d, svcB.id, POOL_B);
  const agent = expectStatus(await d.api('POST', `/v1/services/${svcA.id}/profiles`,
    { number: AGENT, label: 'Agent 9', proxy_number: POOL_A[0] }), 201);
  const agentB = expectStatus(await d.api('POST', `/v1/services/${svcB.id}/profiles`,
    { number: AGENT, label: 'Agent 9 (B)', proxy_number: POOL_B[0] }), 201);
  const session = await createSession(d, svcA.id, { participants: [{ profile: agent.id }, { number: CUSTOMER }] });
  const agentSide = session.participants[0].proxy_number; // what the agent dials to reach the customer
  assert.equal(session.participants[1].proxy_number, POOL_A[0]);
  const bridged = await call(CUSTOMER, POOL_A[0]);
  assert.equal(bridged.status, 200);
  assert.ok(bridged.text.includes(AGENT), 'the customer reaches the agent before the erasure');
  const bidx = await sql(`SELECT DISTINCT bidx FROM profiles WHERE id IN ('${agent.id}', '${agentB.id}')`);
  assert.equal(bidx.length, 1, 'one blind index for the agent\'s number');
  assert.ok(bidx[0].length >= 16);
  assert.equal((await sql(`SELECT bidx FROM participants WHERE id = '${session.participants[0].id}'`))[0], bidx[0]);

  // --- lookup: both profiles, masked, and the session
  const found = expectStatus(await d.api('POST', '/v1/privacy/lookup', { number: AGENT, reason: 'DSAR 21' }, auth),
    200);
  assert.equal(found.number, masked(AGENT));
  assert.deepEqual(found.profiles.map((p) => [p.id, p.service_id, p.number, p.proxy_number, p.state]), [
    [agent.id, svcA.id, masked(AGENT), POOL_A[0], 'active'],
    [agentB.id, svcB.id, masked(AGENT), POOL_B[0], 'active']]);
  assert.deepEqual(found.sessions.map((s) => [s.session_id, s.participant_id]),
    [[session.id, session.participants[0].id]]);

  // --- erase, twice
  const erased = expectStatus(await d.api('POST', '/v1/privacy/erase', { number: AGENT, reason: 'DSAR 21' }, auth),
    200);
  assert.deepEqual({ ...erased, audit_seq: 0 }, {
    found: true, sessions_closed: 1, participants_erased: 1, optouts_erased: 0, profiles_erased: 2,
    profiles_retired: 2, audit_seq: 0,
  });
  const again = expectStatus(await d.api('POST', '/v1/privacy/erase', { number: AGENT, reason: 'DSAR 21' }, auth),
    200);
  assert.deepEqual({ ...again, audit_seq: 0 }, {
    found: false, sessions_closed: 0, participants_erased: 0, optouts_erased: 0, profiles_erased: 0,
    profiles_retired: 0, audit_seq: 0,
  });
  const none = expectStatus(await d.api('POST', '/v1/privacy/lookup', { number: AGENT }, auth), 200);
  assert.deepEqual([none.sessions, none.optouts, none.profiles], [[], [], []]);

  // what remains of the profile: its id, service, label, proxy number and times, retired
  const after = expectStatus(await d.api('GET', `/v1/services/${svcA.id}/profiles/${agent.id}`), 200);
  assert.equal(after.number, 'erased');
  assert.equal(after.state, 'retired');
  assert.equal(after.label, 'Agent 9');
  assert.equal(after.proxy_number, POOL_A[0]);
  assert.equal(Date.parse(after.free_at) - Date.parse(after.retired_at), 3600 * 1000, 'freed after the cool-off');
  assert.equal(await numberState(svcA.id, POOL_A[0]), 'reserved', 'held through the cool-off');
  assert.equal(expectStatus(await d.api('GET', `/v1/services/${svcB.id}/profiles/${agentB.id}`), 200).state,
    'retired');
  assert.equal((await sql(`SELECT COUNT(*) FROM profiles WHERE bidx = '${bidx[0]}'`))[0], '0');
  assert.equal(expectStatus(await d.api('GET', `/v1/sessions/${session.id}`), 200).status, 'closed');
  // the erased profile cannot be used again, and the refusal writes nothing
  expectError(await d.api('POST', `/v1/services/${svcA.id}/sessions`,
    { participants: [{ profile: agent.id }, { number: CUSTOMER }] }), 409, 'conflict', 'retired');
  // the audit entry holds the counts, and nothing of the number
  const audit = (await d.api('GET', '/v1/audit/export')).text;
  const lines = audit.split('\n').filter((l) => l).map((l) => JSON.parse(l));
  const erasures = lines.filter((e) => e.action === 'privacy.erased').map((e) => [e.reason, e.key_id, e.detail]);
  assert.deepEqual(erasures, [
    ['DSAR 21', dpo.id, 'sessions_closed=1 participants=1 optouts=0 profiles=2 profiles_retired=2'],
    ['DSAR 21', dpo.id, 'sessions_closed=0 participants=0 optouts=0 profiles=0 profiles_retired=0']]);
  expectStatus(await d.api('GET', '/v1/audit/verify'), 200);

  // --- calls from the number reach no one; the customer no longer reaches the agent
  for (const to of [POOL_A[0], agentSide, POOL_B[0]]) {
    const late = await call(AGENT, to);
    assert.equal(late.status, 200);
    assert.ok(!late.text.includes('<Dial'), `not bridged (to ${to}): ${late.text}`);
    assert.ok(!late.text.includes(CUSTOMER));
  }
  const customer = await call(CUSTOMER, POOL_A[0]);
  assert.equal(customer.status, 200);
  assert.ok(!customer.text.includes('<Dial'), `the customer is not bridged: ${customer.text}`);
  const metrics = await d.request('GET', '/metrics');

  // --- scan everything for the number and its blind index
  await d.stop();
  const needles = [...spellings(AGENT), bidx[0]];
  const files = fs.readdirSync(d.tmp).map((f) => path.join(d.tmp, f)).filter((p) => fs.statSync(p).isFile());
  assert.ok(files.some((f) => f.endsWith('maskd.db')), 'the database (or its dump) is scanned');
  const left = [];
  for (const f of files) {
    const buf = fs.readFileSync(f);
    for (const n of needles) if (buf.includes(Buffer.from(n))) left.push(`${path.basename(f)}: ${n}`);
  }
  for (const [what, text] of [['audit export', audit], ['metrics', metrics.text]]) {
    for (const n of needles) if (text.includes(n)) left.push(`${what}: ${n}`);
  }
  for (const a of d.transcript) {
    if (a.kind === 'webhook' && /<(Dial|Message)[ >]/.test(a.text)) continue; // the bridge before the erasure
    for (const n of needles) if ((a.text ?? '').includes(n)) left.push(`answer to ${a.method} ${a.path}: ${n}`);
  }
  assert.deepEqual(left, []);
});
