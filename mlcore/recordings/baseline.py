"""A personal resting baseline, and features relative to it.

A baseline is the statistics (mean and standard deviation) of each window feature over a rest
period of at least 3 minutes, taken from windows of the model's length every
BASELINE_STRIDE_S seconds inside that period. The model then sees each feature relative to
it. Three ways to be relative, chosen by leave-one-drive-out (see the card):
- "diff":  x - mean
- "ratio": x / mean for positive levels (a difference for signed trends)
- "z":     (x - mean) / max(sd, a floor)
Features with no unit (heart rate, breathing rate, responses per minute) are also kept as they
are; unit-bound ones (skin conductance, amplitudes, EMG, ECG) too when `absolute="all"` (what
leave-one-drive-out chose on drivedb, at the cost of depending on drivedb-like units: see the
card), or only relative with `absolute="unit_free"`, so a device's units or gain cancel out.

What a baseline assumes: the person was at rest, seated and calm, for the whole range; the
sensors sat where they will sit while scored; and little time passes between the two (skin
conductance drifts over hours).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from mlcore.recordings.windows import SIGNED, UNIT_FREE, Derived, WindowFeatures, window_features

MIN_BASELINE_S = 180.0
BASELINE_STRIDE_S = 10.0
RELATIVE_MODES = ("diff", "ratio", "z")


class BaselineError(ValueError):
    """The rest range cannot serve as a baseline (too short, outside the recording)."""


@dataclass(frozen=True)
class Baseline:
    names: tuple[str, ...]
    mean: np.ndarray
    std: np.ndarray
    start_s: float
    end_s: float
    windows: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "start_s": self.start_s,
            "end_s": self.end_s,
            "windows": self.windows,
            "features": {
                name: {"mean": _plain(m), "std": _plain(s)}
                for name, m, s in zip(self.names, self.mean, self.std, strict=True)
            },
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Baseline:
        features = data["features"]
        names = tuple(features)
        return cls(
            names=names,
            mean=np.array([_num(features[n]["mean"]) for n in names]),
            std=np.array([_num(features[n]["std"]) for n in names]),
            start_s=float(data["start_s"]),
            end_s=float(data["end_s"]),
            windows=int(data["windows"]),
        )


def _plain(value: float) -> float | None:
    return None if not np.isfinite(value) else float(value)


def _num(value: float | None) -> float:
    return float("nan") if value is None else float(value)


def baseline_from_derived(
    derived: Derived, start_s: float, end_s: float, window_s: float
) -> Baseline:
    duration = derived.n / derived.rate_hz
    if start_s < 0 or end_s > duration + 1e-6 or end_s <= start_s:
        raise BaselineError(
            f"The rest range {start_s:.0f}-{end_s:.0f} s is not inside the recording "
            f"(0-{duration:.0f} s)."
        )
    if end_s - start_s < MIN_BASELINE_S - 1e-6:
        raise BaselineError(
            f"The rest range lasts {end_s - start_s:.0f} s; at least {MIN_BASELINE_S:.0f} s "
            "(3 minutes) are needed."
        )
    starts = np.arange(start_s, end_s - window_s + 1e-6, BASELINE_STRIDE_S)
    table = window_features(derived, window_s, BASELINE_STRIDE_S, starts_s=starts)
    return baseline_from_windows(table, start_s, end_s)


def baseline_from_windows(table: WindowFeatures, start_s: float, end_s: float) -> Baseline:
    with np.errstate(invalid="ignore"):
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            mean = np.nanmean(table.values, axis=0)
            std = np.nanstd(table.values, axis=0)
    return Baseline(
        names=table.names,
        mean=mean,
        std=std,
        start_s=float(start_s),
        end_s=float(end_s),
        windows=len(table),
    )


ABSOLUTE_CHOICES = ("unit_free", "all")


def _absolute(names: tuple[str, ...], absolute: str) -> list[int]:
    if absolute not in ABSOLUTE_CHOICES:
        raise ValueError(f"unknown absolute choice {absolute!r}")
    return [i for i, n in enumerate(names) if absolute == "all" or n in UNIT_FREE]


def relative_columns(
    names: tuple[str, ...], mode: str, absolute: str = "unit_free"
) -> tuple[str, ...]:
    """Column names of the model input for these window features under `mode`: the features
    kept as they are (`absolute`: the unit-free ones, or all), then each one relative."""
    kept = tuple(names[i] for i in _absolute(names, absolute))
    return kept + tuple(f"{n}__{mode}" for n in names)


def relative_features(
    values: np.ndarray,
    names: tuple[str, ...],
    baseline: Baseline,
    mode: str,
    absolute: str = "unit_free",
) -> np.ndarray:
    """(n, len(names)) window features -> (n, len(relative_columns)) model inputs."""
    if mode not in RELATIVE_MODES:
        raise ValueError(f"unknown relative mode {mode!r}")
    index = [baseline.names.index(n) for n in names]
    mean, std = baseline.mean[index], baseline.std[index]
    with np.errstate(invalid="ignore", divide="ignore"):
        if mode == "diff":
            rel = values - mean
        elif mode == "z":
            # Floor the rest spread at 10% of the rest level (or a tiny absolute value) so a
            # very steady rest does not blow small changes up.
            floor = np.maximum(0.1 * np.abs(mean), 1e-6)
            rel = (values - mean) / np.maximum(std, floor)
        else:
            signed = np.array([n in SIGNED for n in names])
            ratio = values / np.where(np.abs(mean) > 1e-9, mean, np.nan)
            rel = np.where(signed, values - mean, ratio)
    return np.column_stack([values[:, _absolute(names, absolute)], rel])
