"""Polar Sensor Logger exports (Polar H10 chest strap, Verity Sense, OH1): one text file per
stream, ';'-separated, a header row, then one row per sample (or per beat, or per HR
notification). The headers, as the app writes them (a trailing ';' is allowed):

    ECG  Phone timestamp;sensor timestamp [ns];timestamp [ms];ecg [uV]      H10: 130 Hz
    ACC  Phone timestamp;sensor timestamp [ns];X [mg];Y [mg];Z [mg]         H10: 25-200 Hz
    PPG  Phone timestamp;sensor timestamp [ns];channel 0;channel 1;channel 2;ambient
    HR   Phone timestamp;HR [bpm]           or, newer versions,
         Phone timestamp;HR [bpm];HRV [ms];Breathing interval [rpm];
    RR   Phone timestamp;RR-interval [ms]
    PPI  Phone Data RX timestamp;PP-interval [ms];error estimate [ms];blocker;contact;contact;
         hr [bpm]                          (Verity Sense)

Gyroscope (X [dps]), magnetometer (X [G]) and marker files are recognised and not used.
Channels: ECG (uV, as written), ACC (the magnitude of X, Y, Z, in mg), PPG (the mean of the
optical channels), HR (bpm). RR intervals (H10) or PP intervals (Verity Sense; a "blocker"
interval, flagged by the sensor for movement, is missing) become a 4 Hz HR channel by
`rr_reader.hr_from_intervals` (its docstring states the artefact rule); the HR file is used,
held on a 1 Hz grid, only when there are no intervals.

The two clocks. "Phone timestamp" is the phone's local wall-clock time (no zone) when the row
arrived. "sensor timestamp [ns]" is nanoseconds since 2000-01-01 on the sensor's own clock,
which Polar documents as set by the app to the phone's *local* time (setLocalTime) or, when
never set, running from a firmware default (an H10 restarts from 2019-01-01 each time it
switches off): it is neither UTC nor always a date. So the sensor timestamps give the
spacing (rate, grid, lost packets) and the phone clock gives the start: the first sample's
sensor time plus the smallest phone-minus-sensor difference over the first rows (the least
delayed packet). The start is local time without a zone, as EDF's (UTC if the phone
timestamps carry an offset). Streams without sensor timestamps (RR, HR, PPI) are placed by
the phone clock, so the files of one session line up.

Samples on a grid: older app versions stamp a whole packet with one time (that of its last
sample, as the SDK's own model documents), newer ones every sample. Either way the rate is
the number of samples over the time they span, counting only steps within half to one and a
half times the median period (a lost packet is not a slower rate); each sample then goes to
the grid slot nearest its own time, and slots no sample reaches (lost packets) are missing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from mlcore.readers.rr_reader import HR_RATE_HZ, hr_from_intervals, too_long
from mlcore.recordings.recording import Recording, RecordingError, build_recording

FORMAT = "polar"
ZIP_FORMAT = "polar-zip"

PHONE_COLUMNS = ("phone timestamp", "phone data rx timestamp")
SENSOR_COLUMN = "sensor timestamp [ns]"
# Streams we read, what we call them in messages, and the channel each gives.
STREAM_LABELS = {
    "ecg": "ECG",
    "acc": "accelerometer",
    "ppg": "PPG",
    "rr": "RR-interval",
    "ppi": "PP-interval",
    "hr": "heart rate",
}
UNUSED_STREAMS = {"gyro": "GYRO", "mag": "MAG", "marker": "MARKER", "other": "other"}
ZIP_NAME = re.compile(r"(^|_)(ecg|acc|ppg|rr|hr|ppi)\.(txt|csv)$", re.IGNORECASE)

BLOCK_ROWS = 1_000_000
CSV_CHUNK_ROWS = 250_000  # rows parsed at a time: a few MB of temporaries
RATE_SAMPLE = 100_000  # steps whose median is the typical sampling period
ANCHOR_ROWS = 5000  # rows whose phone time sets the start
BACKWARD_LIMIT_S = 0.5  # a sensor clock stepping back further was reset mid-file
GAP_S = 2.0  # beats arriving this much later than their intervals add up to: a gap
GAP_WINDOW = 8  # beats over which the least arrival delay is taken
ANCHOR_BEATS = 120  # beats whose least arrival delay puts them on the phone clock
HR_FILE_HZ = 1.0
HR_FILE_HOLD_S = 3.0


@dataclass
class Stream:
    kind: str  # ecg, acc, ppg, rr, ppi, hr, or one of UNUSED_STREAMS
    fields: list[str]  # the header, lower-cased


@dataclass
class Piece:
    kind: str
    name: str
    unit: str
    rate_hz: float
    samples: np.ndarray
    start: datetime


def _header_fields(line: str) -> list[str]:
    fields = [f.strip().strip('"').lower() for f in line.lstrip("\ufeff").strip().split(";")]
    while fields and fields[-1] == "":
        fields.pop()
    return fields


def stream_of(first_line: str) -> Stream | None:
    """The stream a Polar Sensor Logger header line announces, or None."""
    fields = _header_fields(first_line)
    if len(fields) < 2 or fields[0] not in PHONE_COLUMNS:
        return None
    has = set(fields)
    if "ecg [uv]" in has and SENSOR_COLUMN in has:
        kind = "ecg"
    elif {"x [mg]", "y [mg]", "z [mg]"} <= has and SENSOR_COLUMN in has:
        kind = "acc"
    elif "channel 0" in has and SENSOR_COLUMN in has:
        kind = "ppg"
    elif "rr-interval [ms]" in has:
        kind = "rr"
    elif "pp-interval [ms]" in has:
        kind = "ppi"
    elif "hr [bpm]" in has:
        kind = "hr"
    elif "x [dps]" in has:
        kind = "gyro"
    elif "x [g]" in has:
        kind = "mag"
    elif any("marker" in f for f in fields):
        kind = "marker"
    else:
        kind = "other"
    return Stream(kind, fields)


def sniff(head: bytes, name: str) -> bool:
    first = head.decode("utf-8", errors="replace").splitlines()[:1]
    return bool(first) and stream_of(first[0]) is not None


def zip_members(names: list[str]) -> list[str] | None:
    chosen = [n for n in names if ZIP_NAME.search(n)]
    return chosen or None


# -- reading ---------------------------------------------------------------------------------
def _complete_rows(path: Path) -> int:
    """Data rows that end with a line break (a last row without one was cut mid-write)."""
    lines = 0
    with open(path, "rb") as handle:
        while block := handle.read(1 << 20):
            lines += block.count(b"\n")
    return max(lines - 1, 0)


def _phone_time(text: str, label: str) -> datetime:
    try:
        return datetime.fromisoformat(text.strip())
    except ValueError as error:
        raise RecordingError(
            "unsupported_format",
            f"The {label} file's phone timestamps are not dates and times "
            "(such as 2024-05-12T14:10:15.270).",
        ) from error


def _no_samples(label: str) -> RecordingError:
    return RecordingError(
        "truncated",
        f"The {label} file holds its header but no samples: the recording was cut off before "
        "anything was saved.",
    )


def _not_numbers(label: str) -> RecordingError:
    return RecordingError(
        "unsupported_format",
        f"The {label} file holds rows that are not numbers where its samples should be: it is "
        "damaged or not a Polar Sensor Logger file.",
    )


def _rate(steps: np.ndarray, counts: np.ndarray, label: str) -> float:
    """Samples per second over the steps between packet timestamps (`counts` samples each)
    within half to one and a half times the median period."""
    period = steps / counts
    positive = period > 0
    if not positive.any():
        raise RecordingError(
            "irregular_time", f"The {label} file's sensor timestamps never advance."
        )
    typical = float(np.median(period[positive]))
    keep = positive & (period > 0.5 * typical) & (period < 1.5 * typical)
    return float(counts[keep].sum() / steps[keep].sum())


def _blocks(rel: np.ndarray):
    """(first row, steps from it) over `rel` in blocks: no array of all steps at once (a
    day of ECG is 11 million of them)."""
    for a in range(0, rel.shape[0] - 1, BLOCK_ROWS):
        yield a, np.diff(rel[a : a + BLOCK_ROWS + 1])


def _per_sample_rate(rel: np.ndarray, label: str) -> float:
    """The rate where every sample has its own timestamp (the same rule as `_rate`)."""
    sample = np.diff(rel[: RATE_SAMPLE + 1])
    positive = sample[sample > 0]
    if positive.size == 0:
        raise RecordingError(
            "irregular_time", f"The {label} file's sensor timestamps never advance."
        )
    typical = float(np.median(positive))
    count, total = 0, 0.0
    for _, steps in _blocks(rel):
        keep = (steps > 0.5 * typical) & (steps < 1.5 * typical)
        count += int(np.count_nonzero(keep))
        total += float(steps.sum(where=keep))
    return count / total


def _sample_times(rel: np.ndarray, label: str) -> float:
    """The rate; `rel` (sensor seconds from the first row) becomes each sample's own time,
    in place, where a packet shares one timestamp (that of its last sample)."""
    n = rel.shape[0]
    if n < 2:
        raise RecordingError("too_short", f"The {label} file holds a single sample.")
    zeros = 0
    for a, steps in _blocks(rel):
        back = np.flatnonzero(steps < -BACKWARD_LIMIT_S)
        if back.size:
            row = a + int(back[0]) + 2
            raise RecordingError(
                "irregular_time",
                f"The {label} file's sensor clock jumps back by {-steps[back[0]]:.1f} s at "
                f"data row {row}: it was reset during the recording. Upload the parts "
                "separately.",
            )
        zeros += int(np.count_nonzero(steps == 0))
    if zeros <= (n - 1) // 2:
        return _per_sample_rate(rel, label)
    changes = [a + 1 + np.flatnonzero(steps != 0) for a, steps in _blocks(rel)]
    starts = np.concatenate([np.zeros(1, dtype=np.int64), *changes])
    counts = np.diff(np.append(starts, n)).astype(np.float64)
    rate = _rate(np.diff(rel[starts]), counts[1:], label)
    last = starts + counts.astype(np.int64) - 1
    for a in range(0, n, BLOCK_ROWS):
        i = np.arange(a, min(n, a + BLOCK_ROWS))
        packet = np.searchsorted(starts, i, side="right") - 1
        rel[a : a + i.shape[0]] -= (last[packet] - i) / rate
    return rate


def _on_grid(rel: np.ndarray, values: np.ndarray, rate: float, max_duration_s: float):
    """Samples at their times -> a regular series from the earliest; (series, its first
    sample's time on the `rel` clock). Where every sample already sits in its own slot (no
    packet lost), the series is `values` itself: a day of ECG is not copied."""
    first = float(rel.min())
    span = float(rel.max()) - first
    if span > max_duration_s:
        raise too_long(span, max_duration_s)
    n = round(span * rate) + 1

    def slots(a: int) -> np.ndarray:
        return np.rint((rel[a : a + BLOCK_ROWS] - first) * rate).astype(np.int64)

    if n == values.shape[0] and all(
        np.array_equal(slots(a), np.arange(a, min(a + BLOCK_ROWS, n)))
        for a in range(0, n, BLOCK_ROWS)
    ):
        return values, first
    out = np.full(n, np.nan)
    for a in range(0, rel.shape[0], BLOCK_ROWS):
        out[slots(a)] = values[a : a + BLOCK_ROWS]
    return out, first


def _anchor(path: Path, fields: list[str], rows: int, ns0: int, label: str) -> datetime:
    """The phone time at sensor time `ns0`: the least-delayed of the first rows."""
    import pandas as pd

    sensor = fields.index(SENSOR_COLUMN)
    head = pd.read_csv(
        path,
        sep=";",
        usecols=[0, sensor],
        nrows=min(rows, ANCHOR_ROWS),
        dtype=str,
        header=0,
        index_col=False,
        encoding="utf-8-sig",
    )
    phones = [_phone_time(text, label) for text in head.iloc[:, 0].astype(str)]
    sensor_ns = head.iloc[:, 1].astype(np.int64).to_numpy()
    first = phones[0]
    delays = [
        (phone - first).total_seconds() - (ns - ns0) / 1e9
        for phone, ns in zip(phones, sensor_ns, strict=True)
    ]
    return first + timedelta(seconds=min(delays) - (int(sensor_ns[0]) - ns0) / 1e9)


def _read_sensor_stream(
    path: Path, stream: Stream, *, max_duration_s: float
) -> tuple[np.ndarray, float, datetime]:
    """ECG, ACC or PPG: (grid samples, rate, time of the first)."""
    import pandas as pd

    label = STREAM_LABELS[stream.kind]
    fields = stream.fields
    if stream.kind == "ecg":
        wanted = [fields.index("ecg [uv]")]
    elif stream.kind == "acc":
        wanted = [fields.index(axis) for axis in ("x [mg]", "y [mg]", "z [mg]")]
    else:
        wanted = [i for i, f in enumerate(fields) if re.fullmatch(r"channel \d+", f)]
    sensor = fields.index(SENSOR_COLUMN)
    rows = _complete_rows(path)
    if rows == 0:
        raise _no_samples(label)
    rel = np.empty(rows, dtype=np.float64)
    values = np.empty(rows, dtype=np.float64)
    filled = 0
    ns0 = None
    columns = sorted({sensor, *wanted})
    try:
        reader = pd.read_csv(
            path,
            sep=";",
            header=0,
            usecols=columns,
            nrows=rows,
            chunksize=CSV_CHUNK_ROWS,
            index_col=False,  # rows ending in ';' keep their columns in place
            encoding="utf-8-sig",
            engine="c",
        )
        for chunk in reader:
            stamps = chunk.iloc[:, columns.index(sensor)].to_numpy()
            if stamps.dtype.kind not in "iu":
                raise _not_numbers(label)
            if ns0 is None:
                ns0 = int(stamps[0])
            size = stamps.shape[0]
            rel[filled : filled + size] = (stamps - ns0) / 1e9
            picked = chunk.iloc[:, [columns.index(i) for i in wanted]].to_numpy(np.float64)
            if stream.kind == "acc":
                out = np.sqrt(np.einsum("ij,ij->i", picked, picked))
            else:
                out = picked.mean(axis=1)
            values[filled : filled + size] = out
            filled += size
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as error:
        raise _not_numbers(label) from error
    if filled == 0 or ns0 is None:
        raise _no_samples(label)
    rel, values = rel[:filled], values[:filled]
    rate = _sample_times(rel, label)
    samples, first = _on_grid(rel, values, rate, max_duration_s)
    del rel, values
    start = _anchor(path, fields, filled, ns0, label) + timedelta(seconds=first)
    return samples, rate, start


def _text_rows(path: Path, stream: Stream, label: str) -> list[list[str]]:
    with open(path, encoding="utf-8-sig", errors="replace") as handle:
        lines = handle.read().splitlines()
    if lines and not lines[-1].strip():
        lines = lines[:-1]
    rows = [line.split(";") for line in lines[1:] if line.strip()]
    if not rows:
        raise _no_samples(label)
    return rows


def _column(rows: list[list[str]], index: int, label: str) -> np.ndarray:
    out = np.full(len(rows), np.nan)
    for i, row in enumerate(rows):
        text = row[index].strip() if index < len(row) else ""
        if text:
            try:
                out[i] = float(text)
            except ValueError as error:
                raise _not_numbers(label) from error
    return out


def _phone_seconds(rows: list[list[str]], label: str) -> tuple[np.ndarray, datetime]:
    times = [_phone_time(row[0], label) for row in rows]
    first = times[0]
    seconds = np.array([(t - first).total_seconds() for t in times])
    if (np.diff(seconds) < -BACKWARD_LIMIT_S).any():
        raise RecordingError(
            "irregular_time",
            f"The {label} file's phone timestamps go back in time (the phone's clock was "
            "changed during the recording). Upload the parts separately.",
        )
    return seconds, first


def beat_ends(arrival_s: np.ndarray, intervals_s: np.ndarray) -> np.ndarray:
    """When each beat happened, on the phone clock (seconds). The intervals are added up;
    their arrival comes after the beat by a delay (BLE batching, about a second), whose least
    value over the next GAP_WINDOW beats stays put while the beats follow one another: a step
    up of more than GAP_S in it is a stretch of lost beats, kept as a gap. The sum is then
    moved onto the phone clock by the least delay over the first ANCHOR_BEATS beats."""
    ends = np.cumsum(intervals_s)
    delay = arrival_s - ends
    padded = np.concatenate((delay, np.full(GAP_WINDOW - 1, np.inf)))
    least = np.lib.stride_tricks.sliding_window_view(padded, GAP_WINDOW).min(axis=1)
    steps = np.diff(least, prepend=least[0])
    gaps = np.cumsum(np.where(steps > GAP_S, steps, 0.0))
    ends += gaps + float(np.min((least - gaps)[:ANCHOR_BEATS]))
    return ends


def _read_intervals(path: Path, stream: Stream, *, max_duration_s: float):
    label = STREAM_LABELS[stream.kind]
    rows = _text_rows(path, stream, label)
    column = "rr-interval [ms]" if stream.kind == "rr" else "pp-interval [ms]"
    ms = _column(rows, stream.fields.index(column), label)
    keep = np.isfinite(ms) & (ms > 0)
    if not keep.any():
        raise _no_samples(label)
    arrival, first = _phone_seconds(rows, label)
    arrival, ms = arrival[keep], ms[keep]
    intervals = ms / 1000.0
    ends = beat_ends(arrival, intervals)
    span = float(ends[-1] - ends[0] + intervals[0])
    if span > max_duration_s:
        raise too_long(span, max_duration_s)
    blocked = None
    if stream.kind == "ppi" and "blocker" in stream.fields:
        blocked = _column(rows, stream.fields.index("blocker"), label)[keep] == 1
    samples = hr_from_intervals(intervals, HR_RATE_HZ, ends_s=ends, missing=blocked)
    first_beat = float(ends[0] - intervals[0])
    return samples, HR_RATE_HZ, first + timedelta(seconds=first_beat)


def _read_hr(path: Path, stream: Stream, *, max_duration_s: float):
    label = STREAM_LABELS["hr"]
    rows = _text_rows(path, stream, label)
    bpm = _column(rows, stream.fields.index("hr [bpm]"), label)
    bpm[bpm <= 0] = np.nan  # no skin contact
    seconds, first = _phone_seconds(rows, label)
    order = np.argsort(seconds, kind="stable")
    seconds, bpm = seconds[order], bpm[order]
    if seconds[-1] > max_duration_s:
        raise too_long(float(seconds[-1]), max_duration_s)
    grid = np.arange(int(np.floor(seconds[-1] * HR_FILE_HZ)) + 1) / HR_FILE_HZ
    which = np.searchsorted(seconds, grid, side="right") - 1
    samples = bpm[which]
    samples[grid - seconds[which] > HR_FILE_HOLD_S] = np.nan
    return samples, HR_FILE_HZ, first


def _read_file(path: Path, *, max_duration_s: float) -> tuple[Stream, Piece | None]:
    with open(path, "rb") as handle:
        first = handle.readline(65536).decode("utf-8", errors="replace")
    stream = stream_of(first)
    if stream is None:
        raise RecordingError(
            "unsupported_format", "This is not a Polar Sensor Logger file: its header is unknown."
        )
    if stream.kind in UNUSED_STREAMS:
        return stream, None
    if stream.kind in ("ecg", "acc", "ppg"):
        samples, rate, start = _read_sensor_stream(path, stream, max_duration_s=max_duration_s)
    elif stream.kind in ("rr", "ppi"):
        samples, rate, start = _read_intervals(path, stream, max_duration_s=max_duration_s)
    else:
        samples, rate, start = _read_hr(path, stream, max_duration_s=max_duration_s)
    name, unit = {
        "ecg": ("ECG", "uV"),
        "acc": ("ACC", "mg"),
        "ppg": ("PPG", ""),
    }.get(stream.kind, ("HR", "bpm"))
    return stream, Piece(stream.kind, name, unit, rate, samples, start)


def _merge(pieces: list[Piece]) -> Piece:
    """Files of one stream (a session saved in parts) -> one series on the first's grid."""
    if len(pieces) == 1:
        return pieces[0]
    pieces = sorted(pieces, key=lambda p: p.start)
    first = pieces[0]
    offsets = [(p.start - first.start).total_seconds() for p in pieces]
    end = max(o + p.samples.shape[0] / first.rate_hz for o, p in zip(offsets, pieces, strict=True))
    out = np.full(int(np.ceil(end * first.rate_hz)), np.nan)
    for offset, piece in zip(offsets, pieces, strict=True):
        at = round(offset * first.rate_hz)
        out[at : at + piece.samples.shape[0]] = piece.samples[: out.shape[0] - at]
    return Piece(first.kind, first.name, first.unit, first.rate_hz, out, first.start)


def _recording(
    pieces: list[Piece], unused: list[str], *, format: str, max_duration_s: float
) -> Recording:
    by_kind: dict[str, list[Piece]] = {}
    for piece in pieces:
        by_kind.setdefault(piece.kind, []).append(piece)
    merged = {kind: _merge(group) for kind, group in by_kind.items()}
    ignored = list(unused)
    heart = next((k for k in ("rr", "ppi", "hr") if k in merged), None)
    for kind in ("rr", "ppi", "hr"):
        if kind in merged and kind != heart:
            ignored.append(f"{STREAM_LABELS[kind]} file")
            del merged[kind]
    if not merged:
        raise RecordingError(
            "no_usable_channel",
            "No stream we can use: the files hold "
            + (", ".join(unused) or "nothing")
            + ". Record ECG, RR intervals, heart rate, PPG or the accelerometer.",
        )
    starts = [p.start for p in merged.values()]
    if len({s.tzinfo is None for s in starts}) > 1:
        raise RecordingError(
            "irregular_time",
            "The files' clocks differ: some of their timestamps give a time zone, some do not.",
        )
    start = min(starts)
    named = [
        (p.name, p.unit, p.rate_hz, p.samples, (p.start - start).total_seconds())
        for p in merged.values()
    ]
    if start.tzinfo is not None:
        start = start.astimezone(UTC)
    return build_recording(
        named, start_time=start, format=format, max_duration_s=max_duration_s, ignored=ignored
    )


def read(path: Path, *, max_duration_s: float) -> Recording:
    stream, piece = _read_file(path, max_duration_s=max_duration_s)
    if piece is None:
        raise RecordingError(
            "no_usable_channel",
            f"This Polar Sensor Logger file holds {UNUSED_STREAMS[stream.kind]} data, which "
            "the models do not use. Upload the ECG, RR-interval, HR, PPG or accelerometer "
            "file.",
        )
    return _recording([piece], [], format=FORMAT, max_duration_s=max_duration_s)


def read_folder(folder: Path, *, max_duration_s: float) -> Recording:
    pieces, unused, unknown = [], [], []
    for path in sorted(p for p in folder.iterdir() if p.is_file()):
        with open(path, "rb") as handle:
            if stream_of(handle.readline(65536).decode("utf-8", errors="replace")) is None:
                unknown.append(path.name)
                continue
        stream, piece = _read_file(path, max_duration_s=max_duration_s)
        if piece is None:
            unused.append(UNUSED_STREAMS[stream.kind])
        else:
            pieces.append(piece)
    if not pieces and not unused:
        raise RecordingError(
            "unsupported_format",
            "The zip's files are named like a Polar Sensor Logger export but none of them is "
            "one: their first lines are not the app's headers.",
        )
    return _recording(pieces, unused + unknown, format=ZIP_FORMAT, max_duration_s=max_duration_s)
