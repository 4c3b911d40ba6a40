// SPDX-License-Identifier: MIT
// The retention purge end to end, with the test-only MASKD_TEST_RETENTION_SECONDS=2
// (docs/OPERATIONS.md) and a service without cool-off: once a session has been closed for
// longer than the retention, its sealed real numbers are gone (empty, blind index replaced),
// the masked session and its records stay, a reveal answers 410, and a late call from a
// former participant is refused with the service's ended message (an ended mark, docs/PRIVACY.md
// "Late calls after the purge") instead of reaching the other one; a stranger still hears the
// unknown-caller message. Erasing the number afterwards removes its ended marks too: the late
// call is then an unknown caller's. SQLite, and PostgreSQL with MASKD_TEST_PG_URL.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { test } from 'node:test';

import { PG_URL, psql, useDaemon, waitFor } from './lib/daemon.mjs';
import { addPool, createService, createSession, expectError, expectStatus, voiceParams } from './lib/fixtures.mjs';
import { assertValid, masked, proxy, real } from './lib/numbers.mjs';

const execFileP = promisify(execFile);
const d = useDaemon({ env: { MASKD_TEST_RETENTION_SECONDS: '2' } });

const CALLER = real(6501);
const CALLEE = real(6502);
const STRANGER = real(6503);
const POOL = [proxy(91), proxy(92)];
assertValid([CALLER, CALLEE, STRANGER], POOL);
const ENDED = 'This conversation has ended.';

async function sql(q) {
  if (PG_URL) return (await psql(d.env.MASKD_DB, q)).split('\n').filter((l) => l !== '');
  const { stdout } = await execFileP('python3', ['-c',
    'import sqlite3,sys\nc=sqlite3.connect(sys.argv[1], timeout=10)\nfor r in c.execute(sys.argv[2]): print("|".join(map(str,r)))',
    d.dbPath, q]);
  return stdout.split('\n').filter((l) => l !== '');
}

test('sealed numbers go, masked records stay, a late call is refused', async () => {
  const svc = await createService(d, { name: 'Short memory', defaults: { cooloff: 0, ended_message: ENDED } });
  await addPool(d, svc.id, POOL);
  const s = await createSession(d, svc.id, { participants: [{ number: CALLER }, { number: CALLEE }] });
  const to = s.participants[0].proxy_number;
  const call = await d.webhook('twilio', 'voice', voiceParams('twilio', { from: CALLER, to }));
  assert.ok(call.text.includes(CALLEE), 'bridged while open');
  const par = s.participants[1].id;
  const reveal = (reason) => d.api('POST', `/v1/participants/${par}/reveal`, { reason });
  assert.equal(expectStatus(await reveal('before the purge'), 200).number, CALLEE);
  const records = expectStatus(await d.api('GET', `/v1/services/${svc.id}/records`), 200).records;
  assert.ok(records.length >= 1);

  expectStatus(await d.api('PATCH', `/v1/sessions/${s.id}`, { status: 'closed' }), 200);
  // the sweeper runs every second; the purge takes the sessions closed more than 2 s ago
  await waitFor('the purge', async () => (await reveal('after the purge')).status === 410, { timeoutMs: 20_000 });
  expectError(await reveal('once more'), 410, 'gone');

  const rows = await sql(`SELECT bidx, ${PG_URL ? 'length(number_sealed)' : 'length(number_sealed)'} FROM participants ` +
    `WHERE session_id = '${s.id}' ORDER BY idx`);
  assert.deepEqual(rows.map((r) => r.split('|')[1]), ['0', '0']);
  for (const r of rows) assert.match(r.split('|')[0], /^purged:par_/);

  const after = expectStatus(await d.api('GET', `/v1/sessions/${s.id}`), 200);
  assert.deepEqual(after.participants.map((p) => p.number), [masked(CALLER), masked(CALLEE)]);
  const kept = expectStatus(await d.api('GET', `/v1/services/${svc.id}/records`), 200).records;
  assert.deepEqual(kept, records);

  const late = await d.webhook('twilio', 'voice', voiceParams('twilio', { from: CALLER, to }));
  assert.equal(late.status, 200);
  assert.ok(!late.text.includes('<Dial'), `a late call is not bridged: ${late.text}`);
  assert.ok(!late.text.includes(CALLEE));
  assert.ok(late.text.includes(ENDED), `a late call hears the ended message: ${late.text}`);
  assert.ok(!late.text.includes(svc.defaults.unknown_caller_message), `not the unknown-caller one: ${late.text}`);
  // the other participant too, on its own proxy number; a stranger on the same number is unknown
  const back = await d.webhook('twilio', 'voice', voiceParams('twilio', { from: CALLEE, to: s.participants[1].proxy_number }));
  assert.ok(back.text.includes(ENDED) && !back.text.includes(CALLER), `the other side's late call: ${back.text}`);
  const stranger = await d.webhook('twilio', 'voice', voiceParams('twilio', { from: STRANGER, to }));
  assert.ok(stranger.text.includes(svc.defaults.unknown_caller_message), `a stranger: ${stranger.text}`);
  // the marks hold no real number, only what the blind index held before
  const marks = await sql('SELECT bidx, number_id FROM ended_marks ORDER BY number_id');
  assert.equal(marks.length, 2);
  for (const m of marks) for (const n of [CALLER, CALLEE]) assert.ok(!m.includes(n.slice(2)), `mark ${m}`);

  // an erasure leaves nothing linkable to the number: its mark goes, the late call is a stranger's
  const erased = expectStatus(await d.api('POST', '/v1/privacy/erase', { number: CALLER, reason: 'DSAR 5' }), 200);
  assert.equal(erased.found, false, 'the purge had wiped its rows already');
  assert.equal((await sql('SELECT count(*) FROM ended_marks')).join(), '1');
  const afterErase = await d.webhook('twilio', 'voice', voiceParams('twilio', { from: CALLER, to }));
  assert.ok(afterErase.text.includes(svc.defaults.unknown_caller_message), `after the erasure: ${afterErase.text}`);
});
