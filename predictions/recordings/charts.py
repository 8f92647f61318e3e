"""What the recording page draws, shaped on the server: each signal as a min/max envelope
(spikes survive downsampling), the stress level as a band of one cell per window, the rest
range and the person's labels. No queries here; selectors fetch, this shapes."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np

from mlcore.recordings.recording import ROLE_NAMES, ROLES
from mlcore.score import shown_level
from predictions.charts import ACROSS, Tick, chart_score, tick_at

# Points per signal: about one per pixel of the page's chart.
TRACE_POINTS = 600


def signal_traces(series: dict[str, np.ndarray], rate_hz: float) -> dict[str, Any]:
    """Per role, the min and max of TRACE_POINTS equal slices of the signal (NaN ignored;
    a slice with nothing is null)."""
    traces: dict[str, Any] = {}
    for role, samples in series.items():
        n = samples.shape[0]
        if n == 0:
            continue
        points = min(TRACE_POINTS, n)
        edges = np.linspace(0, n, points + 1).astype(np.int64)[:-1]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            low = np.fmin.reduceat(samples, edges)
            high = np.fmax.reduceat(samples, edges)
        traces[role] = {
            "min": [None if np.isnan(v) else round(float(v), 4) for v in low],
            "max": [None if np.isnan(v) else round(float(v), 4) for v in high],
        }
    return {
        "duration_s": (series and next(iter(series.values())).shape[0] / rate_hz) or 0.0,
        "signals": traces,
    }


# Drawn as the timeline is (predictions.charts): CSS pixels down, ACROSS units across.
LANE_LABEL_H, LANE_H, LANE_GAP, BAND_LABEL_H, BAND_H, TICKS_H = 18, 40, 8, 18, 24, 22

# Tick steps (seconds) for the time from the start; the first giving 8 ticks or fewer wins.
TICK_STEPS = (30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600)

# Units as the files state them -> as people write them.
UNIT_WORDS = {"mv": "mV", "uv": "µV", "us": "µS", "usiemens": "µS", "bpm": "bpm", "g": "g"}


@dataclass
class Lane:
    role: str
    label: str
    unit: str
    label_y: float
    top: float
    height: float
    paths: list[str]
    low: float
    high: float

    @property
    def range_text(self) -> str:
        unit = f" {self.unit}" if self.unit else ""
        return f"{_number(self.low)} to {_number(self.high)}{unit}"


@dataclass
class Cell:
    x: float
    width: float
    level: str
    label: str
    score: int | None = None


@dataclass
class Span:
    x: float
    width: float
    label: str
    level: str = ""


@dataclass
class RecordingChart:
    height: int
    plot_height: int
    duration_s: float
    band_label_y: float
    band_top: float
    band_height: float
    tick_y: float
    across: float = ACROSS
    lanes: list[Lane] = field(default_factory=list)
    cells: list[Cell] = field(default_factory=list)
    ticks: list[Tick] = field(default_factory=list)
    rest: Span | None = None
    labels: list[Span] = field(default_factory=list)


def _number(value: float) -> str:
    return f"{value:.0f}" if abs(value) >= 100 else f"{value:.3g}"


def _envelope_paths(
    low: list, high: list, top: float, height: float
) -> tuple[list[str], float, float]:
    """One closed shape per run of slices with data: a stretch without signal stays empty
    instead of being bridged by a straight line."""
    values = [v for v in (*low, *high) if v is not None]
    if not values:
        return [], 0.0, 0.0
    lo, hi = min(values), max(values)
    span = (hi - lo) or 1.0
    n = len(high)
    step = ACROSS / n

    def y(v: float) -> float:
        return round(top + height * (1 - (v - lo) / span), 1)

    paths: list[str] = []
    run: list[int] = []
    for i in [*range(n), None]:
        if i is not None and low[i] is not None and high[i] is not None:
            run.append(i)
            continue
        if run:
            xs = [round((j + 0.5) * step, 1) for j in run]
            if len(run) == 1:  # a lone slice still gets its width
                xs, run = [round(run[0] * step, 1), round((run[0] + 1) * step, 1)], run * 2
            upper = [(x, y(high[j])) for x, j in zip(xs, run, strict=True)]
            lower = [(x, y(low[j])) for x, j in zip(xs, run, strict=True)]
            points = upper + lower[::-1]
            paths.append("M" + " L".join(f"{x},{yy}" for x, yy in points) + " Z")
            run = []
    return paths, lo, hi


def _ticks(duration_s: float) -> list[Tick]:
    from predictions.recordings.forms import clock_text  # the forms import the services

    step = next((s for s in TICK_STEPS if duration_s / s <= 8), TICK_STEPS[-1])
    ticks = []
    k = 0
    while k * step <= duration_s + 1e-6:
        x = round(ACROSS * k * step / max(duration_s, 1.0), 1)
        ticks.append(tick_at(x, clock_text(k * step), minor=k % 2 == 1))
        k += 1
    return ticks


def _unit(channels: list[dict[str, Any]], role: str) -> str:
    stated = next((c.get("unit", "") for c in channels if c.get("role") == role), "") or ""
    key = stated.strip().lower().replace("µ", "u").replace("μ", "u")
    return UNIT_WORDS.get(key, stated.strip())


# Why a window has no level, in the words the page uses.
UNSCORED_REASONS = {
    "not_enough_signal": "not enough signal",
    "active": "moving vigorously (not scored as stress)",
}


def recording_chart(
    *,
    traces: dict[str, Any],
    windows: list[dict[str, Any]],
    duration_s: float,
    stride_s: float,
    channels: list[dict[str, Any]] | None = None,
    rest: tuple[float, float] | None = None,
    annotations: list[dict[str, Any]] | None = None,
    starts_at: datetime | None = None,
    unscored: list[dict[str, Any]] | None = None,
) -> RecordingChart:
    """Geometry for the page's SVG, in time from the start (mm:ss, as the forms take it).
    `windows`: start_s, end_s, level, confidence and, when known, probabilities per window;
    `unscored`: start_s, end_s, reason of the windows not scored (drawn grey)."""
    from predictions.recordings.forms import clock_text

    signals = traces.get("signals", {})
    roles = [role for role in ROLES if role in signals]
    scale = ACROSS / max(duration_s, 1.0)
    lanes: list[Lane] = []
    y = 0.0
    for role in roles:
        top = y + LANE_LABEL_H
        paths, lo, hi = _envelope_paths(signals[role]["min"], signals[role]["max"], top, LANE_H)
        lanes.append(
            Lane(
                role,
                ROLE_NAMES[role],
                _unit(channels or [], role),
                y + 13,
                top,
                LANE_H,
                paths,
                lo,
                hi,
            )
        )
        y = top + LANE_H + LANE_GAP
    band_top = y + BAND_LABEL_H
    plot_height = int(band_top + BAND_H)
    chart = RecordingChart(
        height=plot_height + TICKS_H,
        plot_height=plot_height,
        duration_s=duration_s,
        band_label_y=y + 13,
        band_top=band_top,
        band_height=BAND_H,
        tick_y=plot_height + 16,
        lanes=lanes,
        ticks=_ticks(duration_s),
    )

    def cell(window: dict[str, Any], level: str, words: str, score: int | None) -> Cell:
        # A window's score stands for its middle; the cells tile the timeline stride by stride.
        middle = (window["start_s"] + window["end_s"]) / 2
        start, end = max(middle - stride_s / 2, 0.0), min(middle + stride_s / 2, duration_s)
        return Cell(
            x=round(start * scale, 2),
            width=round(max((end - start) * scale, 0.5), 2),
            level=level,
            label=f"{clock_text(window['start_s'])}-{clock_text(window['end_s'])}: {words}",
            score=score,
        )

    for window in windows:
        probabilities = window.get("probabilities")
        if probabilities:
            score = chart_score(probabilities)
            level = shown_level(probabilities)
            words = f"score {score}, {level} ({window['confidence']:.0%} sure)"
        else:
            score, level = None, window["level"]
            words = f"{level} ({window['confidence']:.0%} sure)"
        chart.cells.append(cell(window, level, words, score))
    for window in unscored or []:
        reason = UNSCORED_REASONS.get(window["reason"], "not scored")
        chart.cells.append(cell(window, "unscored", reason, None))
    if rest is not None:
        chart.rest = Span(
            round(rest[0] * scale, 1),
            round((rest[1] - rest[0]) * scale, 1),
            f"Your rest: {clock_text(rest[0])}-{clock_text(rest[1])}",
        )
    for note in annotations or []:
        if starts_at is None:
            break
        start_s = max((note["starts_at"] - starts_at).total_seconds(), 0.0)
        end_s = min((note["ends_at"] - starts_at).total_seconds(), duration_s)
        chart.labels.append(
            Span(
                round(start_s * scale, 1),
                round(max(end_s - start_s, 0) * scale, 1),
                f"You said {note['level']} ({clock_text(start_s)}-{clock_text(end_s)}): "
                f"{note['note'] or 'no note'}",
                note["level"],
            )
        )
    return chart
