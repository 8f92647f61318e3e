// The charts' cursor: point at (or touch) a chart to read the window or reading under it; on a
// recording, drag across to pick a range, which fills the rest and label forms (minutes:seconds
// from the start, as they take it) and can be zoomed into. The charts are whole without this
// file: every cell and dot has its own title.
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

  var SVG_NS = "http://www.w3.org/2000/svg";

  // One tab stop per chart: the arrow keys (Home, End) step through its items, in order across.
  function stepWithKeys(svg, items, select) {
    var index = -1;
    svg.addEventListener("keydown", function (event) {
      if (!items.length) return;
      var next = { ArrowRight: index + 1, ArrowLeft: index - 1, Home: 0, End: items.length - 1 }[event.key];
      if (next === undefined) return;
      event.preventDefault();
      index = Math.min(Math.max(next, 0), items.length - 1);
      select(items[index]);
    });
    svg.addEventListener("focus", function () {
      // A click focuses the chart too; only a keyboard's focus picks the first item.
      if (index < 0 && items.length && svg.matches(":focus-visible")) { index = 0; select(items[0]); }
    });
  }
  // Tick steps (seconds) for a zoomed view: the first giving 6 ticks or fewer.
  var STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600];

  function recordingChart(figure) {
    var svg = figure.querySelector("svg.chart-svg");
    var plot = svg.querySelector("svg.plot");
    var across = plot.viewBox.baseVal.width;
    var plotHeight = plot.viewBox.baseVal.height;
    var view = { from: 0, to: across };
    var zoomIn = figure.querySelector("[data-zoom-in]");
    var zoomOut = figure.querySelector("[data-zoom-out]");
    var pickedRange = null;
    var serverTicks = svg.querySelectorAll(".tick, svg.plot .grid");
    var duration = parseFloat(figure.getAttribute("data-duration")) || 0;
    var readout = figure.querySelector("[data-chart-readout]");
    var idle = readout.textContent;
    var cursor = plot.querySelector(".cursor");
    var selection = plot.querySelector(".selection");
    var cells = Array.prototype.map.call(plot.querySelectorAll(".cell"), function (el) {
      var x = parseFloat(el.getAttribute("x"));
      return { from: x, to: x + parseFloat(el.getAttribute("width")), el: el };
    }).sort(function (a, b) { return a.from - b.from; });
    var current = null;
    var dragFrom = null, picked = false;

    function cellAt(x) {
      for (var i = 0; i < cells.length; i++) {
        if (cells[i].from <= x && x < cells[i].to) return cells[i].el;
      }
      return null;
    }

    // The pointer's place across the chart, in the plot's units (the zoomed view's).
    function at(f) { return view.from + f * (view.to - view.from); }

    function show(f) {
      var x = at(f);
      moveCursor(cursor, x);
      var cell = cellAt(x);
      readout.textContent = clock((x / across) * duration) + " from the start: " +
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
      pickedRange = [from, to];
      if (zoomIn) zoomIn.hidden = to - from < 10;
    }

    function zoom(from, to) {
      view = { from: from, to: to };
      selection.classList.remove("on");  // the zoomed view is the picked range
      plot.setAttribute("viewBox", from + " 0 " + (to - from) + " " + plotHeight);
      var zoomed = to - from < across;
      Array.prototype.forEach.call(serverTicks, function (el) {
        el.classList.toggle("zoomed-out", zoomed);
      });
      Array.prototype.forEach.call(svg.querySelectorAll(".zoom-tick"), function (el) {
        el.parentNode.removeChild(el);
      });
      if (zoomOut) zoomOut.hidden = !zoomed;
      if (!zoomed) return;
      var seconds = [(from / across) * duration, (to / across) * duration];
      var step = STEPS[STEPS.length - 1];
      for (var i = 0; i < STEPS.length; i++) {
        if ((seconds[1] - seconds[0]) / STEPS[i] <= 6) { step = STEPS[i]; break; }
      }
      var tickY = svg.querySelector(".tick").getAttribute("y");
      for (var t = Math.ceil(seconds[0] / step) * step; t <= seconds[1]; t += step) {
        var x = (t / duration) * across;
        var percent = (100 * (x - from)) / (to - from);
        var grid = document.createElementNS(SVG_NS, "line");
        grid.setAttribute("class", "grid zoom-tick");
        grid.setAttribute("x1", x); grid.setAttribute("x2", x);
        grid.setAttribute("y1", 0); grid.setAttribute("y2", plotHeight);
        grid.setAttribute("vector-effect", "non-scaling-stroke");
        plot.insertBefore(grid, plot.firstChild);
        var text = document.createElementNS(SVG_NS, "text");
        text.setAttribute("class", "axis zoom-tick");
        text.setAttribute("x", percent + "%");
        text.setAttribute("y", tickY);
        text.setAttribute("text-anchor", percent < 4 ? "start" : percent > 96 ? "end" : "middle");
        text.textContent = clock(t);
        svg.appendChild(text);
      }
    }

    if (zoomIn) {
      zoomIn.addEventListener("click", function () {
        if (!pickedRange) return;
        zoom((pickedRange[0] / duration) * across, (pickedRange[1] / duration) * across);
        readout.textContent = "Showing " + clock(pickedRange[0]) + " to " + clock(pickedRange[1]) + ".";
        zoomIn.hidden = true;
      });
    }
    if (zoomOut) {
      zoomOut.addEventListener("click", function () {
        zoom(0, across);
        readout.textContent = idle;
      });
    }

    svg.addEventListener("pointerdown", function (event) {
      dragFrom = fraction(svg, event);
      svg.setPointerCapture(event.pointerId);
      selection.classList.remove("on");
    });
    svg.addEventListener("pointermove", function (event) {
      var f = fraction(svg, event);
      if (dragFrom === null) { show(f); return; }
      var a = at(Math.min(dragFrom, f)), b = at(Math.max(dragFrom, f));
      selection.setAttribute("x", a);
      selection.setAttribute("width", b - a);
      selection.classList.add("on");
      moveCursor(cursor, at(f));
      readout.textContent = "Picking " + clock((a / across) * duration) + " to " +
        clock((b / across) * duration);
    });
    svg.addEventListener("pointerup", function (event) {
      if (dragFrom === null) return;
      var f = fraction(svg, event);
      var a = (at(Math.min(dragFrom, f)) / across) * duration;
      var b = (at(Math.max(dragFrom, f)) / across) * duration;
      dragFrom = null;
      // A tap (or a drag of under a second) reads the chart instead of picking a range.
      if (b - a < 1) { selection.classList.remove("on"); show(f); return; }
      fill(a, b);
    });
    // A finger "leaves" as it lifts: only a mouse moving off the chart clears the readout.
    svg.addEventListener("pointerleave", function (event) {
      if (dragFrom !== null || event.pointerType !== "mouse") return;
      cursor.classList.remove("on");
      if (!picked) readout.textContent = idle;
    });
    stepWithKeys(svg, cells, function (cell) {
      if (current) current.classList.remove("current");
      current = cell.el;
      current.classList.add("current");
      moveCursor(cursor, (cell.from + cell.to) / 2);
      readout.textContent = cell.el.getAttribute("data-label");
    });
    svg.addEventListener("blur", function () {
      if (current) current.classList.remove("current");
      cursor.classList.remove("on");
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
    }).sort(function (a, b) { return a.at - b.at; });
    var current = null;

    function select(dot) {
      moveCursor(cursor, dot.at * across);
      if (current) current.classList.remove("current");
      current = dot.el;
      current.classList.add("current");
      readout.textContent = dot.el.getAttribute("data-label");
    }

    function show(event) {
      var f = fraction(svg, event), best = null;
      dots.forEach(function (dot) {
        if (best === null || Math.abs(dot.at - f) < Math.abs(best.at - f)) best = dot;
      });
      if (best) select(best);
    }
    stepWithKeys(svg, dots, select);

    svg.addEventListener("pointermove", show);
    svg.addEventListener("pointerdown", show);
    svg.addEventListener("pointerleave", function (event) {
      if (event.pointerType !== "mouse") return;
      cursor.classList.remove("on");
      if (current) current.classList.remove("current");
      readout.textContent = idle;
    });
  }

  function bind(root) {
    Array.prototype.forEach.call(root.querySelectorAll("[data-chart]"), function (figure) {
      if (figure.hasAttribute("data-bound")) return;
      figure.setAttribute("data-bound", "");
      // The readout (and its "point at the chart" hint) only means something with this file.
      var readout = figure.querySelector("[data-chart-readout]");
      if (readout) readout.hidden = false;
      if (figure.getAttribute("data-chart") === "recording") recordingChart(figure);
      else timelineChart(figure);
    });
  }
  bind(document);
  // The timeline's period filter swaps a new chart in: give it its cursor too.
  document.addEventListener("htmx:afterSettle", function () { bind(document); });
})();
