"""Drift: is this recording's signal unlike anything the models were trained on (a sensor in
other units, a loose electrode)? Said in plain words, never a reason to refuse."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mlcore.recordings.recording import ROLE_NAMES
from mlcore.recordings.windows import FEATURE_NAMES, FEATURES


@dataclass(frozen=True)
class DriftFinding:
    feature: str
    ratio: float
    message: str


# Drift rule: a level feature whose median over the recording is more than DRIFT_FACTOR times
# (or less than 1/DRIFT_FACTOR of) the training median, and outside the training windows'
# 1st-99th percentile range, is reported. Level features only: spreads and trends are noisy.
DRIFT_FACTOR = 4.0
DRIFT_FEATURES = {
    "hr_mean": "heart rate",
    "scl_mean": "skin conductance",
    "resp_rate": "breathing rate",
    "resp_amp": "breathing amplitude",
    "emg_mean": "muscle activity (EMG)",
    "ecg_std": "ECG amplitude",
}


def training_ranges(values: np.ndarray) -> dict[str, dict[str, float]]:
    out = {}
    for i, name in enumerate(FEATURE_NAMES):
        column = values[:, i][np.isfinite(values[:, i])]
        if column.size:
            low, median, high = np.percentile(column, [1, 50, 99])
            out[name] = {"p01": float(low), "median": float(median), "p99": float(high)}
    return out


def drift_findings(values: np.ndarray, ranges: dict[str, dict[str, float]]) -> list[DriftFinding]:
    findings = []
    for name, words in DRIFT_FEATURES.items():
        if name not in ranges:
            continue
        column = values[:, FEATURE_NAMES.index(name)]
        column = column[np.isfinite(column)]
        if column.size == 0:
            continue
        observed = float(np.median(column))
        train = ranges[name]
        if train["median"] <= 0 or observed <= 0:
            continue
        ratio = observed / train["median"]
        outside = observed > train["p99"] or observed < train["p01"]
        if not outside or 1 / DRIFT_FACTOR <= ratio <= DRIFT_FACTOR:
            continue
        role = FEATURES[name][0]
        if ratio > 1:
            size = f"{ratio:.0f} times" if ratio >= 2 else f"{ratio:.1f} times"
            message = f"Your {words} is {size} the training range"
        else:
            message = f"Your {words} is {1 / ratio:.0f} times lower than the training range"
        advice = (
            ": check the sensor or its units"
            if role in ("gsr", "emg", "ecg", "resp")
            else ": check the sensor"
        )
        findings.append(
            DriftFinding(
                feature=name,
                ratio=ratio,
                message=f"{message} ({ROLE_NAMES[role]} median {observed:.3g} vs "
                f"{train['median']:.3g} in training){advice}.",
            )
        )
    return findings
