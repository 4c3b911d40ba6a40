// SPDX-License-Identifier: MIT
// RFC 9112 message framing at the edge (http/http.c), over raw sockets (node `net`): each
// malformed or ambiguous request gets exactly one clean answer and a closed connection, and
// the request it might smuggle is never run; slow, idle and many connections are closed by
// their deadlines while normal requests keep being answered.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';

import { SCALE, startDaemon, useDaemon, waitFor } from './lib/daemon.mjs';

// Short deadlines, so the deadline tests see them pass; a second daemon (`big`) keeps the
// defaults' order of magnitude to hold many connections open.
const d = useDaemon({ env: { MASKD_HTTP_HEAD_TIMEOUT: '2', MASKD_HTTP_BODY_TIMEOUT: '2' } });

const BOUND_MS = 15_000 * SCALE;

/**
 * Writes `bytes` (a string or an array of strings written one by one) and reads until the
 * server closes the connection (bounded). Returns {responses, trailing, closed}: the
 * responses parsed in order by their Content-Length, and any bytes left after the last one.
 */
function exchange(port, bytes, { host = '127.0.0.1', boundMs = BOUND_MS } = {}) {
  return new Promise((resolve) => {
    let got = Buffer.alloc(0);
    const sock = net.connect({ port, host: '127.0.0.1', localAddress: host });
    const finish = (closed) => {
      clearTimeout(timer);
      sock.destroy();
      resolve({ ...parseResponses(got), closed });
    };
    const timer = setTimeout(() => finish(false), boundMs);
    sock.on('connect', () => { for (const b of [].concat(bytes)) sock.write(b, 'latin1'); });
    sock.on('data', (c) => { got = Buffer.concat([got, c]); });
    sock.on('error', () => {});
    sock.on('close', () => finish(true));
  });
}

function parseResponses(buf) {
  const responses = [];
  let rest = buf;
  for (;;) {
    const text = rest.toString('latin1');
    const end = text.indexOf('\r\n\r\n');
    const m = /^HTTP\/1\.1 (\d{3}) /.exec(text);
    if (!m || end < 0) break;
    const head = text.slice(0, end);
    const cl = /\r\ncontent-length: *(\d+)/i.exec(head);
    const len = cl ? Number(cl[1]) : 0;
    if (rest.length < end + 4 + len) break;
    responses.push({ status: Number(m[1]), head, body: rest.subarray(end + 4, end + 4 + len).toString('latin1') });
    rest = rest.subarray(end + 4 + len);
  }
  return { responses, trailing: rest.toString('latin1') };
}

const head = (lines) => lines.join('\r\n') + '\r\n\r\n';

/** A request that records something (creates a service named `name`) when it runs. */
function recording(name) {
  const body = JSON.stringify({ name, carriers: { twilio: { auth_token: 'x'.repeat(32) } } });
  return head(['POST /v1/services HTTP/1.1', 'Host: x', `Authorization: Bearer ${d.adminKey}`,
    'Content-Type: application/json', `Content-Length: ${body.length}`]) + body;
}

// This daemon's head deadline (2 s) is shorter than fetch's keep-alive (4 s), so its checks
// go on fresh connections.
async function serviceNames() {
  const r = await exchange(d.port, head(['GET /v1/services HTTP/1.1', 'Host: x', `Authorization: Bearer ${d.adminKey}`,
    'Connection: close']));
  assert.deepEqual(r.responses.map((x) => x.status), [200]);
  return r.responses[0].body;
}

/** Exactly one answer with `status`, nothing after it, the connection closed. */
function assertOneAnswer(r, status) {
  assert.equal(r.closed, true, 'the server closes the connection');
  assert.deepEqual(r.responses.map((x) => x.status), [status], `one answer: ${JSON.stringify(r)}`);
  assert.equal(r.trailing, '', 'no bytes after the answer');
}

before(async () => { await d.ready; });

test('"Content-Length : n" (a space before the colon) → one 400; the body is not run as a request', async () => {
  const smuggled = recording('smuggled-cl-space');
  const req = head(['POST /v1/services HTTP/1.1', 'Host: x', `Authorization: Bearer ${d.adminKey}`,
    `Content-Length : ${smuggled.length}`]) + smuggled;
  assertOneAnswer(await exchange(d.port, req), 400);
  assert.doesNotMatch(await serviceNames(), /smuggled-cl-space/);
});

test('"Transfer-Encoding : chunked" next to a Content-Length → one 400', async () => {
  const smuggled = recording('smuggled-te-space');
  const req = head(['POST /v1/services HTTP/1.1', 'Host: x', `Authorization: Bearer ${d.adminKey}`,
    'Content-Length: 5', 'Transfer-Encoding : chunked']) + '0\r\n\r\n' + smuggled;
  assertOneAnswer(await exchange(d.port, req), 400);
  assert.doesNotMatch(await serviceNames(), /smuggled-te-space/);
});

test('HTTP/1.1 without Host → one 400', async () => {
  assertOneAnswer(await exchange(d.port, head(['GET /healthz HTTP/1.1', 'Connection: close'])), 400);
});

test('two Host headers → one 400', async () => {
  assertOneAnswer(await exchange(d.port, head(['GET /healthz HTTP/1.1', 'Host: a', 'Host: b'])), 400);
});

test('HTTP/1.0 without Host is answered (Host is an HTTP/1.1 requirement)', async () => {
  const r = await exchange(d.port, 'GET /healthz HTTP/1.0\r\n\r\n');
  assert.deepEqual(r.responses.map((x) => x.status), [200]);
});

test('a NUL in a header value → one 400, not a key cut short at the NUL', async () => {
  const req = head(['GET /v1/services HTTP/1.1', 'Host: x', `Authorization: Bearer ${d.adminKey}\0junk`]);
  assertOneAnswer(await exchange(d.port, req), 400);
});

test('a control character in a header value → one 400', async () => {
  assertOneAnswer(await exchange(d.port, head(['GET /healthz HTTP/1.1', 'Host: x', 'X-A: a\rb'])), 400);
});

test('a header line with an empty name → one 400, not the end of the head', async () => {
  const req = head(['GET /healthz HTTP/1.1', 'Host: x', ': v', 'Connection: close']);
  assertOneAnswer(await exchange(d.port, req), 400);
});

test('"Transfer-Encoding: gzip, chunked" → one 501 at once', async () => {
  const req = head(['POST /v1/services HTTP/1.1', 'Host: x', 'Transfer-Encoding: gzip, chunked']) + '0\r\n\r\n';
  assertOneAnswer(await exchange(d.port, req), 501);
});

test('"Transfer-Encoding: gzip" (chunked not last) → one 400', async () => {
  const req = head(['POST /v1/services HTTP/1.1', 'Host: x', 'Transfer-Encoding: gzip']) + '0\r\n\r\n';
  assertOneAnswer(await exchange(d.port, req), 400);
});

test('chunked twice → one 400', async () => {
  const req = head(['POST /v1/services HTTP/1.1', 'Host: x', 'Transfer-Encoding: chunked',
    'Transfer-Encoding: chunked']) + '0\r\n\r\n';
  assertOneAnswer(await exchange(d.port, req), 400);
});

test('Transfer-Encoding in HTTP/1.0 → one 400', async () => {
  const req = head(['POST /v1/services HTTP/1.0', 'Host: x', 'Transfer-Encoding: chunked']) + '0\r\n\r\n';
  assertOneAnswer(await exchange(d.port, req), 400);
});

test('two different Content-Lengths → one 400, nothing recorded', async () => {
  const smuggled = recording('smuggled-two-cl');
  const req = head(['POST /v1/services HTTP/1.1', 'Host: x', `Authorization: Bearer ${d.adminKey}`,
    'Content-Length: 0', `Content-Length: ${smuggled.length}`]) + smuggled;
  assertOneAnswer(await exchange(d.port, req), 400);
  assert.doesNotMatch(await serviceNames(), /smuggled-two-cl/);
});

test('Content-Length with Transfer-Encoding → one 400', async () => {
  const req = head(['POST /v1/services HTTP/1.1', 'Host: x', 'Transfer-Encoding: chunked', 'Content-Length: 3'])
    + '0\r\n\r\n';
  assertOneAnswer(await exchange(d.port, req), 400);
});

for (const value of ['-1', '12, 13', '+5']) {
  // libmicrohttpd 0.9.75 refuses these itself, before maskd sees the request, and writes its
  // header block twice (docs/OPERATIONS.md, "HTTP edge"): the first status line is the answer.
  test(`Content-Length: ${value} → 400 first, the connection closed, nothing recorded`, async () => {
    const req = head(['POST /v1/services HTTP/1.1', 'Host: x', `Authorization: Bearer ${d.adminKey}`,
      `Content-Length: ${value}`]) + recording(`smuggled-bad-cl-${value}`);
    const r = await exchange(d.port, req);
    assert.equal(r.closed, true);
    assert.equal(r.responses[0]?.status, 400);
    assert.doesNotMatch(await serviceNames(), new RegExp(`smuggled-bad-cl-${value.replace('+', '\\+')}`));
  });
}

for (const size of ['zz', '-1', '1x']) {
  test(`chunk size "${size}" → one 400`, async () => {
    const req = head(['POST /v1/services HTTP/1.1', 'Host: x', 'Transfer-Encoding: chunked'])
      + `${size}\r\nabc\r\n0\r\n\r\n`;
    assertOneAnswer(await exchange(d.port, req), 400);
  });
}

test('a request line over the head cap → one 414', async () => {
  assertOneAnswer(await exchange(d.port, head([`GET /healthz?${'a'.repeat(40000)} HTTP/1.1`, 'Host: x'])), 414);
});

test('a header line over the head cap → one 431', async () => {
  assertOneAnswer(await exchange(d.port, head(['GET /healthz HTTP/1.1', 'Host: x', `X-Big: ${'a'.repeat(40000)}`])), 431);
});

test('more header lines than the cap → one 431', async () => {
  const lines = ['GET /healthz HTTP/1.1', 'Host: x'];
  for (let i = 0; i < 80; i++) lines.push(`X-Filler-${i}: ${i}`);
  assertOneAnswer(await exchange(d.port, head(lines)), 431);
});

test('bare LF line ends are read as line ends (RFC 9112 2.2 allows it): one 200', async () => {
  const r = await exchange(d.port, 'GET /healthz HTTP/1.1\nHost: x\nConnection: close\n\n');
  assertOneAnswer(r, 200);
});

test('obs-fold is replaced by a space (RFC 9112 5.2): one 200', async () => {
  assertOneAnswer(await exchange(d.port, head(['GET /healthz HTTP/1.1', 'Host: x', 'X-A: a', ' b',
    'Connection: close'])), 200);
});

test('two pipelined requests in one write are both answered, in order', async () => {
  const req = head(['GET /healthz HTTP/1.1', 'Host: x']) + head(['GET /readyz HTTP/1.1', 'Host: x', 'Connection: close']);
  const r = await exchange(d.port, req);
  assert.deepEqual(r.responses.map((x) => [x.status, x.body]), [[200, 'ok\n'], [200, 'ready\n']]);
  assert.equal(r.trailing, '');
});

test('a body shorter than its Content-Length: closed at the body deadline, never run', async () => {
  const full = JSON.stringify({ name: 'smuggled-short', carriers: {} });
  const req = head(['POST /v1/services HTTP/1.1', 'Host: x', `Authorization: Bearer ${d.adminKey}`,
    'Content-Type: application/json', `Content-Length: ${full.length + 20}`]) + full;
  const r = await exchange(d.port, req);
  assert.equal(r.closed, true, 'closed before the bound');
  assert.deepEqual(r.responses, []);
  assert.doesNotMatch(await serviceNames(), /smuggled-short/);
});

test('an idle connection is closed at the head deadline', async () => {
  const r = await exchange(d.port, []);
  assert.equal(r.closed, true);
  assert.deepEqual(r.responses, []);
});

test('slowloris (a byte of the head every 300 ms) is closed at the head deadline', async () => {
  const bytes = 'GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ' + 'a'.repeat(2000);
  const r = await new Promise((resolve) => {
    const sock = net.connect(d.port, '127.0.0.1');
    let i = 0;
    const tick = setInterval(() => { if (i < bytes.length) sock.write(bytes[i++]); }, 300);
    const timer = setTimeout(() => { clearInterval(tick); sock.destroy(); resolve({ closed: false, sent: i }); }, BOUND_MS);
    sock.on('error', () => {});
    sock.on('close', () => { clearInterval(tick); clearTimeout(timer); resolve({ closed: true, sent: i }); });
  });
  assert.equal(r.closed, true, `closed by the server (after ${r.sent} bytes)`);
  const m = await exchange(d.port, head(['GET /metrics HTTP/1.1', 'Host: x', 'Connection: close']));
  assert.match(m.responses[0].body, /maskd_http_deadline_closed_total [1-9]\d*/);
});

// --------------------------------------------------------------- many connections

let big = null;
before(async () => {
  big = await startDaemon({ env: { MASKD_HTTP_HEAD_TIMEOUT: '120', MASKD_HTTP_PER_IP_MAX: '250' } });
});
after(async () => { if (big && !big.exited) { await big.stop(); await big.removeTmp(); } });

/** Opens n connections from localAddress; resolves with the sockets once all are connected. */
function openIdle(port, n, localAddress) {
  return Promise.all(Array.from({ length: n }, () => new Promise((resolve, reject) => {
    const s = net.connect({ port, host: '127.0.0.1', localAddress });
    s.on('error', () => {});
    s.once('connect', () => resolve(s));
    setTimeout(() => reject(new Error('connect timed out')), BOUND_MS);
  })));
}

async function gauge(daemon, name) {
  const m = await daemon.request('GET', '/metrics');
  const v = new RegExp(`^${name} (\\d+)$`, 'm').exec(m.text);
  return v ? Number(v[1]) : NaN;
}

test('2,000 idle connections held: normal requests are still answered; SIGTERM stops at once', async () => {
  const socks = [];
  for (let a = 2; a < 12; a++) socks.push(...await openIdle(big.port, 200, `127.0.0.${a}`));
  await waitFor('2,000 connections open', async () => (await gauge(big, 'maskd_http_connections_open')) >= 2000);
  for (let i = 0; i < 20; i++) {
    const r = await big.request('GET', '/healthz');
    assert.equal(r.status, 200);
  }
  const created = await big.api('POST', '/v1/services', { name: 'Under load', carriers: {} });
  assert.equal(created.status, 201);
  // A clean stop closes the held connections instead of waiting for their deadlines:
  // d.stop() fails unless the daemon exits 0 well inside its bound.
  const t0 = Date.now();
  await big.stop();
  const stopMs = Date.now() - t0;
  for (const s of socks) s.destroy();
  assert.ok(stopMs < 10_000 * SCALE, `stopped in ${stopMs} ms`);
});

test('the per-address limit closes the extra connections of one address; others are served', async () => {
  const extra = await startDaemon({ env: { MASKD_HTTP_PER_IP_MAX: '20', MASKD_HTTP_HEAD_TIMEOUT: '120' } });
  try {
    const socks = await openIdle(extra.port, 30, '127.0.0.40');
    let closed = 0;
    for (const s of socks) s.on('close', () => { closed++; });
    await waitFor('10 connections over the limit closed', async () => closed >= 10);
    assert.equal((await extra.request('GET', '/healthz')).status, 200);
    assert.equal(await gauge(extra, 'maskd_http_connections_open') >= 20, true);
    for (const s of socks) s.destroy();
  } finally {
    await extra.stop();
    await extra.removeTmp();
  }
});
