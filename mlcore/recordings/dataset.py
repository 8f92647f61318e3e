"""The training set of the recording models: drivedb drives through the same path as uploads.

Each drive becomes a `Recording` (channels named as in the CSV, 15.5 Hz), goes through
`to_model_rate` and `derived_series` exactly as an upload does, and is cut into windows of
`window_s` every `stride_s` from its start. A window is labelled when it lies inside one
protocol segment, `margin_s` away from both ends. Each drive's baseline is its own first
3 minutes of Rest1; windows overlapping those 3 minutes are not used (not for training, not
for scoring), as the service will do with a user's calibration range.

The order check: `splice` cuts a drive's derived series (features already extracted over the
drive as recorded) at its segment boundaries and reassembles them in another order
(drivedb.ORDERS, Rest1 first); `drive_windows` then computes window features, context and
labels on the reassembled series exactly as on the original.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mlcore import drivedb
from mlcore.recordings.baseline import MIN_BASELINE_S, Baseline, baseline_from_derived
from mlcore.recordings.recording import Recording, build_recording
from mlcore.recordings.signals import to_model_rate
from mlcore.recordings.windows import Derived, context_features, derived_series, window_features

MARGIN_S = 15.0
CSV_COLUMNS = (
    ("ECG", "mV"),
    ("EMG", "mV"),
    ("foot GSR", "mV"),
    ("hand GSR", "mV"),
    ("HR", "bpm"),
    ("marker", "mV"),
    ("RESP", "mV"),
)


def drive_recording(drive: drivedb.Drive) -> Recording:
    named = [
        (name, unit, drivedb.FRAME_HZ, drive.signals[:, 1 + i])
        for i, (name, unit) in enumerate(CSV_COLUMNS)
    ]
    return build_recording(named, start_time=None, format="drivedb-csv")


def baseline_range(drive: drivedb.Drive) -> tuple[float, float]:
    rest1 = drive.segments[0]
    return rest1.start_s, rest1.start_s + MIN_BASELINE_S


@dataclass
class DriveData:
    name: str
    derived: Derived
    segments: tuple[drivedb.Segment, ...]
    baseline_s: tuple[float, float]


def load_drive_data(
    name: str, data_dir: Path = drivedb.DATA_DIR, drive: drivedb.Drive | None = None
) -> DriveData:
    drive = drive or drivedb.load_drive(name, data_dir)
    derived = derived_series(to_model_rate(drive_recording(drive)))
    return DriveData(name, derived, drive.segments, baseline_range(drive))


@dataclass
class DriveWindows:
    drive: str
    start_s: np.ndarray
    labels: np.ndarray
    values: np.ndarray  # window features, windows.FEATURE_NAMES order
    baseline: Baseline
    context: np.ndarray | None = None  # features of the context before each window


def splice_derived(derived: Derived, pieces: list[tuple[int, int]]) -> Derived:
    """The derived series made of these sample ranges, in this order (SCR events with them)."""
    series = {
        name: np.concatenate([values[lo:hi] for lo, hi in pieces])
        for name, values in derived.series.items()
    }
    peaks = amplitudes = None
    if derived.scr_peaks is not None:
        moved, kept, at = [], [], 0
        for lo, hi in pieces:
            inside = (derived.scr_peaks >= lo) & (derived.scr_peaks < hi)
            moved.append(derived.scr_peaks[inside] - lo + at)
            kept.append(derived.scr_amplitudes[inside])
            at += hi - lo
        peaks = np.concatenate(moved).astype(np.int64)
        amplitudes = np.concatenate(kept)
    n = int(sum(hi - lo for lo, hi in pieces))
    return Derived(derived.rate_hz, n, series, peaks, amplitudes)


def splice(data: DriveData, order: tuple[str, ...]) -> DriveData:
    """The drive with its segments in `order` (drivedb.splice_plan: Rest1 and the lead-in
    first, the tail last). Rest1 keeps its samples, so the baseline is the same range."""
    pieces, segments = drivedb.splice_plan(
        data.segments, order, data.derived.n, data.derived.rate_hz
    )
    return DriveData(data.name, splice_derived(data.derived, pieces), segments, data.baseline_s)


def window_labels(
    segments: tuple[drivedb.Segment, ...],
    start_s: np.ndarray,
    window_s: float,
    margin_s: float = MARGIN_S,
) -> np.ndarray:
    """Each window's label: its segment's, if it lies inside one segment `margin_s` away from
    both ends; -1 otherwise (not scored)."""
    labels = np.full(start_s.shape[0], -1, dtype=np.int64)
    for segment in segments:
        inside = (start_s >= segment.start_s + margin_s) & (
            start_s + window_s <= segment.end_s - margin_s
        )
        labels[inside] = segment.label
    return labels


def drive_windows(
    data: DriveData,
    window_s: float,
    stride_s: float,
    margin_s: float = MARGIN_S,
    context_s: float = 0.0,
) -> DriveWindows:
    table = window_features(data.derived, window_s, stride_s)
    labels = window_labels(data.segments, table.start_s, window_s, margin_s)
    b0, b1 = data.baseline_s
    overlaps_baseline = (table.start_s < b1) & (table.start_s + window_s > b0)
    usable = (labels >= 0) & ~overlaps_baseline & np.isfinite(table.values).any(axis=1)
    baseline = baseline_from_derived(data.derived, b0, b1, window_s)
    return DriveWindows(
        drive=data.name,
        start_s=table.start_s[usable],
        labels=labels[usable],
        values=table.values[usable],
        baseline=baseline,
        context=(
            context_features(data.derived, table.start_s[usable], window_s, context_s)
            if context_s
            else None
        ),
    )
