// SPDX-License-Identifier: MIT
// Without MASKD_ADMIN_KEY, the first start generates the admin key, prints it once and
// stores only its hash; a restart on the same database accepts it and prints nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';

import { startDaemon, waitFor } from './lib/daemon.mjs';

test('generated admin key: printed once, stored as a hash, kept across restarts', async () => {
  const first = await startDaemon({ env: { MASKD_ADMIN_KEY: '' } });
  let second;
  try {
    const key = await waitFor('the generated key in the log', () => /\b(mk_[0-9a-f]{48})\b/.exec(first.logTail())?.[1]);
    const auth = { Authorization: `Bearer ${key}` };
    assert.equal((await first.request('GET', '/v1/services', { headers: auth })).status, 200);
    assert.equal((await first.request('GET', '/v1/services', { headers: { Authorization: 'Bearer mk_wrong' } })).status, 401);
    await first.stop();
    if (!first.pg) {
      const db = fs.readFileSync(first.env.MASKD_DB);
      assert.equal(db.indexOf(key), -1, 'the key itself is not in the database');
    }
    second = await startDaemon({ env: { MASKD_ADMIN_KEY: '', MASKD_DB: first.env.MASKD_DB, MASKD_KEY_FILE: first.env.MASKD_KEY_FILE } });
    assert.equal((await second.request('GET', '/v1/services', { headers: auth })).status, 200);
    assert.doesNotMatch(second.logTail(), /mk_[0-9a-f]{48}/, 'printed only on the first start');
    await second.stop();
    await first.removeTmp();
    await second.removeTmp();
  } finally {
    if (!first.exited) await first.stop().catch(() => {});
    if (second && !second.exited) await second.stop().catch(() => {});
  }
});
