// SPDX-License-Identifier: MIT
// Vault key rotation end to end (docs/OPERATIONS.md, key rotation), on SQLite or, with
// MASKD_TEST_PG_URL, PostgreSQL: sessions created under key version 1; `maskd rotate-keys`
// adds version 2; `--drop` refuses while anything is still sealed with version 1; a restarted
// maskd re-seals in small batches (5 values a transaction, one transaction a sweep) while a loop of signed webhooks keeps
// routing every session, until maskd_vault_reseal_remaining is 0 (the loop checks every answer,
// whatever the job's progress); afterwards no value in the database names version 1, `--drop`
// removes it from the key file, and a maskd with only version 2 still routes every session.
// A profile (its real number sealed in the profiles table) is re-sealed like the rest: with
// only version 2 left, a new session naming it still reaches its real number. So is a Twilio
// Proxy API account (PUT /v1/account, its auth token sealed in a settings row): with only
// version 2 left, its Basic auth pair still authenticates.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import { after, test } from 'node:test';
import { promisify } from 'node:util';

import { PG_URL, psql, startDaemon, waitFor } from './lib/daemon.mjs';
import { addPool, assertLogClean, createService, createSession, expectStatus, metricValue, voiceParams } from './lib/fixtures.mjs';
import * as markup from './lib/markup.mjs';
import { assertValid, proxy, real } from './lib/numbers.mjs';

const execFileP = promisify(execFile);

const SESSIONS = 24;
const POOL = [proxy(61), proxy(62)];
const REALS = Array.from({ length: 2 * SESSIONS + 2 }, (_, i) => real(7000 + i));
const PROFILE_NUMBER = proxy(63); // the profile's fixed number, reserved for it
const AGENT = real(7090); // the profile's real number
const CUSTOMER = real(7091);
const ACCOUNT = 'AC' + '0123456789abcdef'.repeat(2); // the Proxy API account set before the rotation
assertValid(POOL, REALS, [PROFILE_NUMBER, AGENT, CUSTOMER]);

const daemons = [];
let failed = false;
after(async () => {
  for (const d of daemons) {
    try { await d.stop(); } catch { failed = true; }
  }
  for (const d of daemons.reverse()) {
    if (failed || process.env.MASKD_TEST_KEEP) process.stderr.write(`# maskd temp dir kept: ${d.tmp}\n`);
    else await d.removeTmp();
  }
});

/** Rows of a query against d's database (either backend), '|'-separated columns. */
async function sql(d, q) {
  if (PG_URL) return (await psql(d.env.MASKD_DB, q)).split('\n').filter((l) => l !== '');
  const { stdout } = await execFileP('python3', ['-c',
    'import sqlite3,sys\nc=sqlite3.connect(sys.argv[1], timeout=10)\nfor r in c.execute(sys.argv[2]): print("|".join(map(str,r)))',
    d.dbPath, q]);
  return stdout.split('\n').filter((l) => l !== '');
}

/** version byte (hex) → count, over every sealed value of every kind. */
async function versions(d) {
  const first = (col) => PG_URL
    ? `upper(encode(substring(${col} from 1 for 1), 'hex'))` : `hex(substr(${col}, 1, 1))`;
  const len = PG_URL ? 'octet_length' : 'length';
  const out = {};
  for (const [table, col] of [['participants', 'number_sealed'], ['service_secrets', 'sealed'], ['outbox', 'payload'],
    ['profiles', 'number_sealed']]) {
    for (const row of await sql(d, `SELECT ${first(col)}, count(*) FROM ${table} WHERE ${len}(${col}) > 0 GROUP BY 1`)) {
      const [v, n] = row.split('|');
      out[`${table}:${v}`] = Number(n);
    }
  }
  // a Proxy account's token: hex of the sealed value in the row's JSON, its first two digits the version
  const token = PG_URL ? "(value::jsonb ->> 'auth_token_sealed')" : "json_extract(value, '$.auth_token_sealed')";
  for (const row of await sql(d, `SELECT upper(substr(${token}, 1, 2)), count(*) FROM settings ` +
    "WHERE key LIKE 'proxy.account.%' GROUP BY 1")) {
    const [v, n] = row.split('|');
    out[`proxy_accounts:${v}`] = Number(n);
  }
  return out;
}

/** GET /v1/Services (Twilio Proxy API) with the Basic auth pair ACCOUNT and key. */
async function proxyServices(d, key) {
  const headers = { Authorization: `Basic ${Buffer.from(`${ACCOUNT}:${key}`).toString('base64')}` };
  const res = await d.request('GET', '/v1/Services', { headers });
  return { status: res.status, text: res.text };
}

/** `maskd rotate-keys ...` with d's configuration: {code, stdout, stderr}. */
async function rotateKeys(d, ...args) {
  try {
    const { stdout, stderr } = await execFileP(d.bin, ['rotate-keys', ...args], { env: d.env, cwd: d.tmp });
    return { code: 0, stdout, stderr };
  } catch (e) {
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** Every side of every session calls its proxy number and must be bridged to the other side. */
async function routeAll(d, sessions, token, what) {
  for (const { body, reals } of sessions) {
    for (const side of [0, 1]) {
      const me = body.participants[side];
      const other = body.participants[1 - side];
      const res = await d.webhook('twilio', 'voice', voiceParams('twilio', { from: reals[side], to: me.proxy_number }), { token });
      assert.equal(res.status, 200, `${what}: session ${body.id} side ${side}: ${res.text}`);
      const intId = markup.interactionIdOf(res.text);
      assert.ok(intId, `${what}: no interaction id in ${res.text}`);
      assert.equal(res.text, markup.bridge('twilio', { callerId: other.proxy_number, real: reals[1 - side], intId }),
        `${what}: session ${body.id} side ${side}`);
    }
  }
}

test('rotate the vault key under webhook traffic, then drop the old version', async (t) => {
  t.after(() => { if (t.passed === false) failed = true; });
  const d1 = await startDaemon();
  daemons.push(d1);
  const token = d1.tokens.twilio;
  const svc = await createService(d1, { name: 'Rotating' });
  await addPool(d1, svc.id, POOL);
  const sessions = [];
  for (let i = 0; i < SESSIONS; i++) {
    const reals = [REALS[2 * i], REALS[2 * i + 1]];
    const body = await createSession(d1, svc.id, { participants: [{ number: reals[0] }, { number: reals[1] }] });
    sessions.push({ body, reals });
  }
  await addPool(d1, svc.id, [PROFILE_NUMBER]);
  const profile = expectStatus(await d1.api('POST', `/v1/services/${svc.id}/profiles`,
    { number: AGENT, label: 'Agent', proxy_number: PROFILE_NUMBER }), 201);
  await routeAll(d1, sessions, token, 'version 1');
  // a service key (stored, so every later daemon knows it) sets the Proxy account
  const proxyKey = expectStatus(await d1.api('POST', '/v1/keys', { role: 'service', service_id: svc.id, label: 'proxy' }),
    201).key;
  expectStatus(await d1.api('PUT', '/v1/account', { twilio_account_sid: ACCOUNT, twilio_auth_token: token },
    { auth: `Bearer ${proxyKey}` }), 200);
  const listed = await proxyServices(d1, proxyKey);
  assert.equal(listed.status, 200, `the Proxy account authenticates under version 1: ${listed.text}`);
  assert.match(listed.text, /"unique_name":"Rotating"/, 'the Proxy API lists the service');
  assert.equal(await metricValue(d1, 'maskd_vault_reseal_remaining'), 0, 'nothing to re-seal before a rotation');
  await d1.stop();
  const before = await versions(d1);
  assert.deepEqual(before, { 'participants:01': 2 * SESSIONS, 'service_secrets:01': 2, 'profiles:01': 1, 'proxy_accounts:01': 1 },
    'all sealed with version 1');

  const added = await rotateKeys(d1);
  assert.equal(added.code, 0, `rotate-keys: ${added.stderr}`);
  assert.match(added.stdout, /vault key version 2 added .* and made current/);
  // and says how to follow the re-seal: this node's gauge
  assert.ok(added.stdout.includes(`follow the re-seal after the restart: curl -s http://${d1.env.MASKD_LISTEN}/metrics | ` +
    "grep '^maskd_vault_reseal_remaining' (at 0 on every node: maskd rotate-keys --drop)\n"), added.stdout);
  const keyText = fs.readFileSync(d1.env.MASKD_KEY_FILE, 'utf8');
  assert.match(keyText, /^current=2$/m);
  assert.match(keyText, /^enc=[0-9a-f]{64}$/m);
  assert.match(keyText, /^enc\.2=[0-9a-f]{64}$/m);
  assert.equal(fs.statSync(d1.env.MASKD_KEY_FILE).mode & 0o777, 0o600);

  // nothing re-sealed yet: dropping version 1 is refused and leaves the file as it is
  const early = await rotateKeys(d1, '--drop');
  assert.equal(early.code, 1, `--drop before the re-seal: ${early.stdout}`);
  assert.match(early.stderr, new RegExp(`${2 * SESSIONS + 4} values are not sealed with the current key version 2 yet`));
  assert.equal(fs.readFileSync(d1.env.MASKD_KEY_FILE, 'utf8'), keyText);

  const env = { MASKD_DB: d1.env.MASKD_DB, MASKD_KEY_FILE: d1.env.MASKD_KEY_FILE, MASKD_RESEAL_BATCH: '5', MASKD_RESEAL_BATCHES: '1' };
  const d2 = await startDaemon({ env });
  daemons.push(d2);
  // a session created now is sealed with version 2 and routes like the others
  const fresh = [REALS[2 * SESSIONS], REALS[2 * SESSIONS + 1]];
  const made = await createSession(d2, svc.id, { participants: [{ number: fresh[0] }, { number: fresh[1] }] });
  const all = [...sessions, { body: made, reals: fresh }];
  // webhooks all the while the job runs, and one whole round after it reports nothing left
  // bounded by time, not rounds: the job re-seals one batch per sweeper tick, however fast
  // the webhooks are answered
  let rounds = 0;
  const seenLeft = [];
  const until = Date.now() + 120_000 * Number(process.env.MASKD_TEST_TIMEOUT_SCALE ?? 1);
  for (;;) {
    const left = await metricValue(d2, 'maskd_vault_reseal_remaining');
    seenLeft.push(left);
    await routeAll(d2, all, token, `round ${rounds} (${left} left)`);
    rounds++;
    if (left === 0) break;
    assert.ok(Date.now() < until, `the re-seal did not finish: ${left} left after ${rounds} rounds`);
  }
  t.diagnostic(`${rounds} rounds of ${2 * all.length} webhooks; remaining seen: ${seenLeft.join(' ')}`);
  assert.match(d2.logTail(1 << 24), /vault: re-sealing \d+ values with key version 2/);
  // the pass ends (and says so) at the sweep after its last batch
  await waitFor('the end of the re-seal pass',
    async () => /nothing is sealed with an older key version any more/.test(d2.logTail(1 << 24)));
  await d2.stop();
  assertLogClean(d2, [...REALS, AGENT]);
  assert.ok(!d2.logTail(1 << 24).includes(token), 'the carrier credential is not in the log');
  assert.deepEqual(await versions(d2),
    { 'participants:02': 2 * SESSIONS + 2, 'service_secrets:02': 2, 'profiles:02': 1, 'proxy_accounts:02': 1 },
    'everything sealed with version 2');

  const dropped = await rotateKeys(d1, '--drop');
  assert.equal(dropped.code, 0, `--drop: ${dropped.stderr}`);
  assert.match(dropped.stdout, /older vault key versions dropped .*; version 2 remains/);
  const left = fs.readFileSync(d1.env.MASKD_KEY_FILE, 'utf8');
  assert.doesNotMatch(left, /^enc=/m);
  assert.match(left, /^enc\.2=[0-9a-f]{64}$/m);

  const d3 = await startDaemon({ env });
  daemons.push(d3);
  await routeAll(d3, all, token, 'version 2 only');
  const reveal = await d3.api('POST', `/v1/participants/${sessions[0].body.participants[1].id}/reveal`, { reason: 'key rotation test' });
  assert.equal(expectStatus(reveal, 200).number, sessions[0].reals[1]);
  assert.equal(await metricValue(d3, 'maskd_vault_reseal_remaining'), 0);
  // the Proxy account set under version 1 still authenticates with version 2 only
  const stillListed = await proxyServices(d3, proxyKey);
  assert.equal(stillListed.status, 200, `the Proxy account after --drop: ${stillListed.text}`);
  assert.match(stillListed.text, /"unique_name":"Rotating"/, 'the Proxy API lists the service after --drop');
  // the profile's number opens with version 2: a new session naming it reaches the agent
  const withProfile = await createSession(d3, svc.id, { participants: [{ profile: profile.id }, { number: CUSTOMER }] });
  assert.equal(withProfile.participants[1].proxy_number, PROFILE_NUMBER);
  const res = await d3.webhook('twilio', 'voice', voiceParams('twilio', { from: CUSTOMER, to: PROFILE_NUMBER }), { token });
  const intId = markup.interactionIdOf(res.text);
  assert.ok(intId, `no interaction id in ${res.text}`);
  assert.equal(res.text, markup.bridge('twilio', { callerId: withProfile.participants[0].proxy_number, real: AGENT, intId }),
    'the customer reaches the profile\'s real number');
});
