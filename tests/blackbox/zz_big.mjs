import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useDaemon } from '/work/main/tests/blackbox/lib/daemon.mjs';
const d = useDaemon();
test('big', async () => {
  const big = JSON.stringify({ name: 'Big', pad: 'x'.repeat(2 * 1024 * 1024) });
  const st = {};
  for (let i = 0; i < 30; i++) {
    try { const r = await d.api('POST', '/v1/services', big, { raw: true }); st[r.status] = (st[r.status]||0)+1; if (i==0) console.log(r.text, r.headers); }
    catch (e) { st[e.message.slice(0,80)] = (st[e.message.slice(0,80)]||0)+1; }
  }
  console.log(st);
});
