// Small progressive enhancements; every page works without this file.
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy]");
    if (!button) return;
    var source = document.querySelector(button.getAttribute("data-copy"));
    if (!source || !navigator.clipboard) return;
    navigator.clipboard.writeText(source.textContent.trim()).then(function () {
      var label = button.textContent;
      button.textContent = "Copied";
      setTimeout(function () { button.textContent = label; }, 2000);
    });
  });
  // After htmx swaps in a result, move focus to it so screen readers and keyboards follow.
  document.addEventListener("htmx:afterSwap", function (event) {
    var result = event.detail.target && event.detail.target.querySelector
      ? event.detail.target.querySelector("#result") : null;
    if (result) result.focus();
  });
})();
