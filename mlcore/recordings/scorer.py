"""Score a whole recording, window by window: the entry point for the service.

    scorer = RecordingScorer.load(bundle_dir)            # once per process
    prepared = scorer.prepare(recording)                 # resample + features, once
    baseline = scorer.baseline_from_recording(prepared, 0, 180)   # optional
    result = scorer.score(prepared, baseline=baseline)   # RecordingScore
    scorer.drift(prepared)                               # plain-language findings

Each channel set has two models: calibrated (features relative to a personal rest baseline)
and population (absolute features, for people without a baseline; it says it is
uncalibrated). Which set scores a recording, and which saved baseline applies to it, is
decided in one place: `RecordingScorer.scoring_plan`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mlcore.plain_words import column_direction
from mlcore.readings.features import CLASSES
from mlcore.readings.five_number import FiveNumberCalibrated
from mlcore.recordings.baseline import Baseline, baseline_from_derived
from mlcore.recordings.bundle import (
    FIVE_NUMBER_ESTIMATOR,
    BundleError,
    bundle_estimators,
    bundle_read,
)
from mlcore.recordings.channel_sets import CHANNEL_SETS, best_channel_set
from mlcore.recordings.drift import DriftFinding, drift_findings
from mlcore.recordings.hgb_compiled import CompiledHGB
from mlcore.recordings.quality import NOT_ENOUGH_SIGNAL, good_samples, window_quality
from mlcore.recordings.recording import (
    ROLE_NAMES,
    TRAINING_UNITS,
    Recording,
    RecordingError,
    relative_only_roles,
)
from mlcore.recordings.results import (
    PreparedRecording,
    RecordingScore,
    UnscoredWindow,
    WindowScore,
)
from mlcore.recordings.signals import to_model_rate
from mlcore.recordings.spec import ModelSpec, describe_column, model_key
from mlcore.recordings.windows import FEATURE_NAMES, FEATURES, derived_series

TOP_CONTRIBUTIONS = 3
# Window features a person reads as measurements (and standards exports carry).
VITAL_FEATURES = {"heart_rate_bpm": "hr_mean", "respiratory_rate": "resp_rate"}


@dataclass(frozen=True)
class WindowInputs:
    table: Any  # windows.WindowTable: start_s, end_s, values
    x: np.ndarray  # the model's input rows
    quality: list[Any]  # quality.WindowQuality per window

    def unscored_reason(self, i: int) -> str | None:
        """Why window i gets no score (None: it is scored)."""
        reason = self.quality[i].unscored_reason
        if reason is None and not np.isfinite(self.x[i]).any():
            reason = NOT_ENOUGH_SIGNAL  # never a score from features that are all missing
        return reason


@dataclass(frozen=True)
class ScoringPlan:
    """`population_set`: the channel set that scores the recording without a baseline (None:
    no set of its channels has a model). `calibrated_set`: the set scored against a rest
    baseline, so the set whose saved baseline applies (None: no calibrated model fits)."""

    population_set: str | None
    calibrated_set: str | None


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
        self._estimators_sha256: str | None = payload.get("estimators_sha256")
        self._estimators: dict[str, Any] | None = None
        self._compiled: dict[str, Any] = {}
        # Flatten every model and compile (or load from numba's cache) the kernels now, as a
        # process starts, not in the middle of scoring a large recording.
        for key in self.models:
            self.compiled(key)

    @classmethod
    def load(cls, bundle_dir: str | Path) -> RecordingScorer:
        folder = Path(bundle_dir)
        payload = bundle_read(folder)
        return cls(payload, folder)

    def five_number_model(self):
        """The calibrated five-number model (`FiveNumberCalibrated`), or None if the bundle
        has none. Its inputs are the API's five contract values."""
        if not self.five_number:
            return None
        if "_five" not in self._compiled:
            temperature = self.five_number.get("temperature", 1.0)
            compiled = self.five_number.get("compiled")
            if compiled is None:  # a bundle of format 1
                model = FiveNumberCalibrated(self.five_number["estimator"], temperature)
            else:
                model = FiveNumberCalibrated.from_compiled(
                    compiled.tempered(temperature),
                    lambda: self.estimator(FIVE_NUMBER_ESTIMATOR),
                )
                model.compiled.warm_up()
            self._compiled["_five"] = model
        return self._compiled["_five"]

    def estimator(self, key: str) -> Any:
        """scikit-learn's fitted model for this key (or FIVE_NUMBER_ESTIMATOR), read on first
        use (it imports scikit-learn): for what copies a model's settings (a personal refit)
        and for comparisons. Scoring uses the compiled trees."""
        spec = self.models.get(key)
        if spec is not None and spec.estimator is not None:
            return spec.estimator
        if key == FIVE_NUMBER_ESTIMATOR and (self.five_number or {}).get("estimator") is not None:
            return self.five_number["estimator"]
        if self._estimators is None:
            if self.path is None or self._estimators_sha256 is None:
                raise BundleError("these recording models keep no estimators")
            self._estimators = bundle_estimators(self.path, self._estimators_sha256)
        return self._estimators[key]

    # -- what is available ---------------------------------------------------------------
    def accuracies(self, calibrated: bool) -> dict[str, float]:
        out = {}
        for spec in self.models.values():
            if spec.calibrated == calibrated and spec.metrics:
                out[spec.channel_set] = float(spec.metrics["accuracy"])
        return out

    def best_channel_set(self, roles: Iterable[str], calibrated: bool = True) -> str | None:
        have = {s.channel_set for s in self.models.values() if s.calibrated == calibrated}
        name = best_channel_set(roles, self.accuracies(calibrated))
        if name is None or name not in have:
            return None
        return name

    def scoring_plan(
        self,
        roles: Iterable[str],
        baseline: Baseline | None = None,
        relative_only: frozenset[str] = frozenset(),
    ) -> ScoringPlan:
        """Which model scores a recording with these roles, and which saved baseline applies:
        the one decision, for the upload, the scoring and the re-scoring alike.

        `roles` are the recording's roles after derivation (HR from ECG counts as HR: see
        `signals.roles_after_derivation`). With a baseline (from another recording, perhaps),
        a calibrated model can only use the channels the baseline has statistics for.
        `relative_only` roles are in other units than the training data's
        (`recording.relative_only_roles`): the population model cannot use them."""
        roles = set(roles)
        calibrated_roles = roles & baseline_roles(baseline) if baseline is not None else roles
        return ScoringPlan(
            population_set=self.best_channel_set(roles - relative_only, calibrated=False),
            calibrated_set=self.best_channel_set(calibrated_roles, calibrated=True),
        )

    def compiled(self, key: str) -> CompiledHGB:
        """The model compiled with its temperature: every probability it gives is calibrated
        (a bundle written before temperatures existed answers as before, T = 1)."""
        if key not in self._compiled:
            spec = self.models[key]
            if spec.compiled is None:  # a bundle of format 1, or a payload fresh from training
                self._compiled[key] = CompiledHGB(spec.estimator, spec.temperature)
            else:
                self._compiled[key] = spec.compiled.tempered(spec.temperature)
                self._compiled[key].warm_up()
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
        good = good_samples(signals.series, signals.rate_hz)
        return PreparedRecording(recording, signals, derived_series(signals), good)

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
        personal: Mapping[str, CompiledHGB] | None = None,
    ) -> RecordingScore:
        """`personal`: the person's own models by spec key (mlcore.recordings.personal); the
        one for the chosen spec, if any, scores instead of the population's."""
        prepared = self._prepared(recording)
        calibrated = baseline is not None
        roles = set(prepared.roles)
        if baseline is not None:
            roles &= baseline_roles(baseline)
        if channel_set is not None and not set(CHANNEL_SETS.get(channel_set, ("?",))) <= roles:
            raise ValueError(
                f"channel set {channel_set!r} needs {CHANNEL_SETS.get(channel_set)}; the "
                f"recording{' and its baseline' if baseline else ''} have {sorted(roles)}"
            )
        relative_only = relative_only_roles(prepared.recording.units)
        plan = self.scoring_plan(prepared.roles, baseline, relative_only)
        name = channel_set or (plan.calibrated_set if calibrated else plan.population_set)
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
        inputs = self.window_inputs(prepared, spec.key, baseline)
        table, x = inputs.table, inputs.x
        personal_model = (personal or {}).get(spec.key)
        model = personal_model or self.compiled(spec.key)
        proba = model.predict_proba(x)
        credits = model.explain(x)
        predicted = proba.argmax(axis=1)
        quality = inputs.quality
        vital_columns = {
            key: FEATURE_NAMES.index(feature) for key, feature in VITAL_FEATURES.items()
        }
        windows = []
        unscored = []
        for i in range(len(table)):
            reason = inputs.unscored_reason(i)
            if reason is not None:
                unscored.append(
                    UnscoredWindow(float(table.start_s[i]), float(table.end_s[i]), reason)
                )
                continue
            k = int(predicted[i])
            push = credits[i, :, k]
            top = np.argsort(-np.abs(push))[:TOP_CONTRIBUTIONS]
            whole = float(np.abs(push).sum())
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
                            # For the words a person reads (mlcore.plain_words): above or
                            # below their rest, and the share of the window's whole push.
                            "direction": column_direction(spec.columns[j], float(x[i, j])),
                            "share": float(abs(push[j]) / whole) if whole > 0 else 0.0,
                        }
                        for j in top
                        if push[j] != 0
                    ],
                    in_baseline=bool(
                        baseline is not None
                        and table.start_s[i] < baseline.end_s
                        and table.end_s[i] > baseline.start_s
                    ),
                    activity=quality[i].activity,
                    vitals={
                        key: round(float(table.values[i, column]), 2)
                        for key, column in vital_columns.items()
                        if np.isfinite(table.values[i, column])
                    },
                )
            )
        notes = []
        if not calibrated:
            notes.append(
                "Uncalibrated: scored by the population model. Set a 3-minute rest baseline "
                "to score against your own resting state."
            )
            for role in sorted(relative_only & prepared.roles):
                notes.append(
                    f"{ROLE_NAMES[role][:1].upper()}{ROLE_NAMES[role][1:]} is in "
                    f"{prepared.recording.units[role]}, the training data's in "
                    f"{TRAINING_UNITS[role].replace('mv', 'mV')}: it counts only against "
                    "your own rest, so it was left out. Calibrate to a 3-minute rest to use it."
                )
        return RecordingScore(
            windows=windows,
            channel_set=name,
            roles=CHANNEL_SETS[name],
            calibrated=calibrated,
            model_version=self.version,
            model_key=spec.key,
            personal=personal_model is not None,
            window_s=self.window_s,
            stride_s=self.stride_s,
            baseline=baseline,
            ignored_channels=list(prepared.recording.ignored),
            derived_channels=dict(prepared.signals.derived),
            notes=notes,
            unscored=unscored,
            has_movement=prepared.signals.movement is not None,
        )

    def window_inputs(
        self, recording: Recording | PreparedRecording, key: str, baseline: Baseline | None
    ) -> WindowInputs:
        """Every window of the recording as the input rows of model `key`, with each
        window's quality: what scoring uses, and what a personal model is refitted on."""
        prepared = self._prepared(recording)
        spec = self.models[key]
        table = prepared.windows(self.window_s, self.stride_s)
        context = (
            prepared.context(self.window_s, self.stride_s, spec.context_s)
            if spec.context_s
            else None
        )
        x = spec.inputs(table.values, baseline, context)
        quality = window_quality(
            prepared.good,
            prepared.signals.movement,
            CHANNEL_SETS[spec.channel_set],
            table.start_s,
            table.end_s,
            prepared.signals.rate_hz,
        )
        return WindowInputs(table, x, quality)

    def drift(self, recording: Recording | PreparedRecording) -> list[DriftFinding]:
        """Compare the recording's typical feature values with the training data's. A channel
        stated in another unit is left out: its difference is the unit, which the scoring's
        notes already say, and it is used only against the person's rest."""
        prepared = self._prepared(recording)
        table = prepared.windows(self.window_s, self.stride_s)
        other_units = relative_only_roles(prepared.recording.units)
        return [
            finding
            for finding in drift_findings(table.values, self.training_ranges)
            if FEATURES[finding.feature][0] not in other_units
        ]


def baseline_roles(baseline: Baseline) -> set[str]:
    """The roles a baseline has statistics for (any finite feature of that role)."""
    return {
        FEATURES[name][0]
        for name, mean in zip(baseline.names, baseline.mean, strict=True)
        if name in FEATURES and np.isfinite(mean)
    }
