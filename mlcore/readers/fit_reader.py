"""Garmin FIT files (watches, and chest straps paired with a watch), decoded by Garmin's own
FIT SDK (`garmin_fit_sdk`).

What is read, in the file's own order (the decoder's message listener):
- Heart rate: `record` messages' heart_rate (one a second, or every few seconds with "smart
  recording"), `hr` messages (heart rate a strap stored while the watch could not receive it,
  expanded by the SDK's expand_heart_rates) and `monitoring` heart_rate (all-day wellness
  files). They go onto a 1 Hz grid: the mean of the samples within each second, and linear
  interpolation only between samples at most MAX_NAN_RUN_S (10 s) apart.
- Beat intervals: `hrv` messages (up to five RR intervals each, in seconds, without a time of
  their own). The beats are timed by adding the intervals up from the activity's start (its
  first timestamp), kept in step with the `record` messages they are written between: where
  beats went missing (the strap lost contact, the timer was paused) the beat clock falls
  behind the records' clock, and it is moved forward to it, leaving a gap rather than
  shifting every later beat. Intervals outside 30-220 bpm, or more than 30 % away from the
  median of their 11 neighbours (a missed or extra beat), count as missing. They give HR at
  4 Hz, each beat's rate held until the next beat. When a file has both, the beat-to-beat HR
  is used as long as its longest usable stretch is at least 80 % as long as the per-second
  HR's: a watch smooths its per-second HR over several beats, while the training data's HR
  (drivedb) is beat-to-beat rate from ECG R-peaks, which is what beat intervals give. The
  other one is listed in `ignored`.
- Accelerometer: `accelerometer_data` messages (calibrated g, compressed milli-g, or raw
  counts calibrated by a `three_d_sensor_calibration` message) -> the magnitude
  sqrt(x² + y² + z²) as ACC, on a grid at its own rate.
- The watch's own stress level (`stress_level` messages, 0-100; negative values mean "no
  measurement" and are skipped; `record` current_stress where there are none) ->
  `extras["device_stress"]`, not a model input.
Everything else (cadence, speed, position, ...) is listed in `ignored`.

Gaps: the models need no more than MAX_NAN_RUN_S of missing heart rate in a row. Where the
heart rate has longer gaps (a paused timer, a strap that lost contact), the longest unbroken
stretch is read and what lies outside it is named in `ignored`: scoring most of an activity
is more use to the person than refusing it. FIT timestamps are UTC, so the start time is
timezone-aware.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from mlcore.recordings.recording import (
    MAX_NAN_RUN_S,
    MIN_DURATION_S,
    Recording,
    RecordingError,
    build_recording,
)

FORMAT = "fit"

FIT_SIGNATURE = b".FIT"
HEADER_SIZES = (12, 14)
CRC_SIZE = 2
FIT_EPOCH_S = 631065600  # 1989-12-31 00:00:00 UTC, where FIT's timestamps count from

HR_HZ = 1.0
RR_HZ = 4.0
RR_VALID_S = (60.0 / 220.0, 60.0 / 30.0)
RR_MEDIAN_BEATS = 11
RR_MAX_JUMP = 0.3
# The beat clock may lag the records' clock by this much before it is moved forward.
RR_DRIFT_TOLERANCE_S = 2.0
RR_PREFERRED_COVERAGE = 0.8

MESG_RECORD = 20
MESG_MONITORING = 55
MESG_HRV = 78
MESG_HR = 132
MESG_ACCELEROMETER = 165
MESG_SENSOR_CALIBRATION = 167
MESG_STRESS_LEVEL = 227

# record fields that are read (or are bookkeeping); every other one is listed as ignored.
RECORD_FIELDS_READ = {"timestamp", "heart_rate", "current_stress"}
ACC_AXES = (
    ("calibrated_accel_", "g"),
    ("compressed_calibrated_accel_", "mG"),
)


def sniff(head: bytes, name: str) -> bool:
    return len(head) >= 12 and head[0] in HEADER_SIZES and head[8:12] == FIT_SIGNATURE


# --- Irregular samples onto a regular grid, and the stretch to read (the Apple Health reader
# uses these too; a module of their own, shared by every reader, would suit them better) ----


def fill_short_gaps(samples: np.ndarray, rate_hz: float, max_gap_s: float = MAX_NAN_RUN_S):
    """Linear interpolation across runs of NaN whose neighbouring samples are at most
    `max_gap_s` apart; longer gaps (and NaN before the first or after the last sample) stay
    NaN. Returns a new array."""
    known = np.flatnonzero(np.isfinite(samples))
    if known.size < 2 or known.size == samples.size:
        return samples.copy()
    positions = np.arange(samples.size)
    filled = np.interp(positions, known, samples[known])
    right = np.searchsorted(known, positions)
    inside = (right > 0) & (right < known.size)
    span = known[np.clip(right, 0, known.size - 1)] - known[np.clip(right - 1, 0, known.size - 1)]
    keep = np.isfinite(samples) | (inside & (span <= max_gap_s * rate_hz + 1e-9))
    return np.where(keep, filled, np.nan)


def binned(times_s: np.ndarray, values: np.ndarray, rate_hz: float, n: int) -> np.ndarray:
    """Samples at `times_s` (seconds from grid point 0) -> `n` grid points at `rate_hz`: the
    mean of the samples in each period [i, i + 1) / rate_hz, NaN where there are none, then
    the short gaps interpolated (fill_short_gaps)."""
    index = np.floor(times_s * rate_hz + 1e-9).astype(np.int64)
    inside = (index >= 0) & (index < n)
    index, values = index[inside], values[inside]
    sums = np.bincount(index, weights=values, minlength=n)
    counts = np.bincount(index, minlength=n)
    out = np.full(n, np.nan)
    np.divide(sums, counts, out=out, where=counts > 0)
    return fill_short_gaps(out, rate_hz)


def longest_span(samples: np.ndarray, rate_hz: float) -> tuple[int, int] | None:
    """[first, end) of the longest part of `samples` with no run of NaN longer than
    MAX_NAN_RUN_S, trimmed of NaN at both ends (the latest on a tie); None if all NaN."""
    finite = np.flatnonzero(np.isfinite(samples))
    if finite.size == 0:
        return None
    runs = np.diff(finite) - 1
    breaks = np.flatnonzero(runs > MAX_NAN_RUN_S * rate_hz + 1e-9)
    starts = np.concatenate(([finite[0]], finite[breaks + 1]))
    ends = np.concatenate((finite[breaks], [finite[-1]])) + 1
    lengths = ends - starts
    best = lengths.size - 1 - int(np.argmax(lengths[::-1]))
    return int(starts[best]), int(ends[best])


def describe_duration(seconds: float) -> str:
    """'45 s', '4.5 min', '3 h' (a person reads these)."""
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 2 * 3600:
        return f"{seconds / 60:.1f}".removesuffix(".0") + " min"
    return f"{seconds / 3600:.1f}".removesuffix(".0") + " h"


def dense_runs(starts: np.ndarray, ends: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """[first, last] indices of the runs of time-ordered samples with no gap longer than
    MAX_NAN_RUN_S between one sample's end and the next one's start (`ends` defaults to
    `starts`: instants)."""
    ends = starts if ends is None else ends
    breaks = np.flatnonzero(starts[1:] - ends[:-1] > MAX_NAN_RUN_S)
    return np.concatenate(([0], breaks + 1)), np.concatenate((breaks, [starts.size - 1]))


def latest_longest(lengths: np.ndarray) -> int:
    """The index of the largest of `lengths`, the last one on a tie."""
    return int(lengths.size - 1 - np.argmax(lengths[::-1]))


def too_sparse(what: str, spacing_s: float) -> RecordingError:
    return RecordingError(
        "rate_too_low",
        f"{what} is too sparse to score: its samples are about {describe_duration(spacing_s)} "
        f"apart, and scoring needs at least one every {MAX_NAN_RUN_S:.0f} s for "
        f"{MIN_DURATION_S:.0f} s or more, as a watch records during a workout.",
    )


def too_fragmented(what: str, span_s: float) -> RecordingError:
    return RecordingError(
        "nan_run",
        f"{what} has gaps longer than {MAX_NAN_RUN_S:.0f} s all through: its longest "
        f"unbroken stretch lasts {describe_duration(span_s)}, and at least "
        f"{MIN_DURATION_S:.0f} s are needed.",
    )


# --- Decoding ------------------------------------------------------------------------------


@dataclass
class _Messages:
    """What the reader takes from the message stream, in the order the file holds it."""

    hr_t: list[float] = field(default_factory=list)
    hr_v: list[float] = field(default_factory=list)
    hr_mesgs: list[dict] = field(default_factory=list)
    rr: list[float] = field(default_factory=list)
    # Per hrv message: its number of intervals and the latest record time before it.
    rr_counts: list[int] = field(default_factory=list)
    rr_clock: list[float] = field(default_factory=list)
    stress: list[tuple[float, float]] = field(default_factory=list)
    record_stress: list[tuple[float, float]] = field(default_factory=list)
    acc_t: list[np.ndarray] = field(default_factory=list)
    acc_v: list[np.ndarray] = field(default_factory=list)
    acc_unit: str = ""
    acc_uncalibrated: bool = False
    calibration: dict | None = None
    first_time: float | None = None
    last_record: float | None = None
    last_monitoring: float | None = None
    other_fields: set[str] = field(default_factory=set)

    def on_message(self, number: int, message: dict) -> None:
        stamp = message.get("timestamp")
        if isinstance(stamp, int | float) and self.first_time is None and number != 0:
            self.first_time = float(stamp)
        if number == MESG_RECORD:
            self._record(message)
        elif number == MESG_HRV:
            self._hrv(message)
        elif number == MESG_STRESS_LEVEL:
            value, when = message.get("stress_level_value"), message.get("stress_level_time")
            if isinstance(value, int | float) and value >= 0 and isinstance(when, int | float):
                self.stress.append((float(when), float(value)))
        elif number == MESG_HR:
            self.hr_mesgs.append(message)
        elif number == MESG_MONITORING:
            self._monitoring(message)
        elif number == MESG_ACCELEROMETER:
            self._accelerometer(message)
        elif number == MESG_SENSOR_CALIBRATION and message.get("sensor_type") == "accelerometer":
            self.calibration = message

    def _record(self, message: dict) -> None:
        stamp = message.get("timestamp")
        if not isinstance(stamp, int | float):
            return
        self.last_record = float(stamp)
        heart_rate = message.get("heart_rate")
        if isinstance(heart_rate, int | float) and heart_rate > 0:
            self.hr_t.append(float(stamp))
            self.hr_v.append(float(heart_rate))
        stress = message.get("current_stress")
        if isinstance(stress, int | float) and stress >= 0:
            self.record_stress.append((float(stamp), float(stress)))
        self.other_fields.update(k for k in message if k not in RECORD_FIELDS_READ)

    def _hrv(self, message: dict) -> None:
        times = message.get("time")
        times = times if isinstance(times, list) else [times]
        valid = [float(t) for t in times if isinstance(t, int | float) and t > 0]
        if not valid:
            return
        self.rr.extend(valid)
        self.rr_counts.append(len(valid))
        self.rr_clock.append(np.nan if self.last_record is None else self.last_record)

    def _monitoring(self, message: dict) -> None:
        stamp = message.get("timestamp")
        if isinstance(stamp, int | float):
            self.last_monitoring = float(stamp)
        elif isinstance(message.get("timestamp_16"), int) and self.last_monitoring is not None:
            # The low 16 bits of the time, after the last full timestamp.
            last = int(self.last_monitoring)
            stamp = last + ((message["timestamp_16"] - last) & 0xFFFF)
        else:
            return
        heart_rate = message.get("heart_rate")
        if isinstance(heart_rate, int | float) and heart_rate > 0:
            self.hr_t.append(float(stamp))
            self.hr_v.append(float(heart_rate))

    def _accelerometer(self, message: dict) -> None:
        stamp = message.get("timestamp")
        offsets = message.get("sample_time_offset")
        if not isinstance(stamp, int | float) or offsets is None:
            return
        offsets = offsets if isinstance(offsets, list) else [offsets]
        axes, unit = self._axes(message)
        if axes is None:
            return
        n = min(len(offsets), *(len(a) for a in axes))
        start = float(stamp) + float(message.get("timestamp_ms") or 0) / 1000.0
        t = start + np.asarray([o if o is not None else np.nan for o in offsets[:n]]) / 1000.0
        xyz = np.asarray([[v if v is not None else np.nan for v in a[:n]] for a in axes])
        self.acc_t.append(t)
        self.acc_v.append(np.sqrt(np.sum(xyz * xyz, axis=0)))
        self.acc_unit = self.acc_unit or unit

    def _axes(self, message: dict) -> tuple[list[list] | None, str]:
        for prefix, unit in ACC_AXES:
            axes = [message.get(f"{prefix}{axis}") for axis in "xyz"]
            if all(a is not None for a in axes):
                return [a if isinstance(a, list) else [a] for a in axes], unit
        raw = [message.get(f"accel_{axis}") for axis in "xyz"]
        if any(a is None for a in raw):
            return None, ""
        raw = [a if isinstance(a, list) else [a] for a in raw]
        calibration = self.calibration
        factor = (calibration or {}).get("accel_cal_factor") or (calibration or {}).get(
            "calibration_factor"
        )
        divisor = (calibration or {}).get("calibration_divisor")
        if not factor or not divisor:
            self.acc_uncalibrated = True  # counts around an unknown zero: no magnitude
            return None, ""
        shift = float(calibration.get("level_shift") or 0)
        offsets = calibration.get("offset_cal") or [0, 0, 0]
        offsets = offsets if isinstance(offsets, list) else [offsets] * 3
        scale = float(factor) / float(divisor)
        calibrated = [
            [(v - shift - float(offsets[i] or 0)) * scale if v is not None else None for v in a]
            for i, a in enumerate(raw)
        ]
        return calibrated, "g"


def _check_header(data: bytes) -> None:
    if len(data) < 12 or data[0] not in HEADER_SIZES or data[8:12] != FIT_SIGNATURE:
        raise RecordingError("unsupported_format", "This file is not a FIT file.")
    header_size = data[0]
    data_size = int.from_bytes(data[4:8], "little")
    if len(data) < header_size + data_size + CRC_SIZE:
        raise RecordingError(
            "truncated",
            "This FIT file ends before its header says it should: it was cut off while it "
            "was copied or uploaded. Upload the whole file.",
        )


def _decode(data: bytes) -> _Messages:
    from garmin_fit_sdk import Decoder, Stream

    messages = _Messages()
    decoder = Decoder(Stream.from_byte_array(bytearray(data)))
    _, errors = decoder.read(
        convert_datetimes_to_dates=False,  # FIT seconds, not datetimes: cheaper and exact
        merge_heart_rates=False,  # hr messages are expanded here, with or without records
        mesg_listener=messages.on_message,
    )
    if errors:
        error = errors[0]
        text = str(error).lower()
        if "compressed timestamp" in text:
            raise RecordingError(
                "unsupported_format",
                "This FIT file uses compressed timestamps, a layout we cannot read yet.",
            ) from error
        if "crc" in text:
            raise RecordingError(
                "truncated",
                "This FIT file is damaged: its checksum does not match its content, so part "
                "of it changed or is missing. Upload the file as the watch wrote it.",
            ) from error
        raise RecordingError(
            "truncated",
            "This FIT file is damaged: part of it cannot be decoded. Upload the file as the "
            "watch wrote it.",
        ) from error
    return messages


def _expanded_hr(messages: _Messages) -> tuple[np.ndarray, np.ndarray]:
    """Per-second heart rate (record, monitoring and hr messages), sorted by time."""
    t = list(messages.hr_t)
    v = list(messages.hr_v)
    if messages.hr_mesgs:
        from garmin_fit_sdk import expand_heart_rates

        prepared = [
            {
                "fractional_timestamp": None,
                "event_timestamp": None,
                "filtered_bpm": None,
                **message,
            }
            for message in messages.hr_mesgs
        ]
        try:
            expanded = expand_heart_rates(prepared)
        except (RuntimeError, TypeError, KeyError, ValueError) as error:
            raise RecordingError(
                "truncated", "This FIT file's stored heart-rate messages are damaged."
            ) from error
        for item in expanded:
            if isinstance(item.get("heart_rate"), int | float) and item["heart_rate"] > 0:
                t.append(float(item["timestamp"]))
                v.append(float(item["heart_rate"]))
    times = np.asarray(t, dtype=np.float64)
    order = np.argsort(times, kind="stable")
    return times[order], np.asarray(v, dtype=np.float64)[order]


def _beats(messages: _Messages) -> tuple[np.ndarray, np.ndarray] | None:
    """Beat times (FIT seconds, the end of each interval) and intervals (s), or None."""
    rr = np.asarray(messages.rr, dtype=np.float64)
    counts = np.asarray(messages.rr_counts, dtype=np.int64)
    clock = np.asarray(messages.rr_clock, dtype=np.float64)
    # Beats count from the activity's start (its first timestamp), as watches write them.
    anchor = messages.first_time if messages.first_time is not None else np.nan
    if not np.isfinite(anchor) and clock.size and np.isfinite(clock[0]):
        anchor = clock[0] - rr[: counts[0]].sum()
    if rr.size < 2 or not np.isfinite(anchor):
        return None
    beat = anchor + np.cumsum(rr)
    # The records' clock at each hrv message against the beat clock at its last beat.
    last_beat = beat[np.cumsum(counts) - 1]
    lag = np.where(np.isfinite(clock), clock - last_beat, 0.0)
    if np.unique(clock[np.isfinite(clock)]).size > 1:  # hrv messages among the records
        shift = np.zeros(lag.size)
        current = 0.0
        for i, behind in enumerate(lag.tolist()):
            if behind - current > RR_DRIFT_TOLERANCE_S:
                current = behind  # beats went missing: this message's beats end at its record
            shift[i] = current
        beat = beat + np.repeat(shift, counts)
    return beat, rr


def _rr_bpm(rr: np.ndarray) -> np.ndarray:
    """Beat-to-beat rate (bpm) of each interval; NaN where it is an artefact: outside
    RR_VALID_S, or more than RR_MAX_JUMP from the median of its RR_MEDIAN_BEATS neighbours
    (a missed or an extra beat)."""
    bpm = 60.0 / rr
    bad = (rr < RR_VALID_S[0]) | (rr > RR_VALID_S[1])
    if rr.size >= RR_MEDIAN_BEATS:
        half = RR_MEDIAN_BEATS // 2
        padded = np.pad(rr, half, mode="edge")
        local = np.median(np.lib.stride_tricks.sliding_window_view(padded, RR_MEDIAN_BEATS), 1)
        bad |= np.abs(rr - local) > RR_MAX_JUMP * local
    bpm[bad] = np.nan
    return bpm


def _held(beat: np.ndarray, rr: np.ndarray, bpm: np.ndarray, start: float, n: int):
    """`n` samples at RR_HZ from `start`: each the rate of the interval that holds it (from
    the beat before to its beat), NaN where no interval does."""
    t = start + np.arange(n) / RR_HZ
    which = np.clip(np.searchsorted(beat, t, side="left"), 0, beat.size - 1)
    covered = (beat[which] >= t) & (beat[which] - rr[which] <= t + 1e-6)
    out = np.full(n, np.nan)
    out[covered] = bpm[which[covered]]
    return out


def _acc_channel(messages: _Messages, start: float, end: float):
    """(samples, rate, offset_s) of the accelerometer magnitude within [start, end), or None,
    and why it was left out if it was."""
    if not messages.acc_t:
        uncalibrated = "accelerometer (raw counts, no calibration)"
        return None, uncalibrated if messages.acc_uncalibrated else None
    t = np.concatenate(messages.acc_t)
    v = np.concatenate(messages.acc_v)
    good = np.isfinite(t) & np.isfinite(v)
    t, v = t[good], v[good]
    steps = np.diff(np.unique(t))
    steps = steps[steps > 0]
    if steps.size == 0:
        return None, "accelerometer (too few samples)"
    rate = 1.0 / float(np.median(steps))
    if abs(rate - round(rate)) < 0.05 * rate:
        rate = float(round(rate))
    n = int(np.floor((end - start) * rate))
    index = np.rint((t - start) * rate).astype(np.int64)
    inside = (index >= 0) & (index < n)
    if n <= 0 or not inside.any() or rate < 1.0:
        return None, "accelerometer (outside the heart rate, or too slow)"
    grid = np.full(n, np.nan)
    grid[index[inside]] = v[inside]
    span = longest_span(grid, rate)
    if span is None or (span[1] - span[0]) / rate < MIN_DURATION_S:
        return None, "accelerometer (gaps)"
    first, last = span
    return (grid[first:last], rate, first / rate), None


def read(path: Path, *, max_duration_s: float) -> Recording:
    data = Path(path).read_bytes()
    if not data:
        raise RecordingError("empty", "The file is empty.")
    _check_header(data)
    messages = _decode(data)
    hr_t, hr_v = _expanded_hr(messages)
    beats = _beats(messages)
    if hr_t.size == 0 and beats is None:
        raise RecordingError(
            "no_usable_channel",
            "This FIT file holds no heart rate (no per-second heart rate, no beat "
            "intervals). Record with the watch's heart-rate sensor on, or a chest strap "
            "paired to it.",
        )
    ignored: list[str] = []
    # Each kind of heart rate: its longest run without gaps over MAX_NAN_RUN_S on a grid
    # (only that run: odd timestamps far apart cannot make a huge grid), as (origin in FIT
    # seconds, rate, samples, (start, end) of all its data).
    candidates = {}
    if hr_t.size:
        first, last = dense_runs(hr_t)
        best = latest_longest(hr_t[last] - hr_t[first])
        run = slice(int(first[best]), int(last[best]) + 1)
        origin = float(np.floor(hr_t[run][0]))
        n = int(np.floor(hr_t[run][-1] - origin)) + 1
        samples = binned(hr_t[run] - origin, hr_v[run], HR_HZ, n)
        candidates["HR"] = (origin, HR_HZ, samples, (hr_t[0], hr_t[-1] + 1.0))
    if beats is not None:
        beat, rr = beats
        bpm = _rr_bpm(rr)
        first, last = dense_runs(beat - rr, beat)
        best = latest_longest(beat[last] - (beat - rr)[first])
        run = slice(int(first[best]), int(last[best]) + 1)
        origin = float(beat[run][0] - rr[run][0])
        n = int(np.floor((beat[run][-1] - origin) * RR_HZ)) + 1
        samples = _held(beat[run], rr[run], bpm[run], origin, n)
        candidates["HR (beat to beat)"] = (origin, RR_HZ, samples, (beat[0] - rr[0], beat[-1]))

    usable = {}
    for name, (_, rate, samples, _) in candidates.items():
        span = longest_span(samples, rate)
        usable[name] = 0.0 if span is None else (span[1] - span[0]) / rate
    name = "HR (beat to beat)" if "HR (beat to beat)" in candidates else "HR"
    if len(candidates) == 2:
        if usable["HR (beat to beat)"] < RR_PREFERRED_COVERAGE * usable["HR"]:
            name = "HR"
        ignored.append("per-second heart rate" if name != "HR" else "beat intervals (hrv)")
    origin, rate, samples, (data_start, data_end) = candidates[name]
    span = longest_span(samples, rate)
    if span is None:
        raise RecordingError("no_usable_channel", "This FIT file's heart rate is all invalid.")
    first, last = span
    if usable[name] < MIN_DURATION_S and (data_end - data_start) > usable[name] + 1.0:
        if name == "HR" and hr_t.size > 1 and np.median(np.diff(hr_t)) > MAX_NAN_RUN_S:
            raise too_sparse("This FIT file's heart rate", float(np.median(np.diff(hr_t))))
        raise too_fragmented("This FIT file's heart rate", usable[name])
    start = origin + first / rate
    end = origin + last / rate
    left_out = [
        f"{describe_duration(seconds)} {where}"
        for seconds, where in ((start - data_start, "before"), (data_end - end, "after"))
        if seconds >= 1
    ]
    if left_out:
        ignored.append(
            f"heart rate outside its longest unbroken stretch ({' and '.join(left_out)} it)"
        )
    named = [(name, "bpm", rate, samples[first:last], 0.0)]

    acc, why = _acc_channel(messages, start, end)
    if acc is not None:
        acc_samples, acc_rate, acc_offset = acc
        named.append(("ACC", messages.acc_unit, acc_rate, acc_samples, acc_offset))
    elif why:
        ignored.append(why)
    ignored.extend(sorted(f.replace("_", " ") for f in messages.other_fields))

    recording = build_recording(
        named,
        start_time=datetime.fromtimestamp(FIT_EPOCH_S + start, tz=UTC),
        format=FORMAT,
        max_duration_s=max_duration_s,
        ignored=ignored,
    )
    stress = messages.stress or messages.record_stress
    duration = recording.duration_s
    device_stress = [
        (round(when - start, 3), value)
        for when, value in sorted(stress)
        if 0.0 <= when - start <= duration
    ]
    if device_stress:
        recording.extras["device_stress"] = device_stress
    return recording
