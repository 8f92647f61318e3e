"""Train and evaluate the recording models (one per channel set, calibrated and not) and the
calibrated five-number model, leave-one-drive-out.

Everything a fold fits (the model, and nothing else: baselines are each drive's own) sees only
the training drives. The held-out drive's baseline is its own first 3 minutes of Rest1 and its
windows overlapping them are not scored.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from threadpoolctl import threadpool_limits

from mlcore import drivedb
from mlcore.calibration import calibration_metrics
from mlcore.evaluation import classification_metrics, per_drive_summary
from mlcore.recordings.channel_sets import CHANNEL_SETS
from mlcore.recordings.dataset import (
    DriveData,
    DriveWindows,
    drive_windows,
    load_drive_data,
    splice,
)
from mlcore.recordings.drift import training_ranges
from mlcore.recordings.personal import TrainingSet
from mlcore.recordings.spec import ModelSpec, make_spec


@dataclass(frozen=True)
class RecordingConfig:
    """Chosen by leave-one-drive-out (see CHOICES); the card records them."""

    window_s: float = 120.0
    stride_s: float = 30.0
    context_s: float = 300.0  # each window also described by the 5 minutes up to its end
    mode: str = "diff"
    absolute: str = "unit_free"
    estimator: str = "hgb"
    class_weights: bool = True  # balanced class weights (off: quick test models)
    medium_weight: float = 2.0  # on top of balanced class weights
    max_iter: int = 100
    learning_rate: float = 0.1
    max_leaf_nodes: int = 8
    min_samples_leaf: int = 40
    max_features: float = 0.5
    # ~1,000 windows need no more; fewer bins also make weighted binning fast.
    max_bins: int = 32
    random_state: int = 0


# The order check: a model (or a candidate configuration) may lose at most this much
# leave-one-drive-out accuracy when the held-out drives' segments are reordered.
ORDER_TOLERANCE = 0.02

# Small models for tests and a first start: no weights (weighted binning costs seconds).
QUICK = RecordingConfig(max_iter=20, class_weights=False)

CHOICES = """\
Measured leave-one-drive-out on all channels, calibrated (accuracy / macro-F1 / medium recall /
worst drive). Chosen on the same folds that report the figures, so the chosen figure is
slightly optimistic. See the card's `exploration` list for every row."""


def sample_weights(labels: np.ndarray, medium_weight: float) -> np.ndarray:
    counts = np.bincount(labels, minlength=3).astype(np.float64)
    weights = (labels.shape[0] / (3.0 * np.maximum(counts, 1.0)))[labels]
    weights[labels == 1] *= medium_weight
    return weights


def build_estimator(config: RecordingConfig) -> Any:
    if config.estimator == "hgb":
        return HistGradientBoostingClassifier(
            max_iter=config.max_iter,
            learning_rate=config.learning_rate,
            max_leaf_nodes=config.max_leaf_nodes,
            min_samples_leaf=config.min_samples_leaf,
            max_features=config.max_features,
            max_bins=config.max_bins,
            early_stopping=False,
            random_state=config.random_state,
        )
    if config.estimator == "rf":
        # The forest needs every value: missing features get the training median. Compared
        # by leave-one-drive-out only (mlcore.recordings.select); not served.
        return make_pipeline(
            SimpleImputer(strategy="median", keep_empty_features=True),
            RandomForestClassifier(
                n_estimators=200, min_samples_leaf=2, random_state=config.random_state, n_jobs=1
            ),
        )
    raise ValueError(f"unknown estimator {config.estimator!r}")


def _xy(windows: Sequence[DriveWindows], spec: ModelSpec):
    x = np.vstack([spec.inputs(w.values, w.baseline, w.context) for w in windows])
    y = np.concatenate([w.labels for w in windows])
    return x, y


def fit(spec: ModelSpec, windows: Sequence[DriveWindows], config: RecordingConfig) -> Any:
    x, y = _xy(windows, spec)
    model = build_estimator(config)
    # One OpenMP thread: ~1,000 rows gain nothing from more, and on a busy machine OpenMP's
    # waiting threads made fits 20x slower.
    with threadpool_limits(limits=1, user_api="openmp"):
        if not config.class_weights:
            return model.fit(x, y)
        weights = sample_weights(y, config.medium_weight)
        if config.estimator == "rf":
            return model.fit(x, y, randomforestclassifier__sample_weight=weights)
        return model.fit(x, y, sample_weight=weights)


def leave_one_drive_out(
    spec: ModelSpec,
    windows: Sequence[DriveWindows],
    config: RecordingConfig,
    reordered: Mapping[str, Sequence[DriveWindows]] | None = None,
) -> dict[str, Any]:
    """Every drive held out once. Also, from the out-of-fold probabilities, the temperature
    and the calibration figures (mlcore.calibration); with `reordered` (order -> the same
    drives spliced in that order, `reordered_windows`), the accuracy of the same fold models
    on the held-out drives reordered (`metrics["reordered"]`)."""
    truth, probabilities, drives, per_drive = [], [], [], {}
    moved: dict[str, tuple[list, list]] = {name: ([], []) for name in reordered or {}}
    for i, held in enumerate(windows):
        train = [w for w in windows if w.drive != held.drive]
        model = fit(spec, train, config)
        with threadpool_limits(limits=1, user_api="openmp"):
            proba = model.predict_proba(spec.inputs(held.values, held.baseline, held.context))
        p = proba.argmax(axis=1)
        truth.append(held.labels)
        probabilities.append(proba)
        drives.append(np.full(held.labels.shape[0], held.drive))
        per_drive[held.drive] = {
            "windows": len(held.labels),
            "accuracy": round(float((p == held.labels).mean()), 4),
        }
        for name, spliced in (reordered or {}).items():
            other = spliced[i]
            if other.drive != held.drive:  # pragma: no cover - a caller's mistake
                raise ValueError(f"reordered windows of {other.drive} given for {held.drive}")
            with threadpool_limits(limits=1, user_api="openmp"):
                q = model.predict(spec.inputs(other.values, other.baseline, other.context))
            moved[name][0].append(other.labels)
            moved[name][1].append(q)
            per_drive[held.drive].setdefault("reordered", {})[name] = round(
                float((q == other.labels).mean()), 4
            )
    y = np.concatenate(truth)
    proba = np.vstack(probabilities)
    result = classification_metrics(y, proba.argmax(axis=1))
    result.update(per_drive_summary(per_drive))
    result["windows"] = int(sum(d["windows"] for d in per_drive.values()))
    result.update(calibration_metrics(proba, y, np.concatenate(drives)))
    if reordered:
        result["reordered"] = {
            name: round(float((np.concatenate(p) == np.concatenate(t)).mean()), 4)
            for name, (t, p) in moved.items()
        }
    return result


def order_check(metrics: dict[str, Any], tolerance: float = ORDER_TOLERANCE) -> str | None:
    """None when the model keeps its accuracy (within `tolerance`) on every reordering; else
    why it fails, in words."""
    lost = {
        name: metrics["accuracy"] - accuracy
        for name, accuracy in metrics.get("reordered", {}).items()
    }
    failed = {name: loss for name, loss in lost.items() if loss > tolerance + 1e-9}
    if not failed:
        return None
    return (
        "loses "
        + ", ".join(f"{loss:.3f} accuracy in order {name}" for name, loss in sorted(failed.items()))
        + f" (more than {tolerance:g})"
    )


def reordered_windows(
    datas: Sequence[DriveData], config: RecordingConfig
) -> dict[str, list[DriveWindows]]:
    """Every drive spliced into each of drivedb.ORDERS, windowed as the originals."""
    return {
        name: [
            drive_windows(
                splice(d, order), config.window_s, config.stride_s, context_s=config.context_s
            )
            for d in datas
        ]
        for name, order in drivedb.ORDERS.items()
    }


def load_windows(
    drives: Sequence[drivedb.Drive], config: RecordingConfig
) -> tuple[list[DriveData], list[DriveWindows]]:
    datas = [load_drive_data(d.name, drive=d) for d in drives]
    return datas, [
        drive_windows(d, config.window_s, config.stride_s, context_s=config.context_s)
        for d in datas
    ]


def train_recording_models(
    drives: Sequence[drivedb.Drive],
    *,
    config: RecordingConfig,
    evaluate: bool = True,
    channel_sets: Sequence[str] | None = None,
    log: Callable[[str], None] = lambda _: None,
) -> dict[str, Any]:
    """Fit every channel set's models on the named drives; with `evaluate`, measure each
    leave-one-drive-out first. Returns the bundle payload (without format/version)."""
    started = time.perf_counter()
    datas, windows = load_windows(drives, config)
    reordered = reordered_windows(datas, config) if evaluate else None
    log(f"window features of {len(drives)} drives in {time.perf_counter() - started:.1f} s")
    models: dict[str, ModelSpec] = {}
    training_sets: dict[str, TrainingSet] = {}
    for name in channel_sets or CHANNEL_SETS:
        for calibrated in (True, False):
            spec = make_spec(
                name, calibrated, config.mode, config.absolute, context_s=config.context_s
            )
            t0 = time.perf_counter()
            if evaluate:
                spec.metrics = leave_one_drive_out(spec, windows, config, reordered)
                spec.temperature = float(spec.metrics["temperature"])
            spec.estimator = fit(spec, windows, config)
            models[spec.key] = spec
            training_sets[spec.key] = TrainingSet.of(spec, windows)
            if evaluate:
                m = spec.metrics
                failed = order_check(m)
                log(
                    f"{spec.key:<23} accuracy {m['accuracy']:.3f}  macro-F1 {m['macro_f1']:.3f}"
                    f"  medium recall {m['per_class']['medium']['recall']:.3f}  worst drive "
                    f"{m['per_drive_min']:.3f}  ECE {m['ece_raw']:.3f} -> {m['ece']:.3f} (T "
                    f"{m['temperature']:.2f})  reordered A {m['reordered']['A']:.3f} B "
                    f"{m['reordered']['B']:.3f}"
                    + (f"  ORDER CHECK FAILED: {failed}" if failed else "")
                    + f"  ({time.perf_counter() - t0:.1f} s)"
                )
    all_values = np.vstack([w.values for w in windows])
    return {
        "config": asdict(config),
        "models": models,
        "training_ranges": training_ranges(all_values),
        "drives": [d.name for d in drives],
        "windows": int(all_values.shape[0]),
        # Written beside the bundle (personal.training_sets_write), not into it.
        "training_sets": training_sets,
    }
