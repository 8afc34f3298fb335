// Outline the element the walkthrough's current step is about (data-walkthrough-target on
// #walkthrough). Runs on load and after every HTMX swap, so "Next" moves the outline and
// "Dismiss" (which swaps the panel away) removes it. The outline is cleared before the panel
// is swapped: once it is swapped away, the settle event fires on a detached element and never
// reaches the document.
(function () {
  "use strict";
  function clear() {
    document.querySelectorAll(".walkthrough-highlight").forEach(function (el) {
      el.classList.remove("walkthrough-highlight");
    });
  }
  function highlight() {
    clear();
    var box = document.getElementById("walkthrough");
    var selector = box && box.getAttribute("data-walkthrough-target");
    if (!selector) return;
    var target = null;
    try { target = document.querySelector(selector); } catch (e) { target = null; }
    if (target) target.classList.add("walkthrough-highlight");
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", highlight);
  else highlight();
  document.body.addEventListener("htmx:beforeSwap", function (evt) {
    if (evt.detail.target && evt.detail.target.id === "walkthrough") clear();
  });
  document.body.addEventListener("htmx:afterSettle", highlight);
})();
