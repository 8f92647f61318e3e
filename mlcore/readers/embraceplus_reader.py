"""Empatica EmbracePlus raw data: Apache Avro files, one per upload window (up to ~30 min of
uninterrupted recording, named `<participant>_<unix start>.avro`), a single .avro or a zip
of consecutive ones.

Each file holds one record (schema `empatica.format.avro.Session`, version 6.x, embedded in
the file) whose `rawData` has one entry per sensor, as Empatica's documentation and example
code name them:
- `eda`, `bvp`, `temperature`, `steps`: {timestampStart (µs since 1970, UTC, of the first
  sample), samplingFrequency (Hz), values (array)};
- `accelerometer`, `gyroscope`: {timestampStart, samplingFrequency, imuParams, x, y, z}, the
  axes in ADC counts: g = counts * conversionFactor from schema 6.5, before that
  counts * (physicalMax - physicalMin) / (digitalMax - digitalMin);
- `systolicPeaks`: {peaksTimeNanos (ns since 1970, UTC)}; `tags`: {tagsTimeMicros}.
A stream can be empty (not configured for the study, or not worn).

Channels: EDA (µS), BVP (the pulse waveform, arbitrary units), ACC (the magnitude of x, y, z
in g) and HR (bpm, 4 Hz) from the intervals between systolic peaks by
`rr_reader.hr_from_intervals` (its docstring states the artefact rule; there is no other HR
in these files). Temperature, gyroscope and steps are listed as ignored. The files of a zip
are put together by their timestamps, each stream on the grid of its first block; the time
between files is missing (NaN), so files more than 10 s apart are refused as a gap, like any
other recording's. The start is UTC.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from mlcore.readers.rr_reader import HR_RATE_HZ, hr_from_intervals, too_long
from mlcore.recordings.recording import Recording, RecordingError, build_recording

FORMAT = "embraceplus"
ZIP_FORMAT = "embraceplus-zip"
AVRO_MAGIC = b"Obj\x01"

SIGNALS = {"eda": ("EDA", "uS"), "bvp": ("BVP", ""), "accelerometer": ("ACC", "g")}
IGNORED = {"temperature": "TEMP", "gyroscope": "GYRO", "steps": "steps"}
SAME_RATE = 0.01  # files of one stream within 1% of one rate are one series
READ_ERRORS = (ValueError, EOFError, zlib.error, UnicodeDecodeError, IndexError, OverflowError)


@dataclass
class Block:
    start_us: int
    rate_hz: float
    values: np.ndarray


@dataclass
class Contents:
    blocks: dict[str, list[Block]] = field(default_factory=dict)
    peaks_ns: list[np.ndarray] = field(default_factory=list)
    ignored: set[str] = field(default_factory=set)
    acc_unit: str = "g"


def sniff(head: bytes, name: str) -> bool:
    return head.startswith(AVRO_MAGIC) and (b"rawData" in head or name.endswith(".avro"))


def zip_members(names: list[str]) -> list[str] | None:
    chosen = [n for n in names if n.lower().endswith(".avro")]
    return chosen or None


def _damaged() -> RecordingError:
    return RecordingError(
        "truncated",
        "The Avro file ends before its data does, or its data is damaged: upload the whole "
        "file as the EmbracePlus export gave it.",
    )


def _records(path: Path) -> list[dict]:
    import fastavro

    with open(path, "rb") as handle:
        try:
            reader = fastavro.reader(handle)
        except READ_ERRORS as error:
            handle.seek(0)
            if handle.read(len(AVRO_MAGIC)) == AVRO_MAGIC:
                raise _damaged() from error
            raise RecordingError(
                "unsupported_format", "This is not an Avro file (an EmbracePlus raw-data file)."
            ) from error
        try:
            return list(reader)
        except READ_ERRORS as error:
            raise _damaged() from error


def _acc_factor(acc: dict) -> float | None:
    """g per ADC count, from imuParams (conversionFactor from schema 6.5, else the ranges)."""
    params = acc.get("imuParams") or {}
    factor = params.get("conversionFactor")
    if factor:
        return float(factor)
    try:
        digital = float(params["digitalMax"]) - float(params["digitalMin"])
        physical = float(params["physicalMax"]) - float(params["physicalMin"])
    except (KeyError, TypeError, ValueError):
        return None
    return physical / digital if digital else None


def _block(stream: dict, values: np.ndarray) -> Block | None:
    rate = float(stream.get("samplingFrequency") or 0.0)
    start = stream.get("timestampStart")
    if values.size == 0 or rate <= 0 or not start:
        return None
    return Block(int(start), rate, values)


def _add(contents: Contents, raw: dict) -> None:
    for key, name in IGNORED.items():
        stream = raw.get(key) or {}
        if len(stream.get("values") or stream.get("x") or []):
            contents.ignored.add(name)
    for key in ("eda", "bvp"):
        stream = raw.get(key) or {}
        block = _block(stream, np.asarray(stream.get("values") or [], dtype=np.float64))
        if block is not None:
            contents.blocks.setdefault(key, []).append(block)
    acc = raw.get("accelerometer") or {}
    axes = [np.asarray(acc.get(axis) or [], dtype=np.float64) for axis in ("x", "y", "z")]
    n = min(a.shape[0] for a in axes)
    if n:
        factor = _acc_factor(acc)
        if factor is None:
            factor, contents.acc_unit = 1.0, "counts"
        stacked = np.stack([a[:n] for a in axes])
        block = _block(acc, np.sqrt(np.einsum("ij,ij->j", stacked, stacked)) * abs(factor))
        if block is not None:
            contents.blocks.setdefault("accelerometer", []).append(block)
    peaks = (raw.get("systolicPeaks") or {}).get("peaksTimeNanos") or []
    if len(peaks):
        contents.peaks_ns.append(np.asarray(peaks, dtype=np.int64))


def _read_files(paths: list[Path]) -> Contents:
    contents = Contents()
    for path in paths:
        records = _records(path)
        if not records:
            raise RecordingError("empty", "The Avro file holds no data.")
        for record in records:
            raw = record.get("rawData") if isinstance(record, dict) else None
            if not isinstance(raw, dict):
                raise RecordingError(
                    "unsupported_format",
                    "This Avro file is not EmbracePlus raw data: it has no rawData section.",
                )
            _add(contents, raw)
    return contents


def _series(blocks: list[Block], origin_us: int, label: str, max_duration_s: float):
    """Blocks of one stream -> (samples on the first block's grid, rate, offset_s)."""
    blocks = sorted(blocks, key=lambda b: b.start_us)
    rate = blocks[0].rate_hz
    for block in blocks[1:]:
        if abs(block.rate_hz / rate - 1.0) > SAME_RATE:
            raise RecordingError(
                "irregular_time",
                f"The {label} sampling rate changes between files ({rate:g} Hz, then "
                f"{block.rate_hz:g} Hz): upload the files of each rate separately.",
            )
    first = blocks[0].start_us
    at = [round((b.start_us - first) / 1e6 * rate) for b in blocks]
    n = max(a + b.values.shape[0] for a, b in zip(at, blocks, strict=True))
    if n / rate > max_duration_s:
        raise too_long(n / rate, max_duration_s)
    out = np.full(n, np.nan)
    for a, block in zip(at, blocks, strict=True):
        out[a : a + block.values.shape[0]] = block.values
    return out, rate, (first - origin_us) / 1e6


def _recording(paths: list[Path], *, format: str, max_duration_s: float) -> Recording:
    contents = _read_files(paths)
    starts = [b.start_us for blocks in contents.blocks.values() for b in blocks]
    peaks = np.unique(np.concatenate(contents.peaks_ns)) if contents.peaks_ns else None
    if peaks is not None and peaks.shape[0] >= 3:
        starts.append(int(peaks[0] // 1000))
    else:
        peaks = None
    if not starts:
        found = ", ".join(sorted(contents.ignored)) or "none"
        raise RecordingError(
            "no_usable_channel",
            "The EmbracePlus files hold no skin conductance, pulse, systolic peaks or "
            f"accelerometer data (streams with data: {found}).",
        )
    origin = min(starts)
    named = []
    for key, blocks in contents.blocks.items():
        name, unit = SIGNALS[key]
        if key == "accelerometer":
            unit = contents.acc_unit
        samples, rate, offset = _series(blocks, origin, name, max_duration_s)
        named.append((name, unit, rate, samples, offset))
    if peaks is not None:
        beats = (peaks - origin * 1000) / 1e9
        if beats[-1] - beats[0] > max_duration_s:
            raise too_long(float(beats[-1] - beats[0]), max_duration_s)
        intervals = np.diff(beats)
        samples = hr_from_intervals(intervals, HR_RATE_HZ, ends_s=beats[1:])
        named.append(("HR", "bpm", HR_RATE_HZ, samples, float(beats[0])))
    return build_recording(
        named,
        start_time=datetime.fromtimestamp(origin / 1e6, tz=UTC),
        format=format,
        max_duration_s=max_duration_s,
        ignored=sorted(contents.ignored),
    )


def read(path: Path, *, max_duration_s: float) -> Recording:
    return _recording([path], format=FORMAT, max_duration_s=max_duration_s)


def read_folder(folder: Path, *, max_duration_s: float) -> Recording:
    paths = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() == ".avro")
    if not paths:
        raise RecordingError("empty", "The zip holds no EmbracePlus .avro files.")
    return _recording(paths, format=ZIP_FORMAT, max_duration_s=max_duration_s)
