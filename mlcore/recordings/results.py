"""What scoring a recording produces: the recording prepared once (model rate, derived
series, window features), each window's score, and the whole recording's result."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mlcore.readings.features import CLASSES
from mlcore.recordings.baseline import Baseline
from mlcore.recordings.recording import Recording
from mlcore.recordings.signals import ModelSignals
from mlcore.recordings.windows import Derived, WindowFeatures, context_features, window_features


@dataclass
class PreparedRecording:
    """A recording at the model rate with its derived series: compute once, score often."""

    recording: Recording
    signals: ModelSignals
    derived: Derived
    good: dict[str, np.ndarray] = field(default_factory=dict)  # quality.good_samples per role
    _tables: dict[tuple[float, float], WindowFeatures] = field(default_factory=dict)

    _contexts: dict[tuple[float, float, float], np.ndarray] = field(default_factory=dict)

    def windows(self, window_s: float, stride_s: float) -> WindowFeatures:
        """Window features of the whole recording (computed once per window and stride)."""
        key = (window_s, stride_s)
        if key not in self._tables:
            self._tables[key] = window_features(self.derived, window_s, stride_s)
        return self._tables[key]

    def context(self, window_s: float, stride_s: float, context_s: float) -> np.ndarray:
        key = (window_s, stride_s, context_s)
        if key not in self._contexts:
            starts = self.windows(window_s, stride_s).start_s
            self._contexts[key] = context_features(self.derived, starts, window_s, context_s)
        return self._contexts[key]

    @property
    def roles(self) -> frozenset[str]:
        return self.signals.roles

    @property
    def duration_s(self) -> float:
        return self.signals.duration_s


@dataclass
class WindowScore:
    start_s: float
    end_s: float
    level: str
    confidence: float
    probabilities: dict[str, float]
    contributions: list[dict[str, Any]]  # top features: name, description, effect on level
    in_baseline: bool = False
    activity: str | None = None  # still / light, where the recording has an accelerometer
    # What the window measured, in a person's units: "heart_rate_bpm", "respiratory_rate"
    # (breaths per minute), where the recording has them.
    vitals: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class UnscoredWindow:
    """A window not scored, and why: "not_enough_signal" (too little good signal in a channel
    its model needs) or "active" (vigorous movement, which is not stress)."""

    start_s: float
    end_s: float
    reason: str


@dataclass
class RecordingScore:
    windows: list[WindowScore]
    channel_set: str
    roles: tuple[str, ...]
    calibrated: bool
    model_version: str
    model_key: str
    window_s: float
    stride_s: float
    baseline: Baseline | None
    ignored_channels: list[str]
    derived_channels: dict[str, str]
    notes: list[str]
    unscored: list[UnscoredWindow] = field(default_factory=list)
    has_movement: bool = False  # the recording has an accelerometer
    personal: bool = False  # scored by the person's own model (mlcore.recordings.personal)

    def time_in_level(self) -> dict[str, float]:
        """Seconds per level, counting each stride once (windows overlap)."""
        out = dict.fromkeys(CLASSES, 0.0)
        for window in self.windows:
            out[window.level] += self.stride_s
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "channel_set": self.channel_set,
            "roles": list(self.roles),
            "calibrated": self.calibrated,
            "model_version": self.model_version,
            "model_key": self.model_key,
            "personal": self.personal,
            "window_s": self.window_s,
            "stride_s": self.stride_s,
            "baseline": self.baseline.to_dict() if self.baseline else None,
            "ignored_channels": self.ignored_channels,
            "derived_channels": self.derived_channels,
            "notes": self.notes,
            "windows": [w.__dict__ for w in self.windows],
            "unscored": [w.__dict__ for w in self.unscored],
        }
