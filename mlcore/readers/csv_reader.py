"""Generic CSV: a header row, a time column and one column per channel.

The time column is found by name (`time`, `timestamp`, `Elapsed time(s)`, `t`, `seconds`...)
or is the first column. It holds seconds or ISO 8601 timestamps. The rate comes from it and it
must be regular: every sample within half a sample period (plus 2 ms of rounding) of the
evenly spaced grid from the first to the last time. Units come from the header
(`HR(bpm)`, `EDA [uS]`).
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

import numpy as np

from mlcore.recording import Recording, RecordingError, build_recording, normalise_name

TIME_NAMES = ("time", "timestamp", "elapsed time", "t", "seconds", "time s", "sec", "datetime")
ROUNDING_S = 0.002


def _unit(header: str) -> str:
    match = re.search(r"[\(\[]\s*([^\)\]]*)\s*[\)\]]", header)
    return match.group(1).strip() if match else ""


def time_axis(values, column: str) -> tuple[np.ndarray, datetime | None]:
    """Seconds from the first sample, and the absolute start if the column had timestamps."""
    import pandas as pd

    numeric = pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float64)
    if np.isfinite(numeric).all():
        return numeric - numeric[0], None
    try:
        stamps = pd.to_datetime(values, utc=True, format="ISO8601")
    except (ValueError, TypeError) as error:
        raise RecordingError(
            "irregular_time",
            f"The time column '{column}' holds neither seconds nor ISO timestamps "
            f"everywhere ({error}).",
        ) from error
    if stamps.isna().any():
        raise RecordingError("irregular_time", f"The time column '{column}' has empty cells.")
    first = stamps.iloc[0]
    seconds = (stamps - first).dt.total_seconds().to_numpy(dtype=np.float64)
    return seconds, first.to_pydatetime()


def rate_from_time(seconds: np.ndarray, column: str) -> float:
    n = seconds.shape[0]
    if n < 2:
        raise RecordingError("too_short", "The file holds fewer than two samples.")
    steps = np.diff(seconds)
    if (steps <= 0).any():
        first = int(np.flatnonzero(steps <= 0)[0]) + 1
        raise RecordingError(
            "irregular_time",
            f"The time column '{column}' does not increase at row {first + 1} "
            f"({seconds[first - 1]:g} s then {seconds[first]:g} s).",
        )
    period = seconds[-1] / (n - 1)
    deviation = np.abs(seconds - np.arange(n) * period)
    worst = int(np.argmax(deviation))
    if deviation[worst] > 0.5 * period + ROUNDING_S:
        raise RecordingError(
            "irregular_time",
            f"The time column '{column}' is not regular: at row {worst + 2} the time is "
            f"{deviation[worst]:.3g} s away from an even {1 / period:.4g} Hz grid (a gap or a "
            "change of rate). Split the recording at the gap or resample it evenly.",
        )
    return 1.0 / period


def read_csv(path: Path, *, max_duration_s: float) -> Recording:
    import pandas as pd

    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
    except pd.errors.EmptyDataError as error:
        raise RecordingError("empty", "The CSV file is empty.") from error
    except (pd.errors.ParserError, UnicodeDecodeError) as error:
        raise RecordingError(
            "unsupported_format", f"The file is not a readable CSV ({error})."
        ) from error
    if frame.shape[0] == 0 or frame.shape[1] < 2:
        raise RecordingError(
            "empty", "The CSV needs a header, a time column and at least one channel column."
        )
    keys = [normalise_name(c) for c in frame.columns]
    time_index = next((i for i, k in enumerate(keys) if k in TIME_NAMES), 0)
    time_column = frame.columns[time_index]
    seconds, start = time_axis(frame[time_column], time_column)
    rate = rate_from_time(seconds, time_column)
    if seconds[-1] > max_duration_s:
        raise RecordingError(
            "too_long",
            f"The recording lasts {seconds[-1] / 3600:.1f} h; at most "
            f"{max_duration_s / 3600:g} h can be scored.",
        )
    named = []
    for i, column in enumerate(frame.columns):
        if i == time_index:
            continue
        raw = frame[column].str.strip()
        values = pd.to_numeric(raw.replace({"": None, "nan": None, "NaN": None}), errors="coerce")
        samples = values.to_numpy(dtype=np.float64)
        named.append((re.sub(r"\s*[\(\[].*$", "", column).strip(), _unit(column), rate, samples))
    return build_recording(named, start_time=start, format="csv", max_duration_s=max_duration_s)
