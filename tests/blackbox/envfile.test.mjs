// SPDX-License-Identifier: MIT
// `maskd --env-file PATH`, as the Debian unit starts it: the file's KEY=VALUE lines (systemd
// EnvironmentFile syntax) configure the daemon, here its MASKD_LISTEN; a missing file, an
// unreadable one and a malformed line stop maskd with exit status 1 and a message naming the
// file (and the line), never repeating a value from it.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';

import { REPO, SCALE } from './lib/daemon.mjs';

const BIN = path.resolve(process.env.MASKD_BIN || path.join(REPO, 'build', 'maskd'));
let tmp;
before(() => {
  tmp = fs.mkdtempSync(path.join(fs.realpathSync(os.tmpdir()), 'maskd-envfile-'));
  fs.chmodSync(tmp, 0o755); // a user without privileges (below) reaches the files inside
});
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

function cleanEnv() {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('MASKD_')) env[k] = v;
  return env;
}

/** Runs maskd to its exit (bounded): {code, out}. */
function runMaskd(args, { uid, gid } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(BIN, args, { env: cleanEnv(), cwd: tmp, uid, gid, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (b) => { out += b; });
    child.stderr.on('data', (b) => { out += b; });
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000 * SCALE);
    child.on('error', reject);
    child.on('close', (code, signal) => { clearTimeout(timer); resolve({ code, signal, out }); });
  });
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

test('a missing file: exit 1, naming the file', async () => {
  const missing = path.join(tmp, 'no-such.env');
  const r = await runMaskd(['--env-file', missing]);
  assert.equal(r.code, 1, r.out);
  assert.match(r.out, new RegExp(`^maskd: --env-file ${missing}: No such file or directory$`, 'm'));
});

test('a malformed line: exit 1, naming the file and the line, never the value', async () => {
  const file = path.join(tmp, 'bad.env');
  fs.writeFileSync(file, '# maskd\nMASKD_ADMIN_KEY=hunter2-secret-key\nMASKD_TOKEN "hunter3-other"\n');
  const r = await runMaskd(['--env-file', file]);
  assert.equal(r.code, 1, r.out);
  assert.match(r.out, new RegExp(`^maskd: --env-file ${file}:3: not a NAME=value line`, 'm'));
  assert.doesNotMatch(r.out, /hunter/);
});

test('an unreadable file: exit 1, naming the file and the reason', async () => {
  const file = path.join(tmp, 'private.env');
  fs.writeFileSync(file, 'MASKD_LISTEN=127.0.0.1:1\n');
  fs.chmodSync(file, 0o000);
  // root reads any file: run as nobody then (CI runs as root)
  const as = process.getuid() === 0 ? { uid: 65534, gid: 65534 } : {};
  const r = await runMaskd(['--env-file', file], as);
  assert.equal(r.code, 1, r.out);
  assert.match(r.out, new RegExp(`^maskd: --env-file ${file}: Permission denied$`, 'm'));
});

test('a good file configures the daemon: it listens where MASKD_LISTEN in the file says', async () => {
  const port = await freePort();
  const file = path.join(tmp, 'maskd.env');
  fs.writeFileSync(file, [
    '# /etc/maskd/maskd.env',
    `MASKD_LISTEN="127.0.0.1:${port}"`,
    `MASKD_DB='${path.join(tmp, 'maskd.db')}'`,
    `MASKD_KEY_FILE=${path.join(tmp, 'vault.key')}`,
    `MASKD_ADMIN_KEY=${crypto.randomBytes(24).toString('base64url')}`,
    '; the end',
    '',
  ].join('\n'));
  const child = spawn(BIN, ['--env-file', file], { env: cleanEnv(), cwd: tmp, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stderr.on('data', (b) => { out += b; });
  const exited = new Promise((resolve) => child.on('close', (code) => resolve(code)));
  let status = null;
  const deadline = Date.now() + 15_000 * SCALE;
  while (status !== 200 && Date.now() < deadline) {
    try {
      status = (await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(2000) })).status;
    } catch {
      await delay(50);
    }
  }
  child.kill('SIGTERM');
  const code = await exited;
  assert.equal(status, 200, `GET /healthz on the file's port; log:\n${out}`);
  assert.equal(code, 0, out);
});

test('--env-file without a path is a usage error', async () => {
  const r = await runMaskd(['--env-file']);
  assert.equal(r.code, 2, r.out);
  assert.match(r.out, /--env-file needs a path/);
});
