// SPDX-License-Identifier: MIT
// Durability: a session create that maskd acknowledged (201) survives `kill -9` of the
// daemon in the configuration the README recommends (SQLite, WAL, synchronous=NORMAL,
// the defaults). Session creates run concurrently; the daemon is killed with SIGKILL
// the moment the ACKED-th 201 arrives, with other creates still in flight. A new
// daemon on the same database and key file must then show every acknowledged session
// open, with its participants and proxy numbers, and route calls between them; the
// pool's in-use counts must match the open sessions (nothing half-written).
//
// The same for webhooks, whose interaction records share transactions (the group
// commit, on SQLite and PostgreSQL): a burst of concurrent signed voice webhooks, kill
// -9 at the WEBHOOK_ACKED-th answer; every answered webhook's interaction is stored
// after the restart, and a carrier's retry of it (same CallSid) gets the same answer.
//
// What this proves is process-crash durability: with synchronous=NORMAL a committed
// transaction is in the WAL file (the OS page cache) before the 201 is sent. A power
// loss or kernel crash may still lose the last commits; that mode is what
// docs/PERFORMANCE.md quotes its figures with.

import assert from 'node:assert/strict';
import { after, test } from 'node:test';

import { startDaemon } from './lib/daemon.mjs';
import { addPool, createService, expectStatus, listNumbers, sid, voiceParams } from './lib/fixtures.mjs';
import * as markup from './lib/markup.mjs';
import { assertValid, masked, proxy, real } from './lib/numbers.mjs';

const SESSIONS = 150;  // creates attempted
const ACKED = 100;     // kill -9 when this many 201s have arrived
const CONCURRENCY = 12;
const FIRST_REAL = 5000; // real(5000..5299): no other test file's range matters (own daemon)
const POOL = Array.from({ length: 10 }, (_, i) => proxy(40 + i));
assertValid(POOL);

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

/** Runs the creates with bounded concurrency; SIGKILLs d as soon as `ACKED` are acknowledged. */
async function createUntilKilled(d, serviceId) {
  const acked = [];
  let next = 0;
  let killed = false;
  const pairs = Array.from({ length: SESSIONS }, (_, i) => [real(FIRST_REAL + 2 * i), real(FIRST_REAL + 2 * i + 1)]);
  async function worker() {
    while (!killed && next < SESSIONS) {
      const i = next++;
      const [a, b] = pairs[i];
      let res;
      try {
        res = await d.api('POST', `/v1/services/${serviceId}/sessions`, {
          participants: [{ number: a, label: 'Rider' }, { number: b, label: 'Driver' }],
        });
      } catch {
        continue; // in flight when the daemon died: not acknowledged
      }
      if (res.status !== 201) {
        if (killed) continue;
        throw new Error(`POST sessions #${i}: HTTP ${res.status} ${res.text}`);
      }
      acked.push({ body: res.json, reals: [a, b] });
      if (acked.length === ACKED && !killed) {
        killed = true;
        d.child.kill('SIGKILL'); // right after the 201, with other creates still running
      }
    }
  }
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return { acked, attempted: next };
}

async function allSessions(d, serviceId) {
  const out = [];
  let after = null;
  for (let page = 0; page < 100; page++) {
    const q = `?limit=500${after ? `&after=${after}` : ''}`;
    const list = expectStatus(await d.api('GET', `/v1/services/${serviceId}/sessions${q}`), 200, 'list sessions').sessions;
    out.push(...list);
    if (list.length < 500) return out;
    after = list[list.length - 1].id;
  }
  throw new Error('more than 100 pages of sessions');
}

test('acknowledged session creates survive kill -9 (WAL, synchronous=NORMAL)', async (t) => {
  t.after(() => { if (t.passed === false) failed = true; });
  const d1 = await startDaemon();
  daemons.push(d1);
  const svc = await createService(d1, { name: 'Durable' });
  await addPool(d1, svc.id, POOL);

  const { acked, attempted } = await createUntilKilled(d1, svc.id);
  const exit = await d1.exit;
  assert.equal(exit.signal, 'SIGKILL', `the daemon should have been killed, exited ${JSON.stringify(exit)}`);
  // 201s already on their way when the signal landed arrive after it: acknowledged too.
  assert.ok(acked.length >= ACKED, `acknowledged creates: ${acked.length} (attempted ${attempted})`);

  // Same database and key file; a new admin key is fine (it comes from the environment).
  const d2 = await startDaemon({ env: { MASKD_DB: d1.dbPath, MASKD_KEY_FILE: d1.env.MASKD_KEY_FILE } });
  daemons.push(d2);

  for (const { body, reals } of acked) {
    const got = await d2.api('GET', `/v1/sessions/${body.id}`);
    assert.equal(got.status, 200, `acknowledged session ${body.id} is missing after kill -9: ${got.text}`);
    const s = got.json;
    assert.equal(s.status, 'open', `session ${body.id}`);
    assert.equal(s.service_id, svc.id);
    assert.equal(s.participants.length, 2);
    s.participants.forEach((p, i) => {
      const want = body.participants[i];
      assert.equal(p.id, want.id, `session ${body.id} participant ${i} id`);
      assert.equal(p.label, want.label);
      assert.equal(p.proxy_number, want.proxy_number, `session ${body.id} participant ${i} proxy number`);
      assert.equal(p.number, masked(reals[i]));
    });
  }

  // Calls route: each side of every acknowledged session reaches the other, from the
  // other's proxy number. Signed with the first daemon's credential (stored, sealed).
  const token = d1.tokens.twilio;
  for (const { body, reals } of acked) {
    for (const side of [0, 1]) {
      const me = body.participants[side];
      const other = body.participants[1 - side];
      const res = await d2.webhook('twilio', 'voice', voiceParams('twilio', { from: reals[side], to: me.proxy_number }), { token });
      assert.equal(res.status, 200, `call in session ${body.id} from participant ${side}: ${res.text}`);
      const intId = markup.interactionIdOf(res.text);
      assert.ok(intId, `no interaction id in ${res.text}`);
      assert.equal(res.text, markup.bridge('twilio', { callerId: other.proxy_number, real: reals[1 - side], intId }),
        `session ${body.id}: call from participant ${side}`);
    }
  }

  // Nothing half-written: every open session holds two bindings, counted in the pool.
  const open = (await allSessions(d2, svc.id)).filter((s) => s.status !== 'closed');
  assert.ok(open.length >= acked.length && open.length <= attempted,
    `open sessions after restart: ${open.length} (acknowledged ${acked.length}, attempted ${attempted})`);
  for (const s of open) assert.equal(s.participants.length, 2, `session ${s.id} participants`);
  const inUse = (await listNumbers(d2, svc.id)).reduce((sum, n) => sum + n.in_use, 0);
  // in_use counts sessions per number: a session whose two participants share a number counts once
  const expected = open.reduce((sum, s) => sum + new Set(s.participants.map((p) => p.proxy_number)).size, 0);
  assert.equal(inUse, expected, 'pool in_use total vs. open sessions');
  const ackedIds = new Set(acked.map((a) => a.body.id));
  assert.equal(open.filter((s) => ackedIds.has(s.id)).length, acked.length);

  await d2.stop();
});

const WEBHOOK_SESSIONS = 6;
const WEBHOOKS = 600;      // webhooks attempted
const WEBHOOK_ACKED = 300; // kill -9 when this many answers have arrived
const WEBHOOK_CONCURRENCY = 24;
const WEBHOOK_FIRST_REAL = 5400; // real(5400..5411)

test('acknowledged webhooks survive kill -9 right after a burst (group commit)', async (t) => {
  t.after(() => { if (t.passed === false) failed = true; });
  const d1 = await startDaemon();
  daemons.push(d1);
  const svc = await createService(d1, { name: 'Burst' });
  await addPool(d1, svc.id, POOL);
  const sessions = [];
  for (let i = 0; i < WEBHOOK_SESSIONS; i++) {
    const reals = [real(WEBHOOK_FIRST_REAL + 2 * i), real(WEBHOOK_FIRST_REAL + 2 * i + 1)];
    const body = expectStatus(await d1.api('POST', `/v1/services/${svc.id}/sessions`, {
      participants: [{ number: reals[0] }, { number: reals[1] }],
    }), 201, 'create session');
    sessions.push({ body, reals });
  }
  const token = d1.tokens.twilio;
  const sent = Array.from({ length: WEBHOOKS }, (_, i) => {
    const s = sessions[i % WEBHOOK_SESSIONS];
    const side = i % 2;
    return { s, side, callSid: sid('twilio', 'CA') };
  });
  const acked = [];
  let next = 0;
  let killed = false;
  async function worker() {
    while (!killed && next < WEBHOOKS) {
      const w = sent[next++];
      const params = voiceParams('twilio', {
        from: w.s.reals[w.side], to: w.s.body.participants[w.side].proxy_number, callSid: w.callSid,
      });
      let res;
      try {
        res = await d1.webhook('twilio', 'voice', params, { token });
      } catch {
        continue; // in flight when the daemon died: not acknowledged
      }
      if (res.status !== 200) {
        if (killed) continue;
        throw new Error(`webhook ${w.callSid}: HTTP ${res.status} ${res.text}`);
      }
      acked.push({ ...w, params, text: res.text });
      if (acked.length === WEBHOOK_ACKED && !killed) {
        killed = true;
        d1.child.kill('SIGKILL'); // right after the answer, with other webhooks in flight
      }
    }
  }
  await Promise.all(Array.from({ length: WEBHOOK_CONCURRENCY }, worker));
  const exit = await d1.exit;
  assert.equal(exit.signal, 'SIGKILL', `the daemon should have been killed, exited ${JSON.stringify(exit)}`);
  assert.ok(acked.length >= WEBHOOK_ACKED, `answered webhooks: ${acked.length} (attempted ${next})`);

  const d2 = await startDaemon({ env: { MASKD_DB: d1.dbPath, MASKD_KEY_FILE: d1.env.MASKD_KEY_FILE } });
  daemons.push(d2);
  const stored = new Map(); // carrier_sid -> interaction id
  for (const { body } of sessions) {
    const list = expectStatus(await d2.api('GET', `/v1/sessions/${body.id}/interactions`), 200, 'interactions');
    for (const it of list.interactions) stored.set(it.carrier_sid, { id: it.id, session: body.id });
  }
  for (const a of acked) {
    const intId = markup.interactionIdOf(a.text);
    assert.ok(intId, `no interaction id in ${a.text}`);
    const got = stored.get(a.callSid);
    assert.ok(got, `answered webhook ${a.callSid} (${intId}) is missing after kill -9`);
    assert.equal(got.id, intId, `webhook ${a.callSid}: stored interaction`);
    assert.equal(got.session, a.s.body.id, `webhook ${a.callSid}: session`);
  }
  // Nothing stored that was not sent, and nothing twice.
  assert.ok(stored.size >= acked.length && stored.size <= next, `stored ${stored.size}, answered ${acked.length}, attempted ${next}`);
  // A carrier retrying an answered webhook after the crash gets the answer it got before.
  for (const a of acked.slice(0, 40)) {
    const res = await d2.webhook('twilio', 'voice', a.params, { token });
    assert.equal(res.status, 200, `retry of ${a.callSid}: ${res.text}`);
    assert.equal(res.text, a.text, `retry of ${a.callSid}`);
  }
  const after = [];
  for (const { body } of sessions) {
    after.push(...expectStatus(await d2.api('GET', `/v1/sessions/${body.id}/interactions`), 200, 'interactions').interactions);
  }
  assert.equal(after.length, stored.size, 'retries stored nothing new');
  await d2.stop();
});
