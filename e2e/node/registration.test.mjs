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
});
