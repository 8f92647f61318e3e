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
  // On a phone a table shows each row as a card, each value under its column's name: the
  // templates write that name beside each cell (data-label); this names any cell left without.
  function labelCells(root) {
    Array.prototype.forEach.call(root.querySelectorAll("table.table"), function (table) {
      var names = Array.prototype.map.call(table.querySelectorAll("thead th"), function (th) {
        // A column named only for screen readers (actions) needs no name on the card.
        var hidden = th.querySelector(".visually-hidden");
        return hidden && hidden.textContent.trim() === th.textContent.trim() ? "" : th.textContent.trim();
      });
      Array.prototype.forEach.call(table.querySelectorAll("tbody tr"), function (row) {
        Array.prototype.forEach.call(row.children, function (cell, i) {
          if (!cell.hasAttribute("data-label")) cell.setAttribute("data-label", names[i] || "");
        });
      });
    });
  }
  labelCells(document);
  document.addEventListener("htmx:afterSettle", function (event) {
    if (event.detail.elt && event.detail.elt.querySelectorAll) labelCells(event.detail.elt.parentNode || document);
  });
  // After htmx swaps in a result, move focus to it so screen readers and keyboards follow.
  document.addEventListener("htmx:afterSwap", function (event) {
    var result = event.detail.target && event.detail.target.querySelector
      ? event.detail.target.querySelector("#result") : null;
    if (result) result.focus();
  });
})();
// Recording uploads: drop a file on the zone, and see the upload's progress (htmx reports it).
(function () {
  "use strict";
  document.addEventListener("dragover", function (event) {
    var zone = event.target.closest && event.target.closest("[data-dropzone]");
    if (!zone) return;
    event.preventDefault();
    zone.classList.add("dragging");
  });
  document.addEventListener("dragleave", function (event) {
    var zone = event.target.closest && event.target.closest("[data-dropzone]");
    if (zone) zone.classList.remove("dragging");
  });
  document.addEventListener("drop", function (event) {
    var zone = event.target.closest && event.target.closest("[data-dropzone]");
    if (!zone || !event.dataTransfer || !event.dataTransfer.files.length) return;
    event.preventDefault();
    zone.classList.remove("dragging");
    var input = zone.querySelector("input[type=file]");
    if (input) input.files = event.dataTransfer.files;
  });
  document.addEventListener("htmx:xhr:progress", function (event) {
    var form = event.target.closest && event.target.closest(".upload-form");
    if (!form || !event.detail.lengthComputable) return;
    var percent = Math.round((100 * event.detail.loaded) / event.detail.total);
    var box = form.querySelector(".upload-progress");
    box.hidden = false;
    form.querySelector("[data-upload-progress]").value = percent;
    form.querySelector("[data-upload-percent]").textContent = percent + "%";
  });

  // Sign-up: preselect the browser's own time zone (the person can still change it).
  var zone = document.querySelector("select[data-browser-time-zone]");
  if (zone && !zone.dataset.chosen) {
    var name = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (name && zone.querySelector('option[value="' + name + '"]')) {
      zone.value = name;
    }
  }
})();
