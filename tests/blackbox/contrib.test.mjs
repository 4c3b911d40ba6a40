// SPDX-License-Identifier: MIT
// contrib/: the Prometheus rules pass promtool and use only metrics a running maskd exports, as
// does the Grafana dashboard; contrib/nginx/maskd.conf, run by the real nginx with a self-signed
// certificate in front of maskd (MASKD_PUBLIC_URL=https://...), passes a Twilio-signed webhook
// that maskd validates and bridges, and keeps a forged one refused.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import twilio from 'twilio';

import { REPO, startDaemon, waitFor } from './lib/daemon.mjs';
import { addPool, createService, createSession, voiceParams } from './lib/fixtures.mjs';
import { proxy, real } from './lib/numbers.mjs';

const run = promisify(execFile);
const RULES = path.join(REPO, 'contrib/prometheus/maskd-rules.yml');
const DASHBOARD = path.join(REPO, 'contrib/grafana/maskd.json');
const NGINX_CONF = path.join(REPO, 'contrib/nginx/maskd.conf');

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

/** The maskd_* names a PromQL text uses (a name ends at a character not in [a-z0-9_]). */
function metricNames(text) {
  return new Set(text.match(/\bmaskd_[a-z0-9_]+/g) ?? []);
}

let tmp, d, nginx, port, cert;

before(async () => {
  tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'maskd-contrib-'));
  port = await freePort();
  // A self-signed certificate for 127.0.0.1, made by openssl.
  await run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1',
    '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', path.join(tmp, 'key.pem'), '-out', path.join(tmp, 'cert.pem')]);
  cert = await fsp.readFile(path.join(tmp, 'cert.pem'));
  d = await startDaemon({ env: { MASKD_PUBLIC_URL: `https://127.0.0.1:${port}`, MASKD_HTTP_PER_IP_MAX: '0' } });
  // The shipped file, with only what a deployment edits changed: the upstream, the listen
  // port, the certificate paths and the name.
  const conf = (await fsp.readFile(NGINX_CONF, 'utf8'))
    .replace('server 127.0.0.1:8080;', `server 127.0.0.1:${d.port};`)
    .replace('listen 443 ssl;', `listen 127.0.0.1:${port} ssl;`)
    .replace('/etc/ssl/maskd/fullchain.pem', path.join(tmp, 'cert.pem'))
    .replace('/etc/ssl/maskd/privkey.pem', path.join(tmp, 'key.pem'))
    .replace('server_name maskd.example.com;', 'server_name 127.0.0.1;');
  for (const edited of [`127.0.0.1:${d.port}`, `127.0.0.1:${port} ssl`, 'key.pem']) assert.ok(conf.includes(edited), `edited ${edited}`);
  await fsp.writeFile(path.join(tmp, 'maskd.conf'), conf);
  const t = (n) => path.join(tmp, n);
  await fsp.writeFile(t('nginx.conf'), `worker_processes 1;\nerror_log ${t('error.log')} info;\npid ${t('nginx.pid')};\n` +
    `events { worker_connections 256; }\nhttp {\n  access_log ${t('access.log')};\n  client_body_temp_path ${t('body')};\n` +
    `  proxy_temp_path ${t('proxy')};\n  fastcgi_temp_path ${t('fcgi')};\n  uwsgi_temp_path ${t('uwsgi')};\n  scgi_temp_path ${t('scgi')};\n` +
    `  include ${t('maskd.conf')};\n}\n`);
  const nginxBin = fs.existsSync('/usr/sbin/nginx') ? '/usr/sbin/nginx' : 'nginx';
  await run(nginxBin, ['-t', '-p', tmp, '-c', t('nginx.conf')]);
  nginx = spawn(nginxBin, ['-p', tmp, '-c', t('nginx.conf'), '-g', 'daemon off;'], { stdio: 'ignore' });
  await waitFor('nginx listening', () => new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => { s.destroy(); resolve(true); });
    s.on('error', () => resolve(false));
  }));
});

after(async () => {
  if (nginx) { nginx.kill('SIGTERM'); await new Promise((r) => (nginx.exitCode !== null ? r() : nginx.once('exit', r))); }
  if (d) await d.stop();
  if (tmp) await fsp.rm(tmp, { recursive: true, force: true });
});

/** POST through nginx over TLS, verifying its certificate. */
function postTls(urlPath, headers, body) {
  return new Promise((resolve, reject) => {
    const req = https.request({ host: '127.0.0.1', port, path: urlPath, method: 'POST', ca: cert,
      headers: { ...headers, 'Content-Length': Buffer.byteLength(body) } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c) => { text += c; });
      res.on('end', () => resolve({ status: res.statusCode, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

test('promtool accepts the alert rules', async () => {
  const { stdout } = await run('promtool', ['check', 'rules', RULES]);
  assert.match(stdout, /SUCCESS: \d+ rules found/);
});

test('every metric the rules and the dashboard use is exported by a running maskd', async () => {
  const dashboard = JSON.parse(await fsp.readFile(DASHBOARD, 'utf8'));
  const exprs = dashboard.panels.flatMap((p) => p.targets.map((t) => t.expr)).join('\n');
  const used = new Set([...metricNames(await fsp.readFile(RULES, 'utf8')), ...metricNames(exprs)]);
  assert.ok(used.size >= 10, `the rules and dashboard name ${used.size} metrics`);
  // The store gauges appear once the sweeper has read them (MASKD_SWEEP_INTERVAL=1).
  let exported;
  await waitFor('the store gauges on /metrics', async () => {
    const r = await d.request('GET', '/metrics');
    exported = new Set(r.text.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => l.split(/[{ ]/)[0]));
    return exported.has('maskd_store_gauges_age_seconds');
  });
  const missing = [...used].filter((n) => !exported.has(n));
  assert.deepEqual(missing, [], 'metrics used by contrib/ but not exported');
});

test('a Twilio-signed webhook validates through nginx with TLS; a forged one does not', async () => {
  const svc = await createService(d, { name: 'Behind nginx' });
  await addPool(d, svc.id, [proxy(90), proxy(91)]);
  const s = await createSession(d, svc.id, { participants: [{ number: real(7001) }, { number: real(7002) }] });
  const [a, b] = s.participants;
  const params = voiceParams('twilio', { from: real(7001), to: a.proxy_number });
  const url = `https://127.0.0.1:${port}/hooks/twilio/voice`;
  const signature = twilio.getExpectedTwilioSignature(d.tokens.twilio, url, params);
  const body = new URLSearchParams(params).toString();
  const form = { 'Content-Type': 'application/x-www-form-urlencoded' };
  const ok = await postTls('/hooks/twilio/voice', { ...form, 'X-Twilio-Signature': signature }, body);
  assert.equal(ok.status, 200, ok.text);
  assert.match(ok.text, /<Dial[^>]*callerId="\+1/);
  assert.ok(ok.text.includes(real(7002)), 'bridged to the other participant');
  assert.ok(ok.text.includes(`callerId="${b.proxy_number}"`), "the callee sees its own proxy number");
  const forged = await postTls('/hooks/twilio/voice', { ...form, 'X-Twilio-Signature': signature.replace(/^./, (c) => (c === 'A' ? 'B' : 'A')) }, body);
  assert.equal(forged.status, 403, forged.text);
});
