// Upstream OpenID providers for Gatehouse's social login tests (e2e/social_test.go).
//
// Usage: node provider.mjs --config <file.json>
//
// The config lists providers, each served by oidc-provider (panva, OpenID-certified) on its
// own loopback port:
//
//	{"providers": [{"name": "corp", "port": 41001, "issuer": "http://127.0.0.1:41001",
//	  "jwk": {...private RSA JWK...}, "idTokenClaims": true, "users": [{"sub": "alice", ...}]}]}
//
// idTokenClaims puts the scope-requested claims (email, profile, groups) in the ID token as
// Google does; without it they come from userinfo only (oidc-provider's default,
// conformIdTokenClaims).
//
// Clients: any client_id of the form gatehouse-<port>-<name> exists, with the secret
// secret-gatehouse-<port>-<name> and the single redirect URI
// http://127.0.0.1:<port>/login/social/<name>/callback (each Gatehouse instance of the tests
// listens on a port chosen when it starts). PKCE is required of every client.
//
// Interactions are plain HTTP so that a Go client drives them:
//
//	GET  /interaction/<uid>          → {"uid", "prompt": "login"|"consent", "params"}
//	                                   or, to a browser's navigation (Sec-Fetch-Dest:
//	                                   document), an HTML page with the form(s) below
//	POST /interaction/<uid>/login    form login=<sub>: log in as that user
//	POST /interaction/<uid>/confirm  grant what the consent prompt asks
//	POST /interaction/<uid>/abort    deny (error=access_denied back to the client)
//
// Test controls, on each provider's port:
//
//	POST /_test/users     JSON user (sub, email, email_verified, name, given_name,
//	                      family_name, groups, ...): create or replace it
//	GET  /_test/requests  every request received so far ("METHOD /path"), and
//	POST /_test/requests/reset
//	POST /_test/tamper    JSON {"id_token": "..."}: the next token response carries this ID
//	                      token instead of the real one (a misbehaving provider)
//
// The process exits when its standard input closes (the Go test binary ended).
import http from 'node:http';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

import Provider from 'oidc-provider';
import { createMemoryAdapter } from 'oidc-provider/lib/adapters/memory_adapter.js';

const { values: args } = parseArgs({ options: { config: { type: 'string' } } });
if (!args.config) {
  console.error('usage: node provider.mjs --config <file.json>');
  process.exit(2);
}
const config = JSON.parse(readFileSync(args.config, 'utf8'));

const clientRe = /^gatehouse-(\d{1,5})-([a-z0-9][a-z0-9_-]{0,31})$/;

// clientFor returns the registration of a dynamic test client, or undefined.
function clientFor(id) {
  const m = clientRe.exec(id);
  if (!m) {
    return undefined;
  }
  return {
    client_id: id,
    client_secret: `secret-${id}`,
    redirect_uris: [`http://127.0.0.1:${m[1]}/login/social/${m[2]}/callback`],
    response_types: ['code'],
    grant_types: ['authorization_code'],
    token_endpoint_auth_method: 'client_secret_basic',
  };
}

// adapterFactory stores everything in memory, except clients, which clientFor makes.
function adapterFactory() {
  const memory = createMemoryAdapter();
  return (model) => {
    if (model !== 'Client') {
      return memory(model);
    }
    return {
      async find(id) { return clientFor(id); },
      async upsert() {},
      async destroy() {},
      async consume() {},
      async findByUid() {},
      async findByUserCode() {},
      async revokeByGrantId() {},
    };
  };
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on('data', (c) => {
      size += c.length;
      if (size > 1 << 20) {
        reject(new Error('body too large'));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

// wantsPage reports whether the request is a browser's navigation to a page (Chromium and
// Firefox send Sec-Fetch-Dest: document on those; the Go clients of the tests do not).
function wantsPage(req) {
  return req.headers['sec-fetch-dest'] === 'document';
}

function escapeHTML(s) {
  return String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
}

// page answers a browser with the interaction's form: the login asks for the account id,
// the consent offers to allow or deny. Each form posts to the same action the Go clients use.
function page(res, uid, prompt, clientId) {
  const base = `/interaction/${encodeURIComponent(uid)}`;
  let body;
  if (prompt === 'login') {
    body = `<h1>Sign in to the test provider</h1>
<form method="post" action="${escapeHTML(base)}/login" data-upstream-login>
<label>Account <input name="login" autocomplete="username" required></label>
<button type="submit">Sign in</button>
</form>`;
  } else {
    body = `<h1>Allow ${escapeHTML(clientId)}?</h1>
<form method="post" action="${escapeHTML(base)}/confirm" data-upstream-confirm><button type="submit">Allow</button></form>
<form method="post" action="${escapeHTML(base)}/abort" data-upstream-abort><button type="submit">Deny</button></form>`;
  }
  const b = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Test provider</title></head>
<body>
${body}
</body></html>
`;
  res.writeHead(200, {
    'content-type': 'text/html; charset=utf-8',
    'content-length': Buffer.byteLength(b),
    'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
    'cache-control': 'no-store',
  });
  res.end(b);
}

function json(res, status, body) {
  const b = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(b) });
  res.end(b);
}

function start(pc) {
  const users = new Map();
  for (const u of pc.users ?? []) {
    users.set(u.sub, u);
  }
  const requests = [];
  const tamper = { idToken: undefined };

  const provider = new Provider(pc.issuer, {
    adapter: adapterFactory(),
    jwks: { keys: [pc.jwk] },
    cookies: { keys: [`cookie-key-${pc.name}-0123456789abcdef`] },
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['name', 'given_name', 'family_name', 'picture', 'locale'],
      groups: ['groups'],
    },
    scopes: ['openid', 'offline_access'],
    conformIdTokenClaims: !pc.idTokenClaims,
    pkce: { required: () => true },
    features: { devInteractions: { enabled: false } },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    async findAccount(_ctx, sub) {
      const u = users.get(sub);
      if (!u) {
        return undefined;
      }
      return {
        accountId: sub,
        async claims() {
          return { ...u };
        },
      };
    },
    renderError(ctx, out) {
      ctx.type = 'json';
      ctx.body = out;
    },
  });
  provider.on('server_error', (_ctx, err) => console.error(`${pc.name}: server_error`, err));

  // A misbehaving provider: the next token response carries a forged ID token.
  provider.use(async (ctx, next) => {
    await next();
    if (ctx.path === '/token' && tamper.idToken && ctx.body && ctx.body.id_token) {
      ctx.body = { ...ctx.body, id_token: tamper.idToken };
      tamper.idToken = undefined;
    }
  });
  const oidc = provider.callback();

  async function interaction(req, res, url) {
    const parts = url.pathname.split('/').filter(Boolean); // interaction, uid, [action]
    const action = parts[2] ?? '';
    const details = await provider.interactionDetails(req, res);
    if (details.uid !== parts[1]) {
      json(res, 400, { error: 'interaction_mismatch' });
      return;
    }
    const { prompt, params, session } = details;
    if (req.method === 'GET' && action === '') {
      if (wantsPage(req)) {
        page(res, details.uid, prompt.name, params.client_id);
        return;
      }
      json(res, 200, { uid: details.uid, prompt: prompt.name, params });
      return;
    }
    if (req.method !== 'POST') {
      json(res, 405, { error: 'method_not_allowed' });
      return;
    }
    const form = new URLSearchParams(await readBody(req));
    switch (action) {
      case 'login': {
        const sub = form.get('login') ?? '';
        if (prompt.name !== 'login' || !users.has(sub)) {
          json(res, 400, { error: 'bad_login', prompt: prompt.name });
          return;
        }
        await provider.interactionFinished(req, res, { login: { accountId: sub } }, { mergeWithLastSubmission: false });
        return;
      }
      case 'confirm': {
        if (prompt.name !== 'consent') {
          json(res, 400, { error: 'not_consent', prompt: prompt.name });
          return;
        }
        const d = prompt.details;
        const grant = details.grantId
          ? await provider.Grant.find(details.grantId)
          : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
        if (d.missingOIDCScope) {
          grant.addOIDCScope(d.missingOIDCScope.join(' '));
        }
        if (d.missingOIDCClaims) {
          grant.addOIDCClaims(d.missingOIDCClaims);
        }
        for (const [indicator, scopes] of Object.entries(d.missingResourceScopes ?? {})) {
          grant.addResourceScope(indicator, scopes.join(' '));
        }
        const grantId = await grant.save();
        await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
        return;
      }
      case 'abort':
        await provider.interactionFinished(req, res, {
          error: 'access_denied',
          error_description: 'End-User aborted interaction',
        }, { mergeWithLastSubmission: false });
        return;
      default:
        json(res, 404, { error: 'unknown_action' });
    }
  }

  async function control(req, res, url) {
    if (req.method === 'POST' && url.pathname === '/_test/users') {
      const u = JSON.parse(await readBody(req));
      if (typeof u.sub !== 'string' || u.sub === '') {
        json(res, 400, { error: 'sub is required' });
        return;
      }
      users.set(u.sub, u);
      json(res, 200, u);
      return;
    }
    if (req.method === 'GET' && url.pathname === '/_test/requests') {
      json(res, 200, { requests });
      return;
    }
    if (req.method === 'POST' && url.pathname === '/_test/requests/reset') {
      requests.length = 0;
      json(res, 200, { requests });
      return;
    }
    if (req.method === 'POST' && url.pathname === '/_test/tamper') {
      tamper.idToken = JSON.parse(await readBody(req)).id_token;
      json(res, 200, {});
      return;
    }
    json(res, 404, { error: 'unknown control' });
  }

  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url, pc.issuer);
    try {
      if (url.pathname.startsWith('/_test/')) {
        await control(req, res, url);
        return;
      }
      requests.push(`${req.method} ${url.pathname}`);
      if (url.pathname.startsWith('/interaction/')) {
        await interaction(req, res, url);
        return;
      }
      oidc(req, res);
    } catch (err) {
      console.error(`${pc.name}: ${req.method} ${url.pathname}:`, err);
      if (!res.headersSent) {
        json(res, 500, { error: 'server_error', error_description: String(err && err.message) });
      } else {
        res.end();
      }
    }
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(pc.port, '127.0.0.1', () => {
      console.log(`provider ${pc.name} listening at ${pc.issuer}`);
      resolve(server);
    });
  });
}

process.stdin.on('end', () => process.exit(0));
process.stdin.on('error', () => process.exit(0));
process.stdin.resume();

try {
  await Promise.all(config.providers.map(start));
  console.log('ready');
} catch (err) {
  console.error('start:', err);
  process.exit(1);
}
