"""Apple Health export: export.xml, or the export.zip the Health app writes (it holds
apple_health_export/export.xml beside ECG, workout-route and clinical files, which are not
read).

What is read:
- Heart rate: `<Record type="HKQuantityTypeIdentifierHeartRate" unit="count/min">` samples,
  and the beat-to-beat `<InstantaneousBeatsPerMinute bpm=".." time="8:00:05.12 AM"/>` inside
  heart-rate-variability records (the densest heart rate an export holds; their time is a
  clock time on the record's date, in the record's zone). On a 1 Hz grid: the mean of the
  samples within each second, linearly interpolated only between samples at most
  MAX_NAN_RUN_S (10 s) apart.
- HRV SDNN records (HKQuantityTypeIdentifierHeartRateVariabilitySDNN, ms) ->
  `extras["sdnn_ms"]`: what the watch measured, not a model input.

Which part of the export: an export spans years, a recording at most `max_duration_s`
(24 h). An Apple Watch records heart rate every few seconds during a workout (and beat to beat
in an HRV reading) but only every few minutes the rest of the day, while scoring needs no gap
longer than 10 s. So the reader finds the dense stretches (no two samples more than 10 s
apart, lasting at least MIN_DURATION_S), takes the most recent `max_duration_s` of heart-rate
data, ending where the latest dense stretch ends, and reads the longest dense stretch in it
(the latest on a tie): typically that day's workout. Everything older goes unread; the
heart-rate samples left out are counted in `ignored`. Where a stretch has heart rate from
more than one source (a watch and a strap's app), the source with the most samples there is
kept: two devices' readings interleaved second by second would look like heart-rate
variability that is not there. Dates carry a UTC offset ("2024-03-05 08:00:03 +0100"); the
start time is timezone-aware, in the offset of the first sample read.

Streaming: the file is parsed with ElementTree's iterparse, every top-level element cleared
as soon as it has been read, so memory holds the heart-rate samples (16 bytes each), never
the tree. Most of an export is one-line records of other types (steps, energy, distance):
those lines are passed over before the parser sees them, so they cost a line scan, not a
parse. The parser is expat, safe for untrusted files since 2.4.1 (it refuses "billion
laughs" entity expansion; ElementTree never fetches external entities), hence the nosec.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET  # nosec B405
from array import array
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from xml.parsers.expat import errors as expat_errors

import numpy as np

from mlcore.readers.fit_reader import (
    binned,
    dense_runs,
    describe_duration,
    latest_longest,
    too_sparse,
)
from mlcore.recordings.recording import (
    MIN_DURATION_S,
    Recording,
    RecordingError,
    build_recording,
)

FORMAT = "apple_health"
EXPORT_NAME = "export.xml"

HR_TYPE = "HKQuantityTypeIdentifierHeartRate"
SDNN_TYPE = "HKQuantityTypeIdentifierHeartRateVariabilitySDNN"
WANTED_TYPES = frozenset({HR_TYPE.encode(), SDNN_TYPE.encode()})
TYPE_PREFIXES = (
    "HKQuantityTypeIdentifier",
    "HKCategoryTypeIdentifier",
    "HKCorrelationTypeIdentifier",
    "HKDataType",
)
HR_UNITS = {"count/min": 1.0, "count/s": 60.0}
HR_HZ = 1.0

RECORD_LINE = b'<Record type="'
LINE_LIMIT = 1 << 20  # a line longer than this is passed to the parser in pieces
# Expat's errors for input that stops early: the file was cut off.
CUT_OFF = frozenset(
    expat_errors.codes[message]
    for message in (
        expat_errors.XML_ERROR_NO_ELEMENTS,
        expat_errors.XML_ERROR_UNCLOSED_TOKEN,
        expat_errors.XML_ERROR_PARTIAL_CHAR,
        expat_errors.XML_ERROR_UNCLOSED_CDATA_SECTION,
    )
)


def sniff(head: bytes, name: str) -> bool:
    if head.startswith(b"PK\x03\x04"):
        return False  # a zip (an export.zip stored uncompressed shows the XML inside)
    if b"<HealthData" in head or b"<!DOCTYPE HealthData" in head:
        return True
    return name == EXPORT_NAME and head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<?xml")


def zip_members(names: list[str]) -> list[str] | None:
    return [EXPORT_NAME] if EXPORT_NAME in names else None


def read_folder(folder: Path, *, max_duration_s: float) -> Recording:
    return read(Path(folder) / EXPORT_NAME, max_duration_s=max_duration_s)


# --- Dates ---------------------------------------------------------------------------------

_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_DAYS: dict[str, int] = {}
_CLOCK = re.compile(r"\s*(\d{1,2}):(\d{2}):(\d{2})(?:[.,](\d+))?\s*(?:([AaPp])\.?\s*[Mm]\.?)?\s*$")


def parse_date(text: str) -> tuple[float, int]:
    """'2024-03-05 08:00:03 +0100' -> (unix seconds, UTC offset in minutes)."""
    if len(text) == 25 and text[4] == "-" and text[10] == " " and text[19] == " ":
        day = _DAYS.get(text[:10])
        if day is None:
            day = _DAYS[text[:10]] = date.fromisoformat(text[:10]).toordinal() - _EPOCH_ORDINAL
        sign = -1 if text[20] == "-" else 1
        offset = sign * (int(text[21:23]) * 60 + int(text[23:25]))
        clock = int(text[11:13]) * 3600 + int(text[14:16]) * 60 + int(text[17:19])
        return day * 86400.0 + clock - offset * 60, offset
    moment = datetime.strptime(text.strip(), "%Y-%m-%d %H:%M:%S %z")
    return moment.timestamp(), int(moment.utcoffset().total_seconds() // 60)


def clock_seconds(text: str) -> float | None:
    """'8:00:05.12 AM' (or '20:00:05,12') -> seconds after midnight; None if not a time."""
    match = _CLOCK.match(text)
    if match is None:
        return None
    hours, minutes, seconds = int(match[1]), int(match[2]), int(match[3])
    if match[5]:
        hours = hours % 12 + (12 if match[5] in "Pp" else 0)
    fraction = float(f"0.{match[4]}") if match[4] else 0.0
    return hours * 3600 + minutes * 60 + seconds + fraction


# --- Reading -------------------------------------------------------------------------------


class _OnlyWantedLines:
    """The file's bytes for the parser, less the one-line records of types never read (a
    whole line `<Record type="..." .../>` holding one element): removing a complete empty
    element changes nothing else in the document."""

    def __init__(self, handle) -> None:
        self._readline = handle.readline
        self._at_line_start = True
        self.skipped: set[bytes] = set()

    def read(self, size: int = -1) -> bytes:
        parts: list[bytes] = []
        total = 0
        readline = self._readline
        while size < 0 or total < size:
            line = readline(LINE_LIMIT)
            if not line:
                break
            whole = self._at_line_start and line.endswith(b"\n")
            self._at_line_start = line.endswith(b"\n")
            if whole:
                stripped = line.strip()
                if (
                    stripped.startswith(RECORD_LINE)
                    and stripped.endswith(b"/>")
                    and stripped.count(b"<") == 1
                ):
                    kind = stripped[len(RECORD_LINE) : stripped.find(b'"', len(RECORD_LINE))]
                    if kind not in WANTED_TYPES:
                        self.skipped.add(kind)
                        continue
            parts.append(line)
            total += len(line)
        return b"".join(parts)


class _Samples:
    """Heart-rate samples as compact arrays, HRV SDNN values and the record types seen."""

    def __init__(self) -> None:
        self.time = array("d")
        self.bpm = array("d")
        self.source = array("H")
        self.zone = array("h")  # UTC offset, minutes
        self.sources: dict[str, int] = {}
        self.sdnn: list[tuple[float, float]] = []
        self.types: set[str] = set()
        self.bad = 0

    def add(self, record: ET.Element) -> None:
        kind = record.get("type", "")
        if kind == HR_TYPE:
            self._heart_rate(record)
        elif kind == SDNN_TYPE:
            self._sdnn(record)
        else:
            self.types.add(kind)

    def _append(self, when: float, bpm: float, source: int, zone: int) -> None:
        self.time.append(when)
        self.bpm.append(bpm)
        self.source.append(source)
        self.zone.append(zone)

    def _source(self, record: ET.Element) -> int:
        name = record.get("sourceName", "")
        index = self.sources.get(name)
        if index is None:
            index = self.sources[name] = min(len(self.sources), 0xFFFF)
        return index

    def _heart_rate(self, record: ET.Element) -> None:
        scale = HR_UNITS.get(record.get("unit", "count/min"))
        try:
            when, zone = parse_date(record.get("startDate", ""))
            bpm = float(record.get("value", "")) * (scale or np.nan)
        except ValueError:
            self.bad += 1
            return
        if np.isfinite(bpm) and bpm > 0:
            self._append(when, bpm, self._source(record), zone)
        else:
            self.bad += 1

    def _sdnn(self, record: ET.Element) -> None:
        try:
            when, zone = parse_date(record.get("startDate", ""))
        except ValueError:
            self.bad += 1
            return
        try:
            value = float(record.get("value", ""))
        except ValueError:
            value = np.nan
        if np.isfinite(value) and value > 0 and record.get("unit", "ms") == "ms":
            self.sdnn.append((when, value))
        beats = list(record.iter("InstantaneousBeatsPerMinute"))
        if not beats:
            return
        source = self._source(record)
        local = when + zone * 60
        midnight = local - local % 86400
        for beat in beats:
            seconds = clock_seconds(beat.get("time", ""))
            try:
                bpm = float(beat.get("bpm", ""))
            except ValueError:
                bpm = np.nan
            if seconds is None or not np.isfinite(bpm) or bpm <= 0:
                self.bad += 1
                continue
            beat_local = midnight + seconds
            # The time has no date: the one nearest the record's start (past midnight).
            if beat_local < local - 43200:
                beat_local += 86400
            elif beat_local > local + 43200:
                beat_local -= 86400
            self._append(beat_local - zone * 60, bpm, source, zone)


def _parse(path: Path) -> _Samples:
    samples = _Samples()
    with open(path, "rb") as handle:
        lines = _OnlyWantedLines(handle)
        depth = 0
        root = None
        events = ET.iterparse(lines, events=("start", "end"))  # noqa: S314 # nosec B314
        try:
            for event, element in events:
                if event == "start":
                    depth += 1
                    if depth == 1:
                        if element.tag != "HealthData":
                            raise RecordingError(
                                "unsupported_format",
                                "This XML file is not an Apple Health export: it does not "
                                "start with HealthData.",
                            )
                        root = element
                    continue
                depth -= 1
                if depth == 1:  # a child of HealthData, read whole: read it, then drop it
                    if element.tag == "Record":
                        samples.add(element)
                    root.clear()
        except ET.ParseError as error:
            if error.code in CUT_OFF:
                raise RecordingError(
                    "truncated",
                    "This Apple Health export ends in the middle of its data: the file was cut "
                    "off. Upload the whole export.xml, or the export.zip as the Health app "
                    "wrote it.",
                ) from error
            raise RecordingError(
                "unsupported_format",
                "This Apple Health export is damaged: part of it is not valid XML. Export it "
                "again from the Health app.",
            ) from error
    samples.types.update(kind.decode("utf-8", "replace") for kind in lines.skipped)
    return samples


def _short_type(kind: str) -> str:
    for prefix in TYPE_PREFIXES:
        if kind.startswith(prefix):
            return kind[len(prefix) :]
    return kind


def _stretches(t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """[first, last] indices of the runs of sorted times `t` with no gap over MAX_NAN_RUN_S
    that last at least MIN_DURATION_S (as a 1 Hz channel: last - first + 1 s)."""
    first, last = dense_runs(t)
    long_enough = np.floor(t[last] - np.floor(t[first])) + 1 >= MIN_DURATION_S
    return first[long_enough], last[long_enough]


def _too_sparse(t: np.ndarray, window_s: float) -> RecordingError:
    recent = t[t >= t[-1] - window_s]
    if recent.size < 2:
        return RecordingError(
            "rate_too_low",
            "This Apple Health export holds too few heart-rate samples to make a series.",
        )
    return too_sparse("This Apple Health export's heart rate", float(np.median(np.diff(recent))))


def read(path: Path, *, max_duration_s: float) -> Recording:
    samples = _parse(Path(path))
    ignored = sorted({_short_type(kind) for kind in samples.types if kind})
    if not samples.time:
        raise RecordingError(
            "no_usable_channel", "This Apple Health export holds no heart-rate samples."
        )
    order = np.argsort(np.frombuffer(samples.time, dtype=np.float64), kind="stable")
    t = np.frombuffer(samples.time, dtype=np.float64)[order]
    bpm = np.frombuffer(samples.bpm, dtype=np.float64)[order]
    source = np.frombuffer(samples.source, dtype=np.uint16)[order]
    zone = np.frombuffer(samples.zone, dtype=np.int16)[order]
    del samples.time, samples.bpm, samples.source, samples.zone

    first, last = _stretches(t)
    if first.size == 0:
        raise _too_sparse(t, max_duration_s)
    # The most recent max_duration_s, ending where the latest dense stretch ends.
    window_start = np.floor(t[last[-1]]) - max_duration_s + 1
    overlapping = t[last] >= window_start
    first = np.maximum(first[overlapping], np.searchsorted(t, window_start))
    last = last[overlapping]
    keep = np.floor(t[last] - np.floor(t[first])) + 1 >= MIN_DURATION_S
    first, last = first[keep], last[keep]
    if first.size == 0:  # only with max_duration_s under MIN_DURATION_S
        raise RecordingError(
            "too_short",
            f"At most {max_duration_s:.0f} s may be read; at least {MIN_DURATION_S:.0f} s "
            "are needed.",
        )
    best = latest_longest(t[last] - t[first])
    lo, hi = int(first[best]), int(last[best]) + 1
    chosen = np.arange(lo, hi)

    names = {index: name for name, index in samples.sources.items()}
    counts = np.bincount(source[lo:hi], minlength=len(names))
    if np.count_nonzero(counts) > 1:
        main = int(np.argmax(counts))
        own = chosen[source[lo:hi] == main]
        own_first, own_last = _stretches(t[own])
        if own_first.size:
            pick = latest_longest(t[own][own_last] - t[own][own_first])
            chosen = own[own_first[pick] : own_last[pick] + 1]
            others = sorted(names[i] for i in np.flatnonzero(counts) if i != main)
            label = "another source" if len(others) == 1 else "other sources"
            ignored.append(f"heart rate from {', '.join(others)} ({label})")

    origin = float(np.floor(t[chosen[0]]))
    n = int(np.floor(t[chosen[-1]] - origin)) + 1
    series = binned(t[chosen] - origin, bpm[chosen], HR_HZ, n)
    left_out = t.size - chosen.size
    if left_out:
        ignored.append(
            f"{left_out} heart-rate samples outside the {describe_duration(n / HR_HZ)} read"
        )
    offset = timedelta(minutes=int(zone[chosen[0]]))
    recording = build_recording(
        [("HR", "bpm", HR_HZ, series, 0.0)],
        start_time=datetime.fromtimestamp(origin, tz=timezone(offset)),
        format=FORMAT,
        max_duration_s=max_duration_s,
        ignored=ignored,
    )
    sdnn = [
        (round(when - origin, 3), value)
        for when, value in sorted(samples.sdnn)
        if 0.0 <= when - origin <= recording.duration_s
    ]
    if sdnn:
        recording.extras["sdnn_ms"] = sdnn
    return recording
