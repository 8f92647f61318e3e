"""Generic CSV: a header row, a time column and one column per channel.

The time column is found by name (`time`, `timestamp`, `Elapsed time(s)`, `t`, `seconds`...)
or is the first column. It holds seconds or ISO 8601 timestamps. The rate comes from it and it
must be regular: every sample within half a sample period (plus 2 ms of rounding) of the
evenly spaced grid from the first to the last time. Units come from the header
(`HR(bpm)`, `EDA [uS]`).
"""

from __future__ import annotations

import re
import warnings
from datetime import datetime
from pathlib import Path

import numpy as np

from mlcore.recordings.recording import (
    Recording,
    RecordingError,
    build_recording,
    normalise_name,
    select_channels,
)

TIME_NAMES = ("time", "timestamp", "elapsed time", "t", "seconds", "time s", "sec", "datetime")
# A time column in milliseconds, by its name ('time_ms', 'Timestamp (ms)', 'millis', 'timer').
MS_TIME_NAMES = ("ms", "time ms", "timestamp ms", "elapsed ms", "millis", "milliseconds", "timer")
MS_WORDS = ("ms", "millis", "milliseconds")
ROUNDING_S = 0.002


def _unit(header: str) -> str:
    match = re.search(r"[\(\[]\s*([^\)\]]*)\s*[\)\]]", header)
    return match.group(1).strip() if match else ""


def time_axis(values, column: str) -> tuple[np.ndarray, datetime | None]:
    """Seconds from the first sample, and the absolute start if the column had timestamps."""
    import pandas as pd

    numeric = pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float64, copy=True)
    if np.isfinite(numeric).all():
        numeric -= numeric[0]
        return numeric, None
    if pd.api.types.is_numeric_dtype(values):
        raise RecordingError("irregular_time", f"The time column '{column}' has empty cells.")
    try:
        stamps = pd.to_datetime(values, utc=True, format="ISO8601")
    except (ValueError, TypeError) as error:
        raise RecordingError(
            "irregular_time",
            f"The time column '{column}' holds neither seconds nor dates and times "
            "(such as 2026-03-05T08:00:00Z) in every row.",
        ) from error
    if stamps.isna().any():
        raise RecordingError("irregular_time", f"The time column '{column}' has empty cells.")
    first = stamps.iloc[0]
    seconds = (stamps - first).dt.total_seconds().to_numpy(dtype=np.float64)
    return seconds, first.to_pydatetime()


def milliseconds_check(seconds: np.ndarray, column: str, max_duration_s: float) -> None:
    """A time column of whole numbers that, read as seconds, lasts longer than a recording
    may but would fit as milliseconds is a millisecond counter (a sensor's timer): refused,
    with the way out. (Whole seconds that fit, a watch writing every 5 s, stay seconds.)"""
    if seconds.shape[0] < 3 or seconds[-1] <= max_duration_s:
        return
    steps = np.diff(seconds[: min(seconds.shape[0], 10_000)])
    step = float(np.median(steps))
    # A whole-second clock stepping by 1 lasting too long is as likely a long recording:
    # that stays "too long" (its message mentions milliseconds too).
    if step >= 2 and np.all(steps == np.round(steps)) and seconds[-1] / 1000 <= max_duration_s:
        raise RecordingError(
            "looks_like_milliseconds",
            f"The time column '{column}' looks like milliseconds: read as seconds, the "
            f"recording would last {seconds[-1] / 3600:.1f} h, one sample every {step:g} s. "
            "Name the column time_ms (or give the time in seconds) and upload it again.",
        )


def rate_from_time(seconds: np.ndarray, column: str) -> float:
    n = seconds.shape[0]
    if n < 2:
        raise RecordingError("too_short", "The file holds fewer than two samples.")
    backwards = seconds[1:] <= seconds[:-1]
    if backwards.any():
        first = int(np.flatnonzero(backwards)[0]) + 1
        raise RecordingError(
            "irregular_time",
            f"The time column '{column}' does not increase at row {first + 1} "
            f"({seconds[first - 1]:g} s then {seconds[first]:g} s).",
        )
    period = seconds[-1] / (n - 1)
    # In place: a 24 h file has 1.3M rows, and every temporary is another 10 MB.
    deviation = np.arange(n, dtype=np.float64)
    deviation *= period
    np.subtract(seconds, deviation, out=deviation)
    np.abs(deviation, out=deviation)
    worst = int(np.argmax(deviation))
    if deviation[worst] > 0.5 * period + ROUNDING_S:
        raise RecordingError(
            "irregular_time",
            f"The time column '{column}' is not regular: at row {worst + 2} the time is "
            f"{deviation[worst]:.3g} s away from an even {1 / period:.4g} Hz grid (a gap or a "
            "change of rate). Split the recording at the gap or resample it evenly.",
        )
    return 1.0 / period


CSV_BLOCK_ROWS = 100_000
CSV_SHAPE = (
    "a header row, then one row per sample, a time column (seconds, or dates and times) and "
    "one column per channel, all separated by commas, semicolons or tabs."
)


def _separator(path: Path) -> str:
    """Comma, or semicolon / tab when the header line uses those and no comma."""
    with open(path, "rb") as handle:
        first = handle.readline(65536)
    for sep in (b",", b";", b"\t"):
        if sep in first:
            return sep.decode()
    return ","


def _count_rows(path: Path) -> int:
    """Data rows (lines after the header that hold something), counted without parsing."""
    newlines = returns = 0
    last = b"\n"
    with open(path, "rb") as handle:
        while block := handle.read(1 << 20):
            newlines += block.count(b"\n")
            returns += block.count(b"\r")
            last = block[-1:]
    end = b"\n" if newlines else b"\r"  # old Mac files end lines with CR only
    lines = newlines or returns
    if last != end:
        lines += 1  # a last line without a line end
    return max(lines - 1, 0)


def _numbers(values) -> np.ndarray:
    """A column as float64; cells that are not numbers count as missing."""
    import pandas as pd

    if not pd.api.types.is_numeric_dtype(values):
        values = pd.to_numeric(values.astype(str).str.strip(), errors="coerce")
    return values.to_numpy(dtype=np.float64, copy=True)


def _channel_name(column: str) -> str:
    return re.sub(r"\s*[\(\[].*$", "", column).strip()


def read_csv(path: Path, *, max_duration_s: float) -> Recording:
    import pandas as pd

    sep = _separator(path)
    try:
        header = list(pd.read_csv(path, nrows=0, sep=sep, skipinitialspace=True).columns)
    except pd.errors.EmptyDataError as error:
        raise RecordingError("empty", "The CSV file is empty.") from error
    except (pd.errors.ParserError, UnicodeDecodeError) as error:
        raise RecordingError(
            "unsupported_format", "The file is not a CSV we can read: " + CSV_SHAPE
        ) from error
    if len(header) < 2:
        raise RecordingError(
            "empty", "The CSV needs a header, a time column and at least one channel column."
        )
    keys = [normalise_name(c) for c in header]
    # normalise_name drops what is in brackets: 'Time (ms)' is 'time', so look at the unit too.
    ms_flags = [
        k in MS_TIME_NAMES or _unit(c).lower() in MS_WORDS
        for c, k in zip(header, keys, strict=True)
    ]
    time_index = next((i for i, k in enumerate(keys) if k in TIME_NAMES or ms_flags[i]), 0)
    in_ms = ms_flags[time_index]
    time_column = header[time_index]
    columns = [c for i, c in enumerate(header) if i != time_index]
    chosen, ignored = select_channels([_channel_name(c) for c in columns])
    wanted = [columns[i] for i in sorted(chosen.values())]
    rows = _count_rows(path)
    if rows == 0:
        raise RecordingError("empty", "The CSV has a header but no rows.")
    # Only the time and the channels we use, parsed in blocks of rows by pandas' C reader into
    # columns allocated once: a 24 h file (1.3M rows) never sits in memory twice.
    data = {column: np.full(rows, np.nan) for column in wanted}
    times = []
    filled = 0
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", pd.errors.DtypeWarning)
            reader = pd.read_csv(
                path,
                usecols=[time_column, *wanted],
                sep=sep,
                skipinitialspace=True,
                chunksize=CSV_BLOCK_ROWS,
            )
            for chunk in reader:
                size = min(chunk.shape[0], rows - filled)
                for column in wanted:
                    data[column][filled : filled + size] = _numbers(chunk[column])[:size]
                times.append(chunk[time_column].iloc[:size])
                filled += size
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as error:
        raise RecordingError(
            "unsupported_format", "The file is not a CSV we can read: " + CSV_SHAPE
        ) from error
    if filled == 0:
        raise RecordingError("empty", "The CSV has a header but no rows.")
    seconds, start = time_axis(pd.concat(times, ignore_index=True), time_column)
    del times
    if in_ms and start is None:
        seconds /= 1000.0
    elif start is None:
        milliseconds_check(seconds, time_column, max_duration_s)
    rate = rate_from_time(seconds, time_column)
    if seconds[-1] > max_duration_s:
        raise RecordingError(
            "too_long",
            f"The recording lasts {seconds[-1] / 3600:.1f} h; at most "
            f"{max_duration_s / 3600:g} h can be scored. (If its time column counts "
            "milliseconds, name it time_ms.)",
        )
    named = [
        (_channel_name(column), _unit(column), rate, data[column][:filled]) for column in wanted
    ]
    return build_recording(
        named, start_time=start, format="csv", max_duration_s=max_duration_s, ignored=ignored
    )
