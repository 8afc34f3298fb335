// Symbol search in the top bar: the magnifier opens the search field (without JS it is a
// link to the search page); Escape closes it. "/" is handled by app.js ([data-symbol-search]).
(function () {
  "use strict";
  document.addEventListener("click", function (ev) {
    var open = ev.target.closest("[data-search-open]");
    if (!open) return;
    ev.preventDefault();
    var input = open.parentElement.querySelector("[data-symbol-search]");
    if (input) input.focus();
  });
  document.addEventListener("keydown", function (ev) {
    if (ev.key === "Escape" && document.activeElement && document.activeElement.hasAttribute("data-symbol-search")) {
      document.activeElement.value = "";
      document.activeElement.blur();
    }
  });
})();
