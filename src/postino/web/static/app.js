// Postino dashboard: the little that plain HTML and htmx leave, with nothing inline (the CSP forbids it).
(function () {
  "use strict";
  function formatNumbers(root) {
    var format = new Intl.NumberFormat(navigator.language);
    root.querySelectorAll("[data-number]").forEach(function (el) {
      var value = Number(el.getAttribute("data-number"));
      if (!isNaN(value)) { el.textContent = format.format(value); }
    });
  }
  document.addEventListener("click", function (event) {
    var button = event.target.closest("button[data-copy]");
    if (!button) { return; }
    var source = document.querySelector(button.getAttribute("data-copy"));
    if (source && navigator.clipboard) {
      navigator.clipboard.writeText(source.textContent.trim()).then(function () { button.textContent = "Copied"; });
    }
  });
  document.addEventListener("DOMContentLoaded", function () { formatNumbers(document); });
  document.addEventListener("htmx:afterSwap", function (event) { formatNumbers(event.detail.target.parentNode || document); });
})();
