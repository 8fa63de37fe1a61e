// Progressive enhancement of the hosted pages.
//
// 1. Forms carrying data-api are submitted to the JSON authentication API instead of the
//    HTML endpoint, so errors show without a page reload. Without JavaScript the same forms
//    post to the HTML endpoints, which share the API's implementation.
// 2. The magic-link page moves the link's token from the URL fragment into its form, and a
//    social login's form_post answer is posted again from the portal (data-autosubmit).
// 3. Passkey ceremonies (WebAuthn needs JavaScript): sign-up, login (button and browser
//    autofill), second factor / step-up, transaction approval, and adding a passkey on the
//    account page. Each calls
//    <api>/begin for the options, runs navigator.credentials, and posts the result to
//    <api>/finish.
"use strict";

const b64u = {
  decode(s) {
    s = s.replace(/-/g, "+").replace(/_/g, "/");
    const bin = atob(s + "===".slice((s.length + 3) % 4));
    return Uint8Array.from(bin, (c) => c.charCodeAt(0)).buffer;
  },
  encode(buf) {
    const bytes = new Uint8Array(buf);
    let bin = "";
    for (const b of bytes) bin += String.fromCharCode(b);
    return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  },
};

function showError(msg) {
  const box = document.querySelector("[data-error]");
  if (!box) return;
  box.textContent = msg;
  box.hidden = false;
}

async function postJSON(url, body) {
  const res = await fetch(url, {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", Accept: "application/json" },
    body: JSON.stringify(body || {}),
  });
  const data = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(data.message || "Something went wrong. Try again.");
  return data;
}

// Options from the server (base64url strings) to the browser's format (ArrayBuffers).
function creationOptions(o) {
  const pk = o.publicKey;
  pk.challenge = b64u.decode(pk.challenge);
  pk.user.id = b64u.decode(pk.user.id);
  for (const c of pk.excludeCredentials || []) c.id = b64u.decode(c.id);
  return pk;
}

function requestOptions(o) {
  const pk = o.publicKey;
  pk.challenge = b64u.decode(pk.challenge);
  for (const c of pk.allowCredentials || []) c.id = b64u.decode(c.id);
  return pk;
}

function credentialJSON(cred) {
  const r = cred.response;
  const out = {
    id: cred.id,
    rawId: b64u.encode(cred.rawId),
    type: cred.type,
    authenticatorAttachment: cred.authenticatorAttachment || undefined,
    clientExtensionResults: cred.getClientExtensionResults ? cred.getClientExtensionResults() : {},
    response: { clientDataJSON: b64u.encode(r.clientDataJSON) },
  };
  if (r.attestationObject) {
    out.response.attestationObject = b64u.encode(r.attestationObject);
    if (r.getTransports) out.response.transports = r.getTransports();
  } else {
    out.response.authenticatorData = b64u.encode(r.authenticatorData);
    out.response.signature = b64u.encode(r.signature);
    if (r.userHandle) out.response.userHandle = b64u.encode(r.userHandle);
  }
  return out;
}

function fieldsOf(form) {
  const body = {};
  if (!form) return body;
  for (const [k, v] of new FormData(form)) if (k !== "csrf_token" && k !== "password") body[k] = v;
  return body;
}

async function register(api, beginBody, finishBody) {
  const options = await postJSON(api + "/begin", beginBody);
  const cred = await navigator.credentials.create({ publicKey: creationOptions(options) });
  return postJSON(api + "/finish", Object.assign({ credential: credentialJSON(cred) }, finishBody));
}

async function assert(api, beginBody, finishBody, mediation, signal) {
  const options = await postJSON(api + "/begin", beginBody);
  const cred = await navigator.credentials.get({ publicKey: requestOptions(options), mediation, signal });
  if (!cred) throw new Error("No passkey was chosen.");
  return postJSON(api + "/finish", Object.assign({ credential: credentialJSON(cred) }, finishBody));
}

function friendly(err) {
  if (err && (err.name === "NotAllowedError" || err.name === "AbortError")) return "The passkey request was cancelled or timed out.";
  if (err && err.name === "InvalidStateError") return "This passkey is already registered.";
  return (err && err.message) || "Something went wrong. Try again.";
}

document.addEventListener("DOMContentLoaded", () => {
  for (const form of document.querySelectorAll("form[data-api]")) {
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const button = form.querySelector("button[type=submit]");
      const body = {};
      for (const [k, v] of new FormData(form)) if (k !== "csrf_token") body[k] = v;
      button.disabled = true;
      try {
        const res = await fetch(form.dataset.api, {
          method: "POST",
          credentials: "same-origin",
          headers: { "Content-Type": "application/json", Accept: "application/json" },
          body: JSON.stringify(body),
        });
        const data = await res.json().catch(() => ({}));
        if (res.ok && data.redirect_to) {
          window.location.assign(data.redirect_to);
          return;
        }
        showError(data.message || "Something went wrong. Try again.");
      } catch (e) {
        form.submit(); // network or parsing trouble: fall back to the plain form
        return;
      } finally {
        button.disabled = false;
      }
    });
  }

  // Magic link: the token arrives in the URL fragment, which browsers never send to a server
  // or in a Referer; move it into the form and clear it from the address bar.
  const magic = document.querySelector("[data-magic-token]");
  if (magic && !magic.value && location.hash.length > 1) {
    // Tokens are URL-safe base64: nothing to decode.
    magic.value = location.hash.slice(1);
    history.replaceState(null, "", location.pathname);
  }

  // A social login's answer posted from the provider's site, posted again from here so the
  // browser sends the portal's cookies.
  const repost = document.querySelector("form[data-autosubmit]");
  if (repost) repost.submit();

  if (!window.PublicKeyCredential) {
    // No WebAuthn: passkey controls stay hidden. The second-factor page cannot go on without
    // one, so it says why instead of offering a button that does nothing.
    for (const el of document.querySelectorAll("[data-passkey-mfa]")) {
      el.querySelector("[data-passkey-button]").disabled = true;
      showError("This browser cannot use passkeys, which this login needs. Use a browser that supports them.");
    }
    return;
  }

  for (const el of document.querySelectorAll("[data-passkey-signup]")) {
    el.hidden = false;
    const form = el.closest("form");
    el.querySelector("[data-passkey-button]").addEventListener("click", async () => {
      if (!form.reportValidity || !form.querySelector("input[name=email]").reportValidity()) return;
      try {
        const data = await register(el.dataset.api, fieldsOf(form), { return_to: el.dataset.returnTo });
        window.location.assign(data.redirect_to);
      } catch (e) {
        showError(friendly(e));
      }
    });
  }

  for (const el of document.querySelectorAll("[data-passkey-login]")) {
    el.hidden = false;
    const finish = { return_to: el.dataset.returnTo };
    let autofill = null;
    // The autofill request's /begin answer sets the ceremony cookie: a click waits for it,
    // so that the button's own ceremony cookie is the one that stays.
    let autofillBegin = Promise.resolve();
    el.querySelector("[data-passkey-button]").addEventListener("click", async () => {
      if (autofill) autofill.abort();
      await autofillBegin.catch(() => {});
      try {
        const data = await assert(el.dataset.api, {}, finish);
        window.location.assign(data.redirect_to);
      } catch (e) {
        showError(friendly(e));
      }
    });
    // Browser autofill (conditional mediation): the passkeys appear in the email field's
    // suggestions.
    if (PublicKeyCredential.isConditionalMediationAvailable) {
      PublicKeyCredential.isConditionalMediationAvailable().then(async (ok) => {
        if (!ok) return;
        autofill = new AbortController();
        try {
          autofillBegin = postJSON(el.dataset.api + "/begin", {});
          const options = await autofillBegin;
          const cred = await navigator.credentials.get({ publicKey: requestOptions(options), mediation: "conditional", signal: autofill.signal });
          if (!cred) return;
          const data = await postJSON(el.dataset.api + "/finish", Object.assign({ credential: credentialJSON(cred) }, finish));
          window.location.assign(data.redirect_to);
        } catch (e) {
          if (e.name !== "AbortError") showError(friendly(e));
        }
      });
    }
  }

  for (const el of document.querySelectorAll("[data-passkey-mfa]")) {
    el.querySelector("[data-passkey-button]").addEventListener("click", async () => {
      try {
        const data = await assert(el.dataset.api, {}, { return_to: el.dataset.returnTo });
        window.location.assign(data.redirect_to);
      } catch (e) {
        showError(friendly(e));
      }
    });
  }

  // Transaction approval: the assertion's challenge is bound to the transaction shown.
  for (const el of document.querySelectorAll("[data-passkey-approve]")) {
    el.hidden = false;
    el.querySelector("[data-passkey-button]").addEventListener("click", async () => {
      try {
        const data = await assert(el.dataset.api, { request: el.dataset.request }, { request: el.dataset.request });
        window.location.assign(data.redirect_to);
      } catch (e) {
        showError(friendly(e));
      }
    });
  }

  for (const el of document.querySelectorAll("[data-passkey-register]")) {
    el.hidden = false;
    el.querySelector("[data-passkey-button]").addEventListener("click", async () => {
      const name = (el.querySelector("input[name=passkey_name]") || {}).value || "";
      try {
        await register(el.dataset.api, {}, { name });
        window.location.reload();
      } catch (e) {
        showError(friendly(e));
      }
    });
  }
});
