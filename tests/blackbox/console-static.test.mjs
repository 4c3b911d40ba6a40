// SPDX-License-Identifier: MIT
// The admin console's static files, served by maskd itself under /console/
// (src/web/console.c) from MASKD_CONSOLE_DIR: each type right, the strict
// Content-Security-Policy and the other security headers on every answer, ETag
// revalidation (304), the /console redirect, 404 for a name that is not a file
// of web/, 400 for traversal and escapes sent raw on the socket (never a file
// outside web/), 405 for a write, no API key needed for the files, and a start
// refused (exit 1, naming the variable) when MASKD_CONSOLE_DIR has no index.html.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'node:test';

import { REPO, startDaemon, useDaemon } from './lib/daemon.mjs';

const WEB = path.join(REPO, 'web');
const d = useDaemon({ env: { MASKD_CONSOLE_DIR: WEB } });

const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

function assertSecurityHeaders(r, what) {
  assert.equal(r.headers['content-security-policy'], CSP, `${what}: CSP`);
  assert.equal(r.headers['x-content-type-options'], 'nosniff', `${what}: nosniff`);
  assert.equal(r.headers['x-frame-options'], 'DENY', `${what}: X-Frame-Options`);
  assert.equal(r.headers['referrer-policy'], 'no-referrer', `${what}: Referrer-Policy`);
}

test('index, scripts, styles and images are served with their types, the CSP and no-cache', async () => {
  await d.ready;
  const cases = [
    ['/console/', 'text/html; charset=utf-8', 'index.html'],
    ['/console/index.html', 'text/html; charset=utf-8', 'index.html'],
    ['/console/js/app.js', 'text/javascript; charset=utf-8', 'js/app.js'],
    ['/console/js/pages/sessions.js', 'text/javascript; charset=utf-8', 'js/pages/sessions.js'],
    ['/console/console.css', 'text/css; charset=utf-8', 'console.css'],
    ['/console/favicon.svg', 'image/svg+xml', 'favicon.svg'],
  ];
  for (const [p, type, file] of cases) {
    const r = await d.request('GET', p); // no Authorization: the files are public, the API is not
    assert.equal(r.status, 200, p);
    assert.equal(r.headers['content-type'], type, p);
    assert.equal(r.text, fs.readFileSync(path.join(WEB, file), 'utf8'), `${p} is ${file}`);
    assert.equal(r.headers['cache-control'], 'no-cache', p);
    assert.match(r.headers.etag, /^"[0-9a-f]{32}"$/, p);
    assertSecurityHeaders(r, p);
  }
});

test('the page has no inline script or style for the CSP to block', () => {
  const html = fs.readFileSync(path.join(WEB, 'index.html'), 'utf8');
  for (const m of html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)) {
    assert.match(m[1], /\bsrc="/, 'every script has a src');
    assert.equal(m[2].trim(), '', 'no inline script body');
  }
  assert.doesNotMatch(html, /<style\b|\sstyle="|\son[a-z]+="/i, 'no style element, style attribute or inline handler');
});

test('an unchanged file revalidates with 304 and its ETag', async () => {
  await d.ready;
  const first = await d.request('GET', '/console/js/api.js');
  assert.equal(first.status, 200);
  const again = await d.request('GET', '/console/js/api.js', { headers: { 'If-None-Match': first.headers.etag } });
  assert.equal(again.status, 304);
  assert.equal(again.text, '');
  assert.equal(again.headers.etag, first.headers.etag);
  const other = await d.request('GET', '/console/js/api.js', { headers: { 'If-None-Match': '"0000"' } });
  assert.equal(other.status, 200);
});

test('/console redirects to /console/', async () => {
  await d.ready;
  const r = await d.request('GET', '/console');
  assert.equal(r.status, 301);
  assert.equal(r.headers.location, '/console/');
});

test('traversal and escapes are refused with 400, sent raw so no client normalises them', async () => {
  await d.ready;
  for (const p of ['/console/../meson.build', '/console/js/../../src/main.c', '/console/%2e%2e/meson.build',
    '/console/..%2fmeson.build', '/console/js/..', '/console//etc/passwd', '/console/./index.html',
    '/console/js%2fapp.js', '/console/js\\app.js']) {
    const r = await d.rawRequest('GET', p);
    assert.equal(r.status, 400, p);
    assert.doesNotMatch(r.text, /project\(|SPDX|root:/, `${p}: no file content`);
    assertSecurityHeaders(r, p);
  }
});

test('a name that is not a console file is 404; a write is 405', async () => {
  await d.ready;
  for (const p of ['/console/nope.html', '/console/js', '/console/README.md', '/console/index.htm']) {
    const r = await d.request('GET', p);
    assert.equal(r.status, 404, p);
  }
  const post = await d.request('POST', '/console/index.html', { body: 'x', headers: { 'Content-Type': 'text/plain' } });
  assert.equal(post.status, 405);
  assert.equal(post.headers.allow, 'GET, HEAD');
  // the prefix is exact: /consoles is nobody's
  const r = await d.request('GET', '/consoles');
  assert.equal(r.status, 404);
  assert.equal(r.headers['content-security-policy'], undefined);
});

test('a MASKD_CONSOLE_DIR without index.html stops the start with a message naming it', async () => {
  const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'maskd-console-empty-'));
  try {
    await assert.rejects(startDaemon({ env: { MASKD_CONSOLE_DIR: empty } }),
      (e) => /exited during start-up \(1\)/.test(e.message) && e.message.includes('MASKD_CONSOLE_DIR') &&
        e.message.includes('index.html'));
  } finally {
    fs.rmSync(empty, { recursive: true, force: true });
  }
});
