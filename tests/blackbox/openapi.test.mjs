// SPDX-License-Identifier: MIT
// docs/openapi.yaml: valid for a real validator (@redocly/cli lint, no errors), the same routes
// as src/api/api.c's table, in agreement with docs/API.md (routes, the six dialects, the session
// status filter), and a contract checker (lib/contract.mjs) that does fail on what the spec does
// not document. Every other test file checks the daemon's answers against the spec through
// lib/daemon.mjs; this one also drives the refusals of the status filter.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { load as yamlLoad } from 'js-yaml';

import { contractViolation, documentedRoutes, excludedPath } from './lib/contract.mjs';
import { REPO, useDaemon } from './lib/daemon.mjs';
import { createService, expectError, expectStatus } from './lib/fixtures.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const SPEC = path.join(REPO, 'docs', 'openapi.yaml');
const spec = yamlLoad(fs.readFileSync(SPEC, 'utf8'));
const apiMd = fs.readFileSync(path.join(REPO, 'docs', 'API.md'), 'utf8');

/** "METHOD /v1/..." of every route in src/api/api.c's table. */
function tableRoutes() {
  const src = fs.readFileSync(path.join(REPO, 'src', 'api', 'api.c'), 'utf8');
  const table = /static const struct api_route routes\[\] = \{([\s\S]*?)\n\};/.exec(src);
  assert.ok(table, 'the route table of src/api/api.c');
  const out = [];
  for (const m of table[1].matchAll(/\{"([A-Z]+)", "([^"]+)", \w+\}/g)) out.push(`${m[1]} ${m[2]}`);
  assert.ok(out.length >= 20, `routes read from api.c: ${out.length}`);
  return out;
}

const generic = (r) => r.replace(/\{[^}]+\}/g, '{}');

test('@redocly/cli lint: no errors', async () => {
  const bin = path.join(HERE, 'node_modules', '.bin', 'redocly');
  const { code, out } = await new Promise((resolve) => {
    execFile(bin, ['lint', SPEC, '--format=stylish'], {
      env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' }, timeout: 120_000,
    }, (err, stdout, stderr) => resolve({ code: err ? err.code : 0, out: stdout + stderr }));
  });
  assert.equal(code, 0, out);
  assert.match(out, /Your API description is valid/, out);
  assert.doesNotMatch(out, /\berror\b/, out);
});

test('the spec and src/api/api.c route the same native /v1 routes (Twilio-compatible paths aside)', () => {
  const inTable = tableRoutes().filter((r) => !excludedPath(r.split(' ')[1])).sort();
  const inSpec = documentedRoutes().sort();
  assert.deepEqual(inSpec, inTable);
  assert.equal(spec.openapi, '3.1.0');
});

test('every documented route has an operationId, a summary and an example of each JSON answer', () => {
  for (const [p, item] of Object.entries(spec.paths)) {
    for (const [m, op] of Object.entries(item)) {
      if (m === 'parameters') continue;
      assert.ok(op.operationId && op.summary, `${m} ${p}`);
      for (const [status, r] of Object.entries(op.responses)) {
        if (r.$ref) continue;
        for (const [type, media] of Object.entries(r.content ?? {})) {
          assert.ok(media.example !== undefined || media.examples, `${m.toUpperCase()} ${p} ${status} ${type}: no example`);
        }
      }
    }
  }
});

describe('docs/API.md agrees with the spec', () => {
  test('every documented route is in API.md', () => {
    const mentioned = new Set([...apiMd.matchAll(/\b(GET|POST|PATCH|DELETE|PUT) +(\/v1\/[A-Za-z0-9_/{}.-]+)/g)]
      .map((m) => generic(`${m[1]} ${m[2]}`)));
    const missing = documentedRoutes().map(generic).filter((r) => !mentioned.has(r));
    assert.deepEqual(missing, []);
  });

  test('the dialect and carrier lists name all six dialects', () => {
    // the six carriers' webhook dialects; `sip` (a Kamailio proxy's query, docs/SIP.md) has its own
    // signature and no carrier credentials, so it is in neither table
    const all = spec.components.schemas.Dialect.enum;
    assert.equal(all.at(-1), 'sip');
    const six = all.slice(0, -1);
    assert.equal(six.length, 6);
    const words = /^\| dialect \|(.*)\|$/m.exec(apiMd)?.[1] ?? '';
    for (const dialect of six) assert.ok(words.includes(`\`${dialect}\``), `Words table, dialect row: ${dialect}`);
    const sigTable = /### Signatures[\s\S]*?\| dialect \| header \| key \|\n\|[-|]+\|\n((?:\|.*\|\n)+)/.exec(apiMd)?.[1] ?? '';
    for (const dialect of six) assert.ok(sigTable.includes(`| \`${dialect}\` |`), `signature table: ${dialect}`);
  });

  test('the session status filter names exactly the statuses the spec lists', () => {
    const line = /`status` is ((?:`[a-z-]+`(?:, | or )?)+)\./.exec(apiMd.split('### `GET /v1/services/{id}/sessions')[1] ?? '');
    assert.ok(line, 'the status filter sentence of API.md');
    const named = [...line[1].matchAll(/`([a-z-]+)`/g)].map((m) => m[1]);
    assert.deepEqual(named, spec.components.schemas.SessionStatus.enum);
  });
});

describe('the contract checker fails on what the spec does not document', () => {
  const json = { 'content-type': 'application/json' };
  const svc = 'svc_rbtc5igzi33j8frrdnuy5uc2';
  const number = spec.components.examples.Number.value;

  test('a documented answer passes', () => {
    assert.equal(contractViolation('GET', `/v1/services/${svc}/numbers?x=1`, 200, json, JSON.stringify({ numbers: [number] })), null);
    assert.equal(contractViolation('DELETE', '/v1/numbers/num_qkw7japnriyar5zpj78hkxki', 204, {}, ''), null);
  });

  test('an extra field, a missing field, a wrong type', () => {
    assert.match(contractViolation('GET', `/v1/services/${svc}/numbers`, 200, json,
      JSON.stringify({ numbers: [{ ...number, secret: 1 }] })), /additional properties \(secret\)/);
    const { in_use: _unused, ...partial } = number;
    assert.match(contractViolation('GET', `/v1/services/${svc}/numbers`, 200, json,
      JSON.stringify({ numbers: [partial] })), /in_use/);
    assert.match(contractViolation('GET', `/v1/services/${svc}/numbers`, 200, json,
      JSON.stringify({ numbers: [{ ...number, in_use: '0' }] })), /must be integer/);
  });

  test('an undocumented status, content type, body, route or error shape', () => {
    assert.match(contractViolation('GET', `/v1/services/${svc}`, 418, json, '{}'), /status 418 is not documented/);
    assert.match(contractViolation('GET', `/v1/services/${svc}`, 200, { 'content-type': 'text/plain' }, 'x'), /content type "text\/plain"/);
    assert.match(contractViolation('DELETE', '/v1/numbers/num_qkw7japnriyar5zpj78hkxki', 204, {}, 'x'), /documents no body/);
    assert.match(contractViolation('GET', '/v1/widgets', 200, json, '{"widgets":[]}'), /no documented route/);
    assert.match(contractViolation('PUT', '/v1/services', 200, json, '{}'), /PUT is not documented/);
    assert.match(contractViolation('GET', '/v1/nope', 404, json, '{"error":{"code":"nope","message":"x"}}'), /Error shape/);
    assert.match(contractViolation('GET', `/v1/services/${svc}`, 404, json, '{"error":{"code":"not_found"}}'), /message/);
  });

  test('Twilio-compatible paths and non-/v1 paths are not checked', () => {
    assert.equal(contractViolation('GET', '/v1/Services/KS1/Sessions', 200, json, '{"anything":1}'), null);
    assert.equal(contractViolation('GET', '/v1/account', 200, json, '{"anything":1}'), null);
    assert.equal(contractViolation('POST', '/hooks/twilio/voice', 200, { 'content-type': 'text/xml' }, '<Response/>'), null);
    assert.notEqual(contractViolation('GET', '/v1/services-extra', 200, json, '{}'), null);
  });
});

describe('against the daemon', () => {
  const d = useDaemon();

  test('the session status filter: the four statuses the spec lists, failed refused (nothing sets it)', async () => {
    await d.ready;
    const svc = await createService(d, { name: 'Spec filter' });
    for (const status of spec.components.schemas.SessionStatus.enum) {
      expectStatus(await d.api('GET', `/v1/services/${svc.id}/sessions?status=${status}`), 200, status);
    }
    expectError(await d.api('GET', `/v1/services/${svc.id}/sessions?status=failed`), 400, 'invalid_field',
      'status must be open, in-progress, closed or blocked');
  });

  test('health, readiness and metrics answer with the documented types', async () => {
    await d.ready;
    for (const [p, body] of [['/healthz', 'ok'], ['/readyz', 'ready']]) {
      const r = await d.request('GET', p);
      assert.equal(r.status, 200);
      assert.equal(r.text.trim(), body);
      assert.ok(spec.paths[p].get.responses['200'].content['text/plain']);
    }
    const m = await d.request('GET', '/metrics');
    assert.equal(m.status, 200);
    assert.match(m.headers['content-type'], /^text\/plain/);
  });
});
