// SPDX-License-Identifier: MIT
// server.mjs: a real OAuth2/OpenID server (oidc-provider) for the kiwi-auth
// integration tests. Listens on 127.0.0.1 with a random port and prints its
// issuer URL as the first line of stdout.
//
// Environment:
//   OIDC_ACCESS_TTL     access token lifetime in seconds (default 60)
//   OIDC_EVENT_LOG      file that gets one line per token grant the server
//                       performs: "grant GRANT_TYPE CLIENT_ID" (never a token)
//   OIDC_CLIENT_SECRET  secret of the confidential client (default below)
//   OIDC_MCP            "1": also act as the authorization server of the MCP
//                       tests: RFC 7591 registration at /reg (logged as
//                       "register CLIENT_ID") and RFC 8707 resource
//                       indicators, issuing JWT access tokens whose `aud` is
//                       the MCP server's URL (any http://127.0.0.1:*/mcp)
//   OIDC_TOKEN_DELAY_MS answers of the token endpoint leave this much later
//                       than the server performed the grant (default 0), as
//                       over a slower network: the kill tests aim at the
//                       time between the two (tests/stress)
import { appendFileSync } from 'node:fs';
import { createServer } from 'node:http';
import Provider, { errors } from 'oidc-provider';

const ttl = Number.parseInt(process.env.OIDC_ACCESS_TTL || '60', 10);
const eventLog = process.env.OIDC_EVENT_LOG;
const secret = process.env.OIDC_CLIENT_SECRET || 'kiwi-test-secret-0123456789abcdef';

const mcp = process.env.OIDC_MCP === '1';
const MCP_SCOPES = 'mcp:tools mcp:write';

// The MCP servers of the tests: loopback, path /mcp, any port.
function mcpResource(url) {
  try {
    const u = new URL(url);
    return u.protocol === 'http:' && u.hostname === '127.0.0.1' && u.pathname === '/mcp'
      && !u.search && !u.hash && url === `${u.origin}/mcp`;
  } catch {
    return false;
  }
}

const mcpFeatures = !mcp ? {} : {
  registration: { enabled: true },
  resourceIndicators: {
    enabled: true,
    useGrantedResource: () => true,
    getResourceServerInfo: (ctx, resource) => {
      if (!mcpResource(resource)) throw new errors.InvalidTarget();
      return {
        scope: MCP_SCOPES,
        audience: resource,
        accessTokenTTL: ttl,
        accessTokenFormat: 'jwt',
      };
    },
  },
};

const server = createServer();
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const { port } = server.address();
const issuer = `http://127.0.0.1:${port}`;

const provider = new Provider(issuer, {
  clients: [
    {
      // Native public client: device flow and code + PKCE, refreshable.
      client_id: 'kiwi-native',
      application_type: 'native',
      token_endpoint_auth_method: 'none',
      grant_types: [
        'authorization_code',
        'refresh_token',
        'urn:ietf:params:oauth:grant-type:device_code',
      ],
      response_types: ['code'],
      redirect_uris: ['http://127.0.0.1/callback'],
    },
    {
      // Confidential client: client credentials, introspection.
      client_id: 'kiwi-service',
      client_secret: secret,
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
    },
  ],
  scopes: ['openid', 'offline_access', 'profile', 'api:read', 'api:write',
    ...(mcp ? MCP_SCOPES.split(' ') : [])],
  features: {
    devInteractions: { enabled: true },
    deviceFlow: { enabled: true },
    clientCredentials: { enabled: true },
    revocation: { enabled: true },
    introspection: { enabled: true },
    userinfo: { enabled: true },
    ...mcpFeatures,
  },
  clockTolerance: 0,
  rotateRefreshToken: true,
  ttl: {
    AccessToken: ttl,
    ClientCredentials: ttl,
    RefreshToken: 3600,
    DeviceCode: 300,
    AuthorizationCode: 120,
    Grant: 3600,
    Interaction: 600,
    Session: 3600,
  },
  cookies: { keys: ['kiwi-auth-test-cookie-key'] },
});
provider.proxy = false;

const tokenDelay = Number.parseInt(process.env.OIDC_TOKEN_DELAY_MS || '0', 10);
if (tokenDelay > 0) {
  // After the grant (the old refresh token is spent), before the answer.
  provider.use(async (ctx, next) => {
    await next();
    if (ctx.path.endsWith('/token')) {
      await new Promise((resolve) => { setTimeout(resolve, tokenDelay); });
    }
  });
}

function record(line) {
  if (eventLog) appendFileSync(eventLog, `${line}\n`);
}

// Counted from the server's own events: one line per grant it performed.
provider.on('grant.success', (ctx) => {
  const params = ctx.oidc.params || {};
  const client = ctx.oidc.client ? ctx.oidc.client.clientId : '-';
  record(`grant ${params.grant_type} ${client}`);
});
provider.on('grant.error', (ctx, err) => {
  const params = (ctx.oidc && ctx.oidc.params) || {};
  record(`grant-error ${params.grant_type} ${err.error || err.name}`);
});
provider.on('grant.revoked', () => record('grant-revoked'));
provider.on('registration_create.success', (ctx, client) => record(`register ${client.clientId}`));
provider.on('server_error', (ctx, err) => process.stderr.write(`server_error: ${err.stack}\n`));

server.on('request', provider.callback());
process.stdout.write(`${issuer}\n`);

for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, () => server.close(() => process.exit(0)));
}
