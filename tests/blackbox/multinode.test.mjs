// SPDX-License-Identifier: MIT
// Several maskd nodes on one PostgreSQL database (runs only when MASKD_TEST_PG_URL is set,
// e.g. by scripts/test.sh from scripts/pg-test-server; skipped otherwise):
//   - three nodes started at the same instant on an empty database migrate it exactly once;
//   - 10,000 sessions created in parallel across the three (64 in flight), a quarter of them
//     sharing one busy real number so that nodes race for the same bindings; one node is
//     kill -9ed mid-load and the others keep answering; every acknowledged (201) session is
//     in the database afterwards, every binding is unique (checked in SQL) and every
//     number's in_use matches its open sessions;
//   - webhooks signed with the twilio SDK, sent to random nodes (and retried on another node
//     when one dies under them), all bridge to the right participant;
//   - every expired session is closed by exactly one node's sweeper;
//   - the database going away gives fast 503s, and the nodes recover without a restart;
//   - a wrong MASKD_DB or a newer schema stops the daemon with a message naming MASKD_DB and
//     never the password.

import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { promisify } from 'node:util';

import { REPO, SCALE, startDaemon, waitFor } from './lib/daemon.mjs';
import { addPool, createService, expectStatus, voiceParams } from './lib/fixtures.mjs';
import * as markup from './lib/markup.mjs';
import { proxy, real, realNy } from './lib/numbers.mjs';

const PG_URL = process.env.MASKD_TEST_PG_URL || '';
const SESSIONS = 10_000;
const HOT_SESSIONS = 250;       // sessions that all include HOT: nodes race for its bindings
const IN_FLIGHT = 64;
const KILL_AT = 0.4;            // fraction of the creates after which one node is killed
const WEBHOOKS_DURING = 1_500;  // webhooks interleaved with the creates
const WEBHOOKS_AFTER = 1_500;
const EXPIRING = 300;
const execFileP = promisify(execFile);
// Numbers whose in_use is not the count of open sessions bound to them (store.h).
const IN_USE_WRONG = 'SELECT n.e164, n.in_use, COUNT(DISTINCT p.session_id) FROM numbers n LEFT JOIN participants p ' +
  'ON p.proxy_number_id = n.id AND p.active = 1 AND p.held_until IS NULL GROUP BY n.id ' +
  'HAVING n.in_use <> COUNT(DISTINCT p.session_id)'; // cooling-off bindings are not in use

async function psql(url, sql) {
  const { stdout } = await execFileP('psql', ['-X', '-q', '-A', '-t', '-F', '\t', '-v', 'ON_ERROR_STOP=1',
    '-d', url, '-c', sql], { maxBuffer: 256 * 1024 * 1024 });
  return stdout.split('\n').filter((l) => l !== '').map((l) => l.split('\t'));
}

function dbUrl(name) {
  const u = new URL(PG_URL);
  u.pathname = `/${name}`;
  return u.toString();
}

/** Runs fn over items with at most `limit` in flight. */
async function inParallel(items, limit, fn) {
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i], i);
    }
  });
  await Promise.all(workers);
}

function metric(text, name) {
  const m = new RegExp(`^${name} (\\d+)$`, 'm').exec(text);
  return m ? Number(m[1]) : NaN;
}

/** Runs maskd with env (no daemon.mjs wrapper) and returns {code, signal, output} (bounded). */
async function runToExit(env, timeoutMs = 15_000 * SCALE) {
  const bin = path.resolve(process.env.MASKD_BIN || path.join(REPO, 'build', 'maskd'));
  const child = spawn(bin, [], { env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (b) => { output += b; });
  child.stderr.on('data', (b) => { output += b; });
  const started = Date.now();
  const res = await Promise.race([
    new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal }))),
    delay(timeoutMs).then(() => null),
  ]);
  if (res === null) {
    child.kill('SIGKILL');
    throw new Error(`maskd did not exit within ${timeoutMs} ms; output:\n${output}`);
  }
  return { ...res, output, ms: Date.now() - started };
}

describe('three nodes on one PostgreSQL database', { skip: !PG_URL && 'MASKD_TEST_PG_URL is not set' }, () => {
  const dbName = `maskd_multi_${crypto.randomBytes(6).toString('hex')}`;
  const url = dbUrl(dbName);
  let tmp;
  let env;
  let nodes = [];
  const alive = new Set();
  let svc;
  let token;
  const acked = new Map(); // session id -> {i, reals: [a, b], proxies: [pa, pb]}
  let failed = false;

  before(async () => {
    await psql(PG_URL, `CREATE DATABASE ${dbName}`);
    tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'maskd-multinode-'));
    const keyFile = path.join(tmp, 'vault.key');
    // Every node needs the same vault key (sealed numbers, blind indexes): made once, shared.
    fs.writeFileSync(keyFile, `enc=${crypto.randomBytes(32).toString('hex')}\nidx=${crypto.randomBytes(32).toString('hex')}\n`,
      { mode: 0o600 });
    env = { MASKD_DB: url, MASKD_KEY_FILE: keyFile, MASKD_THREADS: '6', MASKD_SWEEP_INTERVAL: '1' };
    nodes = await Promise.all([0, 1, 2].map(() => startDaemon({ env })));
    nodes.forEach((n, i) => alive.add(i));
  });

  after(async () => {
    const errors = [];
    for (const i of alive) {
      try { await nodes[i].stop(); } catch (e) { errors.push(e); }
    }
    if (failed || errors.length || process.env.MASKD_TEST_KEEP) {
      process.stderr.write(`# multinode: kept ${tmp} (node logs) and database ${dbName}\n`);
    } else {
      for (const n of nodes) await n.removeTmp();
      await fsp.rm(tmp, { recursive: true, force: true });
      await psql(PG_URL, `DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
    }
    if (errors.length) throw errors[0];
  });

  const pick = () => {
    const ids = [...alive];
    return ids[Math.floor(Math.random() * ids.length)];
  };

  /** fn(node) on a random live node; a node that died under the request is skipped and the
   * request sent to another one (what a load balancer and a carrier's retry do). */
  async function onSomeNode(fn) {
    for (let attempt = 0; ; attempt++) {
      const i = pick();
      try {
        return await fn(nodes[i], i);
      } catch (e) {
        if (alive.has(i) && !nodes[i].exited) throw e;
        if (attempt > 5) throw e;
      }
    }
  }

  function keep(t) {
    return (e) => { failed = true; t.diagnostic(`failure: ${e.message.slice(0, 500)}`); throw e; };
  }

  test('three nodes starting together migrate the empty database exactly once', async () => {
    const rows = await psql(url, 'SELECT version FROM schema_migrations ORDER BY version');
    // each migration once, in order, whatever the number of migrations this build carries
    const versions = rows.map((r) => r[0]);
    assert.ok(versions.length >= 4, `migrations applied: ${versions}`);
    assert.deepEqual(versions, versions.map((_, i) => String(i + 1)));
    for (const n of nodes) expectStatus(await n.request('GET', '/readyz'), 200);
  });

  test(`${SESSIONS} sessions in parallel across three nodes, one killed mid-load; webhooks route right`, async (t) => {
    try {
      svc = await createService(nodes[0], { name: 'Multinode', signalwire: false,
        defaults: { mode: 'voice-and-message', ttl: 0 } });
      token = nodes[0].tokens.twilio;
      const pool = [];
      for (const area of ['415', '212', '650']) for (let i = 0; i < 100; i++) pool.push(proxy(i, area));
      await addPool(nodes[1], svc.id, pool);

      const HOT = real(7999);
      // Session i: two real numbers. Ordinary numbers are in at most two sessions; HOT is in
      // HOT_SESSIONS of them, spread through the run.
      const plan = [];
      const hotEvery = Math.floor(SESSIONS / HOT_SESSIONS);
      for (let i = 0; i < SESSIONS; i++) {
        const a = i % hotEvery === 0 ? HOT : real(i % 7900);
        plan.push([a, realNy(i % 5900)]);
      }
      const webhookAt = new Set();
      for (let k = 0; k < WEBHOOKS_DURING; k++) webhookAt.add(Math.floor(Math.random() * SESSIONS));

      let done = 0;
      let killed = null;
      let after201 = 0;
      const refused = [];
      const wrong = [];
      const t0 = Date.now();
      const victim = 2;

      const sendWebhook = async () => {
        const ids = [...acked.keys()];
        if (ids.length === 0) return;
        const s = acked.get(ids[Math.floor(Math.random() * ids.length)]);
        const side = Math.random() < 0.5 ? 0 : 1;
        const params = voiceParams('twilio', { from: s.reals[side], to: s.proxies[side] });
        // The same CallSid on every retry: a carrier retrying on another node is idempotent.
        const r = await onSomeNode((n) => n.webhook('twilio', 'voice', params, { token }));
        const intId = markup.interactionIdOf(r.text);
        const want = markup.bridge('twilio', { callerId: s.proxies[1 - side], real: s.reals[1 - side], intId });
        if (r.status !== 200 || r.text !== want) wrong.push(`${r.status} ${r.text.slice(0, 300)} (wanted ${want})`);
      };

      await inParallel(plan, IN_FLIGHT, async ([a, b], i) => {
        const body = { unique_name: `multi-${i}`, participants: [{ number: a }, { number: b }] };
        let r;
        for (let attempt = 0; ; attempt++) {
          const n = pick();
          try {
            r = await nodes[n].api('POST', `/v1/services/${svc.id}/sessions`, body);
            break;
          } catch (e) {
            if (alive.has(n) && !nodes[n].exited) throw e;
            if (attempt > 5) throw e;
            // The node died with the request in flight: unknown outcome. When the first
            // attempt had committed, the retry's unique_name returns that session (200,
            // create-or-return), so the app learns its numbers either way.
          }
        }
        if (r.status === 201 || r.status === 200) {
          acked.set(r.json.id, { i, reals: [a, b], proxies: r.json.participants.map((p) => p.proxy_number) });
          if (killed) after201++;
        } else {
          refused.push(`${r.status} ${r.text.slice(0, 200)}`);
        }
        done++;
        if (!killed && done >= SESSIONS * KILL_AT) {
          killed = Date.now();
          alive.delete(victim);
          nodes[victim].child.kill('SIGKILL');
        }
        if (webhookAt.has(i)) await sendWebhook();
      });
      const secs = (Date.now() - t0) / 1000;
      t.diagnostic(`${SESSIONS} creates in ${secs.toFixed(1)} s (${Math.round(SESSIONS / secs)} sessions/s), ` +
        `${acked.size} acknowledged, ${after201} after the kill, ${refused.length} refused`);
      assert.deepEqual(refused.slice(0, 10), [], `${refused.length} creates refused`);
      assert.ok(acked.size >= SESSIONS - IN_FLIGHT, `only ${acked.size} of ${SESSIONS} acknowledged`);
      assert.ok(after201 > SESSIONS * 0.5, `the surviving nodes acknowledged only ${after201} after the kill`);
      assert.equal((await nodes[victim].exit).signal, 'SIGKILL');
      assert.deepEqual(wrong.slice(0, 5), [], `${wrong.length} webhooks routed wrong`);

      // Every acknowledged session is there, open, with the proxy numbers it was given.
      const rows = await psql(url, 'SELECT s.id, s.status, p.idx, p.proxy_e164, p.active FROM sessions s ' +
        'JOIN participants p ON p.session_id = s.id ORDER BY s.id, p.idx');
      const inDb = new Map();
      for (const [id, status, idx, proxyE164, active] of rows) {
        if (!inDb.has(id)) inDb.set(id, { status, proxies: [], active: [] });
        inDb.get(id).proxies[Number(idx)] = proxyE164;
        inDb.get(id).active[Number(idx)] = active;
      }
      const missing = [];
      for (const [id, s] of acked) {
        const row = inDb.get(id);
        if (!row || !['0', '1'].includes(row.status) || row.active.join() !== '1,1' || row.proxies.join() !== s.proxies.join()) {
          missing.push(`${id}: ${JSON.stringify(row)} vs ${s.proxies}`);
        }
      }
      assert.deepEqual(missing.slice(0, 5), [], `${missing.length} acknowledged sessions missing or different`);
      // At most the requests in flight at the kill may have committed without an answer.
      assert.ok(inDb.size - acked.size <= IN_FLIGHT, `${inDb.size} sessions in the database, ${acked.size} acknowledged`);

      // Every binding unique, every counter equal to its bindings.
      assert.deepEqual(await psql(url, 'SELECT bidx, proxy_number_id, COUNT(*) FROM participants WHERE active = 1 ' +
        'GROUP BY 1, 2 HAVING COUNT(*) > 1'), [], 'two active participants share (real number, proxy number)');
      assert.deepEqual(await psql(url, IN_USE_WRONG), [], 'in_use differs from the open sessions on the number');
      const hot = await psql(url, `SELECT COUNT(DISTINCT proxy_number_id), COUNT(*) FROM participants p WHERE active = 1 AND bidx = ` +
        `(SELECT bidx FROM participants q WHERE q.session_id = '${[...acked].find(([, s]) => s.reals[0] === HOT)[0]}' AND q.idx = 0)`);
      assert.equal(hot[0][0], hot[0][1], 'HOT holds one proxy number twice');
      t.diagnostic(`HOT is bound to ${hot[0][0]} distinct proxy numbers`);

      // More webhooks to the two survivors.
      const w0 = Date.now();
      await inParallel(Array.from({ length: WEBHOOKS_AFTER }), 32, sendWebhook);
      t.diagnostic(`${WEBHOOKS_AFTER} webhooks on two nodes in ${((Date.now() - w0) / 1000).toFixed(1)} s`);
      assert.deepEqual(wrong.slice(0, 5), [], `${wrong.length} webhooks routed wrong`);
    } catch (e) {
      keep(t)(e);
    }
  });

  test('a restarted node rejoins; each expired session is closed by exactly one sweeper', async (t) => {
    try {
      assert.ok(svc, 'needs the sessions of the previous test');
      nodes[2] = await startDaemon({ env });
      alive.add(2);
      const base = [];
      for (const i of alive) base[i] = metric((await nodes[i].request('GET', '/metrics')).text, 'maskd_sessions_expired_total');
      const ids = [];
      await inParallel(Array.from({ length: EXPIRING }, (_, k) => k), 32, async (k) => {
        const r = await onSomeNode((n) => n.api('POST', `/v1/services/${svc.id}/sessions`,
          { ttl: 1, participants: [{ number: real(7900 + (k % 99)) }, { number: realNy(5900 + (k % 99)) }] }));
        expectStatus(r, 201, 'ttl-1 session');
        ids.push(r.json.id);
      });
      const idSet = new Set(ids);
      await waitFor('the ttl-1 sessions to be closed', async () => {
        const rows = await psql(url, `SELECT COUNT(*) FROM sessions WHERE status < 2 AND ttl = 1`);
        return rows[0][0] === '0';
      }, { timeoutMs: 30_000, intervalMs: 250 });
      let total = 0;
      const perNode = [];
      for (const i of alive) {
        const n = metric((await nodes[i].request('GET', '/metrics')).text, 'maskd_sessions_expired_total') - base[i];
        perNode.push(n);
        total += n;
      }
      t.diagnostic(`expired per node: ${perNode.join(', ')}`);
      assert.equal(total, EXPIRING, `the sweepers closed ${total} sessions, ${EXPIRING} expired`);
      const seen = new Map();
      for (const i of alive) {
        for (const m of fs.readFileSync(nodes[i].logPath, 'utf8').matchAll(/session (ses_\S+) closed: expired/g)) {
          if (idSet.has(m[1])) seen.set(m[1], (seen.get(m[1]) ?? 0) + 1);
        }
      }
      assert.equal(seen.size, EXPIRING, 'not every expired session was logged as closed');
      assert.deepEqual([...seen].filter(([, c]) => c !== 1), [], 'closed more than once');
      assert.deepEqual(await psql(url, IN_USE_WRONG), [], 'in_use differs from the open sessions on the number');
    } catch (e) {
      keep(t)(e);
    }
  });

  test('database unreachable: fast 503s, then every node recovers on its own', async (t) => {
    try {
      assert.ok(acked.size > 0, 'needs the sessions of the earlier test');
      const [id, s] = acked.entries().next().value;
      await psql(PG_URL, `ALTER DATABASE ${dbName} ALLOW_CONNECTIONS false`);
      await psql(PG_URL, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '${dbName}'`);
      try {
        for (const i of alive) {
          const n = nodes[i];
          for (let k = 0; k < 5; k++) {
            const t0 = Date.now();
            const r = await n.webhook('twilio', 'voice', voiceParams('twilio', { from: s.reals[0], to: s.proxies[0] }), { token });
            const ms = Date.now() - t0;
            assert.equal(r.status, 503, `webhook while the database is away: ${r.status} ${r.text}`);
            assert.ok(ms < 2000 * SCALE, `503 took ${ms} ms`);
            assert.equal((await n.api('GET', `/v1/sessions/${id}`)).status, 503);
            assert.equal((await n.request('GET', '/readyz')).status, 503);
          }
          assert.equal((await n.request('GET', '/healthz')).status, 200, 'the process stays up');
        }
      } finally {
        await psql(PG_URL, `ALTER DATABASE ${dbName} ALLOW_CONNECTIONS true`);
      }
      const t0 = Date.now();
      for (const i of alive) {
        await waitFor(`node ${i} to reconnect`, async () => (await nodes[i].request('GET', '/readyz')).status === 200,
          { timeoutMs: 15_000, intervalMs: 100 });
        const r = await nodes[i].webhook('twilio', 'voice', voiceParams('twilio', { from: s.reals[0], to: s.proxies[0] }), { token });
        assert.equal(r.text, markup.bridge('twilio', { callerId: s.proxies[1], real: s.reals[1], intId: markup.interactionIdOf(r.text) }));
        expectStatus(await nodes[i].api('GET', `/v1/sessions/${id}`), 200);
      }
      t.diagnostic(`all nodes answered again ${Date.now() - t0} ms after the database came back`);
    } catch (e) {
      keep(t)(e);
    }
  });

  test('bad MASKD_DB or a newer schema: exit 1, the message names MASKD_DB, never the password', async () => {
    const secret = 'Sup3r-s3cret_pw';
    const base = { MASKD_KEY_FILE: env.MASKD_KEY_FILE, MASKD_ADMIN_KEY: 'k'.repeat(24), MASKD_LISTEN: '127.0.0.1:9' };
    const u = new URL(PG_URL);
    const cases = [
      ['unreachable', `postgresql://maskd:${secret}@127.0.0.1:1/maskd`, /MASKD_DB/],
      ['no such database', `postgresql://${u.username}:${secret}@${u.host}/no_such_db_${dbName}`, /MASKD_DB.*no_such_db/],
      ['not a URL libpq reads', `postgresql://maskd:${secret}@${u.hostname}:port/maskd`, /MASKD_DB/],
      ['percent-encoded password', `postgresql://maskd:${encodeURIComponent(`${secret}/@:`)}@127.0.0.1:1/maskd`, /MASKD_DB/],
      ['password parameter', `postgresql://127.0.0.1:1/maskd?user=maskd&password=${secret}`, /MASKD_DB/],
    ];
    for (const [what, dbu, want] of cases) {
      const r = await runToExit({ ...base, MASKD_DB: dbu });
      assert.equal(r.code, 1, `${what}: exit ${r.code ?? r.signal}; output:\n${r.output}`);
      assert.match(r.output, want, what);
      assert.ok(!r.output.includes(secret) && !r.output.includes(encodeURIComponent(secret)), `${what}: password printed:\n${r.output}`);
      assert.ok(r.ms < 10_000 * SCALE, `${what}: took ${r.ms} ms`);
    }
    // A schema from a newer maskd: refuse, and say which version.
    const newer = `maskd_newer_${crypto.randomBytes(4).toString('hex')}`;
    await psql(PG_URL, `CREATE DATABASE ${newer}`);
    try {
      await psql(dbUrl(newer), 'CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL); ' +
        'INSERT INTO schema_migrations VALUES (1, 0), (999, 0)');
      const r = await runToExit({ ...base, MASKD_DB: dbUrl(newer) });
      assert.equal(r.code, 1, r.output);
      assert.match(r.output, /MASKD_DB.*version 999/, r.output);
    } finally {
      await psql(PG_URL, `DROP DATABASE IF EXISTS ${newer} WITH (FORCE)`);
    }
  });
});
