// SPDX-License-Identifier: MIT
// numbers.js - the selected service's pool: add a number, and reserve,
// activate, retire or delete one (each confirmed), with in-use and cool-off
// counts as GET /v1/services/{id}/numbers reports them.

import { api, seg } from '../api.js';
import { clearError, confirmAction, el, field, fill, fmtTime, guarded, selectField, table } from '../ui.js';

const CARRIERS = [['', 'any (not set)'], ['twilio', 'Twilio'], ['signalwire', 'SignalWire'], ['telnyx', 'Telnyx'],
  ['plivo', 'Plivo'], ['vobiz', 'Vobiz'], ['vonage', 'Vonage']];

export async function render(ctx) {
  fill(ctx.main, el('h1', {}, 'Numbers'));
  if (!ctx.service) {
    ctx.main.append(el('p', { class: 'muted' }, 'No service yet: create one on the Services page.'));
    return;
  }
  const svc = ctx.service;
  const form = el('form', { class: 'panel', id: 'number-add', 'aria-labelledby': 'h-add' },
    el('h2', { id: 'h-add' }, 'Add a number'),
    el('div', { class: 'row' },
      field('n-number', 'Number (E.164)', { type: 'tel', required: true, placeholder: '+14155550100' }),
      selectField('n-carrier', 'Carrier', CARRIERS, ''),
      field('n-voice', 'voice', { type: 'checkbox', checked: true }),
      field('n-sms', 'sms', { type: 'checkbox', checked: true }),
      field('n-mms', 'mms', { type: 'checkbox', checked: true }),
      field('n-reserved', 'add as reserved', { type: 'checkbox' }),
      el('button', { type: 'submit' }, 'Add number')));
  const list = el('div', { id: 'number-list' });
  ctx.main.append(form, el('h2', {}, `Pool of ${svc.name}`), list);

  const load = async () => {
    const r = await api('GET', `/v1/services/${seg(svc.id)}/numbers`);
    const change = (n, state, verb) => guarded(async () => {
      if (!(await confirmAction(`${verb} ${n.number}?${state === 'active' ? '' : ' New sessions will not get it; sessions holding it keep it.'}`, verb))) return;
      clearError();
      await api('PATCH', `/v1/numbers/${seg(n.id)}`, { state });
      await load();
    });
    const remove = (n) => guarded(async () => {
      if (!(await confirmAction(`Delete ${n.number} from the pool? Late calls to it are then refused.`, 'Delete number'))) return;
      clearError();
      await api('DELETE', `/v1/numbers/${seg(n.id)}`);
      await load();
    });
    fill(list, table(`${r.numbers.length} numbers`, [
      { label: 'Number', get: (n) => n.number },
      { label: 'Carrier', get: (n) => n.carrier || 'any' },
      { label: 'Capabilities', get: (n) => n.capabilities.join(', ') },
      { label: 'Country / area', get: (n) => `${n.country || '—'} ${n.area_code || ''}` },
      { label: 'State', get: (n) => el('span', { class: 'badge' }, n.state) },
      { label: 'In use', get: (n) => String(n.in_use), num: true },
      { label: 'Cooling off', get: (n) => String(n.cooling_off ?? 0), num: true },
      { label: 'Added', get: (n) => fmtTime(n.created_at) },
      { label: 'Actions', get: (n) => el('div', { class: 'buttons' },
        n.state !== 'reserved' ? el('button', { type: 'button', class: 'secondary', 'aria-label': `Reserve ${n.number}`, onclick: () => change(n, 'reserved', 'Reserve') }, 'Reserve') : null,
        n.state !== 'active' ? el('button', { type: 'button', class: 'secondary', 'aria-label': `Activate ${n.number}`, onclick: () => change(n, 'active', 'Activate') }, 'Activate') : null,
        n.state !== 'retired' ? el('button', { type: 'button', class: 'secondary', 'aria-label': `Retire ${n.number}`, onclick: () => change(n, 'retired', 'Retire') }, 'Retire') : null,
        el('button', { type: 'button', class: 'danger', 'aria-label': `Delete ${n.number}`, onclick: () => remove(n) }, 'Delete')) },
    ], r.numbers, 'The pool is empty: add the numbers you bought from your carrier.'));
  };
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    guarded(async () => {
      const body = { number: form.querySelector('#n-number').value.trim(),
        capabilities: ['voice', 'sms', 'mms'].filter((c) => form.querySelector(`#n-${c}`).checked) };
      const carrier = form.querySelector('#n-carrier').value;
      if (carrier) body.carrier = carrier;
      if (form.querySelector('#n-reserved').checked) body.reserved = true;
      if (!(await confirmAction(`Add ${body.number} to the pool of ${svc.name}?`, 'Add number'))) return;
      clearError();
      await api('POST', `/v1/services/${seg(svc.id)}/numbers`, body);
      form.reset();
      await load();
    });
  });
  await load();
}
