// SPDX-License-Identifier: MIT
// A forged webhook costs nothing: a webhook with a bad signature for a number whose
// owner the node knows, or with no signature at all, is refused (403) without any
// database access, while a valid one still bridges.
//
// How "no database access" is shown. PostgreSQL: the test holds one transaction with
// ACCESS EXCLUSIVE on every table of maskd's database while the forged webhooks are
// sent, so any read or write by maskd would wait until the lock goes (and the
// webhook would not be answered); each must be answered 403 while the lock is held.
// SQLite: the WAL is checkpointed into the database file first, and the database
// file's and the WAL's sizes and mtimes must not move across the forged phase (no
// write). After that, a correctly signed call still bridges.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { before, test } from 'node:test';

import { PG_URL, useDaemon } from './lib/daemon.mjs';
import { addPool, createService, createSession, voiceParams, messageParams } from './lib/fixtures.mjs';
import * as markup from './lib/markup.mjs';
import { assertValid, proxy, real } from './lib/numbers.mjs';

// The memory answers for one service cache TTL after the last read: a long one here,
// so that the forged phase never depends on how fast this machine is.
const d = useDaemon({ env: { MASKD_SERVICE_CACHE_TTL: '3600', MASKD_SWEEP_INTERVAL: '3600' } });
const A = real(7100);
const B = real(7101);
const POOL = [proxy(71), proxy(72)];
const UNKNOWN = proxy(79); // in no pool
assertValid(A, B, UNKNOWN, ...POOL);
const FORGED = 40;

let svc;
let session;

before(async () => {
  await d.ready;
  svc = await createService(d, { name: 'Forged' });
  await addPool(d, svc.id, POOL);
  session = await createSession(d, svc.id, {
    participants: [{ number: A, label: 'Rider' }, { number: B, label: 'Driver' }],
  });
});

/** Starts a process that prints `ready` once it holds the lock; release() ends it. */
function holdLock(cmd, args, script, ready) {
  const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  const locked = new Promise((resolve, reject) => {
    child.stdout.on('data', (c) => { out += c; if (out.includes(ready)) resolve(); });
    child.stderr.on('data', (c) => { err += c; });
    child.on('exit', (code) => reject(new Error(`${cmd} exited ${code} before locking: ${err}`)));
  });
  child.stdin.write(script);
  return {
    locked,
    async release(finish) {
      const exited = new Promise((resolve) => child.on('exit', resolve));
      child.stdin.end(finish);
      const code = await exited;
      assert.equal(code, 0, `${cmd} holding the lock failed: ${err}`);
    },
  };
}

async function lockDatabase() {
  if (PG_URL) {
    const tables = (await import('./lib/daemon.mjs')).psql;
    const names = (await tables(d.pg.url,
      "SELECT string_agg(quote_ident(schemaname) || '.' || quote_ident(tablename), ', ') " +
      "FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')")).trim();
    assert.ok(names.length > 0, 'no tables in maskd\'s database');
    const h = holdLock('psql', ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-d', d.pg.url],
      `BEGIN;\nLOCK TABLE ${names} IN ACCESS EXCLUSIVE MODE;\nSELECT 'lock' || 'held';\n`, 'lockheld');
    await h.locked;
    return { release: () => h.release('COMMIT;\n') };
  }
  // SQLite: maskd's connections hold a shared lock on the file for as long as they are
  // open (WAL mode), so no other process can lock maskd out. Instead, everything is
  // checkpointed into the database file first (the WAL emptied), and the files must
  // then not move: that shows no write; the PostgreSQL run shows no read either
  // (the path that answers is the same code above the store on both backends).
  await sqlite(['-cmd', '.timeout 30000', d.dbPath, 'PRAGMA wal_checkpoint(TRUNCATE);']);
  return { release: async () => {} };
}

function sqlite(args) {
  return new Promise((resolve, reject) => {
    const child = spawn('sqlite3', ['-batch', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c) => { out += c; });
    child.stderr.on('data', (c) => { err += c; });
    child.on('exit', (code) => (code === 0 && !/busy|locked/i.test(out) ? resolve(out) :
      reject(new Error(`sqlite3 ${args.join(' ')}: exit ${code}: ${out} ${err}`))));
  });
}

function fileState() {
  if (PG_URL) return null;
  return ['', '-wal'].map((suffix) => {
    try {
      const st = fs.statSync(d.dbPath + suffix);
      return `${suffix || 'db'}: ${st.size} bytes, mtime ${st.mtimeMs}`;
    } catch {
      return `${suffix || 'db'}: absent`;
    }
  });
}

test('forged webhooks are refused without any database access; a valid one still bridges', async () => {
  const [pa, pb] = session.participants;
  // One valid call to each proxy number first: the node now knows which service owns them.
  const first = await d.webhook('twilio', 'voice', voiceParams('twilio', { from: A, to: pa.proxy_number }));
  assert.equal(first.status, 200, first.text);
  const firstId = markup.interactionIdOf(first.text);
  assert.equal(first.text, markup.bridge('twilio', { callerId: pb.proxy_number, real: B, intId: firstId }));
  const back = await d.webhook('signalwire', 'voice', voiceParams('signalwire', { from: B, to: pb.proxy_number }));
  assert.equal(back.text, markup.bridge('signalwire', {
    callerId: pa.proxy_number, real: A, intId: markup.interactionIdOf(back.text),
  }));

  const lock = await lockDatabase();
  const files0 = fileState();
  const answers = [];
  try {
    for (let i = 0; i < FORGED; i++) {
      const kind = i % 4;
      let res;
      if (kind === 0) {
        // signed with a wrong token, to a number the node knows
        res = await d.webhook('twilio', 'voice', voiceParams('twilio', { from: A, to: pa.proxy_number }),
          { token: 'not-the-service-token' });
      } else if (kind === 1) {
        // a forged text from a stranger to the other known number
        res = await d.webhook('signalwire', 'message', messageParams('signalwire', { from: real(7190), to: pb.proxy_number, body: 'hi' }),
          { token: 'PSK_forged' });
      } else if (kind === 2) {
        // no signature at all, to a number in no pool
        res = await d.webhook('twilio', 'voice', voiceParams('twilio', { from: A, to: UNKNOWN }), { signature: null });
      } else {
        // no signature at all, a status callback
        res = await d.webhook('twilio', 'status', { CallSid: 'CA' + '0'.repeat(32), CallStatus: 'completed' },
          { signature: null, query: { interaction: firstId } });
      }
      answers.push(`${kind}: ${res.status} ${res.text.trim()}`);
    }
  } finally {
    await lock.release();
  }
  const files1 = fileState();
  for (let i = 0; i < answers.length; i++) {
    assert.equal(answers[i], `${i % 4}: 403 invalid signature`, `forged webhook #${i}`);
  }
  assert.deepEqual(files1, files0, 'the database files moved during the forged webhooks');

  // After the lock: a correctly signed call from the other side still bridges.
  const second = await d.webhook('twilio', 'voice', voiceParams('twilio', { from: B, to: pb.proxy_number }));
  assert.equal(second.status, 200, second.text);
  assert.equal(second.text, markup.bridge('twilio', {
    callerId: pa.proxy_number, real: A, intId: markup.interactionIdOf(second.text),
  }));
});
