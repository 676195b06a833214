// SPDX-License-Identifier: MIT
// probe.mjs: asks the test server about the tokens of a kiwi-auth record
// file, as a third party would. Prints one word; never prints a token.
//   node probe.mjs introspect FILE access_token|refresh_token  -> active|inactive
//   node probe.mjs me FILE                 -> the HTTP status of GET /me
//   node probe.mjs replay FILE             -> "ok" or the error of a refresh
//                                            grant with the file's refresh token
// Needs OIDC_ISSUER and OIDC_CLIENT_SECRET.
import { readFileSync } from 'node:fs';

const [cmd, file, field] = process.argv.slice(2);
const issuer = process.env.OIDC_ISSUER;
const record = JSON.parse(readFileSync(file, 'utf8'));

async function post(path, form, auth) {
  const headers = { 'content-type': 'application/x-www-form-urlencoded' };
  if (auth) headers.authorization = auth;
  const res = await fetch(`${issuer}${path}`, {
    method: 'POST', headers, body: new URLSearchParams(form).toString(),
  });
  return { status: res.status, body: await res.json().catch(() => ({})) };
}

const basic = `Basic ${Buffer.from(`kiwi-service:${process.env.OIDC_CLIENT_SECRET}`).toString('base64')}`;

if (cmd === 'introspect') {
  const token = record[field];
  if (!token) {
    process.stdout.write('missing\n');
  } else {
    const r = await post('/token/introspection', { token }, basic);
    process.stdout.write(r.body.active ? 'active\n' : 'inactive\n');
  }
} else if (cmd === 'me') {
  const res = await fetch(`${issuer}/me`, { headers: { authorization: `Bearer ${record.access_token}` } });
  process.stdout.write(`${res.status}\n`);
} else if (cmd === 'replay') {
  const r = await post('/token', {
    grant_type: 'refresh_token', refresh_token: record.refresh_token, client_id: 'kiwi-native',
  });
  process.stdout.write(r.status === 200 ? 'ok\n' : `${r.body.error || r.status}\n`);
} else {
  process.stderr.write(`unknown command ${cmd}\n`);
  process.exit(2);
}
