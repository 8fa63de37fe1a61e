// Interoperability of Gatehouse with openid-client (https://github.com/panva/openid-client),
// the OpenID-certified relying-party library for Node.js: discovery, the authorization code
// flow with PKCE, state and nonce for three kinds of client, ID token validation, userinfo,
// refresh-token rotation and narrowing, RP-initiated logout, the library's rejection of forged
// authorization responses, the client credentials grant with resource indicators (RFC 8707),
// token introspection (RFC 7662) and revocation (RFC 7009), the claims request parameter
// (OIDC Core §5.5) and an immediate signing-key rotation.
//
// Run by TestOpenIDClientInterop (e2e/node_test.go), which starts Gatehouse and passes its
// URLs, clients and test user in GATEHOUSE_* environment variables (see `env` below). The user
// logs in without a browser: the authorization URL is fetched with redirect: 'manual' and a
// small cookie jar, the login goes through the JSON API (docs/auth-api.md), and the redirect
// to the client's redirect URI is captured, never fetched (nothing listens there). The admin
// API (Caddy's admin endpoint, GATEHOUSE_ADMIN_URL) sets the user's profile and rotates keys.

import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';

import * as client from 'openid-client';

// ---------------------------------------------------------------------------------------
// Configuration from the Go test

function required(name) {
  const v = process.env[name];
  if (!v) {
    throw new Error(`environment variable ${name} is not set; run this through TestOpenIDClientInterop (go test ./e2e/ -run TestOpenIDClientInterop)`);
  }
  return v;
}

const env = {
  issuer: required('GATEHOUSE_ISSUER'),
  redirectURI: required('GATEHOUSE_REDIRECT_URI'),
  postLogoutRedirectURI: required('GATEHOUSE_POST_LOGOUT_REDIRECT_URI'),
  basicID: required('GATEHOUSE_BASIC_CLIENT_ID'),
  basicSecret: required('GATEHOUSE_BASIC_CLIENT_SECRET'),
  postID: required('GATEHOUSE_POST_CLIENT_ID'),
  postSecret: required('GATEHOUSE_POST_CLIENT_SECRET'),
  publicID: required('GATEHOUSE_PUBLIC_CLIENT_ID'),
  machineID: required('GATEHOUSE_MACHINE_CLIENT_ID'),
  machineSecret: required('GATEHOUSE_MACHINE_CLIENT_SECRET'),
  machineResource: required('GATEHOUSE_MACHINE_RESOURCE'),
  adminURL: required('GATEHOUSE_ADMIN_URL'),
  userID: required('GATEHOUSE_USER_ID'),
  email: required('GATEHOUSE_USER_EMAIL'),
  password: required('GATEHOUSE_USER_PASSWORD'),
  givenName: required('GATEHOUSE_USER_GIVEN_NAME'),
  familyName: required('GATEHOUSE_USER_FAMILY_NAME'),
  groups: required('GATEHOUSE_USER_GROUPS').split(','),
};

const SCOPE = 'openid profile email offline_access';
const TIMEOUT = 30_000; // per test
const rpOrigin = new URL(env.redirectURI).origin;

// ---------------------------------------------------------------------------------------
// A minimal user agent: cookie jar + manual redirects

/** CookieJar keeps the cookies a server sets, per host (cookies ignore the port). */
class CookieJar {
  #byHost = new Map();

  /** store records the Set-Cookie headers of response, received for url. */
  store(url, response) {
    const host = new URL(url).hostname;
    const jar = this.#byHost.get(host) ?? new Map();
    this.#byHost.set(host, jar);
    for (const line of response.headers.getSetCookie()) {
      const [pair, ...attrs] = line.split(';');
      const eq = pair.indexOf('=');
      if (eq <= 0) continue;
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      let expired = false;
      for (const attr of attrs) {
        const [k, v = ''] = attr.split('=');
        const key = k.trim().toLowerCase();
        if (key === 'max-age' && Number(v) <= 0) expired = true;
        if (key === 'expires' && Date.parse(v) <= Date.now()) expired = true;
      }
      if (expired) jar.delete(name);
      else jar.set(name, value);
    }
  }

  /** header returns the Cookie header for url, or undefined. */
  header(url) {
    const jar = this.#byHost.get(new URL(url).hostname);
    if (!jar || jar.size === 0) return undefined;
    return [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  has(url, name) {
    return this.#byHost.get(new URL(url).hostname)?.has(name) ?? false;
  }
}

/**
 * UserAgent sends requests with its cookies and follows redirects itself, but never to the
 * relying party: a redirect there (the authorization response, or the post-logout redirect)
 * is returned as `rp`, a URL, without being fetched.
 */
class UserAgent {
  jar = new CookieJar();

  /** request sends one request (no redirect following) and reads the body. */
  async request(url, { method = 'GET', headers = {}, body } = {}) {
    const h = new Headers(headers);
    const cookie = this.jar.header(url);
    if (cookie) h.set('cookie', cookie);
    const response = await fetch(url, { method, headers: h, body, redirect: 'manual' });
    this.jar.store(url, response);
    const text = await response.text();
    const location = response.headers.get('location');
    return {
      url: new URL(url),
      status: response.status,
      headers: response.headers,
      text,
      location: location === null ? null : new URL(location, url),
    };
  }

  /**
   * go sends a request and follows redirects until an answer that is not a redirect ({page})
   * or a redirect to the relying party ({rp}). A redirect after a POST is followed with GET.
   */
  async go(url, init = {}) {
    const hops = [];
    for (let i = 0; i < 20; i++) {
      const r = await this.request(url, init);
      hops.push(`${init.method ?? 'GET'} ${url} → ${r.status}`);
      if (r.status < 300 || r.status > 399 || !r.location) return { page: r, hops };
      if (r.location.origin === rpOrigin) return { rp: r.location, redirect: r, hops };
      url = r.location;
      init = {};
    }
    throw new Error(`too many redirects:\n${hops.join('\n')}`);
  }

  /** json POSTs a JSON body and parses the JSON answer. */
  async json(url, payload) {
    const r = await this.request(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify(payload),
    });
    let data;
    try {
      data = JSON.parse(r.text);
    } catch {
      throw new Error(`POST ${url}: HTTP ${r.status}, not JSON: ${r.text.slice(0, 500)}`);
    }
    return { ...r, data };
  }
}

function htmlUnescape(s) {
  return s.replace(/&(#x[0-9a-f]+|#[0-9]+|amp|lt|gt|quot|apos);/gi, (m, ent) => {
    const e = ent.toLowerCase();
    if (e.startsWith('#x')) return String.fromCodePoint(parseInt(e.slice(2), 16));
    if (e.startsWith('#')) return String.fromCodePoint(parseInt(e.slice(1), 10));
    return { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" }[e];
  });
}

/** parseForm returns the action and the hidden fields of the first form of an HTML page. */
function parseForm(page) {
  const form = page.text.match(/<form\b[^>]*>([\s\S]*?)<\/form>/i);
  assert.ok(form, `no form in ${page.url} (HTTP ${page.status}):\n${page.text.slice(0, 2000)}`);
  const attr = (tag, name) => {
    const m = tag.match(new RegExp(`\\b${name}="([^"]*)"`, 'i'));
    return m ? htmlUnescape(m[1]) : undefined;
  };
  const action = new URL(attr(form[0], 'action') ?? page.url.href, page.url);
  const fields = new URLSearchParams();
  for (const [input] of form[1].matchAll(/<input\b[^>]*>/gi)) {
    if (attr(input, 'type')?.toLowerCase() === 'hidden' && attr(input, 'name')) {
      fields.append(attr(input, 'name'), attr(input, 'value') ?? '');
    }
  }
  return { action, fields };
}

// ---------------------------------------------------------------------------------------
// Relying-party helpers

/**
 * discover returns an openid-client Configuration for one client. By default the library
 * trusts an ID token from the token endpoint without checking its signature (OIDC Core
 * §3.1.3.7 lets TLS stand in for it); enableNonRepudiationChecks makes it verify every ID
 * token's signature against the provider's JWK Set (jwks_uri), which it caches.
 */
function discover(clientId, clientSecret, clientAuth) {
  return client.discovery(new URL(env.issuer), clientId, clientSecret, clientAuth, {
    execute: [client.allowInsecureRequests, client.enableNonRepudiationChecks],
  });
}

/** authRequest builds an authorization URL with PKCE (S256), state and nonce. */
async function authRequest(config, extra = {}) {
  const codeVerifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: env.redirectURI,
    scope: SCOPE,
    code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
    code_challenge_method: 'S256',
    state,
    nonce,
    ...extra,
  });
  return { url, codeVerifier, state, nonce };
}

/**
 * login sends the user agent to the authorization URL, logs in through the JSON API when the
 * login page comes up, and returns the authorization response (the URL at the redirect URI).
 */
async function login(ua, authorizationUrl) {
  const start = await ua.go(authorizationUrl);
  if (start.rp) return start.rp; // already logged in
  const page = start.page;
  assert.equal(page.status, 200, `expected the login page, got HTTP ${page.status} at ${page.url}\n${start.hops.join('\n')}`);
  assert.equal(page.url.pathname, '/login', `expected the login page, got ${page.url}`);
  const returnTo = page.url.searchParams.get('return_to');
  assert.ok(returnTo?.startsWith('/authorize?'), `login page without return_to to /authorize: ${page.url}`);

  const res = await ua.json(new URL('/api/v1/login/password', env.issuer), {
    email: env.email,
    password: env.password,
    return_to: returnTo,
  });
  assert.equal(res.status, 200, `JSON login: HTTP ${res.status} ${res.text}`);
  assert.equal(res.data.user?.id, env.userID, 'JSON login: user.id');
  assert.equal(res.data.redirect_to, returnTo, 'JSON login: redirect_to is the return_to sent');
  assert.ok(ua.jar.has(env.issuer, 'gatehouse_session'), 'JSON login set no gatehouse_session cookie');

  const back = await ua.go(new URL(res.data.redirect_to, env.issuer));
  assert.ok(back.rp, `after login, expected a redirect to ${env.redirectURI}, got HTTP ${back.page?.status} at ${back.page?.url}\n${back.hops.join('\n')}\n${back.page?.text.slice(0, 1000)}`);
  return back.rp;
}

/** assertAtRedirectURI checks that an authorization response went to the registered URI. */
function assertAtRedirectURI(callback) {
  assert.equal(`${callback.origin}${callback.pathname}`, env.redirectURI, `authorization response at ${callback}`);
}

/** rejectsWithOAuthError asserts that promise rejects with an OAuth error response (RFC 6749 §5.2). */
async function rejectsWithOAuthError(promise, error, message) {
  await assert.rejects(promise, (err) => {
    assert.ok(err instanceof client.ResponseBodyError, `${message}: expected ResponseBodyError, got ${err?.name}: ${err?.message}`);
    assert.equal(err.error, error, `${message}: error (${err.error_description})`);
    return true;
  }, message);
}

/** rejectsAsInvalidResponse asserts openid-client refused a response as invalid. */
async function rejectsAsInvalidResponse(promise, pattern, message) {
  await assert.rejects(promise, (err) => {
    assert.ok(err instanceof client.ClientError, `${message}: expected ClientError, got ${err?.name}: ${err?.message}`);
    assert.equal(err.code, 'OAUTH_INVALID_RESPONSE', `${message}: code`);
    assert.match(err.cause?.message ?? '', pattern, `${message}: cause`);
    return true;
  }, message);
}

/** rejectsAtUserinfo asserts that /userinfo refuses an access token with a Bearer challenge (RFC 6750 §3). */
async function rejectsAtUserinfo(promise, status, error, message) {
  await assert.rejects(promise, (err) => {
    assert.ok(err instanceof client.WWWAuthenticateChallengeError, `${message}: expected WWWAuthenticateChallengeError, got ${err?.name}: ${err?.message}`);
    assert.equal(err.status, status, `${message}: HTTP status`);
    assert.equal(err.cause[0]?.parameters.error, error, `${message}: error in the challenge`);
    return true;
  }, message);
}

/**
 * codeFlow runs the authorization code flow for config in ua (a new user agent by default; a
 * logged-in one skips the login) with extra authorization parameters, and returns the tokens
 * the library validated.
 */
async function codeFlow(config, { ua = new UserAgent(), ...extra } = {}) {
  const req = await authRequest(config, extra);
  const callback = await login(ua, req.url);
  return client.authorizationCodeGrant(config, callback, {
    expectedState: req.state, expectedNonce: req.nonce, pkceCodeVerifier: req.codeVerifier, idTokenExpected: true,
  });
}

/** decodeJWT returns the header and payload of a JWT, unverified (to inspect a token). */
function decodeJWT(jwt) {
  const [header, payload] = jwt.split('.').slice(0, 2).map((part) => JSON.parse(Buffer.from(part, 'base64url').toString('utf8')));
  return { header, payload };
}

/** scopes returns a space-separated scope string as a sorted list. */
const scopes = (s) => (s ?? '').split(' ').filter(Boolean).sort();

/**
 * adminAPI calls Gatehouse's admin API on Caddy's admin endpoint and returns the JSON answer.
 * That endpoint accepts only its own address as Host (fetch sends it) and, since fetch sends
 * Sec-Fetch-Mode, checks the Origin header: fetch sends none, so the admin origin is set.
 */
async function adminAPI(method, path, body) {
  const headers = { origin: new URL(env.adminURL).origin };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const r = await fetch(new URL(path, env.adminURL), {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  assert.ok(r.ok, `admin API ${method} ${path}: HTTP ${r.status} ${text.slice(0, 1000)}`);
  return text ? JSON.parse(text) : undefined;
}

// ---------------------------------------------------------------------------------------
// Tests

// The relying parties of the authorization code flow, by kind.
const clients = {};
// The machine client (client_credentials only), kept apart from the relying parties.
let machine;

before(async () => {
  clients.basic = await discover(env.basicID, env.basicSecret, client.ClientSecretBasic(env.basicSecret));
  clients.post = await discover(env.postID, env.postSecret, client.ClientSecretPost(env.postSecret));
  clients.public = await discover(env.publicID, undefined, client.None());
  machine = await discover(env.machineID, env.machineSecret, client.ClientSecretBasic(env.machineSecret));
});

describe('discovery', () => {
  test('client.discovery accepts the provider metadata and it advertises what the flows use', { timeout: TIMEOUT }, async () => {
    const config = await discover(env.publicID, undefined, client.None());
    const m = config.serverMetadata();
    assert.equal(m.issuer, env.issuer, 'issuer equals the URL discovery was fetched for');
    assert.equal(m.authorization_endpoint, `${env.issuer}/authorize`);
    assert.equal(m.token_endpoint, `${env.issuer}/token`);
    assert.equal(m.userinfo_endpoint, `${env.issuer}/userinfo`);
    assert.equal(m.jwks_uri, `${env.issuer}/jwks`);
    assert.equal(m.end_session_endpoint, `${env.issuer}/logout`);
    assert.ok(m.response_types_supported.includes('code'), 'response_types_supported has code');
    assert.ok(m.grant_types_supported.includes('authorization_code'), 'grant_types_supported has authorization_code');
    assert.ok(m.grant_types_supported.includes('refresh_token'), 'grant_types_supported has refresh_token');
    for (const method of ['client_secret_basic', 'client_secret_post', 'none']) {
      assert.ok(m.token_endpoint_auth_methods_supported.includes(method), `token_endpoint_auth_methods_supported has ${method}`);
    }
    assert.ok(m.supportsPKCE('S256'), 'S256 PKCE is supported');
    assert.ok(!m.supportsPKCE('plain'), 'plain PKCE is not advertised');
    assert.ok(m.id_token_signing_alg_values_supported.includes('RS256'), 'id_token_signing_alg_values_supported has RS256 (the OIDC default)');
    for (const scope of SCOPE.split(' ')) {
      assert.ok(m.scopes_supported.includes(scope), `scopes_supported has ${scope}`);
    }
    assert.equal(m.authorization_response_iss_parameter_supported, true, 'RFC 9207 iss in authorization responses');
    assert.ok(m.subject_types_supported.includes('public'));
    assert.equal(config.clientMetadata().client_id, env.publicID);
  });

  test('the metadata advertises revocation, introspection, the claims parameter and client_credentials', { timeout: TIMEOUT }, () => {
    const m = clients.basic.serverMetadata();
    assert.equal(m.revocation_endpoint, `${env.issuer}/revoke`, 'revocation_endpoint (RFC 7009)');
    assert.equal(m.introspection_endpoint, `${env.issuer}/introspect`, 'introspection_endpoint (RFC 7662)');
    assert.equal(m.claims_parameter_supported, true, 'claims_parameter_supported');
    assert.ok(m.grant_types_supported.includes('client_credentials'), 'grant_types_supported has client_credentials');
    for (const method of ['client_secret_basic', 'client_secret_post']) {
      assert.ok(m.introspection_endpoint_auth_methods_supported.includes(method), `introspection_endpoint_auth_methods_supported has ${method}`);
      assert.ok(m.revocation_endpoint_auth_methods_supported.includes(method), `revocation_endpoint_auth_methods_supported has ${method}`);
    }
    for (const claim of ['phone_number', 'birthday', 'address', 'roles', 'custom_data']) {
      assert.ok(m.claims_supported.includes(claim), `claims_supported has ${claim}`);
    }
  });

  test('discovery refuses plain http without allowInsecureRequests (the library guard is active)', { timeout: TIMEOUT }, async () => {
    await assert.rejects(client.discovery(new URL(env.issuer), env.publicID), (err) => {
      assert.ok(err instanceof client.ClientError, `${err?.name}: ${err?.message}`);
      assert.equal(err.code, 'OAUTH_HTTP_REQUEST_FORBIDDEN');
      return true;
    });
  });
});

for (const [kind, description, clientId] of [
  ['basic', 'confidential client with client_secret_basic', env.basicID],
  ['post', 'confidential client with client_secret_post', env.postID],
  ['public', 'public client (token_endpoint_auth_method none)', env.publicID],
]) {
  describe(`authorization code flow with PKCE: ${description}`, () => {
    let tokens; // the authorization code grant's response
    let loginStarted;

    test('login through the JSON API yields an authorization response the library accepts, and validated tokens', { timeout: TIMEOUT }, async () => {
      const config = clients[kind];
      const ua = new UserAgent();
      const req = await authRequest(config);
      assert.equal(req.url.searchParams.get('client_id'), clientId);
      loginStarted = Math.floor(Date.now() / 1000);
      const callback = await login(ua, req.url);
      assertAtRedirectURI(callback);
      assert.equal(callback.searchParams.get('iss'), env.issuer, 'iss in the authorization response (RFC 9207)');
      assert.equal(callback.searchParams.get('state'), req.state, 'state echoed');
      assert.ok(callback.searchParams.get('code'), 'code in the authorization response');

      // Validates iss and state of the response, redeems the code with the client's
      // authentication method and the verifier, and validates the ID token: signature
      // (JWKS; enableNonRepudiationChecks, see discover), iss, aud, azp, exp, iat, nonce,
      // at_hash when present.
      tokens = await client.authorizationCodeGrant(config, callback, {
        expectedState: req.state,
        expectedNonce: req.nonce,
        pkceCodeVerifier: req.codeVerifier,
        idTokenExpected: true,
      });
      assert.equal(tokens.token_type, 'bearer', 'token_type (normalised to lower case by the library)');
      assert.ok(tokens.access_token, 'access_token');
      assert.ok(tokens.refresh_token, 'refresh_token (offline_access)');
      assert.ok(tokens.id_token, 'id_token');
      assert.ok(tokens.expiresIn() > 0, 'expires_in');
      if (tokens.scope !== undefined) {
        assert.deepEqual(tokens.scope.split(' ').sort(), SCOPE.split(' ').sort(), 'granted scope');
      }
    });

    test('the ID token carries the documented claims', { timeout: TIMEOUT }, () => {
      assert.ok(tokens, 'the code flow test must pass first');
      const c = tokens.claims();
      const now = Math.floor(Date.now() / 1000);
      assert.equal(c.iss, env.issuer, 'iss');
      assert.equal(c.aud, clientId, 'aud is the client (a single string)');
      assert.equal(c.sub, env.userID, 'sub is the user ID');
      assert.equal(typeof c.tid, 'string', 'tid');
      assert.ok(c.tid.length > 0, 'tid is not empty');
      assert.deepEqual(c.amr, ['pwd'], 'amr');
      assert.equal(typeof c.acr, 'string', 'acr');
      assert.ok(c.acr.length > 0, 'acr is not empty');
      assert.equal(typeof c.auth_time, 'number', 'auth_time');
      assert.ok(c.auth_time >= loginStarted - 1 && c.auth_time <= now + 1, `auth_time ${c.auth_time} within the login (${loginStarted}..${now})`);
      assert.equal(c.new_user, false, 'new_user is false for an existing user');
      assert.deepEqual(c.groups, env.groups, 'groups');
      assert.equal(c.email, env.email, 'email (email scope)');
      assert.equal(c.email_verified, true, 'email_verified (email scope)');
      assert.equal(c.name, `${env.givenName} ${env.familyName}`, 'name (profile scope)');
      assert.equal(c.given_name, env.givenName, 'given_name (profile scope)');
      assert.equal(c.family_name, env.familyName, 'family_name (profile scope)');
      assert.equal(typeof c.sid, 'string', 'sid');
      assert.equal(typeof c.at_hash, 'string', 'at_hash (verified by the library against the access token)');
    });

    test('fetchUserInfo with the access token returns the same subject and claims', { timeout: TIMEOUT }, async () => {
      assert.ok(tokens, 'the code flow test must pass first');
      const info = await client.fetchUserInfo(clients[kind], tokens.access_token, tokens.claims().sub);
      assert.equal(info.sub, env.userID, 'sub');
      assert.equal(info.email, env.email, 'email');
      assert.equal(info.email_verified, true, 'email_verified');
      assert.equal(info.name, `${env.givenName} ${env.familyName}`, 'name');
      assert.equal(info.given_name, env.givenName, 'given_name');
      assert.equal(info.family_name, env.familyName, 'family_name');
      assert.deepEqual(info.groups, env.groups, 'groups');

      // The library checks the subject: a userinfo response for another user is refused.
      await assert.rejects(client.fetchUserInfo(clients[kind], tokens.access_token, 'someone-else'),
        (err) => err instanceof client.ClientError && err.code === 'OAUTH_JSON_ATTRIBUTE_COMPARISON_FAILED',
        'fetchUserInfo with another expected subject must fail');
    });

    test('refreshTokenGrant rotates the refresh token, the rotated one is refused as invalid_grant and revokes the grant', { timeout: TIMEOUT }, async () => {
      assert.ok(tokens, 'the code flow test must pass first');
      const config = clients[kind];
      const rt1 = tokens.refresh_token;

      const second = await client.refreshTokenGrant(config, rt1);
      assert.ok(second.access_token, 'a new access token');
      assert.notEqual(second.access_token, tokens.access_token, 'the access token is new');
      assert.ok(second.refresh_token, 'a new refresh token');
      assert.notEqual(second.refresh_token, rt1, 'the refresh token rotated');
      const id2 = second.claims();
      assert.ok(id2, 'an ID token in the refresh response (validated by the library)');
      assert.equal(id2.sub, env.userID, 'the refreshed ID token has the same sub');
      assert.equal(id2.auth_time, tokens.claims().auth_time, 'the refreshed ID token keeps auth_time');

      // The new refresh token works again, and rotates again.
      const third = await client.refreshTokenGrant(config, second.refresh_token);
      assert.ok(third.refresh_token, 'a third refresh token');
      assert.notEqual(third.refresh_token, second.refresh_token, 'the refresh token rotated again');
      const info = await client.fetchUserInfo(config, third.access_token, env.userID);
      assert.equal(info.sub, env.userID, 'userinfo with the refreshed access token');

      // The rotated (old) refresh token is refused. Gatehouse treats the replay as theft
      // (README: "presenting a rotated token again revokes its whole grant"; RFC 9700
      // §4.14.2), so the current refresh token and its access token stop working as well.
      await rejectsWithOAuthError(client.refreshTokenGrant(config, rt1), 'invalid_grant', 'replay of the first, rotated refresh token');
      await rejectsWithOAuthError(client.refreshTokenGrant(config, second.refresh_token), 'invalid_grant', 'replay of the second, rotated refresh token');
      await rejectsWithOAuthError(client.refreshTokenGrant(config, third.refresh_token), 'invalid_grant', 'the current refresh token after a replay revoked its grant');
      await assert.rejects(client.fetchUserInfo(config, third.access_token, env.userID), (err) => {
        assert.ok(err instanceof client.WWWAuthenticateChallengeError, `${err?.name}: ${err?.message}`);
        assert.equal(err.status, 401);
        assert.equal(err.cause[0]?.parameters.error, 'invalid_token');
        return true;
      }, 'the access token of a revoked grant is refused by /userinfo');
    });
  });
}

describe('refresh-token rotation without replay', () => {
  test('each new refresh token can be used once, in turn', { timeout: TIMEOUT }, async () => {
    const config = clients.public;
    const ua = new UserAgent();
    const req = await authRequest(config);
    const callback = await login(ua, req.url);
    let t = await client.authorizationCodeGrant(config, callback, {
      expectedState: req.state, expectedNonce: req.nonce, pkceCodeVerifier: req.codeVerifier,
    });
    const seen = new Set([t.refresh_token]);
    for (let i = 0; i < 3; i++) {
      t = await client.refreshTokenGrant(config, t.refresh_token);
      assert.ok(t.refresh_token && !seen.has(t.refresh_token), `refresh ${i + 1} returned a fresh refresh token`);
      seen.add(t.refresh_token);
    }
    const info = await client.fetchUserInfo(config, t.access_token, env.userID);
    assert.equal(info.sub, env.userID);
  });
});

describe('RP-initiated logout', () => {
  test('buildEndSessionUrl → confirmation → post_logout_redirect_uri with state; then prompt=none answers login_required', { timeout: TIMEOUT }, async () => {
    const config = clients.public;
    const ua = new UserAgent();
    // Without offline_access, the refresh token lives only as long as the portal session.
    const req = await authRequest(config, { scope: 'openid profile email' });
    const callback = await login(ua, req.url);
    const tokens = await client.authorizationCodeGrant(config, callback, {
      expectedState: req.state, expectedNonce: req.nonce, pkceCodeVerifier: req.codeVerifier,
    });
    await client.fetchUserInfo(config, tokens.access_token, env.userID);

    const logoutState = client.randomState();
    const endSession = client.buildEndSessionUrl(config, {
      id_token_hint: tokens.id_token,
      post_logout_redirect_uri: env.postLogoutRedirectURI,
      state: logoutState,
    });
    assert.equal(`${endSession.origin}${endSession.pathname}`, `${env.issuer}/logout`);

    // The end-session endpoint asks the logged-in user to confirm.
    const confirm = await ua.go(endSession);
    assert.ok(confirm.page, `end_session_endpoint redirected at once to ${confirm.rp}: the user must confirm`);
    assert.equal(confirm.page.status, 200, `confirmation page: HTTP ${confirm.page.status}\n${confirm.page.text.slice(0, 1000)}`);
    assert.match(confirm.page.text, new RegExp(env.email.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')), 'the page names the user');
    const form = parseForm(confirm.page);
    assert.ok(form.fields.get('csrf_token'), 'the form has a csrf_token');
    assert.equal(form.fields.get('post_logout_redirect_uri'), env.postLogoutRedirectURI, 'the form carries post_logout_redirect_uri');
    assert.equal(form.fields.get('state'), logoutState, 'the form carries state');

    // Submitting it ends the session and returns to the RP with the same state.
    const done = await ua.go(form.action, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: form.fields.toString(),
    });
    assert.ok(done.rp, `after confirming, expected a redirect to ${env.postLogoutRedirectURI}, got HTTP ${done.page?.status} at ${done.page?.url}\n${done.hops.join('\n')}`);
    assert.ok([302, 303].includes(done.redirect.status), `redirect status ${done.redirect.status} (a POST must not be re-sent)`);
    assert.equal(`${done.rp.origin}${done.rp.pathname}`, env.postLogoutRedirectURI, 'redirected to the registered post_logout_redirect_uri');
    assert.equal(done.rp.searchParams.get('state'), logoutState, 'state returned to the RP');
    assert.ok(!ua.jar.has(env.issuer, 'gatehouse_session'), 'the session cookie was cleared');

    // No session any more: a silent authorization request is answered with login_required,
    // which the library surfaces as an AuthorizationResponseError.
    const silent = await authRequest(config, { prompt: 'none' });
    const answer = await ua.go(silent.url);
    assert.ok(answer.rp, `prompt=none: expected a redirect to the RP, got HTTP ${answer.page?.status} at ${answer.page?.url}`);
    assertAtRedirectURI(answer.rp);
    assert.equal(answer.rp.searchParams.get('error'), 'login_required', `prompt=none answer: ${answer.rp}`);
    assert.equal(answer.rp.searchParams.get('code'), null, 'no code');
    await assert.rejects(client.authorizationCodeGrant(config, answer.rp, {
      expectedState: silent.state, expectedNonce: silent.nonce, pkceCodeVerifier: silent.codeVerifier,
    }), (err) => {
      assert.ok(err instanceof client.AuthorizationResponseError, `${err?.name}: ${err?.message}`);
      assert.equal(err.error, 'login_required');
      return true;
    });

    // The logout ended what the session issued (docs/auth-api.md, README).
    await assert.rejects(client.fetchUserInfo(config, tokens.access_token, env.userID),
      (err) => err instanceof client.WWWAuthenticateChallengeError && err.status === 401,
      'the access token of the ended session is refused by /userinfo');
    await rejectsWithOAuthError(client.refreshTokenGrant(config, tokens.refresh_token), 'invalid_grant',
      'the session-bound refresh token after logout');
  });
});

describe('forged authorization responses', () => {
  test('a tampered state, a missing iss or a foreign iss is rejected by the library before the code is redeemed', { timeout: TIMEOUT }, async () => {
    const config = clients.basic;
    const ua = new UserAgent();
    const req = await authRequest(config);
    const callback = await login(ua, req.url);
    const checks = { expectedState: req.state, expectedNonce: req.nonce, pkceCodeVerifier: req.codeVerifier };
    const forged = (edit) => {
      const u = new URL(callback);
      edit(u.searchParams);
      return u;
    };

    await rejectsAsInvalidResponse(client.authorizationCodeGrant(config, forged((q) => q.set('state', client.randomState())), checks),
      /"state"/, 'tampered state');
    await rejectsAsInvalidResponse(client.authorizationCodeGrant(config, forged((q) => q.delete('state')), checks),
      /"state" missing/, 'missing state');
    await rejectsAsInvalidResponse(client.authorizationCodeGrant(config, forged((q) => q.delete('iss')), checks),
      /"iss" \(issuer\) missing/, 'missing iss (mix-up defence, RFC 9207)');
    await rejectsAsInvalidResponse(client.authorizationCodeGrant(config, forged((q) => q.set('iss', 'http://127.0.0.1:1')), checks),
      /unexpected "iss"/, 'foreign iss');

    // None of these reached the token endpoint: the genuine response still redeems.
    const tokens = await client.authorizationCodeGrant(config, callback, checks);
    assert.equal(tokens.claims().sub, env.userID);

    // And a code is single use.
    await rejectsWithOAuthError(client.authorizationCodeGrant(config, callback, checks), 'invalid_grant', 'second redemption of a code');
  });

  test('an unregistered redirect_uri gets an error page (400), never a redirect', { timeout: TIMEOUT }, async () => {
    const ua = new UserAgent();
    // Logged in, so that a lax provider would have issued a code.
    const warmup = await authRequest(clients.public);
    await login(ua, warmup.url);

    const registered = new URL(env.redirectURI);
    const wrong = [
      `${env.redirectURI}/evil`,
      `${env.redirectURI}/`,
      `${env.redirectURI}?x=1`,
      `${registered.protocol}//localhost:${registered.port}${registered.pathname}`,
      `https://evil.example${registered.pathname}`,
    ];
    for (const [kind, config] of Object.entries(clients)) {
      for (const redirectURI of wrong) {
        const req = await authRequest(config, { redirect_uri: redirectURI });
        const r = await ua.request(req.url);
        assert.equal(r.status, 400, `${kind}, redirect_uri ${redirectURI}: HTTP ${r.status} (Location ${r.location})`);
        assert.equal(r.location, null, `${kind}, redirect_uri ${redirectURI}: no Location header`);
        assert.match(r.headers.get('content-type') ?? '', /text\/html/, `${kind}, redirect_uri ${redirectURI}: an error page`);
        assert.ok(!/[?&]code=/.test(r.text), `${kind}, redirect_uri ${redirectURI}: no authorization code on the error page`);
      }
    }
  });
});

describe('client credentials grant (machine client)', () => {
  test('clientCredentialsGrant issues an access token for the client itself: no refresh token, no ID token, no user', { timeout: TIMEOUT }, async () => {
    const issuedAfter = Math.floor(Date.now() / 1000) - 1;
    const tokens = await client.clientCredentialsGrant(machine, { scope: 'api:read' });
    assert.equal(tokens.token_type, 'bearer', 'token_type');
    assert.ok(tokens.access_token, 'access_token');
    assert.equal(tokens.refresh_token, undefined, 'no refresh_token (RFC 6749 §4.4.3)');
    assert.equal(tokens.id_token, undefined, 'no id_token');
    assert.equal(tokens.claims(), undefined, 'no ID token claims');
    assert.ok(tokens.expiresIn() > 0, 'expires_in');
    assert.deepEqual(scopes(tokens.scope), ['api:read'], 'granted scope');

    // An RFC 9068 access token that names the client, never a user.
    const { header, payload } = decodeJWT(tokens.access_token);
    assert.equal(header.typ, 'at+jwt', 'typ (RFC 9068)');
    assert.equal(payload.iss, env.issuer, 'iss');
    assert.equal(payload.sub, env.machineID, 'sub is the client');
    assert.equal(payload.client_id, env.machineID, 'client_id');
    assert.deepEqual([payload.aud].flat(), [env.machineID], 'aud is the client without a resource parameter');
    assert.equal(payload.scope, 'api:read', 'scope');
    assert.equal(payload.gty, 'client_credentials', 'gty marks a token that identifies no user');
    assert.ok(payload.iat >= issuedAfter && payload.exp > payload.iat, `iat ${payload.iat}, exp ${payload.exp}`);
    for (const claim of ['sid', 'auth_time', 'amr', 'email', 'name', 'groups']) {
      assert.equal(payload[claim], undefined, `no user claim ${claim}`);
    }

    // The client may introspect its token; /userinfo has no user to describe.
    const info = await client.tokenIntrospection(machine, tokens.access_token);
    assert.equal(info.active, true, 'active');
    assert.equal(info.client_id, env.machineID, 'introspection client_id');
    assert.equal(info.sub, env.machineID, 'introspection sub');
    assert.equal(info.scope, 'api:read', 'introspection scope');
    await rejectsAtUserinfo(client.fetchUserInfo(machine, tokens.access_token, client.skipSubjectCheck), 403, 'insufficient_scope',
      'a client_credentials token at /userinfo');

    // Several registered scopes at once.
    const both = await client.clientCredentialsGrant(machine, { scope: 'api:read api:write' });
    assert.deepEqual(scopes(both.scope), ['api:read', 'api:write'], 'two scopes');
    assert.deepEqual(scopes(decodeJWT(both.access_token).payload.scope), ['api:read', 'api:write'], 'two scopes in the token');
  });

  test('scope openid or offline_access (even registered for the client), or an unregistered scope, fails with invalid_scope', { timeout: TIMEOUT }, async () => {
    // rp-machine lists openid and offline_access: the grant itself refuses them (no user to
    // identify, no refresh token to issue).
    await rejectsWithOAuthError(client.clientCredentialsGrant(machine, { scope: 'openid' }), 'invalid_scope', 'scope openid');
    await rejectsWithOAuthError(client.clientCredentialsGrant(machine, { scope: 'openid api:read' }), 'invalid_scope', 'scope openid api:read');
    await rejectsWithOAuthError(client.clientCredentialsGrant(machine, { scope: 'api:read offline_access' }), 'invalid_scope', 'scope offline_access');
    await rejectsWithOAuthError(client.clientCredentialsGrant(machine, { scope: 'api:admin' }), 'invalid_scope', 'a scope not registered for the client');
  });

  test('a registered resource indicator becomes the audience; an unregistered or malformed one fails with invalid_target (RFC 8707)', { timeout: TIMEOUT }, async () => {
    const tokens = await client.clientCredentialsGrant(machine, { scope: 'api:read', resource: env.machineResource });
    const { payload } = decodeJWT(tokens.access_token);
    assert.deepEqual([payload.aud].flat(), [env.machineResource], 'aud is the requested resource');
    assert.equal(payload.client_id, env.machineID, 'client_id');
    const info = await client.tokenIntrospection(machine, tokens.access_token);
    assert.equal(info.active, true, 'the client may introspect a token it obtained for a resource');
    assert.deepEqual([info.aud].flat(), [env.machineResource], 'introspection aud');

    await rejectsWithOAuthError(client.clientCredentialsGrant(machine, { scope: 'api:read', resource: 'https://other.example.test' }),
      'invalid_target', 'an unregistered resource');
    await rejectsWithOAuthError(client.clientCredentialsGrant(machine, { scope: 'api:read', resource: `${env.machineResource}/v2` }),
      'invalid_target', 'a resource that merely starts with a registered one');
    await rejectsWithOAuthError(client.clientCredentialsGrant(machine, { scope: 'api:read', resource: 'api.example.test' }),
      'invalid_target', 'a relative resource');
    await rejectsWithOAuthError(client.clientCredentialsGrant(machine, { scope: 'api:read', resource: `${env.machineResource}#frag` }),
      'invalid_target', 'a resource with a fragment');
  });

  test('clients not registered for client_credentials are refused with unauthorized_client', { timeout: TIMEOUT }, async () => {
    for (const kind of ['basic', 'public']) {
      await rejectsWithOAuthError(client.clientCredentialsGrant(clients[kind], { scope: 'email' }),
        'unauthorized_client', `the ${kind} client`);
    }
  });
});

describe('token introspection and revocation', () => {
  test('tokenIntrospection reports the client\'s own access and refresh tokens active with client_id, scope and sub; to another client they are inactive', { timeout: TIMEOUT }, async () => {
    const config = clients.basic;
    const tokens = await codeFlow(config);
    const now = Math.floor(Date.now() / 1000);

    const at = await client.tokenIntrospection(config, tokens.access_token, { token_type_hint: 'access_token' });
    assert.equal(at.active, true, 'access token active');
    assert.equal(at.client_id, env.basicID, 'access token client_id');
    assert.equal(at.sub, env.userID, 'access token sub');
    assert.deepEqual(scopes(at.scope), scopes(SCOPE), 'access token scope');
    assert.equal(at.iss, env.issuer, 'access token iss');
    assert.ok([at.aud].flat().includes(env.basicID), `access token aud ${JSON.stringify(at.aud)} has the client`);
    assert.ok(at.exp > now, `access token exp ${at.exp} in the future`);
    assert.equal(at.sid, tokens.claims().sid, 'access token sid is the ID token\'s');
    assert.equal(at.jti, decodeJWT(tokens.access_token).payload.jti, 'access token jti');

    // Without a hint, and with a wrong one, the refresh token is still found.
    for (const hint of [undefined, 'refresh_token', 'access_token']) {
      const rt = await client.tokenIntrospection(config, tokens.refresh_token, hint ? { token_type_hint: hint } : undefined);
      assert.equal(rt.active, true, `refresh token active (hint ${hint})`);
      assert.equal(rt.client_id, env.basicID, 'refresh token client_id');
      assert.equal(rt.sub, env.userID, 'refresh token sub');
      assert.deepEqual(scopes(rt.scope), scopes(SCOPE), 'refresh token scope');
      assert.ok(rt.exp > now, `refresh token exp ${rt.exp} in the future`);
    }

    // Another client learns nothing about them (RFC 7662 §2.2), nor about garbage.
    for (const [what, token] of [['access token', tokens.access_token], ['refresh token', tokens.refresh_token],
      ['ID token', tokens.id_token], ['garbage', 'not-a-token']]) {
      assert.deepEqual({ ...await client.tokenIntrospection(clients.post, token) }, { active: false }, `${what} introspected by another client`);
    }
    assert.deepEqual({ ...await client.tokenIntrospection(config, 'not-a-token') }, { active: false }, 'garbage introspected by the client');
    assert.deepEqual({ ...await client.tokenIntrospection(config, tokens.id_token) }, { active: false }, 'an ID token is no access token');
    // Introspection did not use the tokens up.
    await client.fetchUserInfo(config, tokens.access_token, env.userID);
    assert.ok((await client.refreshTokenGrant(config, tokens.refresh_token)).access_token, 'the refresh token still works');
  });

  test('tokenRevocation of an access token makes it inactive and refused by userinfo; its refresh token stays active', { timeout: TIMEOUT }, async () => {
    const config = clients.basic;
    const tokens = await codeFlow(config);
    await client.fetchUserInfo(config, tokens.access_token, env.userID);

    await client.tokenRevocation(config, tokens.access_token, { token_type_hint: 'access_token' });
    assert.equal((await client.tokenIntrospection(config, tokens.access_token)).active, false, 'the revoked access token is inactive');
    await rejectsAtUserinfo(client.fetchUserInfo(config, tokens.access_token, env.userID), 401, 'invalid_token', 'the revoked access token at /userinfo');
    // Revoking it again is no error (RFC 7009 §2.2).
    await client.tokenRevocation(config, tokens.access_token);

    assert.equal((await client.tokenIntrospection(config, tokens.refresh_token)).active, true, 'the refresh token is still active');
    const next = await client.refreshTokenGrant(config, tokens.refresh_token);
    const info = await client.fetchUserInfo(config, next.access_token, env.userID);
    assert.equal(info.sub, env.userID, 'a new access token from the refresh token works');
  });

  test('tokenRevocation of the refresh token (token_type_hint refresh_token) revokes its grant: the refresh token and every access token of it are inactive and refused by userinfo', { timeout: TIMEOUT }, async () => {
    const config = clients.post;
    const first = await codeFlow(config);
    const second = await client.refreshTokenGrant(config, first.refresh_token);
    for (const [what, token] of [['the first access token', first.access_token], ['the second access token', second.access_token],
      ['the current refresh token', second.refresh_token]]) {
      assert.equal((await client.tokenIntrospection(config, token)).active, true, `${what} is active before the revocation`);
    }
    // A rotated refresh token is inactive; introspecting it is no replay (the grant lives on).
    assert.equal((await client.tokenIntrospection(config, first.refresh_token)).active, false, 'the rotated refresh token is inactive');
    assert.equal((await client.tokenIntrospection(config, second.refresh_token)).active, true, 'introspecting a rotated token did not revoke the grant');

    await client.tokenRevocation(config, second.refresh_token, { token_type_hint: 'refresh_token' });

    for (const [what, token] of [['the first access token', first.access_token], ['the second access token', second.access_token],
      ['the revoked refresh token', second.refresh_token]]) {
      assert.equal((await client.tokenIntrospection(config, token)).active, false, `${what} is inactive after the refresh token's revocation`);
    }
    await rejectsAtUserinfo(client.fetchUserInfo(config, first.access_token, env.userID), 401, 'invalid_token', 'the first access token at /userinfo');
    await rejectsAtUserinfo(client.fetchUserInfo(config, second.access_token, env.userID), 401, 'invalid_token', 'the second access token at /userinfo');
    await rejectsWithOAuthError(client.refreshTokenGrant(config, second.refresh_token), 'invalid_grant', 'the revoked refresh token');
    // Revoking it again is no error (RFC 7009 §2.2).
    await client.tokenRevocation(config, second.refresh_token, { token_type_hint: 'refresh_token' });
  });

  test('a public client revokes its own refresh token with client_id alone (token_endpoint_auth_method none)', { timeout: TIMEOUT }, async () => {
    const config = clients.public;
    const tokens = await codeFlow(config);
    await client.tokenRevocation(config, tokens.refresh_token);
    await rejectsWithOAuthError(client.refreshTokenGrant(config, tokens.refresh_token), 'invalid_grant', 'the revoked refresh token');
    await rejectsAtUserinfo(client.fetchUserInfo(config, tokens.access_token, env.userID), 401, 'invalid_token', 'the access token of the revoked grant');
  });

  test('tokenRevocation of an unknown token succeeds (RFC 7009 §2.2); another client\'s tokens are refused and stay active', { timeout: TIMEOUT }, async () => {
    await client.tokenRevocation(clients.basic, 'not-a-token');
    await client.tokenRevocation(clients.basic, 'not-a-token', { token_type_hint: 'refresh_token' });

    const config = clients.basic;
    const tokens = await codeFlow(config);
    for (const [what, token] of [['refresh token', tokens.refresh_token], ['access token', tokens.access_token]]) {
      await assert.rejects(client.tokenRevocation(clients.post, token), (err) => {
        assert.ok(err instanceof client.ResponseBodyError, `${err?.name}: ${err?.message}`);
        assert.equal(typeof err.error, 'string', 'an OAuth error code');
        return true;
      }, `another client revoking the ${what}`);
      assert.equal((await client.tokenIntrospection(config, token)).active, true, `the ${what} is still active`);
    }
  });

  test('a public client cannot introspect: the endpoint requires client authentication (RFC 7662 §2.1, introspection_endpoint_auth_methods_supported)', { timeout: TIMEOUT }, async () => {
    const config = clients.public;
    assert.ok(!config.serverMetadata().introspection_endpoint_auth_methods_supported.includes('none'), 'none is not advertised for introspection');
    const tokens = await codeFlow(config);
    for (const [what, token] of [['access token', tokens.access_token], ['refresh token', tokens.refresh_token]]) {
      await rejectsWithOAuthError(client.tokenIntrospection(config, token), 'invalid_client', `introspection of its own ${what} with client_id alone`);
    }
  });
});

describe('claims request parameter', () => {
  // Set through the admin API (PATCH /gatehouse/users/{id}). Not in the scopes the test asks
  // for (openid email), so each claim is released because the claims parameter requests it.
  const profile = {
    phone_number: '+14155550123',
    birthday: '1815-12-10',
    address: { street_address: '12 St James\'s Square', locality: 'London', postal_code: 'SW1Y 4JH', country: 'GB' },
    roles: ['analyst', 'author'],
    custom_data: { plan: 'pro', seats: 5, internal: 'not requested' },
  };
  const claims = {
    id_token: { phone_number: null, birthday: { essential: true }, custom_data: { fields: ['plan', 'seats', 'absent'] } },
    userinfo: { address: null, roles: null },
  };

  test('claims requested for the ID token and for userinfo are released there, custom_data narrowed to the requested fields; a refresh keeps them', { timeout: TIMEOUT }, async () => {
    const user = await adminAPI('PATCH', `/gatehouse/users/${encodeURIComponent(env.userID)}`, profile);
    assert.equal(user.id, env.userID, 'the admin API patched the test user');
    assert.equal(user.phone_number, profile.phone_number, 'admin API: phone_number');
    assert.deepEqual(user.custom_data, profile.custom_data, 'admin API: custom_data');

    const config = clients.basic;
    const tokens = await codeFlow(config, { scope: 'openid email', claims: JSON.stringify(claims) });
    const checkIDToken = (c, where) => {
      assert.equal(c.sub, env.userID, `${where}: sub`);
      assert.equal(c.email, env.email, `${where}: email (scope)`);
      assert.equal(c.phone_number, profile.phone_number, `${where}: phone_number (requested)`);
      assert.equal(c.birthday, profile.birthday, `${where}: birthday (requested, essential)`);
      assert.deepEqual(c.custom_data, { plan: 'pro', seats: 5 }, `${where}: custom_data has only the requested fields that exist`);
      for (const name of ['address', 'roles', 'phone_number_verified', 'birthdate', 'name', 'given_name']) {
        assert.equal(c[name], undefined, `${where}: ${name} is neither in the scopes nor requested for the ID token`);
      }
    };
    const checkUserinfo = (info, where) => {
      assert.equal(info.sub, env.userID, `${where}: sub`);
      assert.equal(info.email, env.email, `${where}: email (scope)`);
      assert.deepEqual(info.address, profile.address, `${where}: address (requested)`);
      assert.deepEqual(info.roles, profile.roles, `${where}: roles (requested)`);
      for (const name of ['phone_number', 'birthday', 'custom_data', 'name']) {
        assert.equal(info[name], undefined, `${where}: ${name} is neither in the scopes nor requested for userinfo`);
      }
    };
    checkIDToken(tokens.claims(), 'ID token');
    checkUserinfo(await client.fetchUserInfo(config, tokens.access_token, env.userID), 'userinfo');

    // The grant remembers the claims request (OIDC Core §12.2: same claims on refresh).
    const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token);
    checkIDToken(refreshed.claims(), 'refreshed ID token');
    checkUserinfo(await client.fetchUserInfo(config, refreshed.access_token, env.userID), 'userinfo after refresh');
  });

  test('a malformed claims parameter is answered with invalid_request at the redirect URI', { timeout: TIMEOUT }, async () => {
    const config = clients.basic;
    for (const bad of ['{not json', '["id_token"]', JSON.stringify({ id_token: { email: { unknown_member: true } } })]) {
      const req = await authRequest(config, { claims: bad });
      const answer = await new UserAgent().go(req.url);
      assert.ok(answer.rp, `claims ${bad}: expected a redirect to the RP, got HTTP ${answer.page?.status} at ${answer.page?.url}`);
      assertAtRedirectURI(answer.rp);
      await assert.rejects(client.authorizationCodeGrant(config, answer.rp, {
        expectedState: req.state, expectedNonce: req.nonce, pkceCodeVerifier: req.codeVerifier,
      }), (err) => {
        assert.ok(err instanceof client.AuthorizationResponseError, `${err?.name}: ${err?.message}`);
        assert.equal(err.error, 'invalid_request', `claims ${bad}: error (${err.error_description})`);
        return true;
      }, `claims ${bad}`);
    }
  });
});

describe('refresh with another scope', () => {
  test('refreshTokenGrant with a narrower scope issues narrower tokens; without scope the grant\'s full scope returns; a wider scope fails with invalid_scope', { timeout: TIMEOUT }, async () => {
    const config = clients.post;
    const tokens = await codeFlow(config);

    const narrow = await client.refreshTokenGrant(config, tokens.refresh_token, { scope: 'openid email' });
    assert.deepEqual(scopes(narrow.scope), ['email', 'openid'], 'the token response\'s scope is the narrower one');
    assert.deepEqual(scopes(decodeJWT(narrow.access_token).payload.scope), ['email', 'openid'], 'the access token\'s scope');
    const id = narrow.claims();
    assert.ok(id, 'an ID token (openid kept)');
    assert.equal(id.email, env.email, 'ID token: email (kept)');
    for (const name of ['name', 'given_name', 'family_name']) {
      assert.equal(id[name], undefined, `ID token: no ${name} without the profile scope`);
    }
    const info = await client.fetchUserInfo(config, narrow.access_token, env.userID);
    assert.equal(info.email, env.email, 'userinfo: email');
    assert.equal(info.name, undefined, 'userinfo: no name without the profile scope');
    assert.ok(narrow.refresh_token, 'a rotated refresh token');

    // Beyond what was granted: refused, and the refresh token is not used up by the refusal.
    await rejectsWithOAuthError(client.refreshTokenGrant(config, narrow.refresh_token, { scope: 'openid email phone' }),
      'invalid_scope', 'a scope never granted (phone)');
    await rejectsWithOAuthError(client.refreshTokenGrant(config, narrow.refresh_token, { scope: `${SCOPE} read:docs` }),
      'invalid_scope', 'the granted scopes plus one the client is not registered for');

    // Narrowing one refresh does not shrink the grant (RFC 6749 §6: omitted scope = the
    // scope originally granted).
    const full = await client.refreshTokenGrant(config, narrow.refresh_token);
    assert.deepEqual(scopes(full.scope), scopes(SCOPE), 'the original scope');
    assert.equal(full.claims().name, `${env.givenName} ${env.familyName}`, 'ID token: name again (profile)');
  });
});

// Keep this suite last: the rotation replaces the signing key that the JWK Sets cached by
// the configurations above hold, and openid-client refetches a cached set only once it is a
// minute old.
describe('signing key rotation', () => {
  test('after an immediate RS256 rotation through the admin API a new ID token has a new kid, which openid-client validates by refetching its cached JWK Set', { timeout: TIMEOUT }, async () => {
    // A relying party validates an ID token and caches the JWK Set.
    const rp = await discover(env.basicID, env.basicSecret, client.ClientSecretBasic(env.basicSecret));
    const ua = new UserAgent();
    const before = await codeFlow(rp, { ua });
    const oldKid = decodeJWT(before.id_token).header.kid;
    assert.equal(decodeJWT(before.id_token).header.alg, 'RS256', 'ID tokens are RS256');
    const cached = client.getJwksCache(rp);
    assert.ok(cached?.jwks?.keys.some((k) => k.kid === oldKid), 'openid-client cached the JWK Set with the signing key');

    const rotated = await adminAPI('POST', '/gatehouse/keys/rotate', { alg: 'RS256', immediate: true });
    assert.equal(rotated.created?.length, 1, 'one key created');
    const newKid = rotated.created[0].kid;
    assert.equal(rotated.created[0].alg, 'RS256', 'the new key is RS256');
    assert.notEqual(newKid, oldKid, 'a new kid');
    const listed = Object.fromEntries(rotated.keys.map((k) => [k.kid, k]));
    assert.equal(listed[newKid]?.signing, true, 'the new key signs at once (immediate)');
    assert.equal(listed[oldKid]?.signing, false, 'the old key is still listed, no longer signing');
    const published = (await (await fetch(new URL('/jwks', env.issuer))).json()).keys.map((k) => k.kid);
    assert.ok(published.includes(newKid), '/jwks publishes the new key');
    assert.ok(published.includes(oldKid), '/jwks still publishes the old key (its tokens are still valid)');
    assert.ok(!cached.jwks.keys.some((k) => k.kid === newKid), 'the cached JWK Set does not know the new kid');

    // What the old key signed stays valid.
    assert.equal((await client.fetchUserInfo(rp, before.access_token, env.userID)).sub, env.userID, 'an access token signed before the rotation');

    // openid-client refetches a cached JWK Set on an unknown kid only when the set is at least
    // 60 s old (oauth4webapi's guard against refetch storms): give this relying party the set
    // cached above as if fetched 61 s ago. A new login (same session) is signed with the new
    // key, and the library validates it after refetching /jwks.
    const aged = await discover(env.basicID, env.basicSecret, client.ClientSecretBasic(env.basicSecret));
    client.setJwksCache(aged, { ...cached, uat: cached.uat - 61 });
    const after = await codeFlow(aged, { ua });
    assert.equal(decodeJWT(after.id_token).header.kid, newKid, 'the new ID token is signed with the new key');
    assert.equal(decodeJWT(after.access_token).header.kid, newKid, 'so is the new access token (RS256)');
    assert.equal(after.claims().sub, env.userID, 'the new ID token validated');
    const refetched = client.getJwksCache(aged);
    assert.ok(refetched.jwks.keys.some((k) => k.kid === newKid), 'the library refetched the JWK Set');
    assert.ok(refetched.uat > cached.uat - 61, 'the cache is fresh');
    assert.equal((await client.fetchUserInfo(aged, after.access_token, env.userID)).sub, env.userID, 'the new access token at /userinfo');

    // Contrast: the relying party whose set is under a minute old does not refetch yet and
    // refuses the new kid (OAUTH_KEY_SELECTION) — after an immediate rotation, such relying
    // parties fail for up to a minute; a scheduled rotation publishes keys 5 minutes ahead.
    await assert.rejects(codeFlow(rp, { ua }), (err) => {
      assert.ok(err instanceof client.ClientError, `${err?.name}: ${err?.message}`);
      assert.equal(err.code, 'OAUTH_KEY_SELECTION_FAILED', `${err.message} (${err.cause?.message})`);
      return true;
    }, 'a JWK Set cached less than a minute ago');
  });
});
