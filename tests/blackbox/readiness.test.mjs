// SPDX-License-Identifier: MIT
// Readiness and a database that takes no writes (docs/OPERATIONS.md "Readiness"): a SQLite
// database made read-only stops maskd at start, exit status 1 and the path in the message;
// with MASKD_READ_ONLY=1 the same database starts, /readyz answers 503 "read-only" and a
// write answers 503; made writable again, it starts ready. File modes do not stop root, so
// when the tests run as root maskd runs as nobody (65534) here.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';

import { REPO, SCALE, waitFor } from './lib/daemon.mjs';

const BIN = path.resolve(process.env.MASKD_BIN || path.join(REPO, 'build', 'maskd'));
const AS = process.getuid() === 0 ? { uid: 65534, gid: 65534 } : {};
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'maskd-readiness-'));
if (AS.uid !== undefined) fs.chownSync(dir, AS.uid, AS.gid);
const DB = path.join(dir, 'maskd.db');
const KEY = crypto.randomBytes(24).toString('base64url');
let failed = false;
after(() => { if (!failed) fs.rmSync(dir, { recursive: true, force: true }); else process.stderr.write(`# kept ${dir}\n`); });

async function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

/** Starts maskd on DB; returns {child, port, out (stdout+stderr so far), exit}. */
async function start(extra = {}) {
  const port = await freePort();
  const env = { PATH: process.env.PATH, MASKD_DB: DB, MASKD_KEY_FILE: path.join(dir, 'maskd.key'), MASKD_ADMIN_KEY: KEY,
    MASKD_LISTEN: `127.0.0.1:${port}`, MASKD_SWEEP_INTERVAL: '1', ...extra };
  const child = spawn(BIN, [], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'], ...AS });
  const p = { child, port, out: '' };
  child.stdout.on('data', (c) => { p.out += c; });
  child.stderr.on('data', (c) => { p.out += c; });
  p.exit = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
  return p;
}

async function get(p, urlPath, init = {}) {
  const r = await fetch(`http://127.0.0.1:${p.port}${urlPath}`, { ...init, signal: AbortSignal.timeout(5000 * SCALE) });
  return { status: r.status, text: await r.text() };
}

async function upReady(p) {
  await waitFor("maskd to answer /healthz", async () => {
    if (p.child.exitCode !== null) { await new Promise((r) => setTimeout(r, 200)); throw new Error(`maskd exited ${p.child.exitCode}: ${p.out}`); }
    try { return (await get(p, '/healthz')).status === 200; } catch { return false; }
  });
}

async function stop(p) {
  p.child.kill('SIGTERM');
  assert.equal(await p.exit, 0, p.out);
}

const createService = (p) => get(p, '/v1/services', {
  method: 'POST', headers: { Authorization: `Bearer ${KEY}`, 'Content-Type': 'application/json' },
  body: JSON.stringify({ name: 'Rides' }),
});

test('a read-only database: no start, or a read-only node with MASKD_READ_ONLY=1; writable again: ready', async (t) => {
  t.after(() => { if (t.passed === false) failed = true; });
  let p = await start();
  await upReady(p);
  assert.deepEqual(await get(p, '/readyz'), { status: 200, text: 'ready\n' });
  assert.equal((await createService(p)).status, 201);
  await stop(p);

  fs.chmodSync(DB, 0o400);
  p = await start();
  assert.equal(await p.exit, 1, `exit status 1; output:\n${p.out}`);
  assert.match(p.out, /takes no writes/);
  assert.ok(p.out.includes(DB), `the message names ${DB}: ${p.out}`);

  p = await start({ MASKD_READ_ONLY: '1' });
  await upReady(p);
  assert.deepEqual(await get(p, '/readyz'), { status: 503, text: 'read-only\n' });
  assert.equal((await createService(p)).status, 503);
  assert.equal((await get(p, '/v1/services', { headers: { Authorization: `Bearer ${KEY}` } })).status, 200, 'reads work');
  await stop(p);

  // SQLite made the -shm (and -wal) of the read-only start with the database's mode: an
  // operator restores all three
  for (const f of [DB, `${DB}-wal`, `${DB}-shm`]) if (fs.existsSync(f)) fs.chmodSync(f, 0o600);
  p = await start();
  await upReady(p);
  assert.deepEqual(await get(p, '/readyz'), { status: 200, text: 'ready\n' });
  await stop(p);
});

test('MASKD_READ_ONLY takes 0 or 1 only', async () => {
  const p = await start({ MASKD_READ_ONLY: 'yes' });
  assert.equal(await p.exit, 1, p.out);
  assert.match(p.out, /MASKD_READ_ONLY must be 0 or 1/);
});
