// SPDX-License-Identifier: MIT
// Starts the real maskd binary for one test file and talks to it like an API client and
// like the carriers do (webhooks signed with the carriers' official SDKs).
//
//   import { useDaemon } from './lib/daemon.mjs';
//   const d = useDaemon();            // before(): start, after(): stop + exit code check
//   test('x', async () => { const r = await d.api('GET', '/v1/services'); ... });
//
// Environment:
//   MASKD_BIN                  the daemon (default <repo>/build/maskd)
//   MASKD_TEST_TIMEOUT_SCALE   multiplies every bound (default 1; e.g. 3 for a slow
//                              sanitizer build). Nothing here sleeps a fixed time: every
//                              wait polls a condition and gives up after a bound.
//   MASKD_TEST_KEEP=1          keep the temp dirs even when everything passed
//   MASKD_TEST_PG_URL          a PostgreSQL superuser URL (scripts/pg-test-server url DIR):
//                              each daemon gets a fresh database maskd_test_<random> as its
//                              MASKD_DB, dropped with the temp dir. After the daemon stops,
//                              <tmp>/maskd.db holds a plain-text pg_dump of that database, so
//                              tests that scan the database file scan PostgreSQL's copy.

import { execFile, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import { createRequire } from 'node:module';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, afterEach, before } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import twilio from 'twilio';
import { RestClient as SignalWire } from '@signalwire/compatibility-api';

import { checkAnswer } from './contract.mjs';

const require = createRequire(import.meta.url);
// @signalwire/compatibility-api exports its signature helper only from lib/ (its package
// "exports" map hides the path), so load that file by its absolute path.
const signalwireWebhooks = require(path.join(
  path.dirname(require.resolve('@signalwire/compatibility-api')), '..', 'lib', 'webhooks', 'webhooks.js'));

export const PUBLIC_URL = 'https://maskd.example.com';
export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const SCALE = Math.max(1, Number(process.env.MASKD_TEST_TIMEOUT_SCALE) || 1);
export const DIALECTS = ['twilio', 'signalwire'];
/** PostgreSQL mode (see the header): a superuser URL, or '' for SQLite. */
export const PG_URL = process.env.MASKD_TEST_PG_URL || '';

const execFileP = promisify(execFile);

/** Runs sql with psql against url; returns its unaligned, tuples-only output. */
export async function psql(url, sql) {
  const { stdout } = await execFileP('psql', ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-d', url, '-c', sql],
    { maxBuffer: 64 * 1024 * 1024 });
  return stdout;
}

/** Creates an empty database on the PG_URL server: {name, url}. */
export async function createTestDatabase(prefix = 'maskd_test') {
  const name = `${prefix}_${crypto.randomBytes(6).toString('hex')}`;
  await psql(PG_URL, `CREATE DATABASE ${name}`);
  const u = new URL(PG_URL);
  u.pathname = `/${name}`;
  return { name, url: u.toString() };
}

export async function dropTestDatabase(name) {
  await psql(PG_URL, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
}

const START_TIMEOUT_MS = 10_000 * SCALE;
const STOP_TIMEOUT_MS = 20_000 * SCALE;
const REQUEST_TIMEOUT_MS = 15_000 * SCALE;

/** Polls fn() until it returns a truthy value; throws after timeoutMs with what it saw last. */
export async function waitFor(what, fn, { timeoutMs = 20_000, intervalMs = 100 } = {}) {
  const deadline = Date.now() + timeoutMs * SCALE;
  let last;
  for (;;) {
    last = await fn();
    if (last) return last;
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs * SCALE} ms waiting for ${what}`);
    }
    await delay(intervalMs);
  }
}

/** The carrier signature of a request, computed by the carrier's own SDK. */
export function sign(dialect, token, url, params = {}) {
  let sig;
  if (dialect === 'twilio') {
    sig = twilio.getExpectedTwilioSignature(token, url, params);
    if (!twilio.validateRequest(token, sig, url, params)) throw new Error('twilio SDK rejects its own signature');
  } else if (dialect === 'signalwire') {
    sig = signalwireWebhooks.getExpectedTwilioSignature(token, url, params);
    if (!SignalWire.validateRequest(token, sig, url, params)) throw new Error('signalwire SDK rejects its own signature');
  } else {
    throw new Error(`unknown dialect ${dialect}`);
  }
  return sig;
}

/** The header each carrier puts its signature in. */
export function signatureHeader(dialect) {
  return dialect === 'signalwire' ? 'X-SignalWire-Signature' : 'X-Twilio-Signature';
}

/** [[k, v], ...] from an object (array values become repeated keys) or from pairs. */
export function pairsOf(params) {
  if (Array.isArray(params)) return params.map(([k, v]) => [k, String(v)]);
  const out = [];
  for (const [k, v] of Object.entries(params ?? {})) {
    if (v === undefined) continue;
    if (Array.isArray(v)) for (const x of v) out.push([k, String(x)]);
    else out.push([k, String(v)]);
  }
  return out;
}

/** The params object the SDKs sign: repeated keys become arrays, in submission order. */
function paramsObject(pairs) {
  const o = {};
  for (const [k, v] of pairs) {
    if (Object.hasOwn(o, k)) o[k] = [].concat(o[k], v);
    else o[k] = v;
  }
  return o;
}

async function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function headersObject(h) {
  const o = {};
  for (const [k, v] of h.entries()) o[k.toLowerCase()] = v;
  return o;
}

/**
 * Parses an HTTP/1.1 answer from raw bytes: {status, headers, text}, or null while incomplete.
 * atEof: the connection is closed, so a body without a length ends here.
 */
function parseHttpResponse(buf, atEof) {
  const end = buf.indexOf('\r\n\r\n');
  if (end < 0) return null;
  const lines = buf.subarray(0, end).toString('latin1').split('\r\n');
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0]);
  if (!m) return null;
  const headers = {};
  for (const l of lines.slice(1)) {
    const i = l.indexOf(':');
    if (i > 0) headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
  }
  let rest = buf.subarray(end + 4);
  const status = Number(m[1]);
  if (status === 100) return parseHttpResponse(rest, atEof);
  if (/chunked/i.test(headers['transfer-encoding'] ?? '')) {
    const parts = [];
    for (;;) {
      const le = rest.indexOf('\r\n');
      if (le < 0) return null;
      const size = parseInt(rest.subarray(0, le).toString('latin1'), 16);
      if (Number.isNaN(size)) return null;
      if (size === 0) break;
      if (rest.length < le + 2 + size + 2) return null;
      parts.push(rest.subarray(le + 2, le + 2 + size));
      rest = rest.subarray(le + 2 + size + 2);
    }
    return { status, headers, text: Buffer.concat(parts).toString('utf8') };
  }
  if (headers['content-length'] !== undefined) {
    const len = Number(headers['content-length']);
    if (rest.length < len) return null;
    return { status, headers, text: rest.subarray(0, len).toString('utf8') };
  }
  if (status === 204 || status === 304 || atEof) return { status, headers, text: rest.toString('utf8') };
  return null;
}

function parseJson(text) {
  if (!text) return null;
  try { return JSON.parse(text); } catch { return undefined; }
}

export class Daemon {
  constructor({ bin, tmp, port, adminKey, child, env }) {
    this.bin = bin;
    this.tmp = tmp;
    this.port = port;
    this.adminKey = adminKey;
    this.child = child;
    this.env = env;
    this.base = `http://127.0.0.1:${port}`;
    this.dbPath = env.MASKD_DB;
    this.logPath = path.join(tmp, 'maskd.log');
    /** Carrier credentials the fixtures give to services (per daemon, random). */
    this.tokens = {
      twilio: `twtok_${crypto.randomBytes(16).toString('hex')}`,
      signalwire: `PSK_${crypto.randomBytes(16).toString('hex')}`,
    };
    /** Every answer this daemon gave: {kind: 'api'|'webhook'|'http', method, path, status, text}. */
    this.transcript = [];
    this.exit = new Promise((resolve) => {
      child.on('exit', (code, signal) => { this.exited = { code, signal }; resolve(this.exited); });
    });
    this.exited = null;
    this._stopping = null;
  }

  /** The last `bytes` of the daemon's log. */
  logTail(bytes = 8192) {
    try {
      const buf = fs.readFileSync(this.logPath);
      return buf.subarray(Math.max(0, buf.length - bytes)).toString('utf8');
    } catch (e) {
      return `(no log: ${e.message})`;
    }
  }

  _died(err) {
    if (!this.exited) return err;
    const e = new Error(`maskd is not running (exit ${this.exited.code ?? this.exited.signal}); ` +
      `${err.message}\n--- ${this.logPath} (tail) ---\n${this.logTail()}`);
    e.cause = err;
    return e;
  }

  /** A plain HTTP request with fetch. Returns {status, headers, text}. */
  async request(method, urlPath, { headers = {}, body, kind = 'http', timeoutMs = REQUEST_TIMEOUT_MS } = {}) {
    let res;
    try {
      res = await fetch(this.base + urlPath, {
        method, headers, body, redirect: 'manual', signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (err) {
      throw this._died(new Error(`${method} ${urlPath}: ${err.cause?.code ?? ''} ${err.message}`, { cause: err }));
    }
    const text = await res.text();
    const out = { status: res.status, headers: headersObject(res.headers), text };
    this._received(kind, method, urlPath, out);
    return out;
  }

  /**
   * A request with a (large) body written on a plain socket, the way curl sends one: with
   * "Expect: 100-continue", the body only after "100 Continue" (or after 1 s without an answer),
   * one chunk per turn of the event loop, and no more once the server has answered. An early
   * 413 is thus read before any write can fail with EPIPE (fetch and node:http give up on
   * EPIPE without reading the answer). Returns {status, headers, text}.
   */
  async rawRequest(method, urlPath, { headers = {}, body = '', kind = 'http', timeoutMs = REQUEST_TIMEOUT_MS } = {}) {
    const payload = Buffer.isBuffer(body) ? body : Buffer.from(body ?? '');
    let head = `${method} ${urlPath} HTTP/1.1\r\nHost: 127.0.0.1:${this.port}\r\nConnection: close\r\n` +
      `Content-Length: ${payload.length}\r\nExpect: 100-continue\r\n`;
    for (const [k, v] of Object.entries(headers)) head += `${k}: ${v}\r\n`;
    head += '\r\n';
    const out = await new Promise((resolve, reject) => {
      let received = Buffer.alloc(0);
      let done = false;
      let sending = false;
      let sockError = null;
      const sock = net.connect(this.port, '127.0.0.1');
      const finish = () => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        clearTimeout(continueTimer);
        sock.destroy();
        const parsed = parseHttpResponse(received, true);
        if (parsed) resolve(parsed);
        else reject(this._died(new Error(`${method} ${urlPath}: no complete HTTP answer ` +
          `(${sockError ? `${sockError.code ?? ''} ${sockError.message}` : 'connection closed'}; ` +
          `${received.length} bytes read)`)));
      };
      const timer = setTimeout(() => { sockError = new Error(`no answer within ${timeoutMs} ms`); finish(); }, timeoutMs);
      const CHUNK = 64 * 1024;
      let off = 0;
      const pump = () => {
        if (done || sock.destroyed || off >= payload.length) return;
        const chunk = payload.subarray(off, off + CHUNK);
        off += CHUNK;
        sock.write(chunk, (err) => { if (!err) setImmediate(pump); });
      };
      const startBody = () => { if (!sending) { sending = true; pump(); } };
      const continueTimer = setTimeout(startBody, 1000 * SCALE);
      sock.on('data', (c) => {
        received = Buffer.concat([received, c]);
        const interim = /^HTTP\/1\.[01] 100 [^\r]*\r\n(?:[^\r]*\r\n)*?\r\n/.exec(received.toString('latin1'));
        if (interim) {
          received = received.subarray(Buffer.byteLength(interim[0], 'latin1'));
          startBody();
        }
        if (parseHttpResponse(received, false)) finish();
      });
      sock.on('error', (e) => { sockError = e; });
      sock.on('close', finish);
      sock.on('connect', () => sock.write(head));
    });
    this._received(kind, method, urlPath, out);
    return out;
  }

  /**
   * The one place every answer goes through: kept in the transcript, then checked against
   * docs/openapi.yaml (lib/contract.mjs; /v1 paths only), throwing on a violation.
   */
  _received(kind, method, urlPath, out) {
    this.transcript.push({ kind, method, path: urlPath, status: out.status, text: out.text });
    checkAnswer(method, urlPath, out.status, out.headers, out.text);
  }

  /**
   * A native API call. body: object → JSON; string/Buffer → sent as is.
   * opts.auth: undefined → the admin key; null → no Authorization header; string → that header.
   * opts.contentType overrides the Content-Type. opts.raw → use rawRequest (large bodies).
   * Returns {status, headers, text, json} (json undefined when the answer is not JSON).
   */
  async api(method, urlPath, body, opts = {}) {
    const headers = { Accept: 'application/json' };
    if (opts.auth === undefined) headers.Authorization = `Bearer ${this.adminKey}`;
    else if (opts.auth !== null) headers.Authorization = opts.auth;
    let payload;
    if (body !== undefined) {
      payload = typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body);
      headers['Content-Type'] = opts.contentType ?? 'application/json';
    } else if (opts.contentType) {
      headers['Content-Type'] = opts.contentType;
    }
    const r = opts.raw
      ? await this.rawRequest(method, urlPath, { headers, body: payload, kind: 'api' })
      : await this.request(method, urlPath, { headers, body: payload, kind: 'api' });
    return { ...r, json: parseJson(r.text) };
  }

  /**
   * A carrier webhook: POST /hooks/{dialect}/{event} with form-encoded params (or GET with the
   * params in the query string), signed with the dialect's SDK over PUBLIC_URL + path + query.
   * opts: method ('POST'|'GET'), query (extra query params, e.g. {interaction}), token (signing
   * key; default this.tokens[dialect]), signUrl (sign this URL instead), signParams (sign these
   * params instead), signature (use this header value; null → send none), header (header name),
   * rawBody (send this body instead of the encoded params), contentType, raw (node:http).
   * Returns {status, headers, text, url, signature}.
   */
  async webhook(dialect, event, params = {}, opts = {}) {
    const method = opts.method ?? 'POST';
    const pairs = pairsOf(params);
    const queryPairs = pairsOf(opts.query ?? {});
    if (method === 'GET') queryPairs.push(...pairs);
    const qs = new URLSearchParams(queryPairs).toString();
    const urlPath = `/hooks/${dialect}/${event}${qs ? `?${qs}` : ''}`;
    const publicUrl = PUBLIC_URL + urlPath;
    const signedParams = opts.signParams !== undefined
      ? paramsObject(pairsOf(opts.signParams))
      : method === 'GET' ? {} : paramsObject(pairs);
    const signature = opts.signature !== undefined
      ? opts.signature
      : sign(dialect, opts.token ?? this.tokens[dialect], opts.signUrl ?? publicUrl, signedParams);
    const headers = {};
    if (signature !== null) headers[opts.header ?? signatureHeader(dialect)] = signature;
    let body;
    if (method !== 'GET') {
      body = opts.rawBody ?? new URLSearchParams(pairs).toString();
      headers['Content-Type'] = opts.contentType ?? 'application/x-www-form-urlencoded';
    }
    const r = opts.raw
      ? await this.rawRequest(method, urlPath, { headers, body, kind: 'webhook' })
      : await this.request(method, urlPath, { headers, body, kind: 'webhook' });
    return { ...r, url: publicUrl, signature };
  }

  /** SIGTERM, wait (bounded) for the exit, and throw unless it exited 0. Idempotent. */
  stop() {
    if (!this._stopping) {
      this._stopping = (async () => {
        if (!this.exited) this.child.kill('SIGTERM');
        let timer;
        const timeout = new Promise((resolve) => { timer = setTimeout(resolve, STOP_TIMEOUT_MS, 'timeout'); });
        const res = await Promise.race([this.exit, timeout]);
        clearTimeout(timer);
        if (res === 'timeout') {
          this.child.kill('SIGKILL');
          await this.exit;
          throw new Error(`maskd did not exit within ${STOP_TIMEOUT_MS} ms of SIGTERM (killed); ` +
            `log ${this.logPath}:\n${this.logTail()}`);
        }
        if (res.code !== 0) {
          throw new Error(`maskd exited with ${res.code === null ? `signal ${res.signal}` : `code ${res.code}`} ` +
            `(expected 0 after SIGTERM); log ${this.logPath}:\n${this.logTail(32768)}`);
        }
      })();
    }
    return this._stopping;
  }

  /** PostgreSQL mode: writes a plain pg_dump of this daemon's database to <tmp>/maskd.db. */
  async dumpDatabase() {
    if (!this.pg) return;
    await execFileP('pg_dump', ['--no-owner', '-f', path.join(this.tmp, 'maskd.db'), '-d', this.pg.url]);
  }

  async removeTmp() {
    if (this.pg) await dropTestDatabase(this.pg.name);
    await fsp.rm(this.tmp, { recursive: true, force: true });
  }
}

/** Starts maskd in a fresh temp dir on a free port and waits (bounded) for GET /healthz → 200. */
export async function startDaemon({ env: extraEnv = {}, args = [] } = {}) {
  const bin = path.resolve(process.env.MASKD_BIN || path.join(REPO, 'build', 'maskd'));
  try {
    fs.accessSync(bin, fs.constants.X_OK);
  } catch {
    throw new Error(`maskd binary not found or not executable at ${bin}: build it first ` +
      '(meson setup build && meson compile -C build) or set MASKD_BIN');
  }
  const tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'maskd-blackbox-'));
  const port = await freePort();
  const adminKey = crypto.randomBytes(24).toString('base64url');
  const pg = PG_URL && extraEnv.MASKD_DB === undefined ? await createTestDatabase() : null;
  const env = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('MASKD_')) env[k] = v;
  Object.assign(env, {
    MASKD_LISTEN: `127.0.0.1:${port}`,
    MASKD_DB: pg ? pg.url : path.join(tmp, 'maskd.db'),
    MASKD_KEY_FILE: path.join(tmp, 'vault.key'),
    MASKD_ADMIN_KEY: adminKey,
    MASKD_PUBLIC_URL: PUBLIC_URL,
    MASKD_SWEEP_INTERVAL: '1',
  }, extraEnv);
  const logFd = fs.openSync(path.join(tmp, 'maskd.log'), 'a');
  let child;
  try {
    child = spawn(bin, args, { cwd: tmp, env, stdio: ['ignore', logFd, logFd] });
  } finally {
    fs.closeSync(logFd);
  }
  const spawnError = new Promise((resolve) => child.once('error', resolve));
  const d = new Daemon({ bin, tmp, port, adminKey, child, env });
  d.pg = pg; // {name, url} of its own PostgreSQL database, or null
  // PostgreSQL mode: whoever awaits the exit (stop()) also waits for the dump.
  if (pg) d.exit = d.exit.then(async (r) => { await d.dumpDatabase().catch((e) => process.stderr.write(`# pg_dump failed: ${e.message}
`)); return r; });

  const deadline = Date.now() + START_TIMEOUT_MS;
  let last = 'no answer yet';
  for (;;) {
    const err = await Promise.race([spawnError, delay(0).then(() => null)]);
    if (err) throw new Error(`cannot start ${bin}: ${err.message} (temp dir ${tmp})`);
    if (d.exited) {
      throw new Error(`maskd exited during start-up (${d.exited.code ?? d.exited.signal}); ` +
        `temp dir ${tmp}; log:\n${d.logTail()}`);
    }
    try {
      const res = await fetch(`${d.base}/healthz`, { signal: AbortSignal.timeout(2000) });
      await res.text();
      if (res.status === 200) break;
      last = `HTTP ${res.status}`;
    } catch (e) {
      last = e.cause?.code ?? e.message;
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      await d.exit;
      throw new Error(`maskd did not answer GET /healthz with 200 within ${START_TIMEOUT_MS} ms ` +
        `(last: ${last}); temp dir ${tmp}; log:\n${d.logTail()}`);
    }
    await delay(50);
  }
  return d;
}

/**
 * Registers before/after hooks that start one daemon for the calling test file and stop it at
 * the end (failing the file when the exit code is not 0). Returns a handle whose properties
 * forward to the running Daemon; `await handle.ready` in a file's own before() hooks. The temp
 * dir is removed when every test passed and the daemon exited cleanly; otherwise it is kept and
 * its path printed.
 */
export function useDaemon(options = {}) {
  const state = { d: null, failed: false, ready: null };
  // node 20 runs a file's root-level before() hooks without waiting for one another: a file's
  // own before() must `await d.ready` before it uses the daemon.
  before(async () => {
    state.ready = state.ready ?? startDaemon(options);
    state.d = await state.ready;
  });
  afterEach((t) => { if (t.passed === false) state.failed = true; });
  after(async () => {
    const d = state.d;
    if (!d) return;
    let stopError = null;
    try { await d.stop(); } catch (e) { stopError = e; }
    const failed = state.failed || stopError || process.exitCode;
    if (failed || process.env.MASKD_TEST_KEEP) {
      process.stderr.write(`# maskd temp dir kept: ${d.tmp} (log ${d.logPath})\n`);
    } else {
      await d.removeTmp();
    }
    if (stopError) throw stopError;
  });
  return new Proxy(state, {
    get(target, prop) {
      if (prop === 'ready') {
        target.ready = target.ready ?? startDaemon(options);
        return target.ready.then((started) => { target.d = started; return started; });
      }
      if (!target.d) throw new Error(`daemon not started (reading .${String(prop)})`);
      const v = target.d[prop];
      return typeof v === 'function' ? v.bind(target.d) : v;
    },
  });
}
