// SPDX-License-Identifier: MIT
// An app's events endpoint on loopback for the black-box tests: every POST it receives is kept
// in `deliveries` ({headers, body}, in arrival order) and answered 204. Closed after the file's
// tests.

import http from 'node:http';
import { after } from 'node:test';

/** Starts the receiver: {url, deliveries}. */
export async function eventReceiver() {
  const deliveries = [];
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      deliveries.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(204);
      res.end();
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  after(() => new Promise((resolve) => server.close(resolve)));
  return { url: `http://127.0.0.1:${server.address().port}`, deliveries };
}
