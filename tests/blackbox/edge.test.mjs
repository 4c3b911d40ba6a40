// SPDX-License-Identifier: MIT
// The HTTP edge: what maskd refuses before a handler sees a request (http/http.c).
// Raw sockets, because fetch cannot send two Content-Length headers or 100 header lines.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';

import { SCALE, startDaemon, useDaemon } from './lib/daemon.mjs';

const d = useDaemon();

/** Sends bytes as they are and returns the status line's code (bounded wait). */
function raw(port, bytes) {
  return new Promise((resolve, reject) => {
    let got = '';
    const sock = net.connect(port, '127.0.0.1');
    const timer = setTimeout(() => { sock.destroy(); reject(new Error(`no answer; got ${JSON.stringify(got)}`)); }, 15000);
    sock.on('connect', () => sock.write(bytes));
    sock.on('data', (c) => {
      got += c.toString('latin1');
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(got);
      if (m && got.includes('\r\n\r\n')) { clearTimeout(timer); sock.destroy(); resolve(Number(m[1])); }
    });
    sock.on('error', () => {});
    sock.on('close', () => {
      clearTimeout(timer);
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(got);
      if (m) resolve(Number(m[1])); else reject(new Error(`closed without an answer: ${JSON.stringify(got)}`));
    });
  });
}

const head = (lines) => lines.join('\r\n') + '\r\n\r\n';

test('two Content-Length headers → 400', async () => {
  const req = head(['POST /hooks/twilio/voice HTTP/1.1', 'Host: x', 'Content-Type: application/x-www-form-urlencoded',
    'Content-Length: 5', 'Content-Length: 7', 'Connection: close']) + 'a=1&b';
  assert.equal(await raw(d.port, req), 400);
});

test('Content-Length with Transfer-Encoding → 400', async () => {
  const req = head(['POST /v1/services HTTP/1.1', 'Host: x', 'Content-Length: 5', 'Transfer-Encoding: chunked',
    'Connection: close']) + '0\r\n\r\n';
  assert.equal(await raw(d.port, req), 400);
});

test('more than 64 header lines → 431', async () => {
  const lines = ['GET /healthz HTTP/1.1', 'Host: x', 'Connection: close'];
  for (let i = 0; i < 80; i++) lines.push(`X-Filler-${i}: ${i}`);
  assert.equal(await raw(d.port, head(lines)), 431);
});

test('a header block bigger than the cap → 431, never a crash', async () => {
  const req = head(['GET /healthz HTTP/1.1', 'Host: x', `X-Big: ${'a'.repeat(40000)}`, 'Connection: close']);
  const status = await raw(d.port, req);
  assert.equal(status, 431);
  const ok = await d.request('GET', '/healthz');
  assert.equal(ok.status, 200);
});

test('a request-target over 4 KiB → 414', async () => {
  const req = head([`GET /v1/services?x=${'a'.repeat(5000)} HTTP/1.1`, 'Host: x', 'Connection: close']);
  const status = await raw(d.port, req);
  assert.equal(status, 414);
});

test('a chunked body over 256 KiB → 413 and the daemon keeps serving', async () => {
  const chunk = 'a'.repeat(64 * 1024);
  let body = '';
  for (let i = 0; i < 5; i++) body += `${(chunk.length).toString(16)}\r\n${chunk}\r\n`;
  body += '0\r\n\r\n';
  const req = head(['POST /hooks/twilio/voice HTTP/1.1', 'Host: x', 'Content-Type: application/x-www-form-urlencoded',
    'Transfer-Encoding: chunked', 'Connection: close']) + body;
  assert.equal(await raw(d.port, req), 413);
  assert.equal((await d.request('GET', '/healthz')).status, 200);
});

test('health, readiness and metrics answer without a key', async () => {
  assert.equal((await d.request('GET', '/healthz')).status, 200);
  assert.equal((await d.request('GET', '/readyz')).status, 200);
  const m = await d.request('GET', '/metrics');
  assert.equal(m.status, 200);
  assert.match(m.text, /maskd_webhooks_total\{dialect="twilio",outcome="bridge"\} \d+/);
  assert.match(m.text, /maskd_sessions_open \d+/);
});

// A newline in a carrier id would forge a log line before the signature is even checked.
for (const [event, field, prefix] of [['voice', 'CallSid', 'CA'], ['message', 'MessageSid', 'SM']]) {
  test(`a ${field} with a newline → 400, and the log has no forged line`, async () => {
    const forged = `${prefix}1\n2026-01-01T00:00:00Z info FAKE LOG LINE ${field}`; // short enough to be logged
    const params = { AccountSid: `AC${'1'.repeat(32)}`, From: '+14155550123', To: '+14155550199', [field]: forged };
    if (event === 'message') params.Body = 'hi';
    const r = await d.webhook('twilio', event, params);
    assert.equal(r.status, 400);
    const marker = await d.request('GET', `/hooks/twilio/nothing-${field}`); // a line after it, so the log is flushed
    assert.equal(marker.status, 404);
    const log = d.logTail(1 << 20);
    assert.doesNotMatch(log, new RegExp(`^\\S+ info FAKE LOG LINE ${field}`, 'm'));
  });
}

// ----------------------------------------------------------- half-closed keep-alive

/**
 * One keep-alive connection that sends `bytes` and its FIN with the last piece (the way a
 * client that is done writes its last request and shuts down its side). Resolves with the
 * answers' status codes once the server closes (sees 'end'); rejects after boundMs.
 */
function halfClosed(port, bytes, tailBytes, boundMs) {
  return new Promise((resolve, reject) => {
    let got = '';
    const sock = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`the server kept the half-closed connection open; got ${JSON.stringify(got.slice(0, 80))}`));
    }, boundMs);
    sock.on('connect', () => {
      sock.write(bytes.slice(0, bytes.length - tailBytes));
      setTimeout(() => sock.end(bytes.slice(bytes.length - tailBytes)), 30);
    });
    sock.on('data', (c) => { got += c.toString('latin1'); });
    sock.on('error', () => {});
    sock.on('end', () => {
      clearTimeout(timer);
      sock.destroy();
      resolve([...got.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((m) => Number(m[1])));
    });
  });
}

test('a client that half-closes is closed after the answers it is owed, not at the head or body deadline', async () => {
  // A head deadline far beyond the wait below: a close seen in time is not the deadline's.
  const k = await startDaemon({ env: { MASKD_HTTP_HEAD_TIMEOUT: '3600', MASKD_HTTP_BODY_TIMEOUT: '3600' } });
  try {
    const get = head(['GET /healthz HTTP/1.1', 'Host: x']);
    const body = '{"name":"Half-closed"}';
    const post = head(['POST /v1/services HTTP/1.1', 'Host: x', `Authorization: Bearer ${k.adminKey}`,
      'Content-Type: application/json', `Content-Length: ${body.length}`]) + body;
    const cases = [
      { name: 'one GET, FIN with its last bytes', bytes: get, tail: 3, want: [200] },
      { name: 'one GET, FIN with it', bytes: get, tail: get.length, want: [200] },
      { name: 'two pipelined GETs', bytes: get + get, tail: 3, want: [200, 200] },
      { name: 'a POST with a body', bytes: post, tail: 5, want: [201] },
      // cut short: libmicrohttpd reads this EOF itself (it reads on while a request is incomplete)
      { name: 'a head cut short', bytes: 'GET /healthz HTTP/1.1\r\nHost: x\r\n', tail: 2, want: [] },
      { name: 'a body shorter than its Content-Length', bytes: post.slice(0, -4), tail: 3, want: [] },
    ];
    for (let round = 0; round < 5; round++) {
      const got = await Promise.all(cases.map((c) => halfClosed(k.port, c.bytes, c.tail, 60_000 * SCALE)
        .then((statuses) => ({ c, statuses }))));
      for (const { c, statuses } of got) assert.deepEqual(statuses, c.want, c.name);
    }
    const m = await k.request('GET', '/metrics');
    assert.match(m.text, /^maskd_http_half_closed_total [1-9]\d*$/m);
    assert.match(m.text, /^maskd_http_deadline_closed_total 0$/m);
  } finally {
    await k.stop();
    await k.removeTmp();
  }
});
