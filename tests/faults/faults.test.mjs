// SPDX-License-Identifier: MIT
// Faults (docs/OPERATIONS.md §4, "Faults, as they look from outside"): the real maskd under a sick database. For each fault
// the test writes through the API and the webhooks before, during and after it, and checks:
//   - during the fault every answer is a clean 503 (or the write went through and is then
//     acknowledged like any other): never a 500, never a hang (each request is bounded);
//   - the log says what went wrong;
//   - when the fault ends maskd recovers on its own (/readyz 200, writes 201) and the
//     carrier's retry of a webhook that got 503 is answered;
//   - nothing acknowledged is lost: every session that got 201 is there with its
//     participants, every call that was answered is one interaction of its session.
// Faults: SQLite disk full (a small tmpfs), SQLite file system turned read-only, SQLite
// busy (another process holds BEGIN EXCLUSIVE), PostgreSQL killed with SIGKILL mid-write
// and restarted, and a slow disk (fsync stalls). The read-only and slow-disk faults come
// from tests/faults/faultfs.c, an LD_PRELOAD shim (FAULTFS_LIB): a file system that is
// remounted read-only under open files cannot be made by `mount` (EBUSY), and the shim
// does what the kernel does then: EROFS on every write. Mounting needs root; without it
// the disk-full test is skipped with the reason printed.

import assert from 'node:assert/strict';
import { execFile, execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { promisify } from 'node:util';

import { REPO, SCALE, psql, startDaemon, waitFor } from '../blackbox/lib/daemon.mjs';
import { addPool, createService, expectStatus, voiceParams } from '../blackbox/lib/fixtures.mjs';
import { proxy, real } from '../blackbox/lib/numbers.mjs';

const execFileP = promisify(execFile);
const FAULTFS = process.env.FAULTFS_LIB || path.join(REPO, 'build-test', 'libfaultfs.so');
const IS_ROOT = process.getuid() === 0;
const POOL = Array.from({ length: 12 }, (_, i) => proxy(i));
/** A request bound: a fault may slow an answer down, never hold it longer than this. */
const ANSWER_MS = 12_000 * SCALE;

const cleanups = [];
let failed = false;
after(async () => {
  for (const f of cleanups.reverse()) {
    try { await f(); } catch (e) { process.stderr.write(`# cleanup: ${e.message}\n`); }
  }
});

function tmpDir(tag) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `maskd-faults-${tag}-`));
  cleanups.push(() => { if (!failed) fs.rmSync(dir, { recursive: true, force: true }); else process.stderr.write(`# kept ${dir}\n`); });
  return dir;
}

function readText(p) {
  try { return fs.readFileSync(p, 'utf8'); } catch { return ''; }
}

/**
 * What the test wrote and what maskd acknowledged. Real numbers come from real(base + k).
 * sessions: acknowledged creates {id, parts}; calls: per session id, the CallSids answered
 * 200; pending: calls answered 503, for the carrier to retry after the fault.
 */
class Ledger {
  constructor(d, svc, base) {
    this.d = d;
    this.svc = svc;
    this.next = base;
    this.sessions = [];
    this.calls = new Map();
    this.pending = [];
    this.statuses = [];
  }

  _seen(what, res) {
    this.statuses.push(res.status);
    assert.ok(res.status < 500 || res.status === 503,
      `${what}: HTTP ${res.status} (a fault must answer 503, never another 5xx): ${res.text}\n${this.d.logTail(4096)}`);
  }

  /** One session create; 201 → acknowledged, 503 → refused; anything else fails. */
  async create() {
    const a = real(this.next++);
    const b = real(this.next++);
    const res = await this.d.api('POST', `/v1/services/${this.svc}/sessions`, {
      participants: [{ number: a, label: 'Rider' }, { number: b, label: 'Driver' }],
    });
    this._seen('POST sessions', res);
    if (res.status === 201) {
      this.sessions.push({ id: res.json.id, parts: res.json.participants, reals: [a, b] });
      this.calls.set(res.json.id, new Set());
    } else {
      assert.equal(res.status, 503, `POST sessions: ${res.text}`);
    }
    return res.status;
  }

  /** One inbound call on an acknowledged session (round robin); 200 → an interaction. */
  async call(retry) {
    let s;
    let callSid;
    if (retry) {
      ({ s, callSid } = retry);
    } else {
      if (this.sessions.length === 0) return null;
      s = this.sessions[this.statuses.length % this.sessions.length];
      callSid = `CA${Math.random().toString(16).slice(2).padEnd(32, '0').slice(0, 32)}`;
    }
    const params = voiceParams('twilio', { from: s.reals[0], to: s.parts[0].proxy_number, callSid });
    const res = await this.d.webhook('twilio', 'voice', params);
    this._seen('POST /hooks/twilio/voice', res);
    if (res.status === 200) {
      assert.match(res.text, /<Dial/, `an answered call bridges: ${res.text}`);
      this.calls.get(s.id).add(callSid);
    } else {
      this.pending.push({ s, callSid });
    }
    return res.status;
  }

  /** n rounds of one create and one call. Returns the statuses seen. */
  async traffic(n) {
    const seen = [];
    for (let i = 0; i < n; i++) {
      seen.push(await this.create());
      const c = await this.call();
      if (c !== null) seen.push(c);
    }
    return seen;
  }

  /** The carrier retries every call that got a 503; each must be answered now. */
  async retryPending() {
    const todo = this.pending.splice(0);
    for (const r of todo) assert.equal(await this.call(r), 200, `retried call ${r.callSid} after the fault`);
  }

  /** Every acknowledged session is there with its participants; every answered call is
   * exactly one interaction of its session. */
  async verify(d = this.d) {
    assert.ok(this.sessions.length > 0);
    for (const s of this.sessions) {
      const got = await d.api('GET', `/v1/sessions/${s.id}`);
      assert.equal(got.status, 200, `acknowledged session ${s.id} is missing: ${got.text}`);
      assert.deepEqual(got.json.participants.map((p) => [p.id, p.proxy_number]),
        s.parts.map((p) => [p.id, p.proxy_number]), `session ${s.id} participants`);
      const ints = expectStatus(await d.api('GET', `/v1/sessions/${s.id}/interactions`), 200, 'interactions').interactions;
      assert.equal(ints.length, this.calls.get(s.id).size,
        `session ${s.id}: ${this.calls.get(s.id).size} answered calls, ${ints.length} interactions`);
    }
  }
}

async function readyz(d) {
  try {
    return (await d.request('GET', '/readyz', { timeoutMs: ANSWER_MS })).status;
  } catch {
    return 0;
  }
}

/** Writes through the fault until maskd answers 503 (at most `rounds` rounds). */
async function until503(ledger, rounds) {
  for (let i = 0; i < rounds; i++) {
    const seen = await ledger.traffic(1);
    if (seen.includes(503)) return i + 1;
  }
  throw new Error(`no 503 in ${rounds} rounds of writes under the fault; statuses ${[...new Set(ledger.statuses)]}`);
}

/** After the fault: ready again, writes and retries answered, nothing lost. */
async function recovers(ledger) {
  const d = ledger.d;
  await waitFor('/readyz 200 after the fault', async () => (await readyz(d)) === 200, { timeoutMs: 30_000 });
  const before = ledger.sessions.length;
  const seen = await ledger.traffic(3);
  assert.deepEqual(seen, [201, 200, 201, 200, 201, 200], 'writes after the fault');
  assert.equal(ledger.sessions.length, before + 3);
  await ledger.retryPending();
  await ledger.verify();
}

async function setup(d, base) {
  const svc = await createService(d, { name: 'Faults' });
  await addPool(d, svc.id, POOL);
  const ledger = new Ledger(d, svc.id, base);
  assert.deepEqual(await ledger.traffic(5), Array(10).fill(0).map((_, i) => (i % 2 ? 200 : 201)), 'writes before the fault');
  return ledger;
}

function track(t, d) {
  cleanups.push(async () => { if (!d.exited) await d.stop(); if (!failed) await d.removeTmp(); });
  t.after(() => { if (t.passed === false) { failed = true; process.stderr.write(`# maskd log ${d.logPath}\n`); } });
}

function preloadEnv(dir, flags) {
  const env = { LD_PRELOAD: FAULTFS, FAULTFS_DIR: dir, FAULTFS_HITS: path.join(dir, '..', 'faultfs.hits'), ...flags };
  // the sanitizer build: ASan wants to be first in the library list, the shim is
  if (process.env.ASAN_OPTIONS !== undefined || /asan/.test(process.env.MASKD_BIN ?? '')) {
    env.ASAN_OPTIONS = `${process.env.ASAN_OPTIONS ? `${process.env.ASAN_OPTIONS}:` : ''}verify_asan_link_order=0`;
  }
  return env;
}

test('SQLite disk full: 503s, a log line, and recovery when space is freed', { skip: IS_ROOT ? false : 'mounting a small tmpfs needs root' }, async (t) => {
  const top = tmpDir('full');
  const mnt = path.join(top, 'mnt');
  fs.mkdirSync(mnt);
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=24m,mode=0755', 'tmpfs', mnt]);
  cleanups.push(() => execFileSync('umount', ['-l', mnt]));
  const d = await startDaemon({ env: { MASKD_DB: path.join(mnt, 'maskd.db'), MASKD_KEY_FILE: path.join(top, 'vault.key') } });
  track(t, d);
  const ledger = await setup(d, 0);

  // fill the file system to the last block
  const filler = path.join(mnt, 'filler');
  const fd = fs.openSync(filler, 'w');
  const block = Buffer.alloc(64 * 1024);
  try {
    for (;;) fs.writeSync(fd, block);
  } catch (e) {
    assert.equal(e.code, 'ENOSPC');
  }
  for (const size of [4096, 512, 1]) {
    try { for (;;) fs.writeSync(fd, block.subarray(0, size)); } catch (e) { assert.equal(e.code, 'ENOSPC'); }
  }
  fs.closeSync(fd);

  await until503(ledger, 2000);
  // readiness follows the last write; one that fit in a freed page (SQLite reuses
  // them) makes it ready again until the next write fails, so write until it is not
  let ready = await readyz(d);
  for (let i = 0; i < 50 && ready !== 503; i++) {
    await ledger.traffic(1);
    ready = await readyz(d);
  }
  assert.equal(ready, 503, '/readyz while the disk is full');
  assert.match(readText(d.logPath), /database or disk is full/, 'the log says the disk is full');
  await ledger.traffic(3); // still full: 503s (or a write that fit), never a 500 or a hang

  fs.rmSync(filler);
  await recovers(ledger);
});

test('SQLite file system turned read-only: 503s, a log line, and recovery', async (t) => {
  const top = tmpDir('ro');
  const dbDir = path.join(top, 'db');
  fs.mkdirSync(dbDir);
  const flag = path.join(top, 'erofs');
  const d = await startDaemon({
    env: { MASKD_DB: path.join(dbDir, 'maskd.db'), MASKD_KEY_FILE: path.join(top, 'vault.key'), ...preloadEnv(dbDir, { FAULTFS_EROFS_FLAG: flag }) },
  });
  track(t, d);
  const ledger = await setup(d, 400);

  fs.writeFileSync(flag, '');
  await until503(ledger, 50);
  assert.match(readText(path.join(top, 'faultfs.hits')), /^erofs /m, 'the shim refused a write');
  await waitFor('/readyz 503 while read-only', async () => (await readyz(d)) === 503);
  assert.match(readText(d.logPath), /disk I\/O error|read-only|readonly/i, 'the log says writes fail');
  await ledger.traffic(3);

  fs.rmSync(flag);
  await recovers(ledger);
});

test('SQLite busy (another process holds BEGIN EXCLUSIVE): 503s within the bound, a log line, recovery', async (t) => {
  const top = tmpDir('busy');
  const db = path.join(top, 'maskd.db');
  const d = await startDaemon({ env: { MASKD_DB: db, MASKD_KEY_FILE: path.join(top, 'vault.key') } });
  track(t, d);
  const ledger = await setup(d, 800);

  const holder = spawn('sqlite3', [db], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  holder.stdout.on('data', (c) => { out += c; });
  holder.stderr.on('data', (c) => { out += c; });
  const gone = new Promise((resolve) => holder.on('exit', resolve));
  cleanups.push(async () => { if (holder.exitCode === null) { holder.kill('SIGKILL'); await gone; } });
  holder.stdin.write('.timeout 5000\nBEGIN EXCLUSIVE;\nSELECT \'locked\';\n');
  await waitFor('sqlite3 to hold the write lock', () => /locked/.test(out));

  // writes from several clients at once: each is answered 503 within the bound
  const started = Date.now();
  const results = await Promise.all([0, 1, 2, 3].map(() => ledger.create()));
  assert.deepEqual(results, [503, 503, 503, 503], 'creates while the database is locked');
  const waited = Date.now() - started;
  assert.ok(waited < ANSWER_MS, `four concurrent writes took ${waited} ms under the lock`);
  assert.equal(await ledger.call(), 503, 'a call while the database is locked');
  assert.match(readText(d.logPath), /database is locked|busy/i, 'the log says the database is locked');

  holder.stdin.end('COMMIT;\n.quit\n');
  await gone;
  await recovers(ledger);
});

test('slow disk (fsync stalls): writes still answered, nothing lost when it ends', async (t) => {
  const top = tmpDir('slow');
  const dbDir = path.join(top, 'db');
  fs.mkdirSync(dbDir);
  const flag = path.join(top, 'stall');
  const d = await startDaemon({
    env: { MASKD_DB: path.join(dbDir, 'maskd.db'), MASKD_KEY_FILE: path.join(top, 'vault.key'), ...preloadEnv(dbDir, { FAULTFS_STALL_FLAG: flag }) },
  });
  track(t, d);
  const ledger = await setup(d, 1200);

  fs.writeFileSync(flag, '');
  const hits = path.join(top, 'faultfs.hits');
  // the checkpointer flushes the database file at least once a second after writes
  await waitFor('an fsync stalled by the shim', async () => { await ledger.traffic(1); return /^stall /m.test(readText(hits)); });
  const seen = await ledger.traffic(10);
  assert.equal(seen.filter((s) => s !== 201 && s !== 200).length, 0, `writes during the stall: ${seen}`);
  assert.equal(await readyz(d), 200, '/readyz during the stall');

  fs.rmSync(flag);
  await recovers(ledger);
});

/** A throwaway PostgreSQL the test may kill: {dir, url, port, kill(), restart()}. */
async function killablePostgres() {
  const dir = tmpDir('pg');
  fs.chmodSync(dir, 0o755);
  const script = path.join(REPO, 'scripts', 'pg-test-server');
  const { stdout } = await execFileP(script, ['start', dir]);
  const url = stdout.trim();
  const port = fs.readFileSync(path.join(dir, 'port'), 'utf8').trim();
  cleanups.push(() => execFileP(script, ['stop', dir]).catch(() => {}));
  const bindir = process.env.PG_BINDIR || '/usr/lib/postgresql/15/bin';
  const data = path.join(dir, 'data');
  const asOwner = (cmd, args) => (IS_ROOT ? execFileP('runuser', ['-u', 'postgres', '--', cmd, ...args]) : execFileP(cmd, args));
  return {
    dir, url, port,
    /** SIGKILL the postmaster and every backend: the whole server dies at once. */
    async kill() {
      const pm = Number(fs.readFileSync(path.join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
      const kids = execFileSync('ps', ['-o', 'pid=', '--ppid', String(pm)], { encoding: 'utf8' })
        .split('\n').map((s) => Number(s.trim())).filter((n) => n > 0);
      for (const pid of [pm, ...kids]) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }
      await waitFor('the PostgreSQL processes to die', () => [pm, ...kids].every((pid) => !fs.existsSync(`/proc/${pid}`)));
    },
    /** The same cluster on the same port (crash recovery replays its WAL). */
    async restart() {
      const opts = `-c listen_addresses=127.0.0.1 -c port=${port} -c unix_socket_directories='' -c fsync=off ` +
        '-c full_page_writes=off -c max_connections=300 -c log_min_messages=warning';
      await asOwner(path.join(bindir, 'pg_ctl'), ['-D', data, '-l', path.join(dir, 'postgres.log'), '-w', '-t', '60', '-o', opts, 'start']);
    },
  };
}

test('PostgreSQL killed with SIGKILL mid-write and restarted: 503s, a log line, recovery, nothing acknowledged lost', async (t) => {
  const pg = await killablePostgres();
  const name = `maskd_faults_${process.pid}`;
  await psql(pg.url, `CREATE DATABASE ${name}`);
  // the test server runs with synchronous_commit=off, which a crash of the server may cost
  // acknowledged commits; maskd's own database gets the production default
  await psql(pg.url, `ALTER DATABASE ${name} SET synchronous_commit = on`);
  const u = new URL(pg.url);
  u.pathname = `/${name}`;
  const top = tmpDir('pgd');
  const d = await startDaemon({ env: { MASKD_DB: u.toString(), MASKD_KEY_FILE: path.join(top, 'vault.key') } });
  track(t, d);
  const ledger = await setup(d, 1600);

  // writers in flight while the server dies
  let stop = false;
  const writers = [0, 1, 2].map(async () => { while (!stop) await ledger.traffic(1); });
  await waitFor('writes in flight', () => ledger.sessions.length >= 12);
  await pg.kill();
  await waitFor('503s once PostgreSQL is gone', () => ledger.statuses.slice(-6).includes(503));
  stop = true;
  await Promise.all(writers);
  assert.equal(await readyz(d), 503, '/readyz while PostgreSQL is down');
  assert.equal(await ledger.create(), 503, 'a create while PostgreSQL is down');
  assert.match(readText(d.logPath), /PostgreSQL connection was lost|cannot connect to PostgreSQL/, 'the log says PostgreSQL is gone');

  await pg.restart();
  await recovers(ledger);
});
