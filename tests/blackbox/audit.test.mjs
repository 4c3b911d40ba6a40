// SPDX-License-Identifier: MIT
// The audit log (docs/API.md "Audit log") and reveal with a reason:
//   - key creation, rotation and revocation, session closes, blocks and deletes, swaps,
//     service changes (credentials and policy) and reveals each leave one entry with the
//     acting key's id and label, the request id (X-Request-Id), the source address and the
//     reason (X-Audit-Reason, or the reveal's reason); never a real number nor a credential;
//   - the JSON-lines export re-hashes to the same chain here, with this file's own SHA-256
//     of the documented encoding, and GET /v1/audit pages through it;
//   - an entry edited in the database breaks the chain at that entry, named by both
//     GET /v1/audit/verify and `maskd audit-verify` (exit 3);
//   - reveal: admin and privacy keys only, reason required (400 naming it), rate-limited per
//     key (429 past MASKD_REVEAL_RATE), audited before the number is given out.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import { promisify } from 'node:util';
import { describe, test } from 'node:test';

import { PG_URL, psql, useDaemon } from './lib/daemon.mjs';
import { addPool, createService, createSession, expectError, expectStatus } from './lib/fixtures.mjs';
import { assertValid, proxy, real, spellings } from './lib/numbers.mjs';

const execFileP = promisify(execFile);
const REVEAL_RATE = 3;
const d = useDaemon({ env: { MASKD_REVEAL_RATE: String(REVEAL_RATE) } });

const POOL = [proxy(84), proxy(85), proxy(86)];
const RIDER = real(6301);
const DRIVER = real(6302);
assertValid(POOL, [RIDER, DRIVER]);
const TOKEN = 'audit-test-twilio-token-4f1c';

async function newKey(body) {
  return expectStatus(await d.api('POST', '/v1/keys', body), 201, 'POST /v1/keys');
}
const bearer = (k) => `Bearer ${k.key}`;

async function exportLines() {
  const res = await d.api('GET', '/v1/audit/export');
  assert.equal(res.status, 200);
  assert.match(res.headers['content-type'], /^application\/x-ndjson/);
  return res.text.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l));
}

/** The chain hash of an exported entry, as docs/API.md defines it. */
function chainHash(e) {
  const field = (s) => `${Buffer.byteLength(s)}:${s}\n`;
  const created = Date.parse(e.created_at) / 1000;
  const text = `maskd-audit-v1\n${e.prev_hash}\n${e.seq}\n${created}\n` +
    [e.key_id, e.key_label, e.request_id, e.source, e.action, e.target, e.reason, e.detail].map(field).join('');
  return crypto.createHash('sha256').update(text).digest('hex');
}

let world;
async function setup() {
  if (world) return world;
  const svc = await createService(d, { name: 'Audited' });
  await addPool(d, svc.id, POOL);
  const ses = await createSession(d, svc.id, { participants: [{ number: RIDER }, { number: DRIVER }] });
  const ops = await newKey({ role: 'service', service_id: svc.id, label: 'ops console' });
  const dpo = await newKey({ role: 'privacy', label: 'data protection officer' });
  world = { svc, ses, ops, dpo };
  return world;
}

describe('what is audited', () => {
  test('each audited action leaves one entry naming who, what, from where and why', async () => {
    const w = await setup();
    const headers = (id, reason) => ({ 'X-Request-Id': id, ...(reason ? { 'X-Audit-Reason': reason } : {}) });
    const call = async (method, p, body, key, id, reason) => {
      const r = await d.request(method, p, {
        headers: { Authorization: bearer(key), 'Content-Type': 'application/json', ...headers(id, reason) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return { ...r, json: r.text ? JSON.parse(r.text) : null };
    };
    const before = (await exportLines()).length;
    // a swap, a policy and credential change, a block, then a close of another session
    const par = w.ses.participants[0].id;
    expectStatus(await call('PATCH', `/v1/sessions/${w.ses.id}/participants/${par}`, { proxy_number: null }, w.ops,
      'req-swap-1', 'rider asked'), 200);
    expectStatus(await call('PATCH', `/v1/services/${w.svc.id}`, { carriers: { twilio: { auth_token: TOKEN } } },
      w.ops, 'req-svc-1', 'token rotated'), 200);
    expectStatus(await call('PATCH', `/v1/sessions/${w.ses.id}`, { status: 'blocked' }, w.ops, 'req-block-1',
      'abuse report'), 200);
    const other = await createSession(d, w.svc.id, { participants: [{ number: real(6303) }, { number: real(6304) }] });
    expectStatus(await call('DELETE', `/v1/sessions/${other.id}`, undefined, w.ops, 'req-del-1'), 204);
    // a refused change (400) is not audited
    expectError(await call('PATCH', `/v1/sessions/${w.ses.id}`, { status: 'sideways' }, w.ops, 'req-bad-1'), 400,
      'invalid_field');
    // key changes by the service key
    const k = expectStatus(await call('POST', '/v1/keys', { role: 'records', service_id: w.svc.id, label: 'bi' },
      w.ops, 'req-key-1'), 201);
    expectStatus(await call('POST', `/v1/keys/${k.id}/rotate`, undefined, w.ops, 'req-key-2'), 200);
    expectStatus(await call('DELETE', `/v1/keys/${k.id}`, undefined, w.ops, 'req-key-3'), 200);

    const entries = (await exportLines()).slice(before);
    assert.deepEqual(entries.map((e) => [e.action, e.target, e.request_id, e.reason]), [
      ['participant.swapped', par, 'req-swap-1', 'rider asked'],
      ['service.changed', w.svc.id, 'req-svc-1', 'token rotated'],
      ['session.changed', w.ses.id, 'req-block-1', 'abuse report'],
      ['session.deleted', other.id, 'req-del-1', ''],
      ['key.created', k.id, 'req-key-1', ''],
      ['key.rotated', k.id, 'req-key-2', ''],
      ['key.revoked', k.id, 'req-key-3', ''],
    ]);
    for (const e of entries) {
      assert.equal(e.key_id, w.ops.id);
      assert.equal(e.key_label, 'ops console');
      assert.equal(e.source, '127.0.0.1');
    }
    assert.equal(entries[1].detail, 'fields=carriers');
    assert.equal(entries[2].detail, 'status=blocked fields=status');
    assert.equal(entries[4].detail, `role=records service=${w.svc.id}`);
    const all = JSON.stringify(entries);
    assert.ok(!all.includes(TOKEN), 'no credential in the audit log');
    for (const n of [RIDER, DRIVER, real(6303), real(6304)]) {
      for (const s of spellings(n)) assert.ok(!all.includes(s), `no real number (${s}) in the audit log`);
    }
  });

  test('pages and the export agree, and the export re-hashes to the same chain', async () => {
    await setup();
    const lines = await exportLines();
    assert.ok(lines.length >= 5);
    let prev = '0'.repeat(64);
    lines.forEach((e, i) => {
      assert.equal(e.seq, i + 1);
      assert.equal(e.prev_hash, prev);
      assert.equal(chainHash(e), e.hash, `entry ${e.seq} hashes as documented`);
      prev = e.hash;
    });
    const paged = [];
    let after = 0;
    for (;;) {
      const p = expectStatus(await d.api('GET', `/v1/audit?after=${after}&limit=2`), 200);
      paged.push(...p.entries);
      if (p.next_after === null) break;
      after = p.next_after;
    }
    assert.deepEqual(paged, lines);
    expectError(await d.api('GET', '/v1/audit?limit=5000'), 400, 'invalid_field', 'limit');
    const v = expectStatus(await d.api('GET', '/v1/audit/verify'), 200);
    assert.deepEqual(v, { ok: true, entries_checked: lines.length, first_broken_seq: null, why: null });
  });
});

describe('reveal with a reason', () => {
  test('a reason is required, only admin and privacy keys may, and each reveal is audited', async () => {
    const w = await setup();
    const par = w.ses.participants[1].id; // the driver
    const url = `/v1/participants/${par}/reveal`;
    expectError(await d.api('POST', url, {}, { auth: bearer(w.dpo) }), 400, 'missing_field', 'reason');
    expectError(await d.api('POST', url, { reason: '' }, { auth: bearer(w.dpo) }), 400, 'missing_field', 'reason');
    expectError(await d.api('POST', url, { reason: 'refund' }, { auth: bearer(w.ops) }), 403, 'forbidden');
    const unknown = par.slice(0, -1) + (par.endsWith('a') ? 'b' : 'a');
    expectError(await d.api('POST', `/v1/participants/${unknown}/reveal`, { reason: 'x' }, { auth: bearer(w.dpo) }),
      404, 'not_found');
    const before = (await exportLines()).length;
    const r = expectStatus(await d.api('POST', url, { reason: 'refund dispute 7731' }, { auth: bearer(w.dpo) }), 200);
    assert.equal(r.number, DRIVER);
    assert.equal(r.participant_id, par);
    const entries = (await exportLines()).slice(before);
    assert.equal(entries.length, 1);
    assert.equal(entries[0].action, 'participant.revealed');
    assert.equal(entries[0].target, par);
    assert.equal(entries[0].reason, 'refund dispute 7731');
    assert.equal(entries[0].key_id, w.dpo.id);
    assert.equal(entries[0].seq, r.audit_seq);
    for (const s of spellings(DRIVER)) assert.ok(!JSON.stringify(entries).includes(s));
  });

  test('reveals are rate-limited per key', async () => {
    const w = await setup();
    const k = await newKey({ role: 'privacy', label: 'rate' });
    const url = `/v1/participants/${w.ses.participants[0].id}/reveal`;
    for (let i = 0; i < REVEAL_RATE; i++) {
      expectStatus(await d.api('POST', url, { reason: `check ${i}` }, { auth: bearer(k) }), 200);
    }
    const res = await d.api('POST', url, { reason: 'one too many' }, { auth: bearer(k) });
    expectError(res, 429, 'rate_limited');
    assert.ok(Number(res.headers['retry-after']) >= 1);
    const fresh = await newKey({ role: 'privacy', label: 'rate 2' });
    expectStatus(await d.api('POST', url, { reason: 'another key' }, { auth: bearer(fresh) }), 200);
  });
});

describe('tampering', () => {
  test('an edited entry breaks the chain there, named by the API and by maskd audit-verify', async () => {
    await setup();
    const lines = await exportLines();
    const target = 2;
    assert.ok(lines.length > target);
    const sql = `UPDATE audit_log SET reason = 'nothing to see' WHERE seq = ${target}`;
    if (PG_URL) {
      await psql(d.env.MASKD_DB, sql);
    } else {
      await execFileP('python3', ['-c',
        'import sqlite3,sys; c=sqlite3.connect(sys.argv[1], timeout=10); c.execute(sys.argv[2]); c.commit()',
        d.dbPath, sql]);
    }
    const v = expectStatus(await d.api('GET', '/v1/audit/verify'), 200);
    assert.equal(v.ok, false);
    assert.equal(v.first_broken_seq, target);
    assert.equal(v.entries_checked, target - 1);
    assert.match(v.why, /edited/);
    let err;
    try {
      await execFileP(d.bin, ['audit-verify'], { env: d.env, cwd: d.tmp });
    } catch (e) {
      err = e;
    }
    assert.ok(err, 'maskd audit-verify fails on a broken chain');
    assert.equal(err.code, 3);
    assert.match(err.stdout, new RegExp(`broken at entry ${target}:`));
  });
});
