// Pop-ups (seed 002's Mapping and "See third-party service authorizations"): a link marked data-dialog
// opens its page inside a <dialog> instead of leaving this one. The page's [data-dialog-body] is shown,
// its forms post in place, a data-dialog-close link closes it, and a data-pick link puts its value into
// this page's [data-pick-target] field. Without JavaScript the links simply open the page.
"use strict";

(function () {
  let dialog = null;
  let changed = false;

  function make() {
    dialog = document.createElement("dialog");
    dialog.className = "popup";
    dialog.addEventListener("close", () => { if (changed) window.location.reload(); });
    dialog.addEventListener("click", clicked);
    dialog.addEventListener("submit", submitted);
    document.body.appendChild(dialog);
  }

  function show(answer) {
    return answer.text().then((html) => {
      const page = new DOMParser().parseFromString(html, "text/html");
      const body = page.querySelector("[data-dialog-body]");
      if (!body) { window.location.assign(answer.url); return; }
      const close = document.createElement("button");
      close.type = "button";
      close.className = "button quiet small popup-close";
      close.textContent = "Close";
      close.setAttribute("data-dialog-close", "");
      dialog.replaceChildren(close, ...page.querySelectorAll("main > .flash"), body);
      if (!dialog.open) dialog.showModal();
    });
  }

  function load(url, options) {
    fetch(url, { credentials: "same-origin", ...options }).then(show)
      .catch(() => window.location.assign(url));
  }

  function clicked(event) {
    const link = event.target.closest("a, button");
    if (!link) return;
    if (link.hasAttribute("data-pick")) {
      event.preventDefault();
      const target = document.querySelector("[data-pick-target]");
      const value = link.getAttribute("data-pick");
      if (target && ![...target.options].some((option) => option.value === value)) {
        target.add(new Option(value, value));
      }
      if (target) {
        target.value = value;
        const field = target.closest(".field");  // the problem said about the old choice no longer applies
        if (field) field.classList.remove("invalid");
        target.removeAttribute("aria-invalid");
        if (field) field.querySelectorAll(".problem").forEach((problem) => problem.remove());
      }
      changed = false;
      dialog.close();
    } else if (link.hasAttribute("data-dialog-close")) {
      event.preventDefault();
      dialog.close();
    }
  }

  function submitted(event) {
    const form = event.target;
    if ((form.getAttribute("method") || "get").toLowerCase() !== "post") return;
    event.preventDefault();
    changed = true;
    load(form.action, { method: "POST", body: new FormData(form) });
  }

  document.addEventListener("click", (event) => {
    const link = event.target.closest("a[data-dialog]");
    if (!link || event.ctrlKey || event.metaKey || event.shiftKey) return;
    event.preventDefault();
    if (!dialog) make();
    changed = false;
    load(link.href, {});
  });
})();
