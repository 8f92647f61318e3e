"""Score a whole recording, window by window: the entry point for the service.

    scorer = RecordingScorer.load(bundle_dir)            # once per process
    prepared = scorer.prepare(recording)                 # resample + features, once
    baseline = scorer.baseline_from_recording(prepared, 0, 180)   # optional
    result = scorer.score(prepared, baseline=baseline)   # RecordingScore
    scorer.drift(prepared)                               # plain-language findings

Each channel set has two models: calibrated (features relative to a personal rest baseline)
and population (absolute features, for people without a baseline; it says it is
uncalibrated). The bundle is one file beside the five-number model, checked against its
sha256 before it is unpickled.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import joblib
import numpy as np

from mlcore.baseline import Baseline, baseline_from_derived, relative_columns, relative_features
from mlcore.channel_sets import CHANNEL_SETS, best_channel_set
from mlcore.compiled import CompiledHGB
from mlcore.drivedb import sha256_file
from mlcore.features import CLASSES
from mlcore.recording import ROLE_NAMES, Recording, RecordingError
from mlcore.signals import ModelSignals, to_model_rate
from mlcore.windows import (
    FEATURE_NAMES,
    FEATURES,
    Derived,
    WindowFeatures,
    context_features,
    derived_series,
    features_of_roles,
    window_features,
)

BUNDLE_FILE = "recording_models.joblib"
BUNDLE_CHECKSUM = "recording_models.joblib.sha256"
BUNDLE_FORMAT = 1
TOP_CONTRIBUTIONS = 3
CONTEXT_SUFFIX = "@context"


class BundleError(Exception):
    """The recording-model bundle is missing, tampered with, or not one of ours."""


@dataclass
class ModelSpec:
    """One trained model: which channels, which features, relative or not, and how good."""

    key: str
    channel_set: str
    calibrated: bool
    features: tuple[str, ...]  # window features used (windows.FEATURE_NAMES subset)
    columns: tuple[str, ...]  # model input columns
    mode: str | None  # relative mode when calibrated
    estimator: Any
    absolute: str = "unit_free"  # which features a calibrated model also sees as they are
    metrics: dict[str, Any] = field(default_factory=dict)
    context_s: float = 0.0  # also the features of this many seconds up to each window's end

    def inputs(
        self,
        values: np.ndarray,
        baseline: Baseline | None,
        context: np.ndarray | None = None,
    ) -> np.ndarray:
        """Window features (all FEATURE_NAMES columns; `context`: the same for each window's
        context) -> this model's input matrix."""
        index = [FEATURE_NAMES.index(n) for n in self.features]
        parts = [values[:, index]]
        if self.context_s:
            if context is None:
                raise ValueError(f"model {self.key} needs the windows' context features")
            parts.append(context[:, index])
        if not self.calibrated:
            return np.column_stack(parts)
        if baseline is None:
            raise ValueError(f"model {self.key} needs a baseline")
        mode = self.mode or "diff"
        out = [relative_features(parts[0], self.features, baseline, mode, self.absolute)]
        if self.context_s:
            out.append(relative_features(parts[1], self.features, baseline, mode, "unit_free"))
        return np.column_stack(out)


def model_key(channel_set: str, calibrated: bool) -> str:
    return f"{channel_set}/{'calibrated' if calibrated else 'population'}"


def make_spec(
    channel_set: str,
    calibrated: bool,
    mode: str,
    absolute: str = "unit_free",
    estimator: Any = None,
    context_s: float = 0.0,
) -> ModelSpec:
    features = features_of_roles(set(CHANNEL_SETS[channel_set]))
    columns = relative_columns(features, mode, absolute) if calibrated else features
    if context_s:
        context = relative_columns(features, mode, "unit_free") if calibrated else features
        columns = columns + tuple(f"{c}{CONTEXT_SUFFIX}" for c in context)
    return ModelSpec(
        key=model_key(channel_set, calibrated),
        channel_set=channel_set,
        calibrated=calibrated,
        features=features,
        columns=columns,
        mode=mode if calibrated else None,
        estimator=estimator,
        absolute=absolute,
        context_s=context_s,
    )


@dataclass
class PreparedRecording:
    """A recording at the model rate with its derived series: compute once, score often."""

    recording: Recording
    signals: ModelSignals
    derived: Derived
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
            "window_s": self.window_s,
            "stride_s": self.stride_s,
            "baseline": self.baseline.to_dict() if self.baseline else None,
            "ignored_channels": self.ignored_channels,
            "derived_channels": self.derived_channels,
            "notes": self.notes,
            "windows": [w.__dict__ for w in self.windows],
        }


@dataclass(frozen=True)
class DriftFinding:
    feature: str
    ratio: float
    message: str


class RecordingScorer:
    def __init__(self, payload: dict[str, Any], path: Path | None = None) -> None:
        self.version: str = payload["version"]
        self.window_s: float = float(payload["config"]["window_s"])
        self.stride_s: float = float(payload["config"]["stride_s"])
        self.config: dict[str, Any] = payload["config"]
        self.models: dict[str, ModelSpec] = payload["models"]
        self.training_ranges: dict[str, dict[str, float]] = payload["training_ranges"]
        self.five_number = payload.get("five_number_calibrated")
        self.path = path
        self._compiled: dict[str, Any] = {}
        # Flatten every model and compile (or load from numba's cache) the kernels now, as a
        # process starts, not in the middle of scoring a large recording.
        for key in self.models:
            self.compiled(key)

    @classmethod
    def load(cls, bundle_dir: str | Path) -> RecordingScorer:
        folder = Path(bundle_dir)
        model_path = folder / BUNDLE_FILE
        checksum = folder / BUNDLE_CHECKSUM
        if not model_path.is_file() or not checksum.is_file():
            raise BundleError(f"no recording models (or no checksum) in {folder}")
        expected = checksum.read_text().split()[0]
        if sha256_file(model_path) != expected:
            raise BundleError(f"checksum mismatch for {model_path}: refusing to load it")
        # Unpickling runs code: safe only because the checksum was verified just above.
        payload = joblib.load(model_path)  # nosec B301
        if not isinstance(payload, dict) or payload.get("format") != BUNDLE_FORMAT:
            raise BundleError(f"{model_path} is not a recording-model bundle")
        return cls(payload, folder)

    def five_number_model(self):
        """The calibrated five-number model (`FiveNumberCalibrated`), or None if the bundle
        has none. Its inputs are the API's five contract values."""
        from mlcore.five_number import FiveNumberCalibrated

        if not self.five_number:
            return None
        if "_five" not in self._compiled:
            self._compiled["_five"] = FiveNumberCalibrated(self.five_number["estimator"])
        return self._compiled["_five"]

    # -- what is available ---------------------------------------------------------------
    def accuracies(self, calibrated: bool) -> dict[str, float]:
        out = {}
        for spec in self.models.values():
            if spec.calibrated == calibrated and spec.metrics:
                out[spec.channel_set] = float(spec.metrics["accuracy"])
        return out

    def best_channel_set(self, roles, calibrated: bool = True) -> str | None:
        have = {s.channel_set for s in self.models.values() if s.calibrated == calibrated}
        name = best_channel_set(roles, self.accuracies(calibrated))
        if name is None or name not in have:
            return None
        return name

    def compiled(self, key: str) -> CompiledHGB:
        if key not in self._compiled:
            self._compiled[key] = CompiledHGB(self.models[key].estimator)
        return self._compiled[key]

    # -- the steps -----------------------------------------------------------------------
    def prepare(self, recording: Recording) -> PreparedRecording:
        signals = to_model_rate(recording)
        if signals.duration_s < self.window_s:
            raise RecordingError(
                "too_short",
                f"The recording lasts {signals.duration_s:.0f} s; the model looks at "
                f"{self.window_s:.0f} s windows.",
            )
        return PreparedRecording(recording, signals, derived_series(signals))

    def _prepared(self, recording: Recording | PreparedRecording) -> PreparedRecording:
        return recording if isinstance(recording, PreparedRecording) else self.prepare(recording)

    def baseline_from_recording(
        self, recording: Recording | PreparedRecording, start_s: float, end_s: float
    ) -> Baseline:
        """Statistics of every window feature over a rest range (>= 3 minutes) of a
        recording. Raises baseline.BaselineError if the range is too short or outside."""
        prepared = self._prepared(recording)
        return baseline_from_derived(prepared.derived, start_s, end_s, self.window_s)

    def score(
        self,
        recording: Recording | PreparedRecording,
        baseline: Baseline | None = None,
        channel_set: str | None = None,
    ) -> RecordingScore:
        prepared = self._prepared(recording)
        calibrated = baseline is not None
        roles = set(prepared.roles)
        if baseline is not None:
            # A baseline from another recording may lack channels this one has: a calibrated
            # model can only use channels the baseline knows.
            roles &= baseline_roles(baseline)
        if channel_set is not None and not set(CHANNEL_SETS.get(channel_set, ("?",))) <= roles:
            raise ValueError(
                f"channel set {channel_set!r} needs {CHANNEL_SETS.get(channel_set)}; the "
                f"recording{' and its baseline' if baseline else ''} have {sorted(roles)}"
            )
        name = channel_set or self.best_channel_set(roles, calibrated)
        if name is None:
            raise RecordingError(
                "no_usable_channel",
                "The recording has no set of channels a model was trained for "
                f"(it has: {', '.join(sorted(prepared.roles)) or 'none'}"
                + (
                    f"; its baseline: {', '.join(sorted(baseline_roles(baseline)))}"
                    if baseline
                    else ""
                )
                + ").",
            )
        spec = self.models[model_key(name, calibrated)]
        table = prepared.windows(self.window_s, self.stride_s)
        context = (
            prepared.context(self.window_s, self.stride_s, spec.context_s)
            if spec.context_s
            else None
        )
        x = spec.inputs(table.values, baseline, context)
        model = self.compiled(spec.key)
        proba = model.predict_proba(x)
        credits = model.explain(x)
        predicted = proba.argmax(axis=1)
        windows = []
        for i in range(len(table)):
            k = int(predicted[i])
            push = credits[i, :, k]
            top = np.argsort(-np.abs(push))[:TOP_CONTRIBUTIONS]
            windows.append(
                WindowScore(
                    start_s=float(table.start_s[i]),
                    end_s=float(table.end_s[i]),
                    level=CLASSES[k],
                    confidence=float(proba[i, k]),
                    probabilities={c: float(proba[i, j]) for j, c in enumerate(CLASSES)},
                    contributions=[
                        {
                            "feature": spec.columns[j],
                            "description": describe_column(spec.columns[j]),
                            "effect": float(push[j]),
                        }
                        for j in top
                        if push[j] != 0
                    ],
                    in_baseline=bool(
                        baseline is not None
                        and table.start_s[i] < baseline.end_s
                        and table.end_s[i] > baseline.start_s
                    ),
                )
            )
        notes = []
        if not calibrated:
            notes.append(
                "Uncalibrated: scored by the population model. Set a 3-minute rest baseline "
                "to score against your own resting state."
            )
        return RecordingScore(
            windows=windows,
            channel_set=name,
            roles=CHANNEL_SETS[name],
            calibrated=calibrated,
            model_version=self.version,
            model_key=spec.key,
            window_s=self.window_s,
            stride_s=self.stride_s,
            baseline=baseline,
            ignored_channels=list(prepared.recording.ignored),
            derived_channels=dict(prepared.signals.derived),
            notes=notes,
        )

    def drift(self, recording: Recording | PreparedRecording) -> list[DriftFinding]:
        """Compare the recording's typical feature values with the training data's."""
        prepared = self._prepared(recording)
        table = prepared.windows(self.window_s, self.stride_s)
        return drift_findings(table.values, self.training_ranges)


def baseline_roles(baseline: Baseline) -> set[str]:
    """The roles a baseline has statistics for (any finite feature of that role)."""
    return {
        FEATURES[name][0]
        for name, mean in zip(baseline.names, baseline.mean, strict=True)
        if name in FEATURES and np.isfinite(mean)
    }


def describe_column(column: str) -> str:
    column, context, _ = column.partition(CONTEXT_SUFFIX)
    name, _, mode = column.partition("__")
    text = FEATURES[name][1] if name in FEATURES else name
    if context:
        text = f"{text} over the last minutes"
    if mode == "diff":
        return f"{text}, change from your rest"
    if mode == "ratio":
        return f"{text}, relative to your rest"
    if mode == "z":
        return f"{text}, compared with your rest"
    return text


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


def write_bundle(folder: Path, payload: dict[str, Any]) -> str:
    path = Path(folder) / BUNDLE_FILE
    joblib.dump({"format": BUNDLE_FORMAT, **payload}, path, compress=3)
    digest = sha256_file(path)
    (Path(folder) / BUNDLE_CHECKSUM).write_text(f"{digest}  {BUNDLE_FILE}\n")
    return digest


def read_card(bundle_dir: str | Path) -> dict[str, Any]:
    return json.loads((Path(bundle_dir) / "card.json").read_text())
