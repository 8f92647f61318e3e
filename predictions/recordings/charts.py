"""What the recording page draws, shaped on the server: each signal as a min/max envelope
(spikes survive downsampling), the stress level as a band of one cell per window, the rest
range and the person's labels. No queries here; selectors fetch, this shapes."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from mlcore.recordings.recording import ROLE_NAMES, ROLES

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


@dataclass
class Lane:
    role: str
    label: str
    top: float
    height: float
    path: str
    low: float
    high: float


@dataclass
class Cell:
    x: float
    width: float
    level: str
    label: str


@dataclass
class Span:
    x: float
    width: float
    label: str
    level: str = ""


@dataclass
class RecordingChart:
    width: int
    height: int
    left: int
    band_top: float
    band_height: float
    lanes: list[Lane] = field(default_factory=list)
    cells: list[Cell] = field(default_factory=list)
    ticks: list[tuple[float, str]] = field(default_factory=list)
    rest: Span | None = None
    labels: list[Span] = field(default_factory=list)


def _envelope_path(
    low: list, high: list, x0: float, width: float, top: float, height: float
) -> tuple[str, float, float]:
    values = [v for v in (*low, *high) if v is not None]
    if not values:
        return "", 0.0, 0.0
    lo, hi = min(values), max(values)
    span = (hi - lo) or 1.0
    n = len(high)
    step = width / max(n - 1, 1)

    def y(v: float) -> float:
        return round(top + height * (1 - (v - lo) / span), 1)

    upper = [(round(x0 + i * step, 1), y(v)) for i, v in enumerate(high) if v is not None]
    lower = [(round(x0 + i * step, 1), y(v)) for i, v in enumerate(low) if v is not None]
    points = upper + lower[::-1]
    path = "M" + " L".join(f"{x},{yy}" for x, yy in points) + " Z"
    return path, lo, hi


def _clock(start: datetime, seconds: float, tz: Any) -> str:
    return (start + timedelta(seconds=seconds)).astimezone(tz).strftime("%H:%M:%S")


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
    starts_at: datetime,
    tz: Any,
    rest: tuple[float, float] | None = None,
    annotations: list[dict[str, Any]] | None = None,
    unscored: list[dict[str, Any]] | None = None,
    width: int = 960,
) -> RecordingChart:
    """Geometry for the page's SVG. `windows`: start_s, end_s, level, confidence per window;
    `unscored`: start_s, end_s, reason of the windows not scored (drawn grey)."""
    left, right, lane_h, gap, band_h = 150, 12, 56, 10, 26
    signals = traces.get("signals", {})
    roles = [role for role in ROLES if role in signals]
    inner = width - left - right
    scale = inner / max(duration_s, 1.0)
    band_top = 8 + len(roles) * (lane_h + gap)
    chart = RecordingChart(
        width=width,
        height=int(band_top + band_h + 30),
        left=left,
        band_top=band_top,
        band_height=band_h,
    )
    for i, role in enumerate(roles):
        top = 8 + i * (lane_h + gap)
        path, lo, hi = _envelope_path(
            signals[role]["min"], signals[role]["max"], left, inner, top, lane_h
        )
        chart.lanes.append(Lane(role, ROLE_NAMES[role], top, lane_h, path, lo, hi))
    for window in windows:
        # A window's score stands for its middle; the cells tile the timeline stride by stride.
        middle = (window["start_s"] + window["end_s"]) / 2
        x = round(left + (middle - stride_s / 2) * scale, 2)
        chart.cells.append(
            Cell(
                x=x,
                width=round(max(stride_s * scale, 0.5), 2),
                level=window["level"],
                label=(
                    f"{_clock(starts_at, window['start_s'], tz)}-"
                    f"{_clock(starts_at, window['end_s'], tz)}: {window['level']} "
                    f"({window['confidence']:.0%})"
                ),
            )
        )
    for window in unscored or []:
        middle = (window["start_s"] + window["end_s"]) / 2
        chart.cells.append(
            Cell(
                x=round(left + (middle - stride_s / 2) * scale, 2),
                width=round(max(stride_s * scale, 0.5), 2),
                level="unscored",
                label=(
                    f"{_clock(starts_at, window['start_s'], tz)}-"
                    f"{_clock(starts_at, window['end_s'], tz)}: "
                    f"{UNSCORED_REASONS.get(window['reason'], 'not scored')}"
                ),
            )
        )
    ticks = 8
    for k in range(ticks + 1):
        seconds = duration_s * k / ticks
        chart.ticks.append((round(left + seconds * scale, 1), _clock(starts_at, seconds, tz)))
    if rest is not None:
        chart.rest = Span(
            round(left + rest[0] * scale, 1),
            round((rest[1] - rest[0]) * scale, 1),
            f"Your rest: {_clock(starts_at, rest[0], tz)}-{_clock(starts_at, rest[1], tz)}",
        )
    for note in annotations or []:
        start_s = (note["starts_at"] - starts_at).total_seconds()
        end_s = (note["ends_at"] - starts_at).total_seconds()
        chart.labels.append(
            Span(
                round(left + max(start_s, 0) * scale, 1),
                round(max(min(end_s, duration_s) - max(start_s, 0), 0) * scale, 1),
                f"You said {note['level']}: {note['note'] or 'no note'}",
                note["level"],
            )
        )
    return chart
