// Tenon's page script. No inline scripts anywhere: the CSP allows scripts from 'self' only.
(function () {
  "use strict";

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : null;
  }

  // htmx: never evaluate strings as code, never keep page HTML in localStorage.
  function configureHtmx() {
    if (window.htmx && window.htmx.config) {
      window.htmx.config.allowEval = false;
      window.htmx.config.historyCacheSize = 0;
      window.htmx.config.selfRequestsOnly = true;
    }
  }

  // Every htmx request carries the session's CSRF token in X-CSRF-Token.
  document.addEventListener("htmx:configRequest", function (event) {
    var token = csrfToken();
    if (token) {
      event.detail.headers["X-CSRF-Token"] = token;
    }
  });

  configureHtmx();
  document.addEventListener("DOMContentLoaded", configureHtmx);
})();
