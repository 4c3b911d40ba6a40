// SPDX-License-Identifier: MIT
// Privacy by construction (DESIGN.md §6): a full scenario with a known set of real numbers,
// then the daemon is stopped and the SQLite files, the log and every answer it gave are
// scanned for each real number as "+14152375001", "14152375001" and "4152375001"; so are the
// audit log's pages and export, a data-subject lookup's answer, and /metrics. One of them is the
// real number of a profile (a stable number, sealed in the profiles table of its own).
// The only place a real number may appear is the markup that tells the carrier whom to dial
// (200 answers with <Dial> or <Message>), which is excluded from the scan. The events delivered
// to the services' events_url (a loopback receiver: bodies and headers) are scanned too.
// So is the admin console (src/web/console.c, served from web/): after the traffic, every page
// and asset it serves and every API answer its pages read (with the admin key, as the console
// sends it), for the spellings above and for any unmasked run of 7 or more of a real number's
// digits.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { after, test } from 'node:test';

import { REPO, useDaemon, waitFor } from './lib/daemon.mjs';
import {
  accountSid, addNumber, addPool, createService, createSession, expectError, expectOneOfErrors, expectStatus, getSession,
  interactions, rfc3339In,
  messageParams, postSession, sid, voiceParams,
} from './lib/fixtures.mjs';
import * as markup from './lib/markup.mjs';
import { assertValid, proxy, real, realNy, spellings } from './lib/numbers.mjs';

const WEB = path.join(REPO, 'web'); // the console's files (MASKD_CONSOLE_DIR)
const d = useDaemon({ env: { MASKD_CONSOLE_DIR: WEB } });

/** Every file the console serves, as its path under /console/ (console.c skips dot files). */
function consoleFiles(dir = WEB, rel = '') {
  const out = [];
  for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
    if (e.name.startsWith('.')) continue;
    const sub = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...consoleFiles(dir, sub));
    else if (e.isFile()) out.push(sub);
  }
  return out;
}

/** Every run of 7 or more digits in text that is part of a real number's digits (an
 * unmasked piece of one: a masked number shows at most its last 4). */
function digitRuns(text, where) {
  const out = [];
  for (const m of text.matchAll(/\d{7,}/g)) {
    for (const r of REALS) {
      const digits = r.slice(1);
      for (let k = 0; k + 7 <= m[0].length; k++) {
        if (digits.includes(m[0].slice(k, k + 7))) {
          out.push(`${where}: "${m[0]}" holds 7 digits of ${r} at ${m.index}`);
          break;
        }
      }
    }
  }
  return out;
}

// The apps' events receiver (docs/EVENTS.md): every delivery, headers and body, is scanned.
const deliveries = [];
const receiver = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    deliveries.push({ headers: JSON.stringify(req.headers), body: Buffer.concat(chunks).toString('utf8') });
    res.writeHead(204);
    res.end();
  });
});
await new Promise((resolve) => receiver.listen(0, '127.0.0.1', resolve));
const EVENTS_URL = `http://127.0.0.1:${receiver.address().port}/events`;
after(() => new Promise((resolve) => receiver.close(resolve)));

// The people. Every one of them takes part in the scenario below.
const RIDER = real(5001);
const DRIVER = real(5002);
const BUYER = real(5003);
const SELLER = realNy(5004);
const PATIENT = realNy(5005);
const CLINIC = realNy(5006);
const LATE = real(5007); // in a session that expires
const STRANGER = real(5008); // in no session at all
const AGENT = real(5009); // a profile's real number
const REALS = [RIDER, DRIVER, BUYER, SELLER, PATIENT, CLINIC, LATE, STRANGER, AGENT];
const TW_POOL = [proxy(70), proxy(71), proxy(72)];
const SW_POOL = [proxy(70, '212'), proxy(71, '212')];
const TINY = proxy(70, '650');
const SUPPORT_POOL = [proxy(73), proxy(74)];
assertValid(REALS, TW_POOL, SW_POOL, TINY, SUPPORT_POOL);

/** Every place in `buf` where one of the spellings of a real number occurs. */
function hits(buf, where) {
  const out = [];
  for (const r of REALS) {
    for (const s of spellings(r)) {
      for (const enc of ['latin1', 'utf16le']) {
        let i = buf.indexOf(Buffer.from(s, enc));
        while (i !== -1) {
          const ctx = buf.subarray(Math.max(0, i - 40), i + s.length + 40).toString('latin1').replace(/[^\x20-\x7e]/g, '.');
          out.push(`${where}: ${r} as "${s}" (${enc}) at byte ${i}: …${ctx}…`);
          i = buf.indexOf(Buffer.from(s, enc), i + 1);
        }
      }
    }
  }
  return out;
}

function snapshot(dir) {
  const files = {};
  for (const name of fs.readdirSync(dir)) {
    const p = path.join(dir, name);
    if (fs.statSync(p).isFile()) files[name] = fs.readFileSync(p);
  }
  return files;
}

test('the scanner finds what it looks for', () => {
  for (const s of spellings(RIDER)) {
    assert.equal(hits(Buffer.from(`x${s}y`), 'self-test').length >= 1, true, s);
    assert.equal(hits(Buffer.from(`x${s}y`, 'utf16le'), 'self-test').length >= 1, true, s);
  }
  assert.deepEqual(hits(Buffer.from('+1******5001 4152375 0015002'), 'self-test'), []);
  assert.equal(digitRuns(`x${RIDER.slice(-7)}y`, 'self-test').length, 1, 'a piece of 7 digits of a real number');
  assert.deepEqual(digitRuns('+1******5001 415237 1700000000 2026120314', 'self-test'), []);
});

test('full scenario: no real number in the database files, the log or any answer', async () => {
  const bridged = new Set();
  const markupAnswers = [];
  const hook = async (dialect, event, params, opts) => {
    const r = await d.webhook(dialect, event, params, opts);
    if (r.status === 200 && /<(Dial|Message)[ >]/.test(r.text)) markupAnswers.push(r.text);
    return r;
  };

  // --- services and pools
  const tw = await createService(d, { name: 'Rides', signalwire: false, events_url: EVENTS_URL,
    defaults: { mode: 'voice-and-message', ttl: 0, unknown_caller_message: 'Not in service.' } });
  const sw = await createService(d, { name: 'Clinic', twilio: false, events_url: EVENTS_URL });
  const tiny = await createService(d, { name: 'Tiny' });
  await addPool(d, tw.id, TW_POOL);
  await addPool(d, sw.id, SW_POOL, { carrier: 'signalwire' });
  const tinyNum = await addNumber(d, tiny.id, TINY, { capabilities: ['voice', 'sms'] });
  expectStatus(await d.api('PATCH', `/v1/numbers/${tinyNum.id}`, { state: 'reserved' }), 200);
  expectStatus(await d.api('PATCH', `/v1/numbers/${tinyNum.id}`, { state: 'active' }), 200);

  // --- sessions (and refusals that involve real numbers)
  const ride = await createSession(d, tw.id, { unique_name: 'ride-1', ttl: 3600,
    participants: [[RIDER, 'Rider'], [DRIVER, 'Driver']] });
  const sale = await createSession(d, tw.id, { unique_name: 'sale-1', mode: 'message',
    participants: [[BUYER, 'Buyer'], [SELLER, 'Seller', TW_POOL[2]]] });
  const visit = await createSession(d, sw.id, { unique_name: 'visit-1', expires_at: rfc3339In(86400),
    participants: [[PATIENT, 'Patient'], [CLINIC, 'Clinic']] });
  const late = await createSession(d, tw.id, { unique_name: 'late-1', ttl: 2, participants: [[LATE, 'Late'], [RIDER, 'Rider']] });
  await createSession(d, tiny.id, { participants: [[RIDER], [BUYER]] });
  expectError(await postSession(d, tiny.id, { participants: [[RIDER], [SELLER]] }), 409, 'pool_exhausted');
  expectError(await postSession(d, tw.id, { participants: [[DRIVER], [DRIVER]] }), 400, 'invalid_field');
  expectError(await postSession(d, tw.id, { participants: [[DRIVER], [`${STRANGER.slice(0, -1)}`]] }), 400, 'invalid_field');
  expectOneOfErrors(await postSession(d, tw.id, { participants: [[DRIVER, 'D', STRANGER], [PATIENT]] }),
    { 400: 'invalid_field', 409: ['conflict', 'pool_exhausted'] });
  expectError(await postSession(d, tw.id, { unique_name: 'ride-1', participants: [[STRANGER], [PATIENT]] }), 409, 'conflict');
  expectError(await postSession(d, tw.id, { participants: [{ number: STRANGER, phone: STRANGER }, { number: PATIENT }] }),
    400, 'unknown_field');
  expectError(await d.api('POST', `/v1/services/${tw.id}/sessions`, `{"participants":[{"number":"${STRANGER}"},{"number":"${PATIENT}"`),
    400, 'invalid_json');
  expectError(await d.api('POST', `/v1/services/${tw.id}/sessions`, `{"participants":[{"number":${STRANGER.slice(1)}}]}`),
    400, 'invalid_field');
  // hostile bodies: jansson's own error text would quote the input around the error
  const sessionsPath = `/v1/services/${tw.id}/sessions`;
  for (const body of [
    `{"participants":[{"number":"${STRANGER}\u0001"}]}`, // a raw control character (the template makes it raw)
    `{"participants":[{"number":"${STRANGER}\u0001","label":"x"}]}`,
    `{"participants":[{"number":"${STRANGER}`, // an unterminated string
    `{"participants":[{"number":${STRANGER}}]}`, // an unquoted +number
    `{"participants":[{"number":"${PATIENT}","number":"${STRANGER}"}]}`, // a duplicate key
    `{"participants":[{"number":"${STRANGER}"}]} ${STRANGER}`, // text after the value
    `{"participants":[{"number":"${STRANGER}"}]`,
    `{"participants":[{"number":"${STRANGER}" "label":"x"}]}`, // a missing comma
    `{"participants":[{"number":'${STRANGER}'}]}`,
  ]) {
    expectError(await d.api('POST', sessionsPath, body), 400, 'invalid_json');
  }
  for (const body of [
    `{"participants":[{"${STRANGER}":"x"},{"number":"${PATIENT}"}]}`, // a number as a key
    `{"${STRANGER}":1}`,
    `{"${STRANGER.slice(1)}":1}`,
  ]) {
    expectError(await d.api('POST', sessionsPath, body), 400, 'unknown_field');
  }
  const invalidUtf8 = Buffer.concat([Buffer.from(`{"participants":[{"number":"${STRANGER}`), Buffer.from([0xff, 0xfe]),
    Buffer.from('"}]}')]);
  expectError(await d.api('POST', sessionsPath, invalidUtf8), 400, 'invalid_json');
  // well-formed JSON, wrong types carrying a number
  for (const body of [
    { participants: STRANGER },
    { participants: [STRANGER, PATIENT] },
    { participants: [{ number: [STRANGER] }, { number: PATIENT }] },
    { participants: [{ number: { e164: STRANGER } }, { number: PATIENT }] },
    { participants: [{ number: Number(STRANGER.slice(1)) }, { number: PATIENT }] },
    { participants: [{ number: STRANGER, label: [STRANGER] }, { number: PATIENT }] },
    { unique_name: Number(STRANGER.slice(1)), participants: [{ number: PATIENT }, { number: CLINIC }] },
    { participants: [{ number: `${STRANGER}x` }, { number: PATIENT }] },
    { participants: [{ number: `${STRANGER}${STRANGER}` }, { number: PATIENT }] },
  ]) {
    expectError(await d.api('POST', sessionsPath, body), 400, 'invalid_field');
  }
  expectError(await d.api('POST', '/v1/services', { name: 'Bad', carriers: { [STRANGER]: { auth_token: 'x' } } }),
    400, 'unknown_field');
  expectError(await d.api('POST', '/v1/services', `{"name":"Bad","carriers":{"twilio":{"auth_token":"${STRANGER}\u0002"}}}`),
    400, 'invalid_json');

  // --- calls and texts, Twilio
  const [rp, dp] = ride.participants.map((p) => p.proxy_number);
  const callSid = sid('twilio', 'CA');
  let r = await hook('twilio', 'voice', voiceParams('twilio', { from: RIDER, to: rp, callSid }));
  const callInt = markup.interactionIdOf(r.text);
  assert.equal(r.text, markup.bridge('twilio', { callerId: dp, real: DRIVER, intId: callInt }));
  bridged.add(DRIVER);
  await hook('twilio', 'voice', voiceParams('twilio', { from: RIDER, to: rp, callSid })); // retry
  const child = sid('twilio', 'CA');
  for (const [st, extra] of [['initiated', {}], ['ringing', {}], ['in-progress', {}], ['completed', { CallDuration: '61' }]]) {
    r = await hook('twilio', 'status', { AccountSid: accountSid('twilio'), CallSid: child, ParentCallSid: callSid,
      CallStatus: st, Direction: 'outbound-dial', From: dp, To: DRIVER, Called: DRIVER, Caller: dp, ...extra },
    { query: { interaction: callInt } });
    assert.equal(r.status, 200, r.text);
  }
  r = await hook('twilio', 'status', { ...voiceParams('twilio', { from: RIDER, to: rp, callSid }), DialCallStatus: 'completed',
    DialCallSid: child, DialCallDuration: '61', DialBridged: 'true' }, { query: { interaction: callInt } });
  assert.equal(r.status, 200, r.text);
  r = await hook('twilio', 'voice', voiceParams('twilio', { from: DRIVER, to: dp }), { method: 'GET' });
  assert.equal(r.status, 200, r.text);
  bridged.add(RIDER);
  r = await hook('twilio', 'message', messageParams('twilio', { from: RIDER, to: rp,
    body: `Call me back on ${RIDER} or ${RIDER.slice(2)}`, media: ['https://media.example.org/a.jpg'] }));
  const msgInt = markup.interactionIdOf(r.text);
  assert.ok(msgInt, r.text);
  r = await hook('twilio', 'status', { AccountSid: accountSid('twilio'), MessageSid: sid('twilio', 'SM'), MessageStatus: 'delivered',
    From: dp, To: DRIVER }, { query: { interaction: msgInt } });
  assert.equal(r.status, 200, r.text);
  const [bp, selp] = sale.participants.map((p) => p.proxy_number);
  r = await hook('twilio', 'message', messageParams('twilio', { from: SELLER, to: selp, body: 'Still for sale' }));
  assert.ok(markup.interactionIdOf(r.text), r.text);
  bridged.add(BUYER);
  r = await hook('twilio', 'voice', voiceParams('twilio', { from: BUYER, to: bp }));
  assert.equal(r.text, markup.rejectVoice('twilio', 'Not in service.'), 'voice in a message session');
  r = await hook('twilio', 'voice', voiceParams('twilio', { from: STRANGER, to: rp }));
  assert.equal(r.text, markup.rejectVoice('twilio', 'Not in service.'));
  r = await hook('twilio', 'message', messageParams('twilio', { from: STRANGER, to: rp, body: `I am ${STRANGER}` }));
  assert.equal(r.text, markup.empty('twilio'));

  // refused webhooks that carry real numbers
  assert.equal((await hook('twilio', 'voice', voiceParams('twilio', { from: RIDER, to: rp }), { signature: 'bad' })).status, 403);
  assert.equal((await hook('twilio', 'voice', voiceParams('twilio', { from: STRANGER, to: proxy(99, '650') }))).status, 404);
  assert.equal((await hook('twilio', 'voice', voiceParams('twilio', { from: STRANGER }))).status, 400);
  assert.equal((await hook('twilio', 'voice', voiceParams('twilio', { from: STRANGER, to: rp }),
    { rawBody: `From=${encodeURIComponent(STRANGER)}&To=${encodeURIComponent(rp)}&X=%zz` })).status, 400);
  assert.equal((await hook('twilio', 'message', messageParams('twilio', { from: STRANGER, to: rp,
    body: `${STRANGER} `.repeat(30000) }), { raw: true })).status, 413);

  // --- SignalWire
  const [pp, cp] = visit.participants.map((p) => p.proxy_number);
  r = await hook('signalwire', 'voice', voiceParams('signalwire', { from: PATIENT, to: pp }));
  const swInt = markup.interactionIdOf(r.text);
  assert.equal(r.text, markup.bridge('signalwire', { callerId: cp, real: CLINIC, intId: swInt }));
  bridged.add(CLINIC);
  r = await hook('signalwire', 'status', { AccountSid: accountSid('signalwire'), CallSid: sid('signalwire', 'CA'),
    ParentCallSid: 'x', CallStatus: 'busy', From: cp, To: CLINIC }, { query: { interaction: swInt } });
  assert.equal(r.status, 200, r.text);
  r = await hook('signalwire', 'message', messageParams('signalwire', { from: CLINIC, to: cp, body: 'Your appointment is at 3' }));
  assert.ok(markup.interactionIdOf(r.text), r.text);
  bridged.add(PATIENT);

  // --- a profile: its real number in a create, a session naming it, a call to it, a lookup
  const support = await createService(d, { name: 'Support', signalwire: false });
  await addPool(d, support.id, SUPPORT_POOL);
  const agent = expectStatus(await d.api('POST', `/v1/services/${support.id}/profiles`,
    { number: AGENT, label: 'Agent', proxy_number: SUPPORT_POOL[0] }), 201);
  expectError(await d.api('POST', `/v1/services/${support.id}/profiles`,
    { number: STRANGER, proxy_number: SUPPORT_POOL[0] }), 409, 'conflict');
  await createSession(d, support.id, { participants: [{ profile: agent.id }, { number: CLINIC }] });
  r = await hook('twilio', 'voice', voiceParams('twilio', { from: CLINIC, to: SUPPORT_POOL[0] }));
  assert.ok(r.text.includes(AGENT), `the call reaches the profile's real number: ${r.text}`);
  bridged.add(AGENT);
  expectStatus(await d.api('GET', `/v1/services/${support.id}/profiles/${agent.id}`), 200);
  expectStatus(await d.api('GET', `/v1/services/${support.id}/profiles`), 200);
  expectStatus(await d.api('POST', '/v1/privacy/lookup', { number: AGENT, reason: 'scan' }), 200);

  // --- expiry, closing, reading everything back
  await waitFor('the ttl-2 session to be closed', async () => (await getSession(d, late.id)).status === 'closed',
    { timeoutMs: 20_000, intervalMs: 200 });
  r = await hook('twilio', 'voice', voiceParams('twilio', { from: LATE, to: late.participants[0].proxy_number }));
  assert.equal(r.text, markup.rejectVoice('twilio', 'This conversation has ended.')); // cooling off
  expectStatus(await d.api('PATCH', `/v1/sessions/${ride.id}`, { ttl: 60 }), 200);
  expectStatus(await d.api('PATCH', `/v1/sessions/${ride.id}`, { status: 'closed' }), 200);
  expectStatus(await d.api('DELETE', `/v1/sessions/${sale.id}`), 204);
  for (const s of [ride, sale, visit, late]) {
    await getSession(d, s.id);
    const list = await interactions(d, s.id);
    assert.ok(Array.isArray(list));
  }
  assert.ok((await interactions(d, ride.id)).length >= 3);
  for (const svc of [tw, sw, tiny]) {
    expectStatus(await d.api('GET', `/v1/services/${svc.id}/sessions`), 200);
    expectStatus(await d.api('GET', `/v1/services/${svc.id}/sessions?status=closed`), 200);
    expectStatus(await d.api('GET', `/v1/services/${svc.id}/numbers`), 200);
  }
  expectStatus(await d.api('GET', '/v1/services'), 200);
  await d.request('GET', '/metrics');
  await d.request('GET', '/readyz');

  // the audit log (pages and the JSON-lines export) and a data-subject lookup are answers
  // like any other: scanned below with the rest
  expectStatus(await d.api('POST', '/v1/keys', { role: 'privacy', label: 'scan' }), 201);
  expectStatus(await d.api('POST', '/v1/privacy/lookup', { number: RIDER, reason: 'scan' }), 200);
  expectStatus(await d.api('GET', '/v1/audit'), 200);
  const auditExport = await d.api('GET', '/v1/audit/export');
  assert.equal(auditExport.status, 200);
  assert.ok(auditExport.text.includes('"privacy.lookup"') && auditExport.text.includes('"key.created"'),
    'the audit export holds the entries just made');

  // the console, as an operator opens it now: its pages and assets, then the API answers its
  // pages read (web/js/pages/*.js), all with the admin key as the console sends it
  const consoleAnswers = [];
  const admin = { headers: { Authorization: `Bearer ${d.adminKey}` } };
  const files = consoleFiles();
  assert.ok(files.includes('index.html') && files.some((f) => f.endsWith('.js')), `console files: ${files}`);
  const redirect = await d.request('GET', '/console', admin);
  assert.equal(redirect.status, 301, 'GET /console redirects to /console/');
  for (const rel of ['', ...files]) {
    const res = await d.request('GET', `/console/${rel}`, admin);
    assert.equal(res.status, 200, `GET /console/${rel}`);
    consoleAnswers.push({ where: `console page /console/${rel}`, text: res.text });
  }
  const consoleReads = ['/v1/services', '/v1/stats'];
  for (const svc of [tw, sw, tiny]) {
    const s = `/v1/services/${svc.id}`;
    consoleReads.push(s, `${s}/pool`, `${s}/numbers`, `${s}/sessions`, `${s}/sessions?status=closed`,
      `${s}/events?limit=500`, `${s}/records?`, `${s}/usage?`, `${s}/records?format=csv`);
  }
  for (const s of [ride, sale, visit, late]) consoleReads.push(`/v1/sessions/${s.id}`, `/v1/sessions/${s.id}/interactions`);
  for (const p of consoleReads) {
    const res = await d.request('GET', p, admin);
    assert.equal(res.status, 200, `the console's read ${p}: ${res.text}`);
    consoleAnswers.push({ where: `console read ${p}`, text: res.text });
  }
  assert.ok(consoleAnswers.some((a) => a.text.includes(ride.id)), 'the console reads show the sessions of the traffic');

  // the scenario did hand real numbers to the carrier (so a scan that finds nothing means something)
  for (const x of bridged) {
    assert.ok(markupAnswers.some((a) => a.includes(x)), `no markup answer dialled ${x}`);
  }

  // every event of the two services is delivered before the scan (the pull API lists them all)
  const pulled = [];
  for (const svc of [tw, sw]) {
    const page = expectStatus(await d.api('GET', `/v1/services/${svc.id}/events?limit=500`), 200);
    pulled.push(...page.events.map((e) => e.id));
  }
  assert.ok(pulled.length >= 4, `only ${pulled.length} events`);
  await waitFor('every event delivered', () => pulled.every((id) => deliveries.some((x) => x.body.includes(id))));

  // --- scan: files while running, files after a clean stop, every answer, every delivered event
  const running = snapshot(d.tmp);
  await d.stop();
  const stopped = snapshot(d.tmp);
  assert.ok(stopped['maskd.db'], `no maskd.db in ${d.tmp}: ${Object.keys(stopped).join(' ')}`);
  assert.ok(stopped['maskd.log'] !== undefined, 'no maskd.log');
  const found = [];
  for (const [name, buf] of Object.entries(running)) found.push(...hits(buf, `${name} (while running)`));
  for (const [name, buf] of Object.entries(stopped)) found.push(...hits(buf, `${name} (after stop)`));
  let scanned = 0;
  for (const a of d.transcript) {
    if (a.kind === 'webhook' && a.status === 200 && /<(Dial|Message)[ >]/.test(a.text)) continue;
    scanned++;
    found.push(...hits(Buffer.from(a.text), `answer to ${a.method} ${a.path.slice(0, 100)} (${a.status})`));
  }
  assert.ok(scanned > 40, `only ${scanned} answers scanned`);
  for (const x of deliveries) found.push(...hits(Buffer.from(x.headers + x.body), 'a delivered event'));
  for (const a of consoleAnswers) found.push(...hits(Buffer.from(a.text), a.where), ...digitRuns(a.text, a.where));
  assert.deepEqual(found, [], `real numbers found (temp dir ${d.tmp}):\n${found.slice(0, 50).join('\n')}`);
});
