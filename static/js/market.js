// Symbol search in the top bar: the magnifier opens the search field (without JS it is a
// link to the search page); Escape closes it. "/" is handled by app.js ([data-symbol-search]).
// Suggestions are a listbox: ArrowDown / ArrowUp move through them (aria-activedescendant,
// focus stays in the field), Enter opens the highlighted stock, or the only match; otherwise
// the form submits and the server opens an exact or single match (go=1).
(function () {
  "use strict";
  document.addEventListener("click", function (ev) {
    var open = ev.target.closest("[data-search-open]");
    if (!open) return;
    ev.preventDefault();
    var input = open.parentElement.querySelector("[data-symbol-search]");
    if (input) input.focus();
  });

  function options(input) {
    var box = document.getElementById(input.getAttribute("aria-controls"));
    return box ? Array.prototype.slice.call(box.querySelectorAll("[role=option][data-href]")) : [];
  }

  function highlight(input, list, index) {
    list.forEach(function (opt, i) {
      opt.setAttribute("aria-selected", i === index ? "true" : "false");
      opt.classList.toggle("active", i === index);
    });
    if (index >= 0 && list[index]) {
      input.setAttribute("aria-activedescendant", list[index].id);
      list[index].scrollIntoView({ block: "nearest" });
    } else {
      input.removeAttribute("aria-activedescendant");
    }
  }

  function move(input, step) {
    var list = options(input);
    if (!list.length) return;
    var current = list.findIndex(function (o) { return o.id === input.getAttribute("aria-activedescendant"); });
    var next = current + step;
    if (next < 0) next = list.length - 1;
    if (next >= list.length) next = 0;
    highlight(input, list, next);
  }

  document.addEventListener("keydown", function (ev) {
    var input = document.activeElement;
    if (!input || !input.hasAttribute("data-symbol-search")) return;
    if (ev.key === "Escape") {
      input.value = "";
      input.blur();
      return;
    }
    if (!input.hasAttribute("data-suggest")) return;
    if (ev.key === "ArrowDown" || ev.key === "ArrowUp") {
      ev.preventDefault();
      move(input, ev.key === "ArrowDown" ? 1 : -1);
    } else if (ev.key === "Enter") {
      var list = options(input);
      var active = list.filter(function (o) { return o.id === input.getAttribute("aria-activedescendant"); })[0];
      var target = active || (list.length === 1 ? list[0] : null);
      if (target) {
        ev.preventDefault();
        window.location.assign(target.getAttribute("data-href"));
      }
    }
  });

  // New suggestions: nothing highlighted yet; the combobox says whether a list is shown.
  document.addEventListener("htmx:afterSwap", function (ev) {
    var box = ev.detail.target;
    if (!box || !box.id) return;
    var input = document.querySelector("[data-suggest][aria-controls='" + box.id + "']");
    if (!input) return;
    input.removeAttribute("aria-activedescendant");
    input.setAttribute("aria-expanded", options(input).length ? "true" : "false");
  });
})();
