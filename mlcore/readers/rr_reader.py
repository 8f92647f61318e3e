"""RR (inter-beat interval) files, and heart rate from beat-to-beat intervals.

The files we read:
- One interval per line (Kubios' RR ASCII format, Elite HRV and other HRV apps' exports),
  with or without one header line naming the column.
- A small CSV (comma, semicolon or tab) of at most two columns, one of them named for the
  interval: RR, IBI, RRI, NN, "RR-interval [ms]", "rr_ms", "IBI (s)"... When the other column
  holds increasing numbers whose steps match the intervals (in seconds or milliseconds), they
  are the beat times and a stretch without beats stays a gap; otherwise the beats follow one
  another (the time is the running sum of the intervals).
- The Empatica E4's IBI.csv: a header "<start in unix seconds>, IBI", then rows of
  "<beat time in seconds after the start>, <interval in seconds>". Its start is in UTC; the
  other files have no clock, so their recordings have no start time.

The unit is decided by magnitude, whatever the header says: a median interval below 3 means
seconds, otherwise milliseconds (a heart beats every 0.25-2.5 s).

Heart rate from intervals (`hr_from_intervals`, shared with the Polar and EmbracePlus
readers): each interval gives 60 / interval beats per minute, held from the beat that ends it
until the next beat (as drivedb's HR channel and the HR derived from ECG R-peaks look), on a
4 Hz grid. An interval is an artefact, and its stretch missing (NaN), when it lies outside
300-2000 ms (200-30 beats per minute) or differs by more than 25% from the median of the 11
intervals around it (itself included, out-of-range ones left out): a missed or extra beat,
or an ectopic one. A value is never held more than 2.5 s, so a gap in the beats stays a gap.
"""

from __future__ import annotations

import warnings
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from mlcore.recordings.recording import Recording, RecordingError, build_recording, normalise_name

FORMAT = "rr"

HR_RATE_HZ = 4.0
RR_RANGE_S = (0.3, 2.0)
LOCAL_BEATS = 11
LOCAL_TOLERANCE = 0.25
HOLD_MAX_S = 2.5
SECONDS_BELOW = 3.0  # a median interval below this is in seconds

# Column names (as normalise_name leaves them) that hold the intervals.
RR_NAMES = frozenset(
    {
        "rr",
        "rri",
        "ibi",
        "nn",
        "rr interval",
        "rr intervals",
        "rr interval ms",
        "rr ms",
        "rr s",
        "rri ms",
        "ibi ms",
        "ibi s",
        "nn interval",
        "nn intervals",
        "interbeat interval",
        "inter beat interval",
        "inter beat intervals",
        "beat to beat interval",
    }
)
# What sniff asks of a file of bare numbers: a median and most values in a heart's range.
PLAUSIBLE_MS = (250.0, 2500.0)
PLAUSIBLE_SHARE = 0.9
HEAD_BYTES = 4096


# -- heart rate from intervals --------------------------------------------------------------
def artefacts(intervals_s: np.ndarray) -> np.ndarray:
    """True where an interval is an artefact (see the module's rule), NaN ones included."""
    rr = np.asarray(intervals_s, dtype=np.float64)
    low, high = RR_RANGE_S
    with np.errstate(invalid="ignore"):
        bad = ~np.isfinite(rr) | (rr < low) | (rr > high)
    in_range = np.where(bad, np.nan, rr)
    half = LOCAL_BEATS // 2
    windows = np.lib.stride_tricks.sliding_window_view(
        np.pad(in_range, half, constant_values=np.nan), LOCAL_BEATS
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a window of artefacts only
        local = np.nanmedian(windows, axis=1)
    with np.errstate(invalid="ignore"):
        bad |= np.abs(rr - local) > LOCAL_TOLERANCE * local
    return bad


def hr_from_intervals(
    intervals_s: np.ndarray,
    rate_hz: float = HR_RATE_HZ,
    *,
    ends_s: np.ndarray | None = None,
    missing: np.ndarray | None = None,
) -> np.ndarray:
    """Heart rate (bpm) at `rate_hz` from beat-to-beat intervals (seconds, all positive), by
    the module's rule. Sample 0 is at the first beat, the start of the first interval.
    `ends_s`, when the beat times are known, is when each interval ended (seconds on any
    clock, non-decreasing); without it the intervals follow one another. `missing` marks
    intervals the device itself flagged as unreliable."""
    rr = np.asarray(intervals_s, dtype=np.float64)
    if rr.size == 0:
        return np.empty(0)
    ends = np.cumsum(rr) if ends_s is None else np.asarray(ends_s, dtype=np.float64)
    flagged = np.zeros(rr.shape, dtype=bool) if missing is None else np.asarray(missing, bool)
    first = ends[0] - rr[0]
    bpm = 60.0 / rr
    bpm[artefacts(np.where(flagged, np.nan, rr))] = np.nan
    n = int(np.ceil((ends[-1] - first) * rate_hz)) + 1
    t = first + np.arange(n) / rate_hz
    which = np.searchsorted(ends, t, side="right") - 1
    out = np.full(n, np.nan)
    known = which >= 0
    beat = which[known]
    values = bpm[beat]
    values[t[known] - ends[beat] > HOLD_MAX_S] = np.nan
    out[known] = values
    return out


def in_seconds(values: np.ndarray) -> np.ndarray:
    """Intervals in seconds, from seconds or milliseconds decided by their median."""
    finite = values[np.isfinite(values)]
    if finite.size and float(np.median(finite)) >= SECONDS_BELOW:
        return values / 1000.0
    return values


def too_long(seconds: float, max_duration_s: float) -> RecordingError:
    return RecordingError(
        "too_long",
        f"The recording lasts {seconds / 3600:.1f} h; at most {max_duration_s / 3600:g} h can "
        "be scored.",
    )


# -- the file -------------------------------------------------------------------------------
def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if np.isfinite(value) else None


def _separator(lines: list[str]) -> str | None:
    for sep in (",", ";", "\t"):
        if any(sep in line for line in lines[:2]):
            return sep
    return None


def _fields(line: str, sep: str | None) -> list[str]:
    parts = line.split(sep) if sep else line.split()
    if sep and parts and parts[-1].strip() == "":
        parts = parts[:-1]  # a trailing separator
    return [part.strip().strip('"') for part in parts]


def _rr_column(header: list[str]) -> int | None:
    for i, name in enumerate(header):
        if normalise_name(name) in RR_NAMES:
            return i
    return None


def _layout(lines: list[str]) -> tuple[str | None, list[str] | None, int, int]:
    """(separator, header or None, interval column, columns); columns 0 when the file is not
    an RR file."""
    sep = _separator(lines)
    first = _fields(lines[0], sep)
    if sep is None and not all(_number(f) is not None for f in first):
        first = [lines[0].strip().strip('"')]  # a header without separators: one name
    if all(_number(f) is not None for f in first):
        return sep, None, 0, (1 if len(first) == 1 else 0)
    column = _rr_column(first)
    if column is None or len(first) > 2:
        return sep, first, 0, 0
    return sep, first, column, len(first)


def _plausible(values: list[float]) -> bool:
    if len(values) < 3:
        return False
    array = np.asarray(values)
    if float(np.median(array)) < SECONDS_BELOW:
        array = array * 1000.0
    low, high = PLAUSIBLE_MS
    inside = (array >= low) & (array <= high)
    return low <= float(np.median(array)) <= high and inside.mean() >= PLAUSIBLE_SHARE


def sniff(head: bytes, name: str) -> bool:
    """Lines of one number each, most of them a heart's intervals (ms or s); or a header
    naming the interval column with at most one other column, over such intervals ("RR" is
    also a respiratory rate: 12-20 a minute is not an interval)."""
    text = head.decode("utf-8", errors="replace").lstrip("\ufeff")
    lines = text.splitlines()
    if len(head) >= HEAD_BYTES and lines and not text.endswith(("\n", "\r")):
        lines = lines[:-1]  # cut by the head's end
    lines = [line.strip() for line in lines if line.strip()]
    if not lines:
        return False
    sep, header, column, columns = _layout(lines)
    if columns == 0:
        return False
    values = []
    for line in lines[1:] if header is not None else lines:
        fields = _fields(line, sep)
        value = _number(fields[column]) if len(fields) == columns else None
        if value is None:
            return False
        values.append(value)
    if header is not None and len(values) < 3:
        return True  # too few to judge: read() says what is wrong
    return _plausible(values)


def _beat_times(values: list[str], rr_s: np.ndarray) -> np.ndarray | None:
    """The other column as beat times (seconds) if it is one: increasing numbers whose steps
    match the intervals, in seconds or milliseconds."""
    numbers = [_number(v) for v in values]
    if len(numbers) < 3 or any(n is None for n in numbers):
        return None
    times = np.asarray(numbers, dtype=np.float64)
    steps = np.diff(times)
    if (steps < 0).any():
        return None
    typical = float(np.median(rr_s))
    step = float(np.median(steps))
    for scale in (1.0, 1000.0):
        if typical > 0 and abs(step / scale / typical - 1.0) < 0.2:
            return times / scale
    return None


def read(path: Path, *, max_duration_s: float) -> Recording:
    with open(path, encoding="utf-8-sig", errors="replace") as handle:
        numbered = [(i, line.strip()) for i, line in enumerate(handle, start=1) if line.strip()]
    lines = [line for _, line in numbered]
    if not lines:
        raise RecordingError("empty", "The file holds no intervals.")
    sep, header, column, columns = _layout(lines)
    if columns == 0:
        raise RecordingError(
            "unsupported_format",
            "This is not an RR-interval file we can read: one interval per line, or a column "
            "named RR or IBI with at most one other column.",
        )
    intervals, others = [], []
    for number, line in numbered[1:] if header is not None else numbered:
        fields = _fields(line, sep)
        value = _number(fields[column]) if len(fields) == columns else None
        if value is None:
            raise RecordingError(
                "unsupported_format",
                f"Line {number} does not hold an interval (a number) where the others do.",
            )
        intervals.append(value)
        if columns == 2:
            others.append(fields[1 - column])
    if not intervals:
        raise RecordingError("empty", "The file names an interval column but holds no intervals.")
    rr = in_seconds(np.asarray(intervals, dtype=np.float64))
    if (rr <= 0).any():
        raise RecordingError("bad_value", "The file holds intervals of zero or less.")
    start = None
    ignored = []
    ends = _beat_times(others, rr) if others else None
    if header is not None and columns == 2:
        other_name = header[1 - column]
        unix = _number(other_name)
        if unix is not None and unix > 1e8:  # Empatica E4: the header is the session start
            start = unix
        elif ends is None:
            ignored.append(other_name)
    span = (ends[-1] - ends[0] + rr[0]) if ends is not None else float(rr.sum())
    if span > max_duration_s:
        raise too_long(span, max_duration_s)
    samples = hr_from_intervals(rr, HR_RATE_HZ, ends_s=ends)
    start_time = None
    if start is not None:
        first_beat = (ends[0] - rr[0]) if ends is not None else 0.0
        start_time = datetime.fromtimestamp(start + first_beat, tz=UTC)
    return build_recording(
        [("HR", "bpm", HR_RATE_HZ, samples)],
        start_time=start_time,
        format=FORMAT,
        max_duration_s=max_duration_s,
        ignored=ignored,
    )
