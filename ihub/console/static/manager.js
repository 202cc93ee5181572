// The Integration Manager's live status: every element with data-poll (an unfinished action log)
// asks its JSON route every second and updates its status, message and time until the log is
// finished, and then reloads the page once where it carries data-reload-when-finished. The console's
// own code, loaded as a file (the CSP allows no inline script).
"use strict";

(function () {
  const EVERY_MS = 1000;

  function follow(element) {
    const url = element.getAttribute("data-poll");
    const field = (name) => element.querySelector('[data-field="' + name + '"]');

    function show(log) {
      const status = field("status");
      if (status) {
        status.textContent = log.status;
        status.className = "status status-" + log.status.toLowerCase().replace(/ /g, "-");
      }
      const message = field("message");
      if (message) message.textContent = log.message || (message.tagName === "DD" ? "—" : "");
      const updated = field("updated");
      if (updated) updated.textContent = log.updated;
    }

    function poll() {
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then((answer) => (answer.ok ? answer.json() : Promise.reject(answer.status)))
        .then((log) => {
          show(log);
          if (log.finished) {
            element.removeAttribute("data-poll");
            // A page that shows more once the run ends (its counts) asks to be shown again.
            if (element.hasAttribute("data-reload-when-finished")) window.location.reload();
          } else {
            setTimeout(poll, EVERY_MS);
          }
        })
        .catch(() => setTimeout(poll, EVERY_MS * 5));
    }

    setTimeout(poll, EVERY_MS);
  }

  document.addEventListener("DOMContentLoaded", () => {
    document.querySelectorAll("[data-poll]").forEach(follow);
  });
})();
