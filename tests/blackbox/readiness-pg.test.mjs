// SPDX-License-Identifier: MIT
// Readiness on PostgreSQL (docs/OPERATIONS.md "Readiness"): a database that turns read-only
// under a running maskd (default_transaction_read_only, and its sessions cut so that they
// reconnect) makes /readyz answer 503 within a sweep, and a write 503; made writable again,
// /readyz answers 200 and writes work. Runs when MASKD_TEST_PG_URL names a server (the
// suite's PostgreSQL pass); on SQLite readiness.test.mjs covers the same rule.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { PG_URL, psql, startDaemon, waitFor } from './lib/daemon.mjs';

async function cutSessions(db) {
  await psql(PG_URL, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = '${db}' AND pid <> pg_backend_pid()`);
}

test('a PostgreSQL database that stops taking writes: /readyz 503, writes 503; writable again: ready',
  { skip: PG_URL === '' && 'runs on the PostgreSQL pass (MASKD_TEST_PG_URL)' }, async () => {
    const d = await startDaemon({ env: { MASKD_SWEEP_INTERVAL: '1' } });
    try {
      const db = d.pg.name;
      const ready = async () => (await fetch(`${d.base}/readyz`)).status;
      assert.equal(await ready(), 200);
      assert.equal((await d.api('POST', '/v1/services', { name: 'Before' })).status, 201);

      await psql(PG_URL, `ALTER DATABASE ${db} SET default_transaction_read_only = on`);
      await cutSessions(db);
      await waitFor('/readyz to answer 503', async () => (await ready()) === 503);
      const r = await fetch(`${d.base}/readyz`);
      assert.match(await r.text(), /takes no writes/);
      const refused = await d.api('POST', '/v1/services', { name: 'During' });
      assert.equal(refused.status, 503, refused.text);

      await psql(PG_URL, `ALTER DATABASE ${db} RESET default_transaction_read_only`);
      await cutSessions(db);
      await waitFor('/readyz to answer 200 again', async () => (await ready()) === 200);
      assert.equal((await d.api('POST', '/v1/services', { name: 'After' })).status, 201);
      const names = (await d.api('GET', '/v1/services')).json.services.map((s) => s.name).sort();
      assert.deepEqual(names, ['After', 'Before'], 'the refused write left nothing');
    } finally {
      await d.stop();
    }
  });
