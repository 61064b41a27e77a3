/* The exports page while an export is being built, within the strict CSP (script-src 'self').
 *
 * Progressive enhancement, like package-status.js: without it the page has a "Refresh" link.
 * With it, the page asks every two seconds whether anything is still being built and reloads
 * once when nothing is, to show the download.
 */
(function () {
  "use strict";
  var box = document.getElementById("export-list");
  if (!box || !box.dataset.statusUrl || !window.fetch) {
    return;
  }
  var url = box.dataset.statusUrl;
  var failures = 0;

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) {
          throw new Error(String(response.status));
        }
        return response.json();
      })
      .then(function (state) {
        failures = 0;
        if (!state.pending) {
          window.location.reload();
          return;
        }
        window.setTimeout(poll, 2000);
      })
      .catch(function () {
        failures += 1;
        window.setTimeout(poll, Math.min(30000, 2000 * Math.pow(2, failures)));
      });
  }

  var refresh = document.querySelectorAll(".export-refresh");
  for (var i = 0; i < refresh.length; i += 1) {
    refresh[i].hidden = true; /* the page updates itself now */
  }
  window.setTimeout(poll, 2000);
})();
