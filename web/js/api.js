// SPDX-License-Identifier: MIT
// api.js - the console's only way to reach maskd: the public /v1 API with the
// key from sessionStorage (this tab only; never localStorage). Every failure
// becomes an ApiError carrying the API's own code and message.

const KEY = 'maskd.key';

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export function apiKey() {
  return sessionStorage.getItem(KEY) || '';
}

export function setApiKey(key) {
  if (key) sessionStorage.setItem(KEY, key);
  else sessionStorage.removeItem(KEY);
}

/** Fetches path ('/v1/...') with method and JSON body; resolves to the parsed JSON
 *  (null for 204), or text when asText; rejects with an ApiError. */
export async function api(method, path, body, { key = apiKey(), asText = false, accept } = {}) {
  const headers = { Authorization: `Bearer ${key}` };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (accept) headers.Accept = accept;
  let res;
  try {
    res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body),
      cache: 'no-store', credentials: 'omit' });
  } catch (e) {
    throw new ApiError(0, 'network', `maskd cannot be reached (${e.message})`);
  }
  if (res.status === 204) return null;
  const text = await res.text();
  if (!res.ok) {
    let code = `http_${res.status}`;
    let message = text.trim() || res.statusText;
    try {
      const j = JSON.parse(text);
      if (j && j.error) { code = j.error.code; message = j.error.message; }
    } catch { /* not JSON: keep the text */ }
    throw new ApiError(res.status, code, message);
  }
  if (asText) return text;
  try {
    return JSON.parse(text);
  } catch {
    throw new ApiError(res.status, 'bad_answer', 'maskd answered something that is not JSON');
  }
}

/** The path segment of an id, escaped (ids are plain, but never trust a hash route). */
export function seg(id) {
  return encodeURIComponent(String(id));
}
