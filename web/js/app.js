// SPDX-License-Identifier: MIT
// app.js - the console's shell: login (the API key, checked against /v1 and kept
// in sessionStorage), the service picker, the hash router (#/overview,
// #/sessions, #/sessions/ses_…, #/numbers, #/services, #/records) and the
// safety net that turns any failure into a visible message, never a blank page.

import { api, apiKey, setApiKey } from './api.js';
import { clearError, el, field, fill, guarded, showError } from './ui.js';
import * as overview from './pages/overview.js';
import * as sessions from './pages/sessions.js';
import * as numbers from './pages/numbers.js';
import * as services from './pages/services.js';
import * as records from './pages/records.js';

const SERVICE = 'maskd.service';
const main = () => document.getElementById('main');
let cleanups = [];
let state = { services: [] };

window.addEventListener('error', (e) => showError(e.error || e.message));
window.addEventListener('unhandledrejection', (e) => showError(e.reason));

function routes(hash) {
  const parts = hash.replace(/^#\/?/, '').split('/').filter(Boolean);
  if (parts[0] === 'sessions' && parts[1]) return { page: sessions, detail: parts[1], name: 'sessions' };
  const table = { overview, sessions, numbers, services, records };
  const name = table[parts[0]] ? parts[0] : 'overview';
  return { page: table[name], name };
}

function currentService() {
  const id = sessionStorage.getItem(SERVICE);
  return state.services.find((s) => s.id === id) || state.services[0] || null;
}

/** Reloads the service list into the picker (after a create or a rename). */
export async function reloadServices(selectId) {
  const r = await api('GET', '/v1/services');
  state.services = r.services;
  if (selectId) sessionStorage.setItem(SERVICE, selectId);
  const pick = document.getElementById('service-pick');
  const cur = currentService();
  fill(pick, state.services.length ? state.services.map((s) => el('option', { value: s.id, selected: cur && s.id === cur.id }, s.name))
    : el('option', { value: '' }, '(no service yet)'));
}

async function render() {
  for (const f of cleanups) f();
  cleanups = [];
  clearError();
  if (!apiKey()) return renderLogin();
  document.getElementById('nav').hidden = false;
  document.getElementById('account').hidden = false;
  const r = routes(location.hash);
  for (const a of document.querySelectorAll('#nav a')) {
    if (a.getAttribute('href') === `#/${r.name}`) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  const m = fill(main());
  const ctx = {
    main: m,
    service: currentService(),
    services: state.services,
    detail: r.detail,
    onCleanup: (f) => cleanups.push(f),
    rerender: () => render(),
    reloadServices,
  };
  await guarded(() => r.page.render(ctx));
}

function renderLogin(message) {
  document.getElementById('nav').hidden = true;
  document.getElementById('account').hidden = true;
  const form = el('form', { class: 'login panel', id: 'login-form' },
    el('h1', {}, 'Log in'),
    el('p', { class: 'muted' }, 'The API key of this maskd (MASKD_ADMIN_KEY, or the one it printed at its first start). ' +
      'It is kept for this browser tab only.'),
    field('api-key', 'API key', { type: 'password', autocomplete: 'current-password', required: true }),
    el('button', { type: 'submit' }, 'Log in'));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const key = form.querySelector('#api-key').value.trim();
    clearError();
    try {
      const r = await api('GET', '/v1/services', undefined, { key });
      setApiKey(key);
      state.services = r.services;
      await reloadServices();
      if (!location.hash || location.hash === '#/login') location.hash = '#/overview';
      else await render();
    } catch (err) {
      showError(err);
    }
  });
  fill(main(), form);
  if (message) showError(message);
}

async function start() {
  document.getElementById('logout').addEventListener('click', () => {
    setApiKey('');
    sessionStorage.removeItem(SERVICE);
    state = { services: [] };
    location.hash = '#/login';
    render();
  });
  document.getElementById('service-pick').addEventListener('change', (e) => {
    sessionStorage.setItem(SERVICE, e.target.value);
    render();
  });
  window.addEventListener('hashchange', () => render());
  if (apiKey()) {
    try {
      await reloadServices();
    } catch (err) {
      if (err.status === 401) setApiKey('');
      renderLogin(err);
      return;
    }
  }
  await render();
}

start().catch((e) => {
  fill(main(), el('h1', {}, 'The console could not start'), el('p', {}, 'Reload the page to try again.'));
  showError(e);
});
