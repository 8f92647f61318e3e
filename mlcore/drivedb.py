"""Loading the PhysioNet drivedb recordings and labelling them by protocol segment.

Each drive followed one protocol: Rest1, City1, Highway1, City2, Highway2, City3, Rest2. The
segment lengths (minutes) come from `marker_info.csv`; where the protocol starts inside each
recording is not recorded, so we find it: the experimenter pressed a marker at segment changes,
and we choose the start offset that lines the cumulative boundaries up with those marker spikes.
"""

from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

DATA_DIR = Path(__file__).resolve().parent / "data" / "drivedb"

SEGMENTS = ("Rest1", "City1", "Highway1", "City2", "Highway2", "City3", "Rest2")
# Healey & Picard 2005: rest < highway < city.
SEGMENT_LABEL = {
    "Rest1": 0,
    "Rest2": 0,
    "Highway1": 1,
    "Highway2": 1,
    "City1": 2,
    "City2": 2,
    "City3": 2,
}
FRAME_HZ = 15.5

# Column order of the raw CSVs (WFDB rdsamp output).
COL_TIME, COL_ECG, COL_EMG, COL_FOOT_GSR, COL_HAND_GSR, COL_HR, COL_MARKER, COL_RESP = range(8)

# The order check (mlcore.recordings.dataset.splice): a held-out drive's segments reassembled
# in another order, Rest1 first (its first 3 minutes are the baseline). Every drive followed
# SEGMENTS' order, so a model that learnt the order itself loses accuracy on these.
ORDERS: dict[str, tuple[str, ...]] = {
    "A": ("Rest1", "Highway1", "City1", "Highway2", "City2", "City3", "Rest2"),
    "B": ("Rest1", "Highway1", "Highway2", "City1", "City2", "City3", "Rest2"),
}

SPIKE_MATCH_MINUTES = 0.3
OFFSET_SEARCH_MINUTES = (0.0, 6.0, 0.01)


@dataclass(frozen=True)
class Segment:
    name: str
    label: int
    start_s: float
    end_s: float


@dataclass(frozen=True)
class Drive:
    name: str
    signals: np.ndarray  # (frames, 8) in the raw CSV's column order
    segments: tuple[Segment, ...]
    offset_min: float
    spikes_matched: int
    boundaries: int


def drive_names(data_dir: Path = DATA_DIR) -> list[str]:
    with open(data_dir / "marker_info.csv", newline="") as handle:
        return [row["Driver"].lower() for row in csv.DictReader(handle)]


def segment_durations(data_dir: Path = DATA_DIR) -> dict[str, list[float | None]]:
    """Minutes per segment for each drive; None where a drive lacks the segment."""
    out: dict[str, list[float | None]] = {}
    with open(data_dir / "marker_info.csv", newline="") as handle:
        for row in csv.DictReader(handle):
            values: list[float | None] = []
            for name in SEGMENTS:
                raw = row[name].strip()
                values.append(None if raw in ("", "NaN", "nan") else float(raw))
            out[row["Driver"].lower()] = values
    return out


def load_signals(name: str, data_dir: Path = DATA_DIR) -> np.ndarray:
    return np.loadtxt(data_dir / "raw" / f"{name}.csv.gz", delimiter=",", skiprows=1)


def marker_spikes(time_s: np.ndarray, marker: np.ndarray, min_gap_s: float = 5.0) -> np.ndarray:
    """Start times (s) of marker events: runs well above the channel's resting level."""
    median = float(np.median(marker))
    mad = float(np.median(np.abs(marker - median)))
    above = marker > median + max(3.0, 10.0 * mad)
    starts = time_s[above & ~np.concatenate(([False], above[:-1]))]
    events: list[float] = []
    for start in starts:
        if not events or start - events[-1] > min_gap_s:
            events.append(float(start))
    return np.asarray(events)


def align_offset(spikes_min: np.ndarray, cumulative_min: np.ndarray) -> tuple[float, int]:
    """The protocol start (min) that puts the most boundaries within SPIKE_MATCH_MINUTES of a
    spike; ties go to the smallest total distance."""
    best: tuple[int, float, float] = (-1, 0.0, 0.0)
    low, high, step = OFFSET_SEARCH_MINUTES
    for offset in np.arange(low, high + step / 2, step):
        boundaries = offset + cumulative_min
        if spikes_min.size == 0:
            break
        distance = np.min(np.abs(boundaries[:, None] - spikes_min[None, :]), axis=1)
        close = distance <= SPIKE_MATCH_MINUTES
        matched = int(close.sum())
        total = float(distance[close].sum())
        if matched > best[0] or (matched == best[0] and total < best[2]):
            best = (matched, float(round(offset, 4)), total)
    return best[1], max(best[0], 0)


def load_drive(name: str, data_dir: Path = DATA_DIR) -> Drive:
    signals = load_signals(name, data_dir)
    durations = segment_durations(data_dir)[name]
    present = [
        (seg, minutes)
        for seg, minutes in zip(SEGMENTS, durations, strict=True)
        if minutes is not None
    ]
    cumulative = np.concatenate(([0.0], np.cumsum([minutes for _, minutes in present])))
    spikes = marker_spikes(signals[:, COL_TIME], signals[:, COL_MARKER]) / 60.0
    offset, matched = align_offset(spikes, cumulative)
    segments = tuple(
        Segment(
            name=seg,
            label=SEGMENT_LABEL[seg],
            start_s=(offset + cumulative[i]) * 60.0,
            end_s=(offset + cumulative[i + 1]) * 60.0,
        )
        for i, (seg, _) in enumerate(present)
    )
    return Drive(
        name=name,
        signals=signals,
        segments=segments,
        offset_min=offset,
        spikes_matched=matched,
        boundaries=len(cumulative),
    )


def splice_plan(
    segments: tuple[Segment, ...], order: tuple[str, ...], n: int, rate_hz: float
) -> tuple[list[tuple[int, int]], tuple[Segment, ...]]:
    """How to reassemble a recording of `n` samples at `rate_hz` with its segments in `order`:
    the sample ranges [lo, hi) of the original to concatenate, and the segments of the result.

    The lead-in before the first segment stays with it and the tail after the last segment
    stays last, so the first segment (Rest1: the baseline) keeps its place. Segments a drive
    lacks are skipped; a segment the recording cuts short keeps what the recording has."""
    by_name = {s.name: s for s in segments}
    if segments[0].name != order[0]:
        raise ValueError(f"the first segment must stay first ({segments[0].name}, {order[0]})")
    if {s.name for s in segments} - set(order):
        raise ValueError(f"order {order} lacks some of the segments {[s.name for s in segments]}")

    def sample(t: float) -> int:
        return int(min(max(round(t * rate_hz), 0), n))

    pieces: list[tuple[int, int]] = []
    spliced: list[Segment] = []
    at = 0
    duration_s = n / rate_hz
    present = [name for name in order if name in by_name]
    for i, name in enumerate(present):
        segment = by_name[name]
        # Cut at the sample nearest each boundary; the segment moves by whole samples, so
        # every sample keeps its place within its segment.
        lo = 0 if i == 0 else sample(segment.start_s)  # the lead-in stays before Rest1
        hi = sample(segment.end_s)
        shift = (at - lo) / rate_hz
        pieces.append((lo, hi))
        at += hi - lo
        spliced.append(
            Segment(
                name,
                segment.label,
                min(segment.start_s, duration_s) + shift,
                min(segment.end_s, duration_s) + shift,
            )
        )
    tail = sample(max(s.end_s for s in segments))
    if tail < n:
        pieces.append((tail, n))
    return pieces, tuple(spliced)


def splice_drive(drive: Drive, order: tuple[str, ...]) -> Drive:
    """The drive's raw frames with its segments reassembled in `order` (splice_plan); the time
    column runs on regularly from the first frame's."""
    t0 = float(drive.signals[0, COL_TIME])
    from_zero = tuple(
        Segment(s.name, s.label, s.start_s - t0, s.end_s - t0) for s in drive.segments
    )
    pieces, segments = splice_plan(from_zero, order, drive.signals.shape[0], FRAME_HZ)
    signals = np.vstack([drive.signals[lo:hi] for lo, hi in pieces])
    signals[:, COL_TIME] = t0 + np.arange(signals.shape[0]) / FRAME_HZ
    return Drive(
        name=drive.name,
        signals=signals,
        segments=tuple(Segment(s.name, s.label, s.start_s + t0, s.end_s + t0) for s in segments),
        offset_min=drive.offset_min,
        spikes_matched=drive.spikes_matched,
        boundaries=drive.boundaries,
    )


def data_files(data_dir: Path = DATA_DIR) -> list[dict[str, str]]:
    """Every file training reads, with its sha256, for the model card."""
    files = [data_dir / "marker_info.csv"]
    files += [data_dir / "raw" / f"{name}.csv.gz" for name in drive_names(data_dir)]
    return [
        {"path": str(path.relative_to(data_dir.parent)), "sha256": sha256_file(path)}
        for path in files
    ]


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
