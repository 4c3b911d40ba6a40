// SPDX-License-Identifier: MIT
// The soak (make soak; docs/PERFORMANCE.md "Soak"): the real maskd for SOAK_SECONDS (default 1800)
// under paced mixed traffic on loopback only, killed with SIGKILL and restarted at random.
//   phase sqlite      one node on a SQLite file, killed and restarted during the first
//                     SOAK_KILL_SHARE of the phase (default 0.55); the node started last then
//                     lives the rest, long enough for its RSS and descriptors to mean something
//   phase postgresql  two nodes on one PostgreSQL database (scripts/pg-test-server); the
//                     first lives the whole phase, the second is killed and restarted
//                     throughout; skipped with a reason when PostgreSQL is not installed.
// SOAK_BACKENDS picks the phases (default "sqlite,postgresql"); they share SOAK_SECONDS equally.
// Traffic (SOAK_RATE operations a second, default 8): session creates among a small crowd of
// people (so one person is in several sessions at once and the pool has to keep their
// bindings apart; some sessions with a short idle ttl, so they expire), closes, inbound calls
// on all six dialects (Twilio, SignalWire, Telnyx, Plivo, Vobiz, Vonage), inbound texts on
// five (Vonage's SMS API is left out), some of them STOP / START / HELP. Carrier REST sends
// go to a local sink.
// Afterwards, on a fresh node, it checks: every acknowledged session is there with its
// participants; every answered call and text (keywords included) is an interaction of its
// session, once (by carrier id); no binding (real number, proxy number) is held by two open
// sessions; sessions left idle past their ttl were closed by the sweeper; no 5xx and no failed
// request outside a kill; RSS and open descriptors flat over each node that lived at least
// SOAK_FLAT_MIN seconds (default 120); no real number in any log, database or API answer.
// Prints the figures and "N passed, N failed" last; exit status 0 only when all passed.
// Environment: MASKD_BIN (default build-test/maskd), SOAK_SECONDS, SOAK_RATE, SOAK_BACKENDS,
// SOAK_KILL_MIN / SOAK_KILL_MAX (seconds between kills, default 40 / 90), SOAK_KILL_SHARE,
// SOAK_FLAT_MIN.

import { execFile, execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import querystring from 'node:querystring';
import { setTimeout as delay } from 'node:timers/promises';
import { promisify } from 'node:util';

import { PUBLIC_URL, REPO, psql, startDaemon } from '../blackbox/lib/daemon.mjs';
import { messageParams, spellingsAny, voiceParams } from '../blackbox/lib/fixtures.mjs';
import { proxy, real, realNy } from '../blackbox/lib/numbers.mjs';

const execFileP = promisify(execFile);
if (!process.env.MASKD_BIN) process.env.MASKD_BIN = path.join(REPO, 'build-test', 'maskd');
const SECONDS = Number(process.env.SOAK_SECONDS || 1800);
const RATE = Number(process.env.SOAK_RATE || 8);
const KILL_MIN = Number(process.env.SOAK_KILL_MIN || 40);
const KILL_MAX = Number(process.env.SOAK_KILL_MAX || 90);
const KILL_SHARE = Number(process.env.SOAK_KILL_SHARE || 0.55);
const FLAT_MIN = Number(process.env.SOAK_FLAT_MIN || 120);
const BACKENDS = (process.env.SOAK_BACKENDS || 'sqlite,postgresql').split(',').map((x) => x.trim()).filter(Boolean);
const PEOPLE = 40; // real numbers reused across sessions
const OPEN_TARGET = 50; // open sessions the traffic hovers around
const TTL = 15;
const DIALECTS = ['twilio', 'signalwire', 'telnyx', 'plivo', 'vobiz', 'vonage'];
const TEXT_DIALECTS = ['twilio', 'signalwire', 'telnyx', 'plivo', 'vobiz'];
const KEYWORDS = ['STOP', 'START', 'HELP'];
const POOL = Array.from({ length: 24 }, (_, i) => proxy(i));

const results = [];
function check(name, ok, detail = '') {
  results.push({ name, ok });
  console.log(`${ok ? 'ok' : 'FAILED'} - ${name}${detail ? `: ${detail}` : ''}`);
}

// ------------------------------------------------------------------ carriers' signatures

const TOKENS = {
  twilio: `tw_${crypto.randomBytes(16).toString('hex')}`,
  signalwire: `PSK_${crypto.randomBytes(16).toString('hex')}`,
  plivo: `pl_${crypto.randomBytes(16).toString('hex')}`,
  vobiz: `vb_${crypto.randomBytes(16).toString('hex')}`,
  vonage: `vn_${crypto.randomBytes(16).toString('hex')}`,
};
const TELNYX = (() => {
  const { publicKey, privateKey } = crypto.generateKeyPairSync('ed25519');
  return { publicB64: publicKey.export({ format: 'der', type: 'spki' }).subarray(-32).toString('base64'), privateKey };
})();

const hmac64 = (token, s) => crypto.createHmac('sha256', token).update(s, 'utf8').digest('base64');
const baseUrl = (url) => { const u = new URL(url); return `${u.protocol}//${u.host}${u.pathname}`; };
const nonce = () => String(crypto.randomInt(1e9, 1e10 - 1)) + String(crypto.randomInt(1e9, 1e10 - 1));
const digits = (e164) => e164.slice(1);

/** Plivo's V3 string for a POST (plivo-node v3Security.js). */
function plivoV3String(url, params) {
  const u = new URL(url);
  const q = querystring.parse(u.search.slice(1));
  const sorted = (o, f) => Object.keys(o).sort().flatMap((k) => [].concat(o[k]).sort().map((v) => f(k, v)));
  const qs = sorted(q, (k, v) => `${k}=${v}`).join('&');
  const hasP = Object.keys(params).length > 0;
  let s = baseUrl(url);
  if (qs || hasP) s += `?${qs}`;
  if (qs && hasP) s += '.';
  return s + sorted(params, (k, v) => k + v).join('');
}

function hs256(claims, secret) {
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const head = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64(claims)}`;
  return `${head}.${crypto.createHmac('sha256', secret).update(head).digest('base64url')}`;
}

/** One inbound call or text as the dialect's carrier sends it: {method, path, headers, body, sid}. */
function inbound(dialect, kind, from, to, text) {
  const sid = dialect === 'twilio' ? `${kind === 'voice' ? 'CA' : 'SM'}${crypto.randomBytes(16).toString('hex')}`
    : dialect === 'telnyx' && kind === 'voice' ? `v3:${crypto.randomBytes(24).toString('base64url')}` : crypto.randomUUID();
  const event = kind === 'voice' ? 'voice' : 'message';
  const urlPath = `/hooks/${dialect}/${event}`;
  const url = PUBLIC_URL + urlPath;
  if (dialect === 'twilio' || dialect === 'signalwire') {
    return { dialect, event, sid, twilioParams: kind === 'voice' ? voiceParams(dialect, { from, to, callSid: sid })
      : messageParams(dialect, { from, to, body: text, messageSid: sid }) };
  }
  if (dialect === 'plivo' || dialect === 'vobiz') {
    const prefix = dialect === 'vobiz' ? 'X-Vobiz-Signature' : 'X-Plivo-Signature';
    const params = kind === 'voice'
      ? { CallUUID: sid, ALegUUID: sid, ALegRequestUUID: '', CallStatus: 'ringing', Direction: 'inbound', Event: 'StartApp',
        From: digits(from), To: digits(to), CallerName: from }
      : { From: digits(from), To: digits(to), Type: 'sms', Text: text, MessageUUID: sid, Units: '1' };
    const n = nonce();
    const headers = { 'Content-Type': 'application/x-www-form-urlencoded' };
    if (kind === 'voice') {
      headers[`${prefix}-V3`] = hmac64(TOKENS[dialect], `${plivoV3String(url, params)}.${n}`);
      headers[`${prefix}-V3-Nonce`] = n;
    } else {
      headers[`${prefix}-V2`] = hmac64(TOKENS[dialect], baseUrl(url) + n);
      headers[`${prefix}-V2-Nonce`] = n;
    }
    return { dialect, event, sid, method: 'POST', path: urlPath, headers, body: new URLSearchParams(params).toString() };
  }
  if (dialect === 'telnyx') {
    const body = kind === 'voice'
      ? new URLSearchParams({ AccountSid: 'acct', CallSid: sid, CallSidLegacy: sid, CallStatus: 'ringing', From: from, To: to,
        ConnectionId: '1234567890', Timestamp: new Date().toISOString() }).toString()
      : JSON.stringify({ data: { event_type: 'message.received', id: crypto.randomUUID(), occurred_at: new Date().toISOString(),
        payload: { record_type: 'message', direction: 'inbound', id: sid, text, type: 'SMS', parts: 1, media: [],
          from: { phone_number: from }, to: [{ phone_number: to }] }, record_type: 'event' } });
    const ts = String(Math.floor(Date.now() / 1000));
    const headers = {
      'Content-Type': kind === 'voice' ? 'application/x-www-form-urlencoded' : 'application/json',
      'telnyx-signature-ed25519': crypto.sign(null, Buffer.from(`${ts}|${body}`), TELNYX.privateKey).toString('base64'),
      'telnyx-timestamp': ts,
    };
    return { dialect, event, sid, method: 'POST', path: urlPath, headers, body };
  }
  // vonage: the answer webhook, GET, a JWT without a payload hash
  const q = new URLSearchParams({ from: digits(from), to: digits(to), uuid: sid, conversation_uuid: `CON-${crypto.randomUUID()}` });
  const token = hs256({ iat: Math.floor(Date.now() / 1000), jti: crypto.randomUUID(), iss: 'Vonage', application_id: crypto.randomUUID() },
    TOKENS.vonage);
  return { dialect, event, sid, method: 'GET', path: `${urlPath}?${q}`, headers: { Authorization: `Bearer ${token}` } };
}

async function send(d, req) {
  if (req.twilioParams) return d.webhook(req.dialect, req.event, req.twilioParams, { token: TOKENS[req.dialect] });
  return d.request(req.method, req.path, { headers: req.headers, body: req.body, kind: 'webhook' });
}

// ------------------------------------------------------------------ the sink and sampling

async function startSink() {
  let count = 0;
  const srv = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      count++;
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ data: { id: crypto.randomUUID() }, messages: [{ status: '0', 'message-id': crypto.randomUUID() }],
        message_uuid: crypto.randomUUID(), api_id: crypto.randomUUID(), message: 'queued' }));
    });
  });
  await new Promise((resolve) => srv.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${srv.address().port}`, close: () => new Promise((r) => srv.close(r)), count: () => count };
}

function sample(d) {
  try {
    const status = fs.readFileSync(`/proc/${d.child.pid}/status`, 'utf8');
    const rss = Number(/VmRSS:\s+(\d+)/.exec(status)[1]);
    const fds = fs.readdirSync(`/proc/${d.child.pid}/fd`).length;
    d.samples.push({ t: Date.now(), rss, fds });
  } catch { /* exiting */ }
}

// ------------------------------------------------------------------ one phase

async function phase(name, { dbUrl, nodes }) {
  const top = fs.mkdtempSync(path.join(os.tmpdir(), `maskd-soak-${name}-`));
  const sink = await startSink();
  const keyFile = path.join(top, 'vault.key');
  const env = {
    MASKD_DB: dbUrl ?? path.join(top, 'maskd.db'), MASKD_KEY_FILE: keyFile, MASKD_SEND_RETRY_MS: '200',
    MASKD_TELNYX_API_URL: sink.url, MASKD_VONAGE_API_URL: sink.url, MASKD_PLIVO_API_URL: sink.url,
    MASKD_VOBIZ_API_URL: sink.url, MASKD_TWILIO_API_URL: sink.url,
  };
  const all = [];
  const start = async () => { const d = await startDaemon({ env }); d.samples = []; all.push(d); return d; };
  const live = [];
  for (let i = 0; i < nodes; i++) live.push(await start());

  const first = live[0];
  const svcRes = await first.api('POST', '/v1/services', {
    name: `Soak ${name}`,
    carriers: {
      twilio: { auth_token: TOKENS.twilio }, signalwire: { signing_key: TOKENS.signalwire },
      telnyx: { public_key: TELNYX.publicB64, api_key: 'KEYsoak' },
      plivo: { auth_id: 'MAsoak', auth_token: TOKENS.plivo }, vobiz: { auth_id: 'MAsoakvb', auth_token: TOKENS.vobiz },
      vonage: { signature_secret: TOKENS.vonage, api_key: 'soakkey', api_secret: 'soaksecret' },
    },
    defaults: { mode: 'voice-and-message', ttl: 0, number_cap: 0, cooloff: 30 },
  });
  if (svcRes.status !== 201) throw new Error(`POST /v1/services: ${svcRes.status} ${svcRes.text}`);
  const svc = svcRes.json.id;
  for (const n of POOL) {
    const r = await first.api('POST', `/v1/services/${svc}/numbers`, { number: n });
    if (r.status !== 201) throw new Error(`POST numbers: ${r.status} ${r.text}`);
  }

  const sessions = [];   // acknowledged creates: {id, parts, reals, ttl, last, closing, closed}
  const answered = new Map(); // session id -> Set of carrier ids answered 200 (calls and texts, keywords too)
  const people = Array.from({ length: PEOPLE }, (_, i) => (i % 2 ? realNy(i) : real(i)));
  const counts = { creates: 0, closes: 0, calls: 0, texts: 0, keywords: 0, refused: 0, lost: 0, kills: 0, other5xx: 0, errors: 0 };
  const other5xx = [];
  const errors = [];
  const refusedBy = {};
  const refuse = (k) => { counts.refused++; refusedBy[k] = (refusedBy[k] ?? 0) + 1; };

  // A session traffic may touch: not closed or being closed by us, and (ttl sessions) touched
  // recently enough that the sweeper cannot be closing it under the request (5 s of margin;
  // `last` is set when a request starts, so maskd's own idle clock is never behind it).
  const usable = (s) => !s.closing && !s.closed && (s.ttl === 0 || Date.now() - s.last < (s.ttl - 5) * 1000);
  const pick = () => live[crypto.randomInt(live.length)];
  async function op() {
    const d = pick();
    const roll = Math.random();
    const pool = sessions.filter(usable);
    try {
      if (pool.length < 4 || roll < 0.25 * Math.min(2, OPEN_TARGET / Math.max(1, pool.length))) {
        const i = crypto.randomInt(PEOPLE);
        const j = (i + 1 + crypto.randomInt(PEOPLE - 1)) % PEOPLE;
        const a = people[i]; const b = people[j];
        const ttl = Math.random() < 0.2 ? TTL : 0;
        const r = await d.api('POST', `/v1/services/${svc}/sessions`, { ttl, participants: [{ number: a, label: 'A' }, { number: b, label: 'B' }] });
        if (r.status === 201) {
          counts.creates++;
          sessions.push({ id: r.json.id, parts: r.json.participants, reals: [a, b], ttl, last: Date.now(), closing: false, closed: false });
          answered.set(r.json.id, new Set());
        } else if (r.status >= 500) { counts.other5xx++; other5xx.push(`create ${r.status} ${r.text}`); }
        else refuse(`create ${r.status} ${r.json?.error ?? ''}`);
        return;
      }
      const s = pool[crypto.randomInt(pool.length)];
      if (roll < 0.25) {
        s.closing = true; // no webhook races the close from now on
        const r = await d.api('PATCH', `/v1/sessions/${s.id}`, { status: 'closed' });
        if (r.status === 200) { counts.closes++; s.closed = true; }
        else if (r.status >= 500) { counts.other5xx++; other5xx.push(`close ${r.status} ${r.text}`); }
        else refuse(`close ${r.status} ${r.json?.error ?? ''}`);
        return;
      }
      const side = crypto.randomInt(2);
      const voice = roll < 0.65;
      const dialect = voice ? DIALECTS[crypto.randomInt(DIALECTS.length)] : TEXT_DIALECTS[crypto.randomInt(TEXT_DIALECTS.length)];
      const keyword = !voice && Math.random() < 0.15 ? KEYWORDS[crypto.randomInt(KEYWORDS.length)] : null;
      const text = keyword ?? `soak text ${crypto.randomInt(1e6)}`;
      const req = inbound(dialect, voice ? 'voice' : 'text', s.reals[side], s.parts[side].proxy_number, text);
      s.last = Date.now();
      const r = await send(d, req);
      if (r.status === 200) {
        if (voice) counts.calls++; else if (keyword) counts.keywords++; else counts.texts++;
        answered.get(s.id).add(req.sid);
      } else if (r.status >= 500) { counts.other5xx++; other5xx.push(`${dialect} ${req.event} ${r.status} ${r.text}`); }
      else refuse(`${dialect} ${req.event} ${r.status}`);
    } catch (e) {
      // in flight when its node was killed: not acknowledged. Anything else (an answer that
      // breaks docs/openapi.yaml, a reset from a live node) is a failure.
      if (d.killed) counts.lost++;
      else { counts.errors++; errors.push(String(e.message).split('\n')[0]); }
    }
  }

  const seconds = SECONDS / BACKENDS.length;
  const t0 = Date.now();
  const until = t0 + seconds * 1000;
  // one node alone (SQLite): no kill after KILL_SHARE of the phase, so one node lives long
  const killUntil = nodes > 1 ? until : t0 + seconds * KILL_SHARE * 1000;
  let nextKill = Date.now() + (KILL_MIN + Math.random() * (KILL_MAX - KILL_MIN)) * 1000;
  let nextSample = Date.now();
  const inflight = new Set();
  while (Date.now() < until) {
    if (Date.now() >= nextSample) { live.forEach(sample); nextSample += 5000; }
    if (Date.now() >= nextKill && Date.now() < killUntil) {
      const victim = live.length > 1 ? live[live.length - 1] : live[0]; // PostgreSQL: always the second node
      victim.killed = true;
      victim.child.kill('SIGKILL');
      await victim.exit;
      counts.kills++;
      live.splice(live.indexOf(victim), 1);
      await Promise.allSettled([...inflight]);
      live.push(await start());
      nextKill = Date.now() + (KILL_MIN + Math.random() * (KILL_MAX - KILL_MIN)) * 1000;
    }
    const p = op().finally(() => inflight.delete(p));
    inflight.add(p);
    await delay(1000 / RATE);
  }
  await Promise.allSettled([...inflight]);
  await delay(2000); // the outbox settles

  // a fresh node checks what the others acknowledged
  for (const d of live) await d.stop();
  const checker = await start();
  let missing = 0; let wrongParts = 0; let lostInteractions = 0; let dupInteractions = 0; let interactionsSeen = 0;
  const lostExamples = [];
  const holders = new Map();
  let dupBindings = 0;
  for (const s of sessions) {
    const g = await checker.api('GET', `/v1/sessions/${s.id}`);
    if (g.status !== 200) { missing++; continue; }
    if (JSON.stringify(g.json.participants.map((p) => [p.id, p.proxy_number])) !== JSON.stringify(s.parts.map((p) => [p.id, p.proxy_number]))) wrongParts++;
    const ints = (await checker.api('GET', `/v1/sessions/${s.id}/interactions`)).json?.interactions ?? [];
    interactionsSeen += ints.length;
    const sids = ints.map((i) => i.carrier_sid);
    for (const want of answered.get(s.id)) {
      const n = sids.filter((x) => x === want).length;
      if (n === 0) { lostInteractions++; if (lostExamples.length < 3) lostExamples.push(`${s.id} ${want}`); }
      if (n > 1) dupInteractions++;
    }
    if (g.json.status === 'open' || g.json.status === 'in-progress') {
      s.parts.forEach((p, i) => {
        const k = `${s.reals[i]}|${p.proxy_number}`;
        if (holders.has(k)) dupBindings++;
        holders.set(k, s.id);
      });
    }
  }
  const expired = [];
  // idle since at least ttl + 10 s (sweeps run every second) before the check
  const idleBefore = Date.now() - 10_000;
  for (const s of sessions.filter((x) => x.ttl > 0 && !x.closing && x.last + x.ttl * 1000 < idleBefore).slice(-50)) {
    const g = await checker.api('GET', `/v1/sessions/${s.id}`);
    expired.push(g.json?.status);
  }
  const answeredTotal = [...answered.values()].reduce((n, x) => n + x.size, 0);
  check(`${name}: every acknowledged session is there with its participants`, missing === 0 && wrongParts === 0,
    `${sessions.length} sessions, ${missing} missing, ${wrongParts} with other participants`);
  check(`${name}: every answered call and text is one interaction of its session`, lostInteractions === 0 && dupInteractions === 0,
    `${answeredTotal} answered, ${interactionsSeen} interactions listed, ${lostInteractions} missing${lostExamples.length ? ` (${lostExamples.join(', ')})` : ''}, ${dupInteractions} recorded twice`);
  check(`${name}: no binding held by two open sessions`, dupBindings === 0, `${holders.size} open bindings, ${dupBindings} duplicated`);
  check(`${name}: sessions idle past their ${TTL} s ttl expired`, expired.length > 0 && expired.every((st) => st === 'closed'),
    `${expired.length} checked: ${[...new Set(expired)].join(', ')}`);
  check(`${name}: no 5xx outside a kill`, counts.other5xx === 0, other5xx.slice(0, 5).join(' | '));
  check(`${name}: no failed request on a live node`, counts.errors === 0, errors.slice(0, 5).join(' | '));
  check(`${name}: the kills happened`, counts.kills > 0, `${counts.kills} kills`);
  for (const [k, v] of Object.entries(counts)) console.log(`# ${name} ${k} ${v}`);
  console.log(`# ${name} carrier REST sends to the sink ${sink.count()}`);
  for (const [k, v] of Object.entries(refusedBy)) console.log(`# ${name} refused ${k}: ${v}`);

  // RSS and descriptors: flat over each node that lived FLAT_MIN seconds or more. The first
  // quarter of its life is warm-up (SQLite page cache, allocator arenas, the pool of
  // connections); the baseline is the median of the next tenth, against the median of the last.
  let flat = true;
  const figures = [];
  const median = (xs) => { const v = [...xs].sort((a, b) => a - b); return v[Math.floor(v.length / 2)]; };
  for (const d of all) {
    const sm = d.samples;
    if (sm.length < 2 || (sm[sm.length - 1].t - sm[0].t) / 1000 < FLAT_MIN) continue;
    const n = sm.length;
    const base = sm.slice(Math.floor(n * 0.25), Math.max(Math.floor(n * 0.35), Math.floor(n * 0.25) + 1));
    const tail = sm.slice(Math.floor(n * 0.9));
    const rss0 = median(base.map((x) => x.rss)); const rss1 = median(tail.map((x) => x.rss));
    const fd0 = median(base.map((x) => x.fds)); const fd1 = median(tail.map((x) => x.fds));
    const peak = Math.max(...sm.map((x) => x.rss));
    const lived = Math.round((sm[n - 1].t - sm[0].t) / 1000);
    figures.push(`node pid ${d.child.pid} ${lived} s: RSS ${(rss0 / 1024).toFixed(1)}→${(rss1 / 1024).toFixed(1)} MB ` +
      `(peak ${(peak / 1024).toFixed(1)}), fds ${fd0}→${fd1}`);
    if (rss1 - rss0 > Math.max(16 * 1024, rss0 * 0.25) || fd1 - fd0 > 8) flat = false;
  }
  check(`${name}: RSS and open descriptors flat`, flat && figures.length > 0, figures.join('; ') || `no node lived ${FLAT_MIN} s`);

  await checker.stop();
  // privacy: every log, the database (PostgreSQL: its dump), every API answer
  let dbText = '';
  if (dbUrl) {
    const dump = path.join(top, 'dump.sql');
    await execFileP('pg_dump', ['--no-owner', '-f', dump, '-d', dbUrl]);
    dbText = fs.readFileSync(dump, 'latin1');
  } else {
    for (const f of fs.readdirSync(top).filter((x) => x.startsWith('maskd.db'))) dbText += fs.readFileSync(path.join(top, f), 'latin1');
  }
  const logs = all.map((d) => fs.readFileSync(d.logPath, 'utf8')).join('\n');
  const apiText = all.flatMap((d) => d.transcript.filter((t) => t.kind === 'api').map((t) => t.text)).join('\n');
  const needles = new Set(people.flatMap((r) => spellingsAny(r)));
  const hits = [];
  for (const [where, text] of [['logs', logs], ['database', dbText], ['API answers', apiText]]) {
    for (const n of needles) if (text.includes(n)) { hits.push(`${where}: ${n}`); break; }
  }
  check(`${name}: privacy scan (${people.length} real numbers; logs, database, API answers)`, hits.length === 0, hits.join(', '));
  await sink.close();
  if (results.every((r) => r.ok)) {
    for (const d of all) await d.removeTmp();
    fs.rmSync(top, { recursive: true, force: true });
  } else {
    console.log(`# kept ${top} and the nodes' temp dirs (${all.map((d) => d.tmp).join(' ')})`);
  }
}

// ------------------------------------------------------------------ main

console.log(`# soak: ${SECONDS} s over ${BACKENDS.join(', ')}, ${RATE} operations/s, kill every ${KILL_MIN}-${KILL_MAX} s, ` +
  `maskd ${process.env.MASKD_BIN}`);
for (const b of BACKENDS) if (b !== 'sqlite' && b !== 'postgresql') check(`backend ${b} is known`, false, 'SOAK_BACKENDS: sqlite, postgresql');
if (BACKENDS.includes('sqlite')) {
  try {
    await phase('sqlite', { nodes: 1 });
  } catch (e) {
    check('sqlite phase ran', false, e.stack);
  }
}
const pgBin = process.env.PG_BINDIR || '/usr/lib/postgresql/15/bin';
if (!BACKENDS.includes('postgresql')) {
  // not asked for
} else if (fs.existsSync(path.join(pgBin, 'initdb'))) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'maskd-soak-pg-'));
  fs.chmodSync(dir, 0o755);
  const script = path.join(REPO, 'scripts', 'pg-test-server');
  try {
    const url = execFileSync(script, ['start', dir], { encoding: 'utf8' }).trim();
    const name = `maskd_soak_${process.pid}`;
    await psql(url, `CREATE DATABASE ${name}`);
    const u = new URL(url);
    u.pathname = `/${name}`;
    await phase('postgresql', { dbUrl: u.toString(), nodes: 2 });
  } catch (e) {
    check('postgresql phase ran', false, e.stack);
  } finally {
    try { execFileSync(script, ['stop', dir]); } catch { /* already down */ }
    fs.rmSync(dir, { recursive: true, force: true });
  }
} else {
  console.log(`# postgresql phase skipped: no ${pgBin}/initdb (apt-get install postgresql)`);
}
const failed = results.filter((r) => !r.ok).length;
console.log(`${results.length - failed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
