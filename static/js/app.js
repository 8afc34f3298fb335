// Tiny glue only: theme switch, nav toggle, "/" to search, dismissable flashes,
// polling paused in hidden tabs, and errors from HTMX requests shown as a flash.
(function () {
  "use strict";
  var root = document.documentElement;

  function currentTheme() {
    var t = root.getAttribute("data-theme");
    if (t === "light" || t === "dark") return t;
    return window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light";
  }

  document.addEventListener("click", function (ev) {
    var el = ev.target.closest("[data-theme-toggle]");
    if (el) {
      var next = currentTheme() === "dark" ? "light" : "dark";
      root.setAttribute("data-theme", next);
      try { localStorage.setItem("theme", next); } catch (e) {}
      return;
    }
    el = ev.target.closest("[data-nav-toggle]");
    if (el) {
      var nav = document.getElementById(el.getAttribute("aria-controls"));
      var open = nav.classList.toggle("open");
      el.setAttribute("aria-expanded", open ? "true" : "false");
      return;
    }
    el = ev.target.closest("[data-dismiss]");
    if (el) { el.parentElement.remove(); return; }
    el = ev.target.closest("[data-copy]");
    if (el && navigator.clipboard) {
      navigator.clipboard.writeText(el.getAttribute("data-copy"));
      el.textContent = "Copied";
    }
  });

  // Destructive actions ask first: a submit button (or its form) with data-confirm="…" shows
  // the message; Cancel stops the submission before htmx or the browser sends anything.
  document.addEventListener("submit", function (ev) {
    var form = ev.target, button = ev.submitter;
    var message = (button && button.getAttribute("data-confirm")) || form.getAttribute("data-confirm");
    if (message && !window.confirm(message)) {
      ev.preventDefault();
      ev.stopImmediatePropagation();
    }
  }, true);

  // "/" focuses the symbol search (when the page has one and no input is focused).
  document.addEventListener("keydown", function (ev) {
    if (ev.key !== "/" || ev.ctrlKey || ev.metaKey || ev.altKey) return;
    var tag = (document.activeElement && document.activeElement.tagName) || "";
    if (tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT") return;
    var search = document.querySelector("[data-symbol-search]");
    if (search) { ev.preventDefault(); search.focus(); }
  });

  // Live regions poll with hx-trigger="every Ns" and carry data-poll: skip polls while hidden.
  document.addEventListener("htmx:beforeRequest", function (ev) {
    var elt = ev.detail.elt;
    if (document.visibilityState !== "visible" && elt && elt.hasAttribute("data-poll")) ev.preventDefault();
  });

  // Errors from HTMX requests (other than 422 form errors, which swap) become a flash message.
  document.addEventListener("htmx:responseError", function (ev) {
    var xhr = ev.detail.xhr, region = document.getElementById("flash");
    if (!region) return;
    var box = document.createElement("div");
    box.className = "flash flash-error";
    box.setAttribute("role", "alert");
    var text = document.createElement("span");
    var message = "Something went wrong (" + xhr.status + "). Please try again.", link = null;
    try {
      var doc = new DOMParser().parseFromString(xhr.responseText, "text/html");
      var m = doc.querySelector("[data-error-message]");
      if (m) message = m.textContent.trim();
      var a = doc.querySelector("a[data-error-link]");
      // Only our own pages (a plan limit links to the plans page).
      if (a && a.getAttribute("href").charAt(0) === "/" && a.getAttribute("href").charAt(1) !== "/") link = a;
    } catch (e) {}
    text.textContent = message;
    if (link) {
      var more = document.createElement("a");
      more.href = link.getAttribute("href");
      more.textContent = link.textContent.trim();
      text.appendChild(document.createTextNode(" "));
      text.appendChild(more);
    }
    var close = document.createElement("button");
    close.className = "flash-close"; close.type = "button"; close.textContent = "×";
    close.setAttribute("data-dismiss", ""); close.setAttribute("aria-label", "Dismiss");
    box.appendChild(text); box.appendChild(close);
    region.appendChild(box);
  });
  document.addEventListener("htmx:sendError", function () {
    var region = document.getElementById("flash");
    if (region && !region.querySelector(".flash-offline")) {
      var box = document.createElement("div");
      box.className = "flash flash-warning flash-offline";
      box.setAttribute("role", "status");
      box.textContent = "Connection lost: live data will resume when the server is reachable.";
      region.appendChild(box);
    }
  });
})();
