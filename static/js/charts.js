// The charts' cursor: point at (or touch) a chart to read the window or reading under it; on a
// recording, drag across to pick a range, which fills the rest and label forms (minutes:seconds
// from the start, as they take it). The charts are whole without this file: every cell and dot
// has its own title.
(function () {
  "use strict";

  function pad(n) { return (n < 10 ? "0" : "") + n; }

  // The same format the recording forms parse: mm:ss, or h:mm:ss from an hour on.
  function clock(seconds) {
    var s = Math.max(0, Math.round(seconds));
    var h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60);
    return (h ? h + ":" + pad(m) : pad(m)) + ":" + pad(s % 60);
  }

  function fraction(svg, event) {
    var box = svg.getBoundingClientRect();
    return Math.min(Math.max((event.clientX - box.left) / box.width, 0), 1);
  }

  function moveCursor(cursor, x) {
    cursor.setAttribute("x1", x);
    cursor.setAttribute("x2", x);
    cursor.classList.add("on");
  }

  function recordingChart(figure) {
    var svg = figure.querySelector("svg.chart-svg");
    var plot = svg.querySelector("svg.plot");
    var across = plot.viewBox.baseVal.width;
    var duration = parseFloat(figure.getAttribute("data-duration")) || 0;
    var readout = figure.querySelector("[data-chart-readout]");
    var idle = readout.textContent;
    var cursor = plot.querySelector(".cursor");
    var selection = plot.querySelector(".selection");
    var cells = Array.prototype.map.call(plot.querySelectorAll(".cell"), function (el) {
      var x = parseFloat(el.getAttribute("x"));
      return { from: x, to: x + parseFloat(el.getAttribute("width")), el: el };
    });
    var dragFrom = null, picked = false;

    function cellAt(x) {
      for (var i = 0; i < cells.length; i++) {
        if (cells[i].from <= x && x < cells[i].to) return cells[i].el;
      }
      return null;
    }

    function show(f) {
      var x = f * across;
      moveCursor(cursor, x);
      var cell = cellAt(x);
      readout.textContent = clock(f * duration) + " from the start: " +
        (cell ? cell.getAttribute("data-label") : "no window here");
    }

    function fill(from, to) {
      var forms = document.querySelectorAll("form[data-range-form]");
      Array.prototype.forEach.call(forms, function (form) {
        var start = form.querySelector("input[name$='-start']");
        var end = form.querySelector("input[name$='-end']");
        if (start && end) { start.value = clock(from); end.value = clock(to); }
      });
      readout.textContent = "Picked " + clock(from) + " to " + clock(to) + " (" +
        clock(to - from) + " long): the rest and label forms below now hold it.";
      picked = true;
    }

    svg.addEventListener("pointerdown", function (event) {
      dragFrom = fraction(svg, event);
      svg.setPointerCapture(event.pointerId);
      selection.classList.remove("on");
    });
    svg.addEventListener("pointermove", function (event) {
      var f = fraction(svg, event);
      if (dragFrom === null) { show(f); return; }
      var a = Math.min(dragFrom, f), b = Math.max(dragFrom, f);
      selection.setAttribute("x", a * across);
      selection.setAttribute("width", (b - a) * across);
      selection.classList.add("on");
      moveCursor(cursor, f * across);
      readout.textContent = "Picking " + clock(a * duration) + " to " + clock(b * duration);
    });
    svg.addEventListener("pointerup", function (event) {
      if (dragFrom === null) return;
      var f = fraction(svg, event);
      var a = Math.min(dragFrom, f) * duration, b = Math.max(dragFrom, f) * duration;
      dragFrom = null;
      // A tap (or a drag of under a second) reads the chart instead of picking a range.
      if (b - a < 1) { selection.classList.remove("on"); show(f); return; }
      fill(a, b);
    });
    svg.addEventListener("pointerleave", function () {
      if (dragFrom !== null) return;
      cursor.classList.remove("on");
      if (!picked) readout.textContent = idle;
    });
    plot.addEventListener("focusin", function (event) {
      if (event.target.classList.contains("cell")) {
        readout.textContent = event.target.getAttribute("data-label");
      }
    });
  }

  function timelineChart(figure) {
    var svg = figure.querySelector("svg.chart-svg");
    var plot = svg.querySelector("svg.plot");
    var across = plot.viewBox.baseVal.width;
    var readout = figure.querySelector("[data-chart-readout]");
    var idle = readout.textContent;
    var cursor = plot.querySelector(".cursor");
    var dots = Array.prototype.map.call(svg.querySelectorAll("circle.dot"), function (el) {
      return { at: parseFloat(el.getAttribute("cx")) / 100, el: el };
    });
    var current = null;

    function show(event) {
      var f = fraction(svg, event), best = null;
      dots.forEach(function (dot) {
        if (best === null || Math.abs(dot.at - f) < Math.abs(best.at - f)) best = dot;
      });
      if (!best) return;
      moveCursor(cursor, best.at * across);
      if (current) current.classList.remove("current");
      current = best.el;
      current.classList.add("current");
      readout.textContent = best.el.getAttribute("data-label");
    }

    svg.addEventListener("pointermove", show);
    svg.addEventListener("pointerdown", show);
    svg.addEventListener("pointerleave", function () {
      cursor.classList.remove("on");
      if (current) current.classList.remove("current");
      readout.textContent = idle;
    });
  }

  function bind(root) {
    Array.prototype.forEach.call(root.querySelectorAll("[data-chart]"), function (figure) {
      if (figure.hasAttribute("data-bound")) return;
      figure.setAttribute("data-bound", "");
      if (figure.getAttribute("data-chart") === "recording") recordingChart(figure);
      else timelineChart(figure);
    });
  }
  bind(document);
  // The timeline's period filter swaps a new chart in: give it its cursor too.
  document.addEventListener("htmx:afterSettle", function () { bind(document); });
})();
