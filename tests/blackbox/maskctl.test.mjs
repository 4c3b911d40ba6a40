// SPDX-License-Identifier: MIT
// maskctl, the operator's CLI, against a real daemon: every command, human and --json output,
// the exit codes of docs/maskctl.1, the number CSV import and the SignalWire proxy_sessions.json
// import (added / skipped / refused, a malformed file refused with its line and nothing
// imported unless --partial), and no real number in anything maskctl prints.
// The binary: MASKCTL_BIN, or maskctl beside MASKD_BIN.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { before, describe, test } from 'node:test';

import { REPO, useDaemon } from './lib/daemon.mjs';
import {
  assertNoRealNumbers, createService, createSession, expectStatus, listNumbers, listSessions,
} from './lib/fixtures.mjs';
import { masked, proxy, real } from './lib/numbers.mjs';

const MASKCTL = path.resolve(process.env.MASKCTL_BIN ||
  path.join(path.dirname(path.resolve(process.env.MASKD_BIN || path.join(REPO, 'build', 'maskd'))), 'maskctl'));

const d = useDaemon();

/** Runs maskctl with args: {code, stdout, stderr}. env: extra variables (undefined removes one). */
function maskctl(args, env = {}) {
  const base = { ...process.env, MASKD_URL: d.base, MASKD_API_KEY: d.adminKey };
  for (const k of Object.keys(base)) if (k.startsWith('MASKD_') && !['MASKD_URL', 'MASKD_API_KEY'].includes(k)) delete base[k];
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) delete base[k];
    else base[k] = v;
  }
  return new Promise((resolve) => {
    execFile(MASKCTL, args, { env: base, timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
    });
  });
}

function ok(r, what) {
  assert.equal(r.code, 0, `${what}: exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return r;
}

let tmp;
async function file(name, text) {
  const p = path.join(tmp, name);
  await fsp.writeFile(p, text);
  return p;
}

before(async () => {
  await d.ready;
  assert.ok(fs.existsSync(MASKCTL), `maskctl not found at ${MASKCTL}: build it, or set MASKCTL_BIN`);
  tmp = await fsp.mkdtemp(path.join(d.tmp, 'maskctl-'));
});

describe('services', () => {
  test('create, list and show, in tables and in --json', async () => {
    const created = ok(await maskctl(['services', 'create', 'Ctl Rides']), 'services create');
    const id = /created service (svc_[a-z0-9]{24}) \(Ctl Rides\)/.exec(created.stdout)?.[1];
    assert.ok(id, created.stdout);
    const bodyFile = await file('svc.json', JSON.stringify({ carriers: { twilio: { auth_token: 'tok_0123456789abcdef' } } }));
    const second = JSON.parse(ok(await maskctl(['--json', 'services', 'create', 'Ctl Two', '--body', bodyFile]), 'create --body').stdout);
    assert.equal(second.name, 'Ctl Two');
    assert.deepEqual(second.carriers.twilio, { configured: true });
    assert.ok(!JSON.stringify(second).includes('tok_0123456789abcdef'));

    const list = ok(await maskctl(['services', 'list']), 'services list').stdout.split('\n');
    assert.match(list[0], /^ID\s+NAME\s+CARRIERS\s+MODE\s+CREATED$/);
    assert.ok(list.some((l) => l.startsWith(id) && l.includes('Ctl Rides') && l.includes('voice-and-message')), list.join('\n'));
    assert.ok(list.some((l) => l.startsWith(second.id) && / twilio /.test(l)), list.join('\n'));
    const listJson = JSON.parse(ok(await maskctl(['services', 'list', '--json']), 'list --json').stdout);
    assert.ok(listJson.services.some((s) => s.id === id));

    const show = ok(await maskctl(['services', 'show', id]), 'services show').stdout;
    assert.match(show, new RegExp(`^id:\\s+${id}$`, 'm'));
    assert.match(show, /^name:\s+Ctl Rides$/m);
    assert.equal(JSON.parse(ok(await maskctl(['--json', 'services', 'show', id]), 'show --json').stdout).id, id);
  });

  test('exit codes: not found 5, refused 1, usage 2, wrong key 4, unreachable 3', async () => {
    const missing = await maskctl(['services', 'show', 'svc_aaaaaaaaaaaaaaaaaaaaaaaa']);
    assert.equal(missing.code, 5, missing.stderr);
    assert.match(missing.stderr, /404 not_found: no such service/);
    const refused = await maskctl(['services', 'create', '']);
    assert.equal(refused.code, 1, refused.stderr);
    assert.match(refused.stderr, /400 invalid_field: name must not be empty/);
    assert.equal((await maskctl(['services', 'show', 'not-an-id'])).code, 2);
    assert.equal((await maskctl(['services', 'frobnicate'])).code, 2);
    const extra = await maskctl(['services', 'list', 'extra']);
    assert.equal(extra.code, 2);
    assert.match(extra.stderr, /services list takes 0 arguments/);
    assert.equal((await maskctl(['--no-such-flag', 'services', 'list'])).code, 2);
    const nokey = await maskctl(['services', 'list'], { MASKD_API_KEY: undefined });
    assert.equal(nokey.code, 2);
    assert.match(nokey.stderr, /no API key/);
    const wrong = await maskctl(['services', 'list'], { MASKD_API_KEY: 'mk_wrong_key_0123456789' });
    assert.equal(wrong.code, 4, wrong.stderr);
    assert.match(wrong.stderr, /401 unauthorized/);
    const down = await maskctl(['services', 'list'], { MASKD_URL: 'http://127.0.0.1:1' });
    assert.equal(down.code, 3, down.stderr);
  });

  test('--key-file reads the key; --url overrides MASKD_URL', async () => {
    const keyFile = await file('key', `${d.adminKey}\n`);
    ok(await maskctl(['--key-file', keyFile, '--url', `${d.base}/`, 'services', 'list'],
      { MASKD_API_KEY: undefined, MASKD_URL: 'http://127.0.0.1:1' }), '--key-file');
    const missing = await maskctl(['--key-file', path.join(tmp, 'nope'), 'services', 'list']);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /cannot read the key file/);
  });
});

describe('numbers', () => {
  let svc;
  before(async () => { await d.ready; svc = await createService(d, { name: 'Ctl numbers' }); });

  test('add and list; adding a pooled number again is refused (exit 1)', async () => {
    const added = ok(await maskctl(['numbers', 'add', svc.id, proxy(0), '--carrier', 'twilio', '--capabilities', 'voice,sms']), 'numbers add');
    assert.match(added.stdout, /^added num_[a-z0-9]{24} \+14155550100 \(US, voice,sms, active\)$/m);
    const reserved = JSON.parse(ok(await maskctl(['--json', 'numbers', 'add', svc.id, proxy(1), '--reserved']), 'add --reserved').stdout);
    assert.equal(reserved.state, 'reserved');
    assert.equal(reserved.carrier, null);
    const again = await maskctl(['numbers', 'add', svc.id, proxy(0)]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /409 conflict/);
    const list = ok(await maskctl(['numbers', 'list', svc.id]), 'numbers list').stdout;
    assert.match(list, /^ID\s+NUMBER\s+CARRIER\s+CAPABILITIES\s+STATE\s+IN_USE\s+COOLING_OFF$/m);
    assert.match(list, /\+14155550100\s+twilio\s+voice,sms\s+active\s+0\s+0/);
    assert.match(list, /\+14155550101\s+-\s+voice,sms,mms\s+reserved/);
  });

  test('import a carrier CSV: added, skipped (already pooled) and refused rows, with a summary', async () => {
    const csv = await file('numbers.csv', 'Phone Number,Friendly Name,Capabilities\r\n' +
      `${proxy(0)},already pooled,voice\r\n` +
      `"+1 (415) 555-0110","Line, ten",voice;sms\r\n` +
      `${proxy(11)},eleven,\r\n` +
      '+10005550100,not a number libphonenumber knows,\r\n');
    const r = await maskctl(['numbers', 'import', svc.id, csv, '--carrier', 'signalwire']);
    assert.equal(r.code, 7, `some rows refused: exit 7\n${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /^numbers import: added 2, skipped 1, refused 1, malformed 0$/m);
    assert.match(r.stderr, /numbers\.csv:5: refused: 400 invalid_field: number is not a valid E\.164 phone number/);
    assert.match(r.stderr, /numbers import: 4\/4/);
    const pool = Object.fromEntries((await listNumbers(d, svc.id)).map((n) => [n.number, n]));
    assert.deepEqual(pool[proxy(10)].capabilities, ['voice', 'sms']);
    assert.equal(pool[proxy(10)].carrier, 'signalwire');
    assert.deepEqual(pool[proxy(11)].capabilities, ['voice', 'sms', 'mms']);
    assert.equal(pool['+10005550100'], undefined);

    const again = JSON.parse((await maskctl(['--json', 'numbers', 'import', svc.id, csv])).stdout);
    assert.deepEqual({ rows: again.rows, added: again.added, skipped: again.skipped, refused: again.refused },
      { rows: 4, added: 0, skipped: 3, refused: 1 });
    assert.deepEqual(again.problems.map((p) => p.line), [5]);
  });

  test('a malformed CSV is refused with its line and nothing is imported, unless --partial', async () => {
    const csv = await file('bad.csv', 'number,carrier\n' +
      `${proxy(20)},twilio\n` +
      `${proxy(21)},twilio,extra\n` +
      `${proxy(22)},carrier-pigeon\n` +
      `${proxy(23)},\n`);
    const before = (await listNumbers(d, svc.id)).length;
    const r = await maskctl(['numbers', 'import', svc.id, csv]);
    assert.equal(r.code, 8, r.stderr);
    assert.match(r.stderr, /bad\.csv:3: 3 fields where the header has 2/);
    assert.match(r.stderr, /bad\.csv:4: carrier must be/);
    assert.match(r.stderr, /2 malformed lines: nothing imported/);
    assert.equal((await listNumbers(d, svc.id)).length, before, 'nothing imported');

    const partial = await maskctl(['numbers', 'import', svc.id, csv, '--partial']);
    assert.equal(partial.code, 7, partial.stderr);
    assert.match(partial.stdout, /added 2, skipped 0, refused 0, malformed 2/);
    const pool = (await listNumbers(d, svc.id)).map((n) => n.number);
    assert.ok(pool.includes(proxy(20)) && pool.includes(proxy(23)));
    assert.ok(!pool.includes(proxy(21)) && !pool.includes(proxy(22)));

    const noColumn = await maskctl(['numbers', 'import', svc.id, await file('nocol.csv', 'sid,name\nPN1,x\n'), '--partial']);
    assert.equal(noColumn.code, 8);
    assert.match(noColumn.stderr, /nocol\.csv:1: the header names no number column/);
    const unclosed = await maskctl(['numbers', 'import', svc.id, await file('quote.csv', `number\n${proxy(30)}\n"${proxy(31)}\n`), '--partial']);
    assert.equal(unclosed.code, 8);
    assert.match(unclosed.stderr, /quote\.csv:3: a quoted field is not closed/);
    assert.ok(!(await listNumbers(d, svc.id)).some((n) => n.number === proxy(30)), 'a fatal file imports nothing, even with --partial');
    const missingFile = await maskctl(['numbers', 'import', svc.id, path.join(tmp, 'none.csv')]);
    assert.equal(missingFile.code, 2);
  });
});

describe('sessions and records', () => {
  let svc;
  let ses;
  const reals = [real(700), real(701)];
  before(async () => {
    await d.ready;
    svc = await createService(d, { name: 'Ctl sessions' });
    expectStatus(await d.api('POST', `/v1/services/${svc.id}/numbers`, { number: proxy(40, '650') }), 201);
    ses = await createSession(d, svc.id, { unique_name: 'ctl-order-1', participants: [[reals[0], 'Rider'], [reals[1], 'Driver']] });
  });

  test('list, show and close; participants masked, never real', async () => {
    const list = ok(await maskctl(['sessions', 'list', svc.id]), 'sessions list');
    assert.match(list.stdout, /^ID\s+UNIQUE_NAME\s+STATUS\s+MODE\s+CREATED\s+PARTICIPANTS$/m);
    assert.ok(list.stdout.includes(`${masked(reals[0])} via ${proxy(40, '650')}`), list.stdout);
    assert.match(list.stdout, new RegExp(`^${ses.id}\\s+ctl-order-1\\s+open\\s+voice-and-message`, 'm'));
    const byName = JSON.parse(ok(await maskctl(['--json', 'sessions', 'list', svc.id, '--unique-name', 'ctl-order-1']), 'by name').stdout);
    assert.deepEqual(byName.sessions.map((s) => s.id), [ses.id]);
    const show = ok(await maskctl(['sessions', 'show', ses.id]), 'sessions show').stdout;
    assert.match(show, /^status:\s+open$/m);
    assert.match(show, /Rider\s+\+1\*{6}\d{4}\s+\+16505550140/);
    const closed = ok(await maskctl(['sessions', 'close', ses.id]), 'sessions close');
    assert.equal(closed.stdout.trim(), `closed ${ses.id} (status closed)`);
    const closedList = JSON.parse(ok(await maskctl(['--json', 'sessions', 'list', svc.id, '--status', 'closed']), 'closed').stdout);
    assert.deepEqual(closedList.sessions.map((s) => s.id), [ses.id]);
    const openList = JSON.parse(ok(await maskctl(['--json', 'sessions', 'list', svc.id, '--status', 'open']), 'open').stdout);
    assert.deepEqual(openList.sessions, []);
    const bad = await maskctl(['sessions', 'list', svc.id, '--status', 'failed']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /status must be open, in-progress, closed or blocked/);
    assert.equal((await maskctl(['sessions', 'show', 'ses_aaaaaaaaaaaaaaaaaaaaaaaa'])).code, 5);
    for (const r of [list, closed]) assertNoRealNumbers(r.stdout + r.stderr, reals, 'maskctl output');
    assertNoRealNumbers(show + JSON.stringify(byName), reals, 'maskctl output');
  });

  test('records export: CSV to a file or stdout, JSON with --json; a bad window is refused', async () => {
    const out = path.join(tmp, 'records.csv');
    ok(await maskctl(['records', 'export', svc.id, '--from', '2000-01-01', '--output', out]), 'export --output');
    const csv = await fsp.readFile(out, 'utf8');
    assert.match(csv, /^interaction_id,session_id,channel,carrier,decision,leg,carrier_sid,status,proxy_number,/);
    const stdoutCsv = ok(await maskctl(['records', 'export', svc.id]), 'export').stdout;
    assert.equal(stdoutCsv, csv);
    const j = JSON.parse(ok(await maskctl(['--json', 'records', 'export', svc.id, '--from', '2000-01-01', '--to', '2100-01-01']), 'export --json').stdout);
    assert.deepEqual(j.records, []);
    assert.equal(j.from, '2000-01-01T00:00:00Z');
    const bad = await maskctl(['records', 'export', svc.id, '--from', 'yesterday']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /from must be an RFC 3339 time/);
  });
});

describe('import signalwire', () => {
  let svc;
  const reals = [real(710), real(711), real(712), real(713), real(714), real(715)];
  const P = proxy(50, '650');
  const entry = (id, a, b, p = P) =>
    `  {"Session_Id": "${id}", "Participant_A_Number": "${a}", "Participant_B_Number": "${b}",\n` +
    `   "Proxy_Number": "${p}", "Status": "open"}`;
  before(async () => {
    await d.ready;
    svc = await createService(d, { name: 'Ctl signalwire' });
    expectStatus(await d.api('POST', `/v1/services/${svc.id}/numbers`, { number: P }), 201);
  });

  test('imports open sessions on the named proxy number; again, they are skipped', async () => {
    const f = await file('proxy_sessions.json',
      `[\n${entry('KCaaa1', reals[0], reals[1])},\n${entry('KCaaa2', reals[2], reals[3])}\n]\n`);
    const r = await maskctl(['import', 'signalwire', svc.id, f]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^import signalwire: added 2, skipped 0, refused 0, malformed 0$/m);
    const sessions = await listSessions(d, svc.id);
    const byName = Object.fromEntries(sessions.map((s) => [s.unique_name, s]));
    for (const name of ['KCaaa1', 'KCaaa2']) {
      assert.equal(byName[name].status, 'open');
      assert.deepEqual(byName[name].participants.map((p) => p.proxy_number), [P, P]);
    }
    assert.deepEqual(byName.KCaaa1.participants.map((p) => p.number), [masked(reals[0]), masked(reals[1])]);
    const again = JSON.parse((await maskctl(['--json', 'import', 'signalwire', svc.id, f])).stdout);
    assert.deepEqual([again.added, again.skipped, again.refused], [0, 2, 0]);
    assertNoRealNumbers(r.stdout + r.stderr + JSON.stringify(again), reals, 'maskctl output');
  });

  test('a malformed file is refused with its line and nothing imported, unless --partial', async () => {
    const f = await file('bad_sessions.json', '[\n' +
      `${entry('KCbbb1', reals[4], reals[5])},\n` +              // lines 2-3
      '  {"Session_Id": "KCbbb2", "Participant_A_Number": "+14152377000",\n' + // line 4: no B
      `   "Proxy_Number": "${P}"},\n` +
      `${entry('KCbbb1', reals[0], reals[5])}\n` +               // line 6: Session_Id again
      ']\n');
    const r = await maskctl(['import', 'signalwire', svc.id, f]);
    assert.equal(r.code, 8, r.stderr);
    assert.match(r.stderr, /bad_sessions\.json:4: Participant_B_Number is missing/);
    assert.match(r.stderr, /bad_sessions\.json:6: Session_Id is already on an earlier line/);
    assert.match(r.stderr, /nothing imported/);
    let names = (await listSessions(d, svc.id)).map((s) => s.unique_name);
    assert.ok(!names.includes('KCbbb1'), 'nothing imported');

    const partial = await maskctl(['import', 'signalwire', svc.id, f, '--partial']);
    assert.equal(partial.code, 7, partial.stderr);
    assert.match(partial.stdout, /added 1, skipped 0, refused 0, malformed 2/);
    names = (await listSessions(d, svc.id)).map((s) => s.unique_name);
    assert.ok(names.includes('KCbbb1') && !names.includes('KCbbb2'));

    const notJson = await maskctl(['import', 'signalwire', svc.id, await file('broken.json', '[\n{"Session_Id": "x",\n oops}\n]'), '--partial']);
    assert.equal(notJson.code, 8);
    assert.match(notJson.stderr, /broken\.json:3: not JSON/);
    assertNoRealNumbers(r.stdout + r.stderr + partial.stdout + partial.stderr, reals, 'maskctl output');
  });

  test('a row the daemon refuses (a proxy number not in the pool) is counted refused, with its line', async () => {
    const f = await file('other_proxy.json', `[\n${entry('KCccc1', real(720), real(721), proxy(99, '212'))}\n]`);
    const r = await maskctl(['import', 'signalwire', svc.id, f]);
    assert.equal(r.code, 7, r.stderr);
    assert.match(r.stdout, /added 0, skipped 0, refused 1, malformed 0/);
    assert.match(r.stderr, /other_proxy\.json:2: refused: 409 conflict: participants\[0\]\.proxy_number/);
    assertNoRealNumbers(r.stdout + r.stderr, [real(720), real(721)], 'maskctl output');
  });
});

describe('keys', () => {
  let svc;
  before(async () => {
    svc = await createService(d, { name: 'Ctl Keys' });
  });

  /** GET /v1/keys with a key: the status. */
  async function statusWith(key) {
    const res = await fetch(`${d.base}/v1/services`, { headers: { Authorization: `Bearer ${key}` } });
    return res.status;
  }

  test('create prints the key once (with a warning), list shows it without the key, rotate and revoke', async () => {
    const created = ok(await maskctl(['keys', 'create', '--role', 'service', '--service', svc.id,
      '--label', 'ctl backend', '--expires-at', '2099-01-01T00:00:00Z']), 'keys create');
    const [, id, role, secret] = /^created key (key_[a-z0-9]{24}) \(role (\w+)\)\n(\S+)\n$/.exec(created.stdout) || [];
    assert.ok(id, created.stdout);
    assert.equal(role, 'service');
    assert.match(created.stderr, /shown only once/);
    assert.equal(await statusWith(secret), 200);

    const list = ok(await maskctl(['keys', 'list']), 'keys list');
    const lines = list.stdout.split('\n');
    assert.match(lines[0], /^ID\s+ROLE\s+SERVICE\s+LABEL\s+STATE\s+EXPIRES\s+LAST USED$/);
    const row = lines.find((l) => l.startsWith(id));
    assert.ok(row, list.stdout);
    assert.match(row, new RegExp(`^${id}\\s+service\\s+${svc.id}\\s+ctl backend\\s+active\\s+2099-01-01T00:00:00Z`));
    assert.ok(!list.stdout.includes(secret), 'the list never shows a key');
    const listJson = JSON.parse(ok(await maskctl(['--json', 'keys', 'list']), 'keys list --json').stdout);
    const entry = listJson.keys.find((k) => k.id === id);
    assert.equal(entry.label, 'ctl backend');
    assert.equal(entry.key, undefined);

    const rotated = JSON.parse(ok(await maskctl(['--json', 'keys', 'rotate', id]), 'keys rotate').stdout);
    assert.equal(rotated.id, id);
    assert.notEqual(rotated.key, secret);
    assert.equal(await statusWith(secret), 401, 'the old key stops at once');
    assert.equal(await statusWith(rotated.key), 200);

    const revoked = ok(await maskctl(['keys', 'revoke', id]), 'keys revoke');
    assert.equal(revoked.stdout, `revoked ${id}\n`);
    assert.equal(await statusWith(rotated.key), 401);
    const after = JSON.parse(ok(await maskctl(['--json', 'keys', 'list']), 'list after').stdout);
    assert.equal(after.keys.find((k) => k.id === id).revoked, true);
    assert.match(ok(await maskctl(['keys', 'list']), 'list').stdout.split('\n').find((l) => l.startsWith(id)), /\srevoked\s/);
  });

  test('refusals: an unknown role (1, the API error shown), a revoked key (5), a bad id and no role (2), more power (1)', async () => {
    const before = JSON.parse(ok(await maskctl(['--json', 'keys', 'list']), 'list').stdout).keys.length;
    const bad = await maskctl(['keys', 'create', '--role', 'superuser']);
    assert.equal(bad.code, 1, bad.stderr);
    assert.match(bad.stderr, /^maskctl: keys create: 400 invalid_field: .*role/m);
    assert.equal(bad.stdout, '');
    const past = await maskctl(['keys', 'create', '--role', 'admin', '--expires-at', '2001-01-01T00:00:00Z']);
    assert.equal(past.code, 1, past.stderr);
    assert.match(past.stderr, /400 invalid_field: .*expires_at/);
    const noRole = await maskctl(['keys', 'create']);
    assert.equal(noRole.code, 2);
    assert.match(noRole.stderr, /missing --role/);
    const badId = await maskctl(['keys', 'rotate', 'svc_x']);
    assert.equal(badId.code, 2);
    assert.match(badId.stderr, /not a key_ id/);

    const svcKey = /\n(\S+)\n$/.exec(ok(await maskctl(['keys', 'create', '--role', 'service', '--service', svc.id]), 'create').stdout)[1];
    const more = await maskctl(['keys', 'create', '--role', 'admin'], { MASKD_API_KEY: svcKey });
    assert.equal(more.code, 1, more.stderr);
    assert.match(more.stderr, /keys create: 403 forbidden/);
    const gone = JSON.parse(ok(await maskctl(['--json', 'keys', 'create', '--role', 'readonly', '--service', svc.id]), 'create').stdout);
    ok(await maskctl(['keys', 'revoke', gone.id]), 'revoke');
    const again = await maskctl(['keys', 'revoke', gone.id]);
    assert.equal(again.code, 5, again.stderr);
    const afterList = JSON.parse(ok(await maskctl(['--json', 'keys', 'list']), 'list').stdout).keys.length;
    assert.equal(afterList, before + 2, 'the refused creates made no key');
  });
});
