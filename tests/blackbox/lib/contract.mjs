// SPDX-License-Identifier: MIT
// Checks answers of the native API against docs/openapi.yaml (ajv, JSON Schema 2020-12).
// daemon.mjs calls checkAnswer() on every answer it receives, so every black-box test is also a
// contract test: an undocumented route, status, content type or field throws.
//
// Rules, for a request to a path under /v1 (other paths are not checked):
//   - /v1/Services... and /v1/account...: Twilio Proxy compatible, Twilio's contract; skipped.
//   - a documented path and method: the status must be one of its responses, the content type one
//     of that response's, and a JSON body must validate against its schema (closed schemas: an
//     extra field fails); a response without content must have an empty body.
//   - a documented path, another method: 405 (or 401, 429 and the edge refusals, which come first).
//   - any other path: 404 (or 401, 429, the edge refusals). A 2xx there is an undocumented route.
//   In the last two cases the body must be the spec's Error.

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import Ajv2020 from 'ajv/dist/2020.js';
import { load as yamlLoad } from 'js-yaml';

const SPEC_PATH = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'docs', 'openapi.yaml');
const SPEC_ID = 'maskd-openapi';
const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'];
/** Answers that come before routing (authentication, rate limit, edge refusals), on any /v1 path. */
const BEFORE_ROUTING = new Set([400, 401, 413, 414, 429, 431]);

/** Paths that follow another contract (Twilio Proxy's), skipped by rule. */
export function excludedPath(p) {
  return /^\/v1\/Services(\/|$)/.test(p) || /^\/v1\/account(\/|$)/.test(p);
}

function pointerEscape(s) {
  return s.replace(/~/g, '~0').replace(/\//g, '~1');
}

function loadSpec() {
  const spec = yamlLoad(fs.readFileSync(SPEC_PATH, 'utf8'));
  const ajv = new Ajv2020({ allErrors: true, strict: false });
  ajv.addKeyword('example');
  // RFC 3339 in UTC, as maskd writes times, and a calendar date.
  ajv.addFormat('date-time', /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/);
  ajv.addFormat('date', /^\d{4}-\d{2}-\d{2}$/);
  // Only the schemas are registered (the rest of the document is not JSON Schema); the spec's
  // "#/components/schemas/X" refs resolve within this document.
  ajv.addSchema({ $id: SPEC_ID, components: { schemas: spec.components.schemas } });
  const validators = new Map();
  const validatorAt = (pointer, schema) => {
    if (!validators.has(pointer)) {
      // rewrite the document-local refs to the registered document
      const text = JSON.stringify(schema).replace(/"\$ref":"#\//g, `"$ref":"${SPEC_ID}#/`);
      validators.set(pointer, ajv.compile(JSON.parse(text)));
    }
    return validators.get(pointer);
  };
  const routes = [];
  for (const [template, item] of Object.entries(spec.paths)) {
    if (!template.startsWith('/v1/')) continue;
    const re = new RegExp(`^${template.split(/\{[^}]+\}/).map((s) => s.replace(/[.*+?^$()|[\]\\]/g, '\\$&')).join('[^/]+')}$`);
    const ops = {};
    for (const m of METHODS) if (item[m]) ops[m.toUpperCase()] = item[m];
    routes.push({ template, re, ops });
  }
  const resolveResponse = (r) => {
    if (r && r.$ref) {
      const name = r.$ref.replace('#/components/responses/', '');
      return { response: spec.components.responses[name], pointer: `/components/responses/${name}` };
    }
    return { response: r, pointer: null };
  };
  // Compiled now, while the file is imported (before any daemon starts): compiling on the first
  // answer would stall the event loop mid-conversation, long enough under load for the daemon to
  // close an idle keep-alive connection that fetch then reuses.
  validatorAt('/components/schemas/Error', { $ref: '#/components/schemas/Error' });
  for (const r of routes) {
    for (const [m, op] of Object.entries(r.ops)) {
      for (const [key, ref] of Object.entries(op.responses)) {
        const { response, pointer } = resolveResponse(ref);
        const media = response.content?.['application/json'];
        const base = pointer ?? `/paths/${pointerEscape(r.template)}/${m.toLowerCase()}/responses/${key}`;
        if (media) validatorAt(`${base}/content/application~1json/schema`, media.schema);
      }
    }
  }
  return { spec, routes, validatorAt, resolveResponse };
}

const loaded = loadSpec();
function contract() {
  return loaded;
}

function mediaType(ct) {
  return (ct ?? '').split(';')[0].trim().toLowerCase();
}

function describeErrors(errors) {
  return (errors ?? []).map((e) => `${e.instancePath || '(body)'} ${e.message}` +
    (e.params?.additionalProperty ? ` (${e.params.additionalProperty})` : '')).join('; ');
}

function errorShape(status, text) {
  const c = contract();
  const v = c.validatorAt('/components/schemas/Error', { $ref: '#/components/schemas/Error' });
  let body;
  try { body = JSON.parse(text); } catch { return `status ${status}: body is not JSON`; }
  return v(body) ? null : `status ${status}: not the Error shape: ${describeErrors(v.errors)}`;
}

/**
 * The contract violation of an answer, or null when it complies (or is not checked).
 * method, urlPath: the request; status, headers (lower-case names), text: the answer.
 */
export function contractViolation(method, urlPath, status, headers, text) {
  const p = urlPath.split('?')[0];
  if (!(p === '/v1' || p.startsWith('/v1/')) || excludedPath(p)) return null;
  const c = contract();
  const route = c.routes.find((r) => r.re.test(p));
  const op = route?.ops[method.toUpperCase()];
  if (!op) {
    const expected = route ? 405 : 404;
    if (status !== expected && !BEFORE_ROUTING.has(status)) {
      return route
        ? `${method} is not documented on ${route.template}, yet it answered ${status} (expected 405)`
        : `${p} is no documented route, yet it answered ${status} (expected 404)`;
    }
    return errorShape(status, text);
  }
  const key = String(status);
  if (!op.responses[key]) {
    return `status ${status} is not documented for ${method} ${route.template} ` +
      `(documented: ${Object.keys(op.responses).join(', ')})`;
  }
  const { response, pointer } = c.resolveResponse(op.responses[key]);
  const base = pointer ?? `/paths/${pointerEscape(route.template)}/${method.toLowerCase()}/responses/${key}`;
  if (!response.content) {
    return text === '' ? null : `status ${status} of ${method} ${route.template} documents no body, yet it has one`;
  }
  const mt = mediaType(headers['content-type']);
  const media = response.content[mt];
  if (!media) {
    return `content type "${mt}" is not documented for ${status} of ${method} ${route.template} ` +
      `(documented: ${Object.keys(response.content).join(', ')})`;
  }
  if (mt !== 'application/json') return null; // text bodies: the type is what the contract says
  let body;
  try { body = JSON.parse(text); } catch { return `${status} of ${method} ${route.template}: the body is not JSON`; }
  const v = c.validatorAt(`${base}/content/application~1json/schema`, media.schema);
  return v(body) ? null
    : `${status} of ${method} ${route.template} does not match docs/openapi.yaml: ${describeErrors(v.errors)}`;
}

/** Throws when an answer breaks the contract (see contractViolation). */
export function checkAnswer(method, urlPath, status, headers, text) {
  const why = contractViolation(method, urlPath, status, headers, text);
  if (why) {
    const e = new Error(`API contract: ${method} ${urlPath}: ${why}\n  body: ${String(text).slice(0, 600)}`);
    e.code = 'ERR_API_CONTRACT';
    throw e;
  }
}

/** The documented /v1 routes as "METHOD /template" lines (for the table comparison test). */
export function documentedRoutes() {
  const out = [];
  for (const r of contract().routes) for (const m of Object.keys(r.ops)) out.push(`${m} ${r.template}`);
  return out;
}
