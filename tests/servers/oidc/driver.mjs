// SPDX-License-Identifier: MIT
// driver.mjs: plays the user's browser against the test server.
//   node driver.mjs device ISSUER USER_CODE [LOGIN]
//       enters the user code at ISSUER/device, confirms, logs in, consents
//   node driver.mjs code AUTHORIZATION_URL [LOGIN]
//       opens the authorization URL, logs in, consents, and follows the
//       redirect to the loopback callback (the client's listener)
//   node driver.mjs deny-device ISSUER USER_CODE
//       enters the user code and aborts (access_denied for the client)
//   node driver.mjs code-iss AUTHORIZATION_URL ISS
//       as code, but the redirect reaches the client with its RFC 9207
//       `iss` replaced by ISS ("" removes it): a mix-up attack's answer
// Prints one status line; never prints a token. Exit 0 on success.
const [mode, target, arg3, arg4] = process.argv.slice(2);
const jar = new Map();

function remember(res) {
  for (const c of res.headers.getSetCookie()) {
    const [pair] = c.split(';');
    const eq = pair.indexOf('=');
    const name = pair.slice(0, eq).trim();
    const value = pair.slice(eq + 1).trim();
    if (/expires=Thu, 01 Jan 1970/i.test(c) || value === '') jar.delete(name);
    else jar.set(name, value);
  }
}

function cookieHeader() {
  return [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
}

async function request(url, form) {
  const init = { redirect: 'manual', headers: { cookie: cookieHeader() } };
  if (form) {
    init.method = 'POST';
    init.body = new URLSearchParams(form).toString();
    init.headers['content-type'] = 'application/x-www-form-urlencoded';
  }
  const res = await fetch(url, init);
  remember(res);
  const body = await res.text();
  return { res, body, url };
}

// Follow redirects (303/302) while they stay on the server; stop at a
// redirect that leaves it (the client's loopback callback).
async function follow(page, origin) {
  let p = page;
  for (let i = 0; i < 20 && p.res.status >= 300 && p.res.status < 400; i++) {
    const next = new URL(p.res.headers.get('location'), p.url);
    if (next.origin !== origin) return { leave: next.href };
    p = await request(next.href);
  }
  return p;
}

function formOf(body, id) {
  const re = id
    ? new RegExp(`<form[^>]*id="${id}"[^>]*action="([^"]*)"|<form[^>]*action="([^"]*)"[^>]*id="${id}"`)
    : /<form[^>]*action="([^"]*)"/;
  const m = body.match(re);
  if (!m) throw new Error(`no form ${id || ''} on the page`);
  return m[1] || m[2];
}

function hidden(body, name) {
  const m = body.match(new RegExp(`name="${name}" value="([^"]*)"`));
  return m ? m[1] : undefined;
}

// Login and consent pages until the interaction ends.
async function interact(page, origin, login) {
  let p = page;
  for (let i = 0; i < 6; i++) {
    p = await follow(p, origin);
    if (p.leave) return p;
    if (/name="prompt" value="login"/.test(p.body)) {
      const action = new URL(formOf(p.body), p.url).href;
      p = await request(action, { prompt: 'login', login, password: 'x' });
    } else if (/name="prompt" value="consent"/.test(p.body)) {
      const action = new URL(formOf(p.body), p.url).href;
      p = await request(action, { prompt: 'consent' });
    } else {
      return p;
    }
  }
  throw new Error('too many interaction steps');
}

async function device(issuer, userCode, login, abort) {
  const origin = new URL(issuer).origin;
  let p = await request(`${issuer}/device`);
  let xsrf = hidden(p.body, 'xsrf');
  const action = new URL(formOf(p.body, 'op.deviceInputForm'), p.url).href;
  p = await request(action, { xsrf, user_code: userCode });
  if (!/op.deviceConfirmForm/.test(p.body)) throw new Error(`code not accepted (HTTP ${p.res.status})`);
  xsrf = hidden(p.body, 'xsrf');
  const confirm = new URL(formOf(p.body, 'op.deviceConfirmForm'), p.url).href;
  const form = { xsrf, user_code: hidden(p.body, 'user_code') };
  if (abort) form.abort = 'yes';
  else form.confirm = 'yes';
  p = await request(confirm, form);
  if (abort) return `device: aborted (HTTP ${p.res.status})`;
  p = await interact(p, origin, login);
  if (p.leave) throw new Error('device flow left the server');
  if (p.res.status !== 200 || !/Sign-in Success|success/i.test(p.body)) {
    throw new Error(`device flow did not finish (HTTP ${p.res.status})`);
  }
  return 'device: approved';
}

async function code(authUrl, login, iss) {
  const origin = new URL(authUrl).origin;
  let p = await request(authUrl);
  p = await interact(p, origin, login);
  if (!p.leave) throw new Error(`no redirect to the client (HTTP ${p.res ? p.res.status : '?'})`);
  const cb = new URL(p.leave);
  if (iss === '') cb.searchParams.delete('iss');
  else if (iss !== undefined) cb.searchParams.set('iss', iss);
  if (cb.hostname !== '127.0.0.1') throw new Error('redirect is not loopback');
  const res = await fetch(cb.href, { redirect: 'manual' });
  await res.text();
  return `code: callback answered HTTP ${res.status}`;
}

try {
  let out;
  if (mode === 'device') out = await device(target, arg3, arg4 || 'alice', false);
  else if (mode === 'deny-device') out = await device(target, arg3, 'alice', true);
  else if (mode === 'code') out = await code(target, arg3 || 'alice');
  else if (mode === 'code-iss') out = await code(target, 'alice', arg3 || '');
  else throw new Error(`unknown mode ${mode}`);
  process.stdout.write(`${out}\n`);
} catch (e) {
  process.stderr.write(`driver: ${e.message}\n`);
  process.exit(1);
}
