// Dynamic client registration (RFC 7591) driven by openid-client
// (https://github.com/panva/openid-client), the OpenID-certified relying-party library for
// Node.js: its dynamicClientRegistration() discovers the registration_endpoint, registers a
// client with an initial access token and returns a Configuration that then works at the
// token and introspection endpoints with the issued secret.
//
// Run by TestOpenIDClientDynamicRegistration (e2e/registration_node_test.go), which starts
// Gatehouse with `registration open { initial_access_token ... }` and passes its URL and the
// token in GATEHOUSE_* environment variables.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import * as client from 'openid-client';

function required(name) {
  const v = process.env[name];
  if (!v) {
    throw new Error(`environment variable ${name} is not set; run this through TestOpenIDClientDynamicRegistration`);
  }
  return v;
}

const issuer = new URL(required('GATEHOUSE_ISSUER'));
const initialAccessToken = required('GATEHOUSE_INITIAL_ACCESS_TOKEN');
const redirectURI = required('GATEHOUSE_REDIRECT_URI');
const email = required('GATEHOUSE_USER_EMAIL');
const password = required('GATEHOUSE_USER_PASSWORD');
const TIMEOUT = 30_000;
const insecure = { execute: [client.allowInsecureRequests] };

/** rejectsWithOAuthError asserts that promise rejects with an OAuth error response. */
async function rejectsWithOAuthError(promise, error, status, message) {
  await assert.rejects(promise, (err) => {
    assert.ok(err instanceof client.ResponseBodyError, `${message}: expected ResponseBodyError, got ${err?.name}: ${err?.message}`);
    assert.equal(err.error, error, `${message}: error (${err.error_description})`);
    assert.equal(err.status, status, `${message}: status`);
    return true;
  }, message);
}

/** rejectsWithChallenge asserts a 401 with an RFC 6750 Bearer challenge carrying error. */
async function rejectsWithChallenge(promise, error, message) {
  await assert.rejects(promise, (err) => {
    assert.ok(err instanceof client.WWWAuthenticateChallengeError, `${message}: expected WWWAuthenticateChallengeError, got ${err?.name}: ${err?.message}`);
    assert.equal(err.status, 401, `${message}: status`);
    assert.equal(err.cause[0]?.scheme, 'bearer', `${message}: scheme`);
    assert.equal(err.cause[0]?.parameters.error, error, `${message}: error`);
    return true;
  }, message);
}

/**
 * Browser is a minimal user agent for the issuer: a cookie jar (one host) and manual
 * redirects; a redirect to the relying party is returned (as rp), never fetched.
 */
class Browser {
  jar = new Map();

  async request(url, { method = 'GET', headers = {}, body } = {}) {
    const h = new Headers(headers);
    if (this.jar.size) h.set('cookie', [...this.jar].map(([k, v]) => `${k}=${v}`).join('; '));
    const res = await fetch(url, { method, headers: h, body, redirect: 'manual' });
    for (const line of res.headers.getSetCookie()) {
      const pair = line.split(';')[0];
      const eq = pair.indexOf('=');
      if (eq > 0) this.jar.set(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim());
    }
    const location = res.headers.get('location');
    return { url: new URL(url), status: res.status, text: await res.text(), location: location && new URL(location, url) };
  }

  /** go follows redirects until a page ({page}) or a redirect to the relying party ({rp}). */
  async go(url, init = {}) {
    for (let i = 0; i < 20; i++) {
      const r = await this.request(url, init);
      if (r.status < 300 || r.status > 399 || !r.location) return { page: r };
      if (r.location.origin === new URL(redirectURI).origin) return { rp: r.location };
      [url, init] = [r.location, {}];
    }
    throw new Error(`too many redirects from ${url}`);
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

/**
 * consentPage sends the browser to the authorization URL and asserts that it stops at the
 * consent page — never at the relying party, so no code — and returns its form fields.
 */
async function consentPage(browser, authorizationUrl) {
  const { page, rp } = await browser.go(authorizationUrl);
  assert.equal(rp, undefined, `the registered client got an answer without the user being asked: ${rp}`);
  assert.equal(page.status, 200, `consent page: HTTP ${page.status} at ${page.url}`);
  assert.match(page.text, /data-consent-form/, `not the consent page at ${page.url}:\n${page.text.slice(0, 1000)}`);
  assert.match(page.text, /data-registered/, 'the consent page does not say that the client registered itself');
  const fields = new URLSearchParams();
  for (const [, name, value] of page.text.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) {
    fields.append(name, htmlUnescape(value));
  }
  return fields;
}

/** decide posts the consent form with decision and returns the answer at the relying party. */
async function decide(browser, fields, decision) {
  fields.set('decision', decision);
  const { rp, page } = await browser.go(new URL('authorize/consent', issuer.href.replace(/\/?$/, '/')), {
    method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: fields.toString(),
  });
  assert.ok(rp, `after ${decision}: HTTP ${page?.status} at ${page?.url}, not a redirect to the client`);
  return rp;
}

describe('dynamic client registration (RFC 7591) with openid-client', () => {
  test('RFC 7591 §3: without the initial access token, or with a wrong one, registration is refused (401 with a Bearer invalid_token challenge)', { timeout: TIMEOUT }, async () => {
    const metadata = { redirect_uris: [redirectURI] };
    await rejectsWithChallenge(client.dynamicClientRegistration(issuer, metadata, undefined, insecure), 'invalid_token', 'no token');
    await rejectsWithChallenge(client.dynamicClientRegistration(issuer, metadata, undefined, { ...insecure, initialAccessToken: 'wrong' }),
      'invalid_token', 'wrong token');
  });

  test('RFC 7591 §3.2.2: a cleartext redirect URI is refused with invalid_redirect_uri', { timeout: TIMEOUT }, async () => {
    await rejectsWithOAuthError(client.dynamicClientRegistration(issuer, { redirect_uris: ['http://rp.example/cb'] }, undefined,
      { ...insecure, initialAccessToken }), 'invalid_redirect_uri', 400, 'http redirect URI');
  });

  test('a registered confidential machine client gets tokens with its issued secret at once (open mode)', { timeout: TIMEOUT }, async () => {
    const config = await client.dynamicClientRegistration(issuer, {
      client_name: 'openid-client machine', grant_types: ['client_credentials'], response_types: [],
      token_endpoint_auth_method: 'client_secret_basic',
    }, client.ClientSecretBasic(), { ...insecure, initialAccessToken });
    const meta = config.clientMetadata();
    assert.ok(meta.client_id, 'client_id');
    assert.ok(meta.client_secret, 'client_secret');
    assert.equal(meta.client_secret_expires_at, 0);
    assert.ok(meta.registration_access_token, 'registration_access_token');
    assert.equal(meta.registration_client_uri, `${issuer.href.replace(/\/$/, '')}/register/${meta.client_id}`);

    const tokens = await client.clientCredentialsGrant(config);
    assert.ok(tokens.access_token, 'access token');
    const info = await client.tokenIntrospection(config, tokens.access_token);
    assert.equal(info.active, true);
    assert.equal(info.client_id, meta.client_id);

    // RFC 7592 §2.1: the registration access token reads the registration.
    const read = await fetch(meta.registration_client_uri, { headers: { authorization: `Bearer ${meta.registration_access_token}` } });
    assert.equal(read.status, 200);
    assert.equal((await read.json()).client_name, 'openid-client machine');
  });

  // RFC 6819 §4.2.2 (malicious client obtains existing authorization by fraud) and RFC 7591 §5
  // (client metadata is self-asserted): a registered client is a third party, so a logged-in
  // user is asked first (OIDC Core §3.1.2.4) and no code leaves before Allow.
  test('a registered web client gets a code only after the user allows it on the consent page; Deny answers access_denied', { timeout: TIMEOUT }, async () => {
    const config = await client.dynamicClientRegistration(issuer, {
      client_name: 'openid-client web app', redirect_uris: [redirectURI], consent_required: false,
    }, client.ClientSecretBasic(), { ...insecure, initialAccessToken });
    const browser = new Browser();
    const verifier = client.randomPKCECodeVerifier();
    const challenge = await client.calculatePKCECodeChallenge(verifier);
    const authorizationUrl = (state) => client.buildAuthorizationUrl(config, {
      redirect_uri: redirectURI, scope: 'openid email', state, code_challenge: challenge, code_challenge_method: 'S256',
    });

    // Log in (JSON API) on the way to the first authorization request.
    let state = client.randomState();
    const start = await browser.go(authorizationUrl(state));
    assert.equal(start.page?.url.pathname, '/login', 'not logged in yet: expected the login page');
    const returnTo = start.page.url.searchParams.get('return_to');
    const login = await browser.request(new URL('/api/v1/login/password', issuer), {
      method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ email, password, return_to: returnTo }),
    });
    assert.equal(login.status, 200, `JSON login: HTTP ${login.status} ${login.text}`);

    // Deny: the library sees access_denied (RFC 6749 §4.1.2.1) and gets no tokens.
    let fields = await consentPage(browser, new URL(JSON.parse(login.text).redirect_to, issuer));
    const denied = await decide(browser, fields, 'deny');
    assert.equal(denied.searchParams.get('code'), null, 'a code after Deny');
    await assert.rejects(client.authorizationCodeGrant(config, denied, { pkceCodeVerifier: verifier, expectedState: state }),
      (err) => err instanceof client.AuthorizationResponseError && err.error === 'access_denied', 'Deny: access_denied');

    // Asked again; Allow: a code the library exchanges with the issued secret.
    state = client.randomState();
    fields = await consentPage(browser, authorizationUrl(state));
    const allowed = await decide(browser, fields, 'allow');
    const tokens = await client.authorizationCodeGrant(config, allowed, { pkceCodeVerifier: verifier, expectedState: state });
    assert.ok(tokens.access_token, 'access token');
    assert.equal(tokens.claims()?.email, email);
  });
});
