// SPDX-License-Identifier: MIT
// The state on disk is its owner's only: maskd sets umask 077 itself, so the SQLite database,
// its -wal and -shm files and the vault key file come out 0600 and a state directory it
// creates comes out 0700, whatever umask the shell that started it had. A state directory
// someone else made open to other users (0755) still works, with a warning line at start that
// names the path and its mode.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, test } from 'node:test';

import { startDaemon } from './lib/daemon.mjs';
import { addPool, createService, createSession, logText } from './lib/fixtures.mjs';
import { assertValid, proxy, real } from './lib/numbers.mjs';

const POOL = [proxy(60, '628'), proxy(61, '628')];
assertValid(POOL);

const daemons = [];
let failed = false;
after(async () => {
  for (const d of daemons) {
    try { await d.stop(); } catch (e) { failed = true; process.stderr.write(`# ${e.message}\n`); }
  }
  for (const d of daemons) {
    if (failed || process.env.MASKD_TEST_KEEP) process.stderr.write(`# maskd temp dir kept: ${d.tmp}\n`);
    else await d.removeTmp();
  }
});

const mode = (p) => fs.statSync(p).mode & 0o7777;
const octal = (m) => `0${m.toString(8)}`;

async function withSession(d) {
  const svc = await createService(d);
  await addPool(d, svc.id, POOL);
  await createSession(d, svc.id, { participants: [[real(5301), 'Rider'], [real(5302), 'Driver']] });
}

test('a fresh state directory is 0700 and the database, WAL, SHM and key file are 0600', async (t) => {
  const old = process.umask(0o022); // the usual shell umask: files 0644 unless maskd sets its own
  t.after(() => process.umask(old));
  const base = fs.mkdtempSync(path.join(fs.realpathSync('/tmp'), 'maskd-state-'));
  const dir = path.join(base, 'var'); // maskd creates this one
  const d = await startDaemon({
    env: { MASKD_DB: path.join(dir, 'maskd.db'), MASKD_KEY_FILE: path.join(dir, 'maskd.key') },
  });
  daemons.push(d);
  t.after(() => fs.rmSync(base, { recursive: true, force: true }));
  await withSession(d);
  assert.equal(octal(mode(dir)), '0700', `mode of ${dir}`);
  for (const name of ['maskd.db', 'maskd.db-wal', 'maskd.db-shm', 'maskd.key']) {
    assert.equal(octal(mode(path.join(dir, name))), '0600', `mode of ${name}`);
  }
  assert.doesNotMatch(logText(d), /open to other local users/, 'no warning for a private state directory');
});

test('a state directory open to others (0755) gives a warning naming the path and the mode', async (t) => {
  const base = fs.mkdtempSync(path.join(fs.realpathSync('/tmp'), 'maskd-state-'));
  t.after(() => fs.rmSync(base, { recursive: true, force: true }));
  const dir = path.join(base, 'shared');
  fs.mkdirSync(dir);
  fs.chmodSync(dir, 0o755);
  const d = await startDaemon({
    env: { MASKD_DB: path.join(dir, 'maskd.db'), MASKD_KEY_FILE: path.join(base, 'maskd.key') },
  });
  daemons.push(d);
  await withSession(d);
  const line = logText(d).split('\n').find((l) => l.includes('open to other local users'));
  assert.ok(line, `a warning line at start; log:\n${logText(d)}`);
  assert.ok(line.includes(dir) && line.includes('0755'), `the line names ${dir} and 0755: ${line}`);
  assert.equal(octal(mode(path.join(dir, 'maskd.db'))), '0600', 'the database is 0600 even there');
});
