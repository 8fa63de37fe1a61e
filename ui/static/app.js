// Progressive enhancement: forms carrying data-api are submitted to the JSON authentication
// API instead of the HTML endpoint, so errors show without a page reload. Without JavaScript
// the same forms post to the HTML endpoints, which share the API's implementation.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  for (const form of document.querySelectorAll("form[data-api]")) {
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const box = document.querySelector("[data-error]");
      const button = form.querySelector("button[type=submit]");
      const body = {};
      for (const [k, v] of new FormData(form)) if (k !== "csrf_token") body[k] = v;
      button.disabled = true;
      try {
        const res = await fetch(form.dataset.api, {
          method: "POST",
          credentials: "same-origin",
          headers: { "Content-Type": "application/json", "Accept": "application/json" },
          body: JSON.stringify(body),
        });
        const data = await res.json().catch(() => ({}));
        if (res.ok && data.redirect_to) {
          window.location.assign(data.redirect_to);
          return;
        }
        box.textContent = data.message || "Something went wrong. Try again.";
        box.hidden = false;
      } catch (e) {
        form.submit(); // network or parsing trouble: fall back to the plain form
        return;
      } finally {
        button.disabled = false;
      }
    });
  }
});
