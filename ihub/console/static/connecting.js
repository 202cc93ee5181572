// The partner configuration page while a connect runs: ask the status route every second and reload
// the page once the connect is over, so the outcome shows at once. Without JavaScript the page
// refreshes itself (a <noscript> meta refresh) instead.
(function () {
  "use strict";
  var progress = document.querySelector("[data-status-url]");
  if (!progress) { return; }
  var url = progress.getAttribute("data-status-url");
  function ask() {
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (answer) { return answer.ok ? answer.json() : { connecting: false }; })
      .then(function (state) {
        if (state.connecting) { setTimeout(ask, 1000); } else { window.location.reload(); }
      })
      .catch(function () { setTimeout(ask, 3000); });
  }
  setTimeout(ask, 1000);
})();
