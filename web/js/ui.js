// SPDX-License-Identifier: MIT
// ui.js - small DOM helpers shared by the pages: elements built with
// textContent only (nothing from the API is ever parsed as HTML), the error
// banner, the confirmation dialog, tables and formatting.

/** el('div', {class: 'x', onclick: fn}, child, 'text', ...) */
export function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') e.addEventListener(k.slice(2), v);
    else if (k === 'class') e.className = v;
    else if (v === true) e.setAttribute(k, '');
    else e.setAttribute(k, String(v));
  }
  append(e, children);
  return e;
}

function append(e, children) {
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** Replaces the children of node. */
export function fill(node, ...children) {
  node.replaceChildren();
  append(node, children);
  return node;
}

const alertBox = () => document.getElementById('alert');

/** Shows an error (an ApiError's code and message, or any Error) in the banner. */
export function showError(err) {
  const box = alertBox();
  const text = err && err.code ? `${err.message} (${err.code}${err.status ? `, HTTP ${err.status}` : ''})`
    : String(err && err.message ? err.message : err);
  fill(box, el('strong', {}, 'Error: '), text);
  box.hidden = false;
}

export function clearError() {
  const box = alertBox();
  box.hidden = true;
  box.replaceChildren();
}

/** Runs fn; an exception is shown in the banner instead of escaping. Returns fn's result or undefined. */
export async function guarded(fn) {
  try {
    return await fn();
  } catch (e) {
    showError(e);
    return undefined;
  }
}

/** Asks for confirmation in the modal dialog; resolves true when confirmed. */
export function confirmAction(text, okLabel = 'Confirm') {
  const d = document.getElementById('confirm');
  document.getElementById('confirm-text').textContent = text;
  document.getElementById('confirm-ok').textContent = okLabel;
  d.returnValue = '';
  return new Promise((resolve) => {
    d.addEventListener('close', () => resolve(d.returnValue === 'ok'), { once: true });
    d.showModal();
  });
}

/** A table with a caption: columns [{label, get(row) -> node|text, num?}]. */
export function table(caption, columns, rows, empty = 'Nothing to show.') {
  if (!rows.length) return el('p', { class: 'muted' }, empty);
  // a region that scrolls sideways on a phone: focusable, so a keyboard can scroll it too
  return el('div', { class: 'scroll', tabindex: '0', role: 'region', 'aria-label': caption }, el('table', {},
    el('caption', { class: 'muted' }, caption),
    el('thead', {}, el('tr', {}, columns.map((c) => el('th', { scope: 'col' }, c.label)))),
    el('tbody', {}, rows.map((r) => el('tr', {}, columns.map((c) => el('td', { class: c.num ? 'num' : undefined }, c.get(r))))))));
}

/** A labelled input: field('ttl', 'Idle timeout (s)', {type:'number', value: 0}). */
export function field(id, label, attrs = {}) {
  const input = el('input', { id, name: id, ...attrs });
  return el('div', { class: attrs.type === 'checkbox' ? 'field check' : 'field' },
    attrs.type === 'checkbox' ? [input, el('label', { for: id }, label)] : [el('label', { for: id }, label), input]);
}

/** A labelled select of options [[value, text], ...] with value selected. */
export function selectField(id, label, options, value) {
  return el('div', { class: 'field' }, el('label', { for: id }, label),
    el('select', { id, name: id }, options.map(([v, t]) => el('option', { value: v, selected: String(v) === String(value) }, t))));
}

export function fmtTime(s) {
  if (!s) return '—';
  return s.replace('T', ' ').replace('Z', ' UTC');
}

export function fmtNum(n) {
  return n === null || n === undefined ? '—' : String(n);
}

/** The POLL_MS of this page: ?poll=ms in the console's URL (tests), else 5000. */
export function pollMs() {
  const v = Number(new URLSearchParams(location.search).get('poll'));
  return Number.isFinite(v) && v >= 200 ? v : 5000;
}
