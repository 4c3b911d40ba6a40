// SPDX-License-Identifier: MIT
// Blind-index key rotation end to end (docs/internals/blind-index-rotation.md), on SQLite or,
// with MASKD_TEST_PG_URL, PostgreSQL: sessions created under index version 1; `maskd
// rotate-keys --index` adds idx.2 (and derive=, the callback secrets' fixed key); `--index-drop`
// refuses while rows carry version 1; a restarted maskd re-indexes in the background while
// webhooks route every session (whichever version a row is under at that moment), a second
// session of a bound number naming its proxy number is refused 409, and privacy lookup finds
// the old rows; once maskd_vault_reindex_remaining is 0, no row carries version 1,
// `--index-drop` removes it, and a maskd without it still routes, refuses and erases. Then, with
// the re-index held: sticky reuse, a profile claim and a one-way agent's calls and texts find rows
// still under version 1; and (PostgreSQL) two nodes rotate with --index-stage / --index-activate.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import { after, test } from 'node:test';
import { promisify } from 'node:util';

import { PG_URL, psql, startDaemon, waitFor } from './lib/daemon.mjs';
import { addPool, assertLogClean, closeSession, createService, createSession, expectError, expectStatus, messageParams, metricValue,
  postSession, voiceParams } from './lib/fixtures.mjs';
import * as markup from './lib/markup.mjs';
import { assertValid, proxy, real } from './lib/numbers.mjs';

const execFileP = promisify(execFile);

const SESSIONS = 6;
const POOL = [proxy(71), proxy(72)];
const REALS = Array.from({ length: 2 * SESSIONS }, (_, i) => real(7200 + i));
const STRANGER = real(7290);
assertValid(POOL, REALS, [STRANGER]);
const STICKY_POOL = [proxy(81), proxy(82), proxy(83)];
const STICKY_REALS = Array.from({ length: 10 }, (_, i) => real(7300 + i));
assertValid(STICKY_POOL, STICKY_REALS);

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

async function sql(d, q) {
  if (PG_URL) return (await psql(d.env.MASKD_DB, q)).split('\n').filter((l) => l !== '');
  const { stdout } = await execFileP('python3', ['-c',
    'import sqlite3,sys\nc=sqlite3.connect(sys.argv[1], timeout=10)\nfor r in c.execute(sys.argv[2]): print("|".join(map(str,r)))',
    d.dbPath, q]);
  return stdout.split('\n').filter((l) => l !== '');
}

/** Live participant indexes by version: {v1: n, v2: n}. */
async function indexVersions(d) {
  const rows = await sql(d, "SELECT CASE WHEN bidx LIKE '2.%' THEN 'v2' ELSE 'v1' END, count(*) FROM participants " +
    "WHERE bidx <> '' AND bidx NOT LIKE 'purged:%' GROUP BY 1 ORDER BY 1");
  return Object.fromEntries(rows.map((r) => { const [v, n] = r.split('|'); return [v, Number(n)]; }));
}

async function rotateKeys(d, ...args) {
  try {
    const { stdout, stderr } = await execFileP(d.bin, ['rotate-keys', ...args], { env: d.env, cwd: d.tmp });
    return { code: 0, stdout, stderr };
  } catch (e) {
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

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

/** A second session of sessions[0]'s first number naming the proxy number it holds: 409. */
async function refuseSecond(d, svcId, sessions, what) {
  const { body, reals } = sessions[0];
  const res = await postSession(d, svcId, { participants: [[reals[0], 'again', body.participants[0].proxy_number], [STRANGER]] });
  expectError(res, 409, 'conflict');
  assert.equal(res.status, 409, what);
}

test('rotate the blind-index key under webhook traffic, then drop the old version', async (t) => {
  t.after(() => { if (t.passed === false) failed = true; });
  const d1 = await startDaemon();
  daemons.push(d1);
  const token = d1.tokens.twilio;
  const svc = await createService(d1, { name: 'Reindexing' });
  await addPool(d1, svc.id, POOL);
  const sessions = [];
  for (let i = 0; i < SESSIONS; i++) {
    const reals = [REALS[2 * i], REALS[2 * i + 1]];
    const body = await createSession(d1, svc.id, { participants: [{ number: reals[0] }, { number: reals[1] }] });
    sessions.push({ body, reals });
  }
  await routeAll(d1, sessions, token, 'index version 1');
  await refuseSecond(d1, svc.id, sessions, 'index version 1');
  await d1.stop();
  assert.deepEqual(await indexVersions(d1), { v1: 2 * SESSIONS });

  const added = await rotateKeys(d1, '--index');
  assert.equal(added.code, 0, `rotate-keys --index: ${added.stderr}`);
  assert.match(added.stdout, /blind-index key version 2 added .* and made current/);
  const keyText = fs.readFileSync(d1.env.MASKD_KEY_FILE, 'utf8');
  assert.match(keyText, /^index_current=2$/m);
  assert.match(keyText, /^idx=[0-9a-f]{64}$/m);
  assert.match(keyText, /^idx\.2=[0-9a-f]{64}$/m);
  const derive = keyText.match(/^derive=([0-9a-f]{64})$/m);
  assert.ok(derive, 'derive= is written');
  assert.equal(derive[1], keyText.match(/^idx=([0-9a-f]{64})$/m)[1], 'derive= is the old idx= key');
  assert.equal(fs.statSync(d1.env.MASKD_KEY_FILE).mode & 0o777, 0o600);

  const early = await rotateKeys(d1, '--index-drop');
  assert.equal(early.code, 1, `--index-drop before the re-index: ${early.stdout}`);
  assert.match(early.stderr, new RegExp(`${2 * SESSIONS} rows still carry an older blind-index version`));
  assert.equal(fs.readFileSync(d1.env.MASKD_KEY_FILE, 'utf8'), keyText);

  const env = { MASKD_DB: d1.env.MASKD_DB, MASKD_KEY_FILE: d1.env.MASKD_KEY_FILE, MASKD_RESEAL_BATCH: '2', MASKD_RESEAL_BATCHES: '1' };
  const d2 = await startDaemon({ env });
  daemons.push(d2);
  // whatever the job's progress, every answer is the same
  const looked = expectStatus(await d2.api('POST', '/v1/privacy/lookup', { number: REALS[0], reason: 'rotation test' }), 200);
  assert.equal(looked.sessions.length, 1);
  assert.equal(looked.sessions[0].session_id, sessions[0].body.id);
  let rounds = 0;
  const until = Date.now() + 120_000 * Number(process.env.MASKD_TEST_TIMEOUT_SCALE ?? 1);
  for (;;) {
    const left = await metricValue(d2, 'maskd_vault_reindex_remaining');
    await routeAll(d2, sessions, token, `round ${rounds} (${left} left)`);
    await refuseSecond(d2, svc.id, sessions, `round ${rounds}`);
    rounds++;
    if (left === 0 && /no row carries an older blind-index version/.test(d2.logTail(1 << 24))) break;
    assert.ok(Date.now() < until, `the re-index did not finish: ${left} left after ${rounds} rounds`);
  }
  t.diagnostic(`${rounds} rounds`);
  assert.match(d2.logTail(1 << 24), /vault: re-indexing \d+ rows under the current blind-index version/);
  await d2.stop();
  assertLogClean(d2, [...REALS, STRANGER]);
  assert.deepEqual(await indexVersions(d2), { v2: 2 * SESSIONS });

  const dropped = await rotateKeys(d1, '--index-drop');
  assert.equal(dropped.code, 0, `--index-drop: ${dropped.stderr}`);
  assert.match(dropped.stdout, /older blind-index key versions dropped .*; version 2 remains/);
  const left = fs.readFileSync(d1.env.MASKD_KEY_FILE, 'utf8');
  assert.doesNotMatch(left, /^idx=/m);
  assert.match(left, /^derive=[0-9a-f]{64}$/m);

  const d3 = await startDaemon({ env });
  daemons.push(d3);
  await routeAll(d3, sessions, token, 'index version 2 only');
  await refuseSecond(d3, svc.id, sessions, 'index version 2 only');
  assert.equal(await metricValue(d3, 'maskd_vault_reindex_remaining'), 0);
  const erased = expectStatus(await d3.api('POST', '/v1/privacy/erase', { number: REALS[2], reason: 'rotation test' }), 200);
  assert.equal(erased.participants_erased, 1, JSON.stringify(erased));
});

// Sticky reuse and profile claims while the index rotates: a pair's session under version 1 is consulted under
// both versions, so the pair gets last time's numbers although their rows still carry
// version 1 (MASKD_RESEAL_BATCHES=0 holds the re-index), where the pool rule alone (least
// loaded first) would give them another number.
test('sticky reuse and a profile claim find a pair not re-indexed yet', async (t) => {
  t.after(() => { if (t.passed === false) failed = true; });
  const [P81, P82, P83] = STICKY_POOL;
  const [A, B, C, D] = STICKY_REALS;
  const d1 = await startDaemon();
  daemons.push(d1);
  const svc = await createService(d1, { name: 'Sticky rotation', defaults: { cooloff: 0 } });
  await addPool(d1, svc.id, STICKY_POOL);
  const s1 = await createSession(d1, svc.id, { participants: [[A, 'a', P83], [B, 'b', P82]] });
  await closeSession(d1, s1.id);
  // load P82 and P83 so that the pool rule alone picks P81
  await createSession(d1, svc.id, { participants: [[C, 'c', P83], [D, 'd', P82]] });
  await d1.stop();
  assert.deepEqual(await indexVersions(d1), { v1: 4 });
  const added = await rotateKeys(d1, '--index');
  assert.equal(added.code, 0, `rotate-keys --index: ${added.stderr}`);

  const env = { MASKD_DB: d1.env.MASKD_DB, MASKD_KEY_FILE: d1.env.MASKD_KEY_FILE, MASKD_RESEAL_BATCHES: '0' };
  const d2 = await startDaemon({ env });
  daemons.push(d2);
  assert.match(d2.logTail(1 << 20), /MASKD_RESEAL_BATCHES=0: the background re-seal and re-index passes are held/);
  const fresh = await createSession(d2, svc.id, { participants: [[STICKY_REALS[0]], [STICKY_REALS[1]]] });
  assert.deepEqual(fresh.participants.map((p) => p.proxy_number), [P83, P82], 'not the numbers the pair had last time');
  // the job held: the old rows still carry version 1, the new ones version 2
  assert.deepEqual(await indexVersions(d2), { v1: 4, v2: 2 });
  // a profile claim: C holds P83 under version 1 only, and P83 is the least loaded (2 sessions,
  // P81 3, P82 5): the pick must pass it over for P81
  for (let i = 0; i < 3; i++) {
    await createSession(d2, svc.id, { participants: [[STICKY_REALS[4 + 2 * i], 'x', P81], [STICKY_REALS[5 + 2 * i], 'y', P82]] });
  }
  const profile = expectStatus(await d2.api('POST', `/v1/services/${svc.id}/profiles`, { number: C, label: 'C' }), 201);
  assert.equal(profile.proxy_number, P81, 'a profile got a number its real number holds under the previous version');
  assert.deepEqual(await indexVersions(d2), { v1: 4, v2: 8 });
  await d2.stop();
  assertLogClean(d2, STICKY_REALS);
});

// Several nodes (PostgreSQL only: nodes share a PostgreSQL database, docs/OPERATIONS.md): `--index-stage`
// adds idx.2 without making it current, both nodes restart holding it, `--index-activate` makes it
// current, and the nodes restart one at a time. In between, one node indexes under version 2 (and
// re-indexes every row to it) while the other still indexes under version 1: each routes the
// other's rows, and a bound number naming its proxy number again is refused 409 on both.
const NODE_POOL = [proxy(91), proxy(92)];
const NODE_REALS = Array.from({ length: 12 }, (_, i) => real(7500 + i));
assertValid(NODE_POOL, NODE_REALS);

test('stage and activate the blind-index key across two nodes', { skip: PG_URL ? false : 'needs MASKD_TEST_PG_URL' }, async (t) => {
  t.after(() => { if (t.passed === false) failed = true; });
  let nextReal = 0;
  const pair = () => [NODE_REALS[nextReal++], NODE_REALS[nextReal++]];
  const d1 = await startDaemon();
  daemons.push(d1);
  const token = d1.tokens.twilio;
  const svc = await createService(d1, { name: 'Two nodes' });
  await addPool(d1, svc.id, NODE_POOL);
  const sessions = [];
  const open = async (d) => {
    const reals = pair();
    const body = await createSession(d, svc.id, { participants: [{ number: reals[0] }, { number: reals[1] }] });
    sessions.push({ body, reals });
  };
  await open(d1);
  await routeAll(d1, sessions, token, 'one node, version 1');
  await d1.stop();

  const keyFile = d1.env.MASKD_KEY_FILE;
  const original = fs.readFileSync(keyFile, 'utf8');
  const nothing = await rotateKeys(d1, '--index-activate');
  assert.equal(nothing.code, 1, `--index-activate with nothing staged: ${nothing.stdout}`);
  assert.match(nothing.stderr, /stages no idx version/);
  assert.equal(fs.readFileSync(keyFile, 'utf8'), original);

  const staged = await rotateKeys(d1, '--index-stage');
  assert.equal(staged.code, 0, `rotate-keys --index-stage: ${staged.stderr}`);
  assert.match(staged.stdout, /blind-index key version 2 added .*, not current yet/);
  const stagedText = fs.readFileSync(keyFile, 'utf8');
  assert.match(stagedText, /^index_current=1$/m);
  assert.match(stagedText, /^idx\.2=[0-9a-f]{64}$/m);
  const again = await rotateKeys(d1, '--index-stage');
  assert.equal(again.code, 1, `--index-stage twice: ${again.stdout}`);
  assert.match(again.stderr, /already stages idx version 2/);
  assert.equal(fs.readFileSync(keyFile, 'utf8'), stagedText);

  const env = { MASKD_DB: d1.env.MASKD_DB, MASKD_KEY_FILE: keyFile };
  let a = await startDaemon({ env });
  daemons.push(a);
  let b = await startDaemon({ env });
  daemons.push(b);
  for (const n of [a, b]) assert.match(n.logTail(1 << 20), /blind-index key version 2 is staged/);
  await open(a);
  await open(b);
  for (const [n, what] of [[a, 'staged, node a'], [b, 'staged, node b']]) {
    await routeAll(n, sessions, token, what);
    await refuseSecond(n, svc.id, sessions, what);
  }
  assert.deepEqual(await indexVersions(a), { v1: 6 });

  const activated = await rotateKeys(d1, '--index-activate');
  assert.equal(activated.code, 0, `rotate-keys --index-activate: ${activated.stderr}`);
  assert.match(activated.stdout, /blind-index key version 2 is current/);
  assert.match(fs.readFileSync(keyFile, 'utf8'), /^index_current=2$/m);

  // node a restarts first: it indexes under version 2 and re-indexes every row; b still runs version 1
  await a.stop();
  a = await startDaemon({ env });
  daemons.push(a);
  await open(a);
  const until = Date.now() + 120_000 * Number(process.env.MASKD_TEST_TIMEOUT_SCALE ?? 1);
  while (!/no row carries an older blind-index version/.test(a.logTail(1 << 24))) {
    assert.ok(Date.now() < until, 'node a did not finish the re-index');
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.deepEqual(await indexVersions(a), { v2: 8 });
  await open(b); // under version 1
  assert.deepEqual(await indexVersions(a), { v1: 2, v2: 8 });
  for (const [n, what] of [[a, 'activated on a only, node a'], [b, 'activated on a only, node b']]) {
    await routeAll(n, sessions, token, what);
    await refuseSecond(n, svc.id, sessions, what);
  }

  // then node b: both index under version 2, and b's version-1 rows are re-indexed
  await b.stop();
  b = await startDaemon({ env });
  daemons.push(b);
  await open(b);
  while ((await indexVersions(b)).v1 !== undefined) {
    assert.ok(Date.now() < until, 'node b did not finish the re-index');
    await new Promise((r) => setTimeout(r, 100));
  }
  for (const [n, what] of [[a, 'activated on both, node a'], [b, 'activated on both, node b']]) {
    await routeAll(n, sessions, token, what);
    await refuseSecond(n, svc.id, sessions, what);
  }
  await a.stop();
  await b.stop();
  assertLogClean(a, NODE_REALS);
  assertLogClean(b, NODE_REALS);
  const dropped = await rotateKeys(d1, '--index-drop');
  assert.equal(dropped.code, 0, `--index-drop: ${dropped.stderr}`);
});

// One-way sessions while the index rotates: the hidden agent holds no binding, so only the
// one-way candidate lookup finds its row; with the re-index held (MASKD_RESEAL_BATCHES=0) that
// row still carries version 1 after the restart with version 2, and the agent's call and text
// still reach the respondent.
const BRANDED = proxy(95);
const [AGENT, RESPONDENT] = [real(7600), real(7601)];
assertValid([BRANDED], [AGENT, RESPONDENT]);

test('a one-way session not re-indexed yet still finds the agent', async (t) => {
  t.after(() => { if (t.passed === false) failed = true; });
  const d1 = await startDaemon();
  daemons.push(d1);
  const token = d1.tokens.twilio;
  const svc = await createService(d1, { name: 'One-way rotation', defaults: { mode: 'voice-and-message', ttl: 0 } });
  await addPool(d1, svc.id, [BRANDED]);
  expectStatus(await d1.api('PATCH', `/v1/services/${svc.id}`, { branded_number: BRANDED }), 200, 'PATCH branded_number');
  const s = expectStatus(await postSession(d1, svc.id, {
    direction: 'one-way', participants: [{ number: AGENT, hidden: true }, { number: RESPONDENT }],
  }), 201, 'one-way create');
  assert.equal(s.participants[1].proxy_number, BRANDED);
  const reach = async (d, what) => {
    const call = await d.webhook('twilio', 'voice', voiceParams('twilio', { from: AGENT, to: BRANDED }), { token });
    const callId = markup.interactionIdOf(call.text);
    assert.ok(callId, `${what}: the agent's call is not bridged: ${call.text}`);
    assert.equal(call.text, markup.bridge('twilio', { callerId: BRANDED, real: RESPONDENT, intId: callId }), what);
    const text = await d.webhook('twilio', 'message', messageParams('twilio', { from: AGENT, to: BRANDED, body: 'Survey' }), { token });
    const textId = markup.interactionIdOf(text.text);
    assert.ok(textId, `${what}: the agent's text is not forwarded: ${text.text}`);
    assert.equal(text.text, markup.forward('twilio', { to: RESPONDENT, from: BRANDED, intId: textId, body: 'Survey' }), what);
  };
  await reach(d1, 'index version 1');
  await d1.stop();
  assert.deepEqual(await indexVersions(d1), { v1: 2 });
  const added = await rotateKeys(d1, '--index');
  assert.equal(added.code, 0, `rotate-keys --index: ${added.stderr}`);

  const env = { MASKD_DB: d1.env.MASKD_DB, MASKD_KEY_FILE: d1.env.MASKD_KEY_FILE, MASKD_RESEAL_BATCHES: '0' };
  const d2 = await startDaemon({ env });
  daemons.push(d2);
  await reach(d2, 'index version 2, rows under version 1');
  assert.deepEqual(await indexVersions(d2), { v1: 2 });
  await d2.stop();
  assertLogClean(d2, [AGENT, RESPONDENT]);
});
