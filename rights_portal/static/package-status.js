/* Live progress of an access package build, within the strict CSP (script-src 'self').
 *
 * Progressive enhancement: without this script the page shows the progress when it was loaded
 * and a "Refresh" link. With it, the page asks the server every two seconds and updates the
 * bar and the status in place; when the build is done, failed or stuck it reloads once to show
 * the outcome (the letter, the release button, or the error with "try again").
 */
(function () {
  "use strict";
  var box = document.getElementById("build-progress-box");
  if (!box || !box.dataset.progressUrl || !window.fetch) {
    return;
  }
  var url = box.dataset.progressUrl;
  var bar = document.getElementById("build-progress");
  var text = document.getElementById("build-progress-text");
  var status = document.getElementById("build-status");
  var refresh = document.getElementById("build-refresh");
  var template = text ? text.textContent.replace(/\d+/, "{percent}") : "{percent}%";
  var failures = 0;

  function show(state) {
    if (bar) {
      bar.value = state.progress;
      bar.textContent = state.progress + "%";
    }
    if (text) {
      text.textContent = template.replace("{percent}", String(state.progress));
    }
    if (status && status.textContent !== state.status_label) {
      status.textContent = state.status_label;
    }
  }

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
        show(state);
        if (!state.in_progress || state.stuck) {
          window.location.reload();
          return;
        }
        window.setTimeout(poll, 2000);
      })
      .catch(function () {
        failures += 1;
        // The refresh link stays for whoever wants to try by hand; keep asking, more slowly.
        window.setTimeout(poll, Math.min(30000, 2000 * Math.pow(2, failures)));
      });
  }

  if (refresh) {
    refresh.hidden = true; /* the page updates itself now */
  }
  window.setTimeout(poll, 2000);
})();
