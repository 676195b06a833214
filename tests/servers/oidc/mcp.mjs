// SPDX-License-Identifier: MIT
// mcp.mjs: real MCP servers (@modelcontextprotocol/sdk, Streamable HTTP,
// its bearer-auth middleware and protected-resource-metadata router) for
// the kiwi-auth MCP tests, behind the real authorization server of
// server.mjs (OIDC_MCP=1). One process, one port per server named on the
// command line; prints "NAME URL" per server, then "ready".
//
//   node mcp.mjs NAME...
//
// A NAME is one of (each on its own port, MCP endpoint at /mcp):
//   good, good2   as the SDK documents it: 401 with resource_metadata and
//                 scope, PRM at /.well-known/oauth-protected-resource/mcp
//                 naming the real authorization server; tools `echo`
//                 (scope mcp:tools) and `write` (scopes mcp:tools mcp:write:
//                 403 insufficient_scope without the second)
//   noheader      401 with a bare `Bearer` challenge; the PRM only at the
//                 root well-known URI (the client must probe)
//   forbid        as good, but every request with a valid token is answered
//                 403 insufficient_scope for mcp:tools, which the token
//                 holds (a server whose step-up never ends)
// The rest are stand-ins of misbehaving servers, each serving a document
// of its own instead of the real one:
//   badresource   PRM whose `resource` names another URL
//   crossorigin   401 whose resource_metadata is on another origin (good's)
//   badissuer     PRM naming an authorization server (on this port) whose
//                 metadata carries the real server's `issuer`
//   nos256        authorization server metadata without
//                 code_challenge_methods_supported
//   tokenorigin   authorization server metadata whose token_endpoint is on
//                 another origin than its issuer
//
// Environment: OIDC_ISSUER (the real server), MCP_EVENT_LOG (a line per MCP
// request: "mcp NAME METHOD STATUS", never a token).
import { appendFileSync } from 'node:fs';
import express from 'express';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { requireBearerAuth } from '@modelcontextprotocol/sdk/server/auth/middleware/bearerAuth.js';
import { mcpAuthMetadataRouter } from '@modelcontextprotocol/sdk/server/auth/router.js';
import { InvalidTokenError } from '@modelcontextprotocol/sdk/server/auth/errors.js';

const issuer = process.env.OIDC_ISSUER;
const eventLog = process.env.MCP_EVENT_LOG;
const asMeta = await (await fetch(`${issuer}/.well-known/openid-configuration`)).json();
const jwks = createRemoteJWKSet(new URL(asMeta.jwks_uri));

function record(line) {
  if (eventLog) appendFileSync(eventLog, `${line}\n`);
}

// Tokens must come from the real server and name this MCP server as `aud`.
function verifier(resource) {
  return {
    async verifyAccessToken(token) {
      try {
        const { payload } = await jwtVerify(token, jwks, { issuer, audience: resource });
        return {
          token,
          clientId: payload.client_id,
          scopes: String(payload.scope || '').split(' ').filter(Boolean),
          expiresAt: payload.exp,
          resource: new URL(resource),
        };
      } catch (e) {
        throw new InvalidTokenError(`token refused: ${e.code || e.message}`);
      }
    },
  };
}

function mcpServer(name) {
  const s = new McpServer({ name: `kiwi-test-${name}`, version: '1.0.0' });
  s.registerTool('echo', { description: 'echo a text', inputSchema: {} },
    async () => ({ content: [{ type: 'text', text: `echo from ${name}` }] }));
  s.registerTool('write', { description: 'needs mcp:write', inputSchema: {} },
    async () => ({ content: [{ type: 'text', text: `written by ${name}` }] }));
  return s;
}

function listen(app) {
  return new Promise((resolve) => {
    const srv = app.listen(0, '127.0.0.1', () => resolve(srv));
  });
}

// An express app on its own port; build(app, base) adds the routes.
async function start(name, build) {
  const app = express();
  app.use((req, res, next) => {
    res.on('finish', () => record(`mcp ${name} ${req.method} ${req.originalUrl.split('?')[0]} ${res.statusCode}`));
    next();
  });
  const srv = await listen(app);
  const base = `http://127.0.0.1:${srv.address().port}`;
  await build(app, base);
  return `${name} ${base}/mcp`;
}

function mcpRoutes(app, name, resource, auth, writeAuth) {
  app.use(express.json());
  const isWrite = (req) => req.body && req.body.method === 'tools/call'
    && req.body.params && req.body.params.name === 'write';
  app.post('/mcp', auth, (req, res, next) => (isWrite(req) ? writeAuth(req, res, next) : next()),
    async (req, res) => {
      const server = mcpServer(name);
      const transport = new StreamableHTTPServerTransport({
        sessionIdGenerator: undefined, enableJsonResponse: true,
      });
      res.on('close', () => { transport.close(); server.close(); });
      await server.connect(transport);
      await transport.handleRequest(req, res, req.body);
    });
}

function bearer(resource, prmUrl, scopes) {
  return requireBearerAuth({
    verifier: verifier(resource),
    requiredScopes: scopes,
    resourceMetadataUrl: prmUrl,
  });
}

// A real MCP server as the SDK documents it (forbid: refusing everything).
function good(name, forbid) {
  return start(name, (app, base) => {
    const resource = `${base}/mcp`;
    const prm = `${base}/.well-known/oauth-protected-resource/mcp`;
    app.use(mcpAuthMetadataRouter({
      oauthMetadata: asMeta,
      resourceServerUrl: new URL(resource),
      scopesSupported: ['mcp:tools'],
      resourceName: `kiwi test ${name}`,
    }));
    const refuse = (req, res) => {
      res.set('WWW-Authenticate', `Bearer error="insufficient_scope", scope="mcp:tools", resource_metadata="${prm}"`);
      res.status(403).json({ error: 'insufficient_scope' });
    };
    if (forbid) app.post('/mcp', bearer(resource, prm, ['mcp:tools']), refuse);
    mcpRoutes(app, name, resource, bearer(resource, prm, ['mcp:tools']),
      bearer(resource, prm, ['mcp:tools', 'mcp:write']));
  });
}

// A server that answers a bare challenge and serves its PRM at the root.
function noheader(name) {
  return start(name, (app, base) => {
    const resource = `${base}/mcp`;
    app.get('/.well-known/oauth-protected-resource', (req, res) => res.json({
      resource, authorization_servers: [issuer], scopes_supported: ['mcp:tools'],
    }));
    const auth = async (req, res, next) => {
      const h = req.headers.authorization || '';
      if (!h.startsWith('Bearer ')) {
        res.set('WWW-Authenticate', 'Bearer');
        return res.status(401).json({ error: 'invalid_token' });
      }
      try {
        req.auth = await verifier(resource).verifyAccessToken(h.slice(7));
        return next();
      } catch {
        res.set('WWW-Authenticate', 'Bearer error="invalid_token"');
        return res.status(401).json({ error: 'invalid_token' });
      }
    };
    mcpRoutes(app, name, resource, auth, (req, res, next) => next());
  });
}

// The stand-ins: a 401 naming prmUrl(base), and documents of their own.
function standin(name, docs, prmUrl) {
  return start(name, (app, base) => {
    const prm = prmUrl ? prmUrl(base) : `${base}/.well-known/oauth-protected-resource/mcp`;
    for (const [path, doc] of Object.entries(docs(base))) {
      app.get(path, (req, res) => res.json(doc));
    }
    app.all('/mcp', (req, res) => {
      res.set('WWW-Authenticate', `Bearer error="invalid_token", scope="mcp:tools", resource_metadata="${prm}"`);
      res.status(401).json({ error: 'invalid_token' });
    });
  });
}

const PRM = '/.well-known/oauth-protected-resource/mcp';
const ASM = '/.well-known/oauth-authorization-server/as';
const prmOf = (base, as) => ({ resource: `${base}/mcp`, authorization_servers: [as] });
const asOf = (base, extra) => ({ ...asMeta, issuer: `${base}/as`, ...extra });

const names = process.argv.slice(2);
const urls = {};
for (const name of names) {
  let line;
  if (name === 'good' || name === 'good2') line = await good(name, false);
  else if (name === 'forbid') line = await good(name, true);
  else if (name === 'noheader') line = await noheader(name);
  else if (name === 'badresource') {
    line = await standin(name, (b) => ({ [PRM]: { ...prmOf(b, issuer), resource: `${b}/other` } }));
  } else if (name === 'crossorigin') {
    // Points to good's metadata: another origin than this server's.
    line = await standin(name, (b) => ({ [PRM]: prmOf(b, issuer) }),
      () => `${urls.good.replace(/\/mcp$/, '')}${PRM}`);
  } else if (name === 'badissuer') {
    line = await standin(name, (b) => ({ [PRM]: prmOf(b, `${b}/as`), [ASM]: asMeta }));
  } else if (name === 'nos256') {
    line = await standin(name, (b) => ({
      [PRM]: prmOf(b, `${b}/as`),
      [ASM]: asOf(b, { code_challenge_methods_supported: undefined }),
    }));
  } else if (name === 'tokenorigin') {
    // Its own issuer and authorization endpoint, the real token endpoint.
    line = await standin(name, (b) => ({
      [PRM]: prmOf(b, `${b}/as`),
      [ASM]: asOf(b, { authorization_endpoint: `${b}/as/auth` }),
    }));
  } else {
    process.stderr.write(`mcp.mjs: unknown server ${name}\n`);
    process.exit(2);
  }
  const [n, url] = line.split(' ');
  urls[n] = url;
  process.stdout.write(`${line}\n`);
}
process.stdout.write('ready\n');

for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(0));
