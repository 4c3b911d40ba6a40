// SPDX-License-Identifier: MIT
// services.js - create a service, and edit the selected one in forms: its
// defaults, its unknown-caller policy and its rate limits (PATCH
// /v1/services/{id}); carrier credentials can only be replaced whole (the API
// never shows them, only whether each carrier is configured). Every change is
// confirmed first.

import { api, seg } from '../api.js';
import { clearError, confirmAction, el, field, fill, guarded, selectField } from '../ui.js';

// [field, label, kind, options]; kind: text, int, bool, or a list of choices
const DEFAULTS = [
  ['mode', 'Mode', [['voice-and-message', 'voice and message'], ['voice', 'voice'], ['message', 'message']]],
  ['ttl', 'Idle timeout (s, 0 = none)', 'int'],
  ['unknown_caller_message', 'Unknown-caller message', 'text'],
  ['ended_message', 'Ended message (cool-off)', 'text'],
  ['help_text', 'HELP reply', 'text'],
  ['record', 'Record bridged calls', 'bool'],
  ['consent_message', 'Recording consent message', 'text'],
  ['time_limit', 'Call time limit (s, 0 = carrier default)', 'int'],
  ['ring_timeout', 'Ring timeout (s, 0 = carrier default)', 'int'],
  ['geo_match', 'Geo-match', [['country', 'country'], ['area-code', 'area code'], ['region', 'region']]],
  ['geo_match_strict', 'Geo-match strict', 'bool'],
  ['number_selection', 'Number selection', [['prefer-sticky', 'prefer sticky'], ['avoid-sticky', 'avoid sticky']]],
  ['cooloff', 'Cool-off (s)', 'int'],
  ['cooloff_reuse', 'Reuse cooling-off numbers when nothing else fits', 'bool'],
  ['number_cap', 'Open sessions per number (0 = no cap)', 'int'],
  ['mms_fallback', 'Media to a number without MMS', [['text_with_note', 'text with a note'], ['refuse', 'refuse']]],
];
const POLICY = [
  ['fallback_number', 'Forward to (policy forward)', 'text'],
  ['pin_number', 'PIN line number (policy pin)', 'text'],
  ['pin_length', 'PIN length', 'int'],
  ['pin_attempts', 'PIN attempts', 'int'],
  ['callback_url', 'Callback URL (policy callback)', 'text'],
  ['callback_timeout_ms', 'Callback timeout (ms)', 'int'],
  ['callback_fail_open', 'Callback fails open', 'bool'],
];
const RATES = [['calls_per_hour', 'Calls per hour per binding (0 = no limit)', 'int'],
  ['texts_per_hour', 'Texts per hour per binding (0 = no limit)', 'int'], ['silent', 'Refuse silently', 'bool']];
const CARRIER_FIELDS = {
  twilio: ['auth_token'], signalwire: ['signing_key'], telnyx: ['public_key', 'api_key'],
  plivo: ['auth_token', 'auth_id'], vobiz: ['auth_token', 'auth_id'],
  vonage: ['signature_secret', 'api_key', 'api_secret', 'signature_method'],
};

function input(prefix, [name, label, kind], value) {
  const id = `${prefix}-${name}`;
  if (Array.isArray(kind)) return selectField(id, label, kind, value);
  if (kind === 'bool') return field(id, label, { type: 'checkbox', checked: !!value });
  if (kind === 'int') return field(id, label, { type: 'number', min: 0, step: 1, value: value ?? '' });
  return field(id, label, { type: 'text', value: value ?? '' });
}

/** The values of a form's fields: every field, or (sparse) only the non-empty ones. */
function read(form, prefix, spec, sparse) {
  const out = {};
  for (const [name, , kind] of spec) {
    const e = form.querySelector(`#${prefix}-${name}`);
    if (kind === 'bool') out[name] = e.checked;
    else if (kind === 'int') { if (e.value !== '') out[name] = Number(e.value); }
    else if (e.value !== '' || !sparse) out[name] = e.value;
  }
  return out;
}

function section(id, title, ...children) {
  return el('form', { class: 'panel', id, 'aria-labelledby': `${id}-h` }, el('h2', { id: `${id}-h` }, title), ...children);
}

async function patch(ctx, svc, what, body) {
  if (!(await confirmAction(`Save the ${what} of ${svc.name}? The next webhook uses them.`, 'Save'))) return;
  clearError();
  await api('PATCH', `/v1/services/${seg(svc.id)}`, body);
  await ctx.reloadServices(svc.id);
  await ctx.rerender();
  const n = document.getElementById('saved');
  if (n) { n.textContent = `Saved the ${what}.`; n.hidden = false; }
}

export async function render(ctx) {
  fill(ctx.main, el('h1', {}, 'Services'));
  const create = section('svc-create', 'Create a service',
    el('div', { class: 'row' }, field('c-name', 'Name', { type: 'text', required: true }),
      el('button', { type: 'submit' }, 'Create service')));
  create.addEventListener('submit', (e) => {
    e.preventDefault();
    guarded(async () => {
      const name = create.querySelector('#c-name').value.trim();
      if (!(await confirmAction(`Create the service ${name}?`, 'Create service'))) return;
      clearError();
      const s = await api('POST', '/v1/services', { name });
      await ctx.reloadServices(s.id);
      await ctx.rerender();
    });
  });
  const saved = el('p', { class: 'notice', id: 'saved', role: 'status', hidden: true });
  if (!ctx.service) {
    ctx.main.append(saved, create);
    return;
  }
  const svc = await api('GET', `/v1/services/${seg(ctx.service.id)}`);
  const d = section('svc-defaults', `Defaults of ${svc.name}`,
    el('div', { class: 'row' }, field('d-name', 'Name', { type: 'text', value: svc.name, required: true }),
      DEFAULTS.map((f) => input('d', f, svc.defaults[f[0]]))),
    el('div', { class: 'buttons' }, el('button', { type: 'submit' }, 'Save defaults')));
  d.addEventListener('submit', (e) => {
    e.preventDefault();
    guarded(() => patch(ctx, svc, 'defaults', { name: d.querySelector('#d-name').value.trim(), defaults: read(d, 'd', DEFAULTS, false) }));
  });
  const uc = svc.unknown_caller || { policy: 'reject' };
  const p = section('svc-policy', 'Unknown callers',
    el('div', { class: 'row' },
      selectField('p-policy', 'Policy', [['reject', 'reject'], ['forward', 'forward'], ['pin', 'PIN'], ['callback', 'callback']], uc.policy),
      POLICY.map((f) => input('p', f, uc[f[0]]))),
    el('div', { class: 'buttons' }, el('button', { type: 'submit' }, 'Save policy')));
  p.addEventListener('submit', (e) => {
    e.preventDefault();
    guarded(() => patch(ctx, svc, 'unknown-caller policy',
      { unknown_caller: { policy: p.querySelector('#p-policy').value, ...read(p, 'p', POLICY, true) } }));
  });
  const r = section('svc-rates', 'Rate limits',
    el('div', { class: 'row' }, RATES.map((f) => input('r', f, (svc.rate_limits || {})[f[0]]))),
    el('div', { class: 'buttons' }, el('button', { type: 'submit' }, 'Save rate limits')));
  r.addEventListener('submit', (e) => {
    e.preventDefault();
    guarded(() => patch(ctx, svc, 'rate limits', { rate_limits: read(r, 'r', RATES, false) }));
  });
  const carrierPick = selectField('k-carrier', 'Carrier', Object.keys(CARRIER_FIELDS).map((c) => [c, c]), 'twilio');
  const credFields = el('div', { class: 'row', id: 'k-fields' });
  const drawCred = () => fill(credFields, CARRIER_FIELDS[carrierPick.querySelector('select').value].map((f) =>
    field(`k-${f}`, f, { type: f === 'signature_method' ? 'text' : 'password', autocomplete: 'off' })));
  carrierPick.querySelector('select').addEventListener('change', drawCred);
  drawCred();
  const k = section('svc-carriers', 'Carrier credentials',
    el('p', { class: 'muted' }, 'Credentials are never shown, only whether a carrier is configured. Replacing them takes effect at the next webhook.'),
    el('ul', { id: 'carrier-status' }, Object.entries(svc.carriers).map(([c, v]) => el('li', {}, `${c}: ${v.configured ? 'configured' : 'not configured'}`))),
    el('div', { class: 'row' }, carrierPick, credFields),
    el('div', { class: 'buttons' }, el('button', { type: 'submit' }, 'Replace credentials')));
  k.addEventListener('submit', (e) => {
    e.preventDefault();
    guarded(async () => {
      const carrier = k.querySelector('#k-carrier').value;
      const creds = {};
      for (const f of CARRIER_FIELDS[carrier]) {
        const v = k.querySelector(`#k-${f}`).value;
        if (v !== '') creds[f] = v;
      }
      await patch(ctx, svc, `${carrier} credentials`, { carriers: { [carrier]: creds } });
    });
  });
  ctx.main.append(saved, d, p, r, k, create);
}
