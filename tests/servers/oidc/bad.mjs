// SPDX-License-Identifier: MIT
// bad.mjs: a misbehaving token endpoint for the error tests. Listens on
// 127.0.0.1 with a random port and prints its base URL first.
//   node bad.mjs garbage   200 with an HTML page
//   node bad.mjs error5xx  503 with a JSON error
//   node bad.mjs slow      answers after 120 s
//   node bad.mjs huge      200 with a 1 MiB body
// Every request is counted into $BAD_LOG (one line each), if set.
import { appendFileSync } from 'node:fs';
import { createServer } from 'node:http';

const mode = process.argv[2];
const server = createServer((req, res) => {
  if (process.env.BAD_LOG) appendFileSync(process.env.BAD_LOG, `${req.method} ${req.url.split('?')[0]}\n`);
  req.resume();
  req.on('end', () => {
    if (mode === 'garbage') {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<html><body>Welcome to the captive portal</body></html>');
    } else if (mode === 'error5xx') {
      res.writeHead(503, { 'content-type': 'application/json' });
      res.end('{"message":"service unavailable"}');
    } else if (mode === 'slow') {
      setTimeout(() => { res.writeHead(200); res.end('{}'); }, 120000);
    } else if (mode === 'huge') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(`{"access_token":"${'x'.repeat(1024 * 1024)}"}`);
    } else {
      res.writeHead(404);
      res.end();
    }
  });
});
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`http://127.0.0.1:${server.address().port}\n`);
});
