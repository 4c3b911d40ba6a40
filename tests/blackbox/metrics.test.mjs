// SPDX-License-Identifier: MIT
// /metrics (flow/stats.c): the store gauges come from a copy the sweeper refreshes, so they
// follow creates and closes within a sweep interval (that a scrape needs no store is
// tests/unit/test_store.c's check).
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { useDaemon, waitFor } from './lib/daemon.mjs';
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
