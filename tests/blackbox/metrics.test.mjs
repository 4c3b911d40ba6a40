// SPDX-License-Identifier: MIT
// /metrics (flow/stats.c): the store gauges come from a copy the sweeper refreshes, so they
// follow creates and closes within a sweep interval, and a scrape never waits on the store.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';

import { PG_URL, SCALE, useDaemon, waitFor } from './lib/daemon.mjs';
import { addPool, closeSession, createService, createSession, metricValue } from './lib/fixtures.mjs';
import { proxy, real } from './lib/numbers.mjs';

const d = useDaemon();

async function gauges() {
  const names = ['maskd_services', 'maskd_pool_numbers', 'maskd_sessions_open', 'maskd_bindings_active'];
  return Object.fromEntries(await Promise.all(names.map(async (n) => [n, await metricValue(d, n)])));
}

test('the store gauges follow creates and closes (within the refresh interval)', async () => {
  await d.ready;
  const svc = await createService(d, { name: 'Gauges' });
  await addPool(d, svc.id, [proxy(60), proxy(61)]);
  const s = await createSession(d, svc.id, { participants: [{ number: real(6001) }, { number: real(6002) }] });
  const want = { maskd_services: 1, maskd_pool_numbers: 2, maskd_sessions_open: 1, maskd_bindings_active: 2 };
  await waitFor('gauges after the create', async () => JSON.stringify(await gauges()) === JSON.stringify(want));
  await closeSession(d, s.id);
  const closed = { ...want, maskd_sessions_open: 0, maskd_bindings_active: 0 };
  await waitFor('gauges after the close', async () => JSON.stringify(await gauges()) === JSON.stringify(closed));
});

test('a scrape answers while another connection holds the SQLite database write-locked',
  { skip: PG_URL ? 'SQLite only' : false }, async () => {
    await d.ready;
    await waitFor('a first gauge refresh', async () => (await metricValue(d, 'maskd_sessions_open')) !== null);
    const locker = spawn('sqlite3', [d.dbPath], { stdio: ['pipe', 'pipe', 'pipe'] });
    try {
      let out = '';
      locker.stdout.on('data', (c) => { out += c; });
      locker.stdin.write("BEGIN EXCLUSIVE;\nSELECT 'locked';\n");
      await waitFor('the exclusive lock', async () => out.includes('locked'));
      // The store's busy timeout is longer than this bound: a scrape that touched the store
      // would time out or drop its gauges.
      const r = await d.request('GET', '/metrics', { timeoutMs: 2000 * SCALE });
      assert.equal(r.status, 200);
      assert.match(r.text, /^maskd_sessions_open \d+$/m);
      assert.match(r.text, /^maskd_services \d+$/m);
    } finally {
      locker.stdin.end('ROLLBACK;\n');
      await new Promise((resolve) => { if (locker.exitCode !== null) resolve(); else locker.on('exit', resolve); });
    }
  });
