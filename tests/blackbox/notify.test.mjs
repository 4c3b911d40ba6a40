// SPDX-License-Identifier: MIT
// The service manager's protocol, as systemd speaks it to a Type=notify unit with WatchdogSec=:
// maskd, given NOTIFY_SOCKET (a unix datagram socket, here a small python3 listener standing in
// for systemd) and WATCHDOG_USEC, sends READY=1 only once it serves, WATCHDOG=1 at half the
// interval for as long as it runs, and STOPPING=1 on SIGTERM, in that order. Without
// WATCHDOG_USEC it sends no pings. The checks count messages, never time them.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';

import { SCALE, startDaemon, waitFor } from './lib/daemon.mjs';

const LISTENER = `
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
print("up", flush=True)
while True:
    print(s.recv(4096).decode().replace("\\n", "|"), flush=True)
`;

const cleanups = [];
after(async () => { for (const c of cleanups.reverse()) await c(); });

/** A stand-in for systemd's notification socket: {path, messages (live array)}. */
async function notifySocket(dir) {
  const sock = path.join(dir, 'notify.sock');
  const child = spawn('python3', ['-c', LISTENER, sock], { stdio: ['ignore', 'pipe', 'inherit'] });
  const messages = [];
  let buf = '';
  let up = false;
  child.stdout.on('data', (b) => {
    buf += b;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      if (!up && line === 'up') up = true;
      else messages.push(line);
    }
  });
  cleanups.push(async () => { child.kill('SIGKILL'); });
  await waitFor('the notify listener', () => up);
  return { path: sock, messages };
}

async function daemonWith(env) {
  const dir = fs.mkdtempSync(path.join(fs.realpathSync('/tmp'), 'maskd-notify-'));
  cleanups.push(async () => fs.rmSync(dir, { recursive: true, force: true }));
  const n = await notifySocket(dir);
  const d = await startDaemon({ env: { NOTIFY_SOCKET: n.path, ...env } });
  cleanups.push(async () => { if (!d.exited) await d.stop(); await d.removeTmp(); });
  return { d, n };
}

test('READY=1 once serving, WATCHDOG=1 pings while it runs, STOPPING=1 on SIGTERM', async () => {
  const { d, n } = await daemonWith({ WATCHDOG_USEC: String(200_000) }); // a ping every 100 ms
  await waitFor('READY=1', () => n.messages.includes('READY=1'), { timeoutMs: 10_000 * SCALE });
  // the daemon answered /healthz before startDaemon returned; READY=1 is the first message
  assert.equal(n.messages[0], 'READY=1');
  const before = n.messages.filter((m) => m === 'WATCHDOG=1').length;
  await waitFor('five more WATCHDOG=1 pings', () => n.messages.filter((m) => m === 'WATCHDOG=1').length >= before + 5,
    { timeoutMs: 30_000 * SCALE });
  const res = await fetch(`${d.base}/healthz`);
  assert.equal(res.status, 200, 'it serves while it pings');
  await d.stop();
  await waitFor('STOPPING=1', () => n.messages.includes('STOPPING=1'));
  const stop = n.messages.indexOf('STOPPING=1');
  assert.ok(stop > n.messages.indexOf('WATCHDOG=1'), `pings came before STOPPING=1: ${n.messages.join(', ')}`);
  assert.deepEqual([...new Set(n.messages)].sort(), ['READY=1', 'STOPPING=1', 'WATCHDOG=1']);
  assert.equal(n.messages.filter((m) => m === 'READY=1').length, 1);
});

test('without WATCHDOG_USEC there are no pings', async () => {
  const { d, n } = await daemonWith({});
  await waitFor('READY=1', () => n.messages.includes('READY=1'));
  // a request through the whole stack, then the stop: its STOPPING=1 comes after anything
  // maskd would have sent meanwhile
  assert.equal((await fetch(`${d.base}/readyz`)).status, 200);
  await delay(300);
  await d.stop();
  await waitFor('STOPPING=1', () => n.messages.includes('STOPPING=1'));
  assert.deepEqual(n.messages, ['READY=1', 'STOPPING=1']);
});
