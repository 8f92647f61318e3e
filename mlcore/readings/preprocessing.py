"""From raw recordings to the five contract features.

Two steps, kept apart because an integration has to reproduce the second one:
1. `window_statistics`: one raw statistic per channel over a window of the recording
   (mean heart rate in bpm; ECG, EMG, GSR and breathing statistics in mV).
2. `FeatureMapping`: each raw statistic mapped to 0-1 by a fixed, population-wide linear map
   `clip((raw - low) / (high - low), 0, 1)`. `low`/`high` are the 1st/99th percentiles of the
   training windows; they are stored in the artifact and printed in the model card. Nothing in
   it is person-specific, so a live system computes exactly what training computed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np

from mlcore import drivedb
from mlcore.readings.features import FEATURE_NAMES, FEATURES_BY_NAME

HR_VALID_BPM = (30.0, 220.0)


def _hr_mean(w: np.ndarray) -> float:
    hr = w[:, drivedb.COL_HR]
    valid = hr[(hr >= HR_VALID_BPM[0]) & (hr <= HR_VALID_BPM[1])]
    return float(valid.mean()) if valid.size else float("nan")


# Raw statistics a window can yield; units are the recording's (bpm or mV).
RAW_STATISTICS: dict[str, Callable[[np.ndarray], float]] = {
    "hr_mean_bpm": _hr_mean,
    "ecg_mean_mv": lambda w: float(w[:, drivedb.COL_ECG].mean()),
    "ecg_std_mv": lambda w: float(w[:, drivedb.COL_ECG].std()),
    "emg_mean_mv": lambda w: float(w[:, drivedb.COL_EMG].mean()),
    "emg_std_mv": lambda w: float(w[:, drivedb.COL_EMG].std()),
    "hand_gsr_mean_mv": lambda w: float(w[:, drivedb.COL_HAND_GSR].mean()),
    "foot_gsr_mean_mv": lambda w: float(w[:, drivedb.COL_FOOT_GSR].mean()),
    "resp_mean_mv": lambda w: float(w[:, drivedb.COL_RESP].mean()),
    "resp_std_mv": lambda w: float(w[:, drivedb.COL_RESP].std()),
}

# Which raw statistic stands for each contract feature (chosen by measurement: see the card).
DEFAULT_STATISTICS: dict[str, str] = {
    "heart_rate": "hr_mean_bpm",
    "ecg": "ecg_std_mv",
    "emg": "emg_mean_mv",
    "gsr": "hand_gsr_mean_mv",
    "respiration": "resp_std_mv",
}
DEFAULT_WINDOW_SECONDS = 30.0
DEFAULT_MARGIN_SECONDS = 15.0


@dataclass
class WindowTable:
    """Raw statistics of every usable window, with labels and provenance."""

    statistics: dict[str, np.ndarray]
    labels: np.ndarray
    drives: np.ndarray
    segments: np.ndarray
    start_s: np.ndarray

    def __len__(self) -> int:
        return int(self.labels.shape[0])


def window_bounds(
    segment: drivedb.Segment, window_s: float, margin_s: float
) -> list[tuple[float, float]]:
    """Non-overlapping windows lying inside the segment, `margin_s` away from both ends, so
    that an imprecise boundary cannot put a window's data under the wrong label."""
    start, end = segment.start_s + margin_s, segment.end_s - margin_s
    count = int(max(0.0, end - start) // window_s)
    return [(start + i * window_s, start + (i + 1) * window_s) for i in range(count)]


def window_table(
    drives: Sequence[drivedb.Drive],
    window_s: float = DEFAULT_WINDOW_SECONDS,
    margin_s: float = DEFAULT_MARGIN_SECONDS,
) -> WindowTable:
    stats: dict[str, list[float]] = {name: [] for name in RAW_STATISTICS}
    labels: list[int] = []
    drive_ids: list[str] = []
    segments: list[str] = []
    starts: list[float] = []
    for drive in drives:
        time_s = drive.signals[:, drivedb.COL_TIME]
        for segment in drive.segments:
            for lo, hi in window_bounds(segment, window_s, margin_s):
                i, j = np.searchsorted(time_s, [lo, hi])
                window = drive.signals[i:j]
                # A window cut short by the end of the recording is not a full window.
                if window.shape[0] < 0.9 * window_s * drivedb.FRAME_HZ:
                    continue
                for name, statistic in RAW_STATISTICS.items():
                    stats[name].append(statistic(window))
                labels.append(segment.label)
                drive_ids.append(drive.name)
                segments.append(segment.name)
                starts.append(lo)
    table = WindowTable(
        statistics={name: np.asarray(values) for name, values in stats.items()},
        labels=np.asarray(labels, dtype=np.int64),
        drives=np.asarray(drive_ids),
        segments=np.asarray(segments),
        start_s=np.asarray(starts),
    )
    # Windows whose heart rate was all artefact carry no usable reading.
    keep = np.isfinite(table.statistics["hr_mean_bpm"])
    return subset(table, keep)


def subset(table: WindowTable, mask: np.ndarray) -> WindowTable:
    return WindowTable(
        statistics={name: values[mask] for name, values in table.statistics.items()},
        labels=table.labels[mask],
        drives=table.drives[mask],
        segments=table.segments[mask],
        start_s=table.start_s[mask],
    )


@dataclass(frozen=True)
class ChannelMap:
    feature: str
    statistic: str
    low: float
    high: float

    def apply(self, raw: np.ndarray) -> np.ndarray:
        feature = FEATURES_BY_NAME[self.feature]
        if feature.unit.startswith("normalised"):
            span = self.high - self.low
            scaled = (raw - self.low) / span if span > 0 else np.zeros_like(raw)
        else:
            scaled = raw
        return np.clip(scaled, feature.minimum, feature.maximum)


@dataclass(frozen=True)
class FeatureMapping:
    """Raw window statistics -> the five contract features, in contract order."""

    channels: tuple[ChannelMap, ...] = field(default_factory=tuple)
    window_seconds: float = DEFAULT_WINDOW_SECONDS
    percentiles: tuple[float, float] = (1.0, 99.0)

    @classmethod
    def fit(
        cls,
        table: WindowTable,
        statistics: dict[str, str] | None = None,
        window_seconds: float = DEFAULT_WINDOW_SECONDS,
        percentiles: tuple[float, float] = (1.0, 99.0),
    ) -> FeatureMapping:
        chosen = statistics or DEFAULT_STATISTICS
        channels = []
        for name in FEATURE_NAMES:
            values = table.statistics[chosen[name]]
            low, high = np.percentile(values, percentiles)
            channels.append(ChannelMap(name, chosen[name], float(low), float(high)))
        return cls(tuple(channels), window_seconds, percentiles)

    def transform(self, table: WindowTable) -> np.ndarray:
        columns = [ch.apply(table.statistics[ch.statistic]) for ch in self.channels]
        return np.column_stack(columns).astype(np.float64)

    def to_dict(self) -> dict[str, object]:
        return {
            "window_seconds": self.window_seconds,
            "percentiles": list(self.percentiles),
            "formula": "feature = clip((raw - low) / (high - low), 0, 1); heart_rate is used "
            "as is (bpm), clipped to 40-200",
            "channels": [asdict(ch) for ch in self.channels],
        }

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> FeatureMapping:
        channels = tuple(ChannelMap(**ch) for ch in data["channels"])  # type: ignore[arg-type,union-attr]
        return cls(
            channels,
            float(data["window_seconds"]),  # type: ignore[arg-type]
            tuple(data["percentiles"]),  # type: ignore[arg-type]
        )
