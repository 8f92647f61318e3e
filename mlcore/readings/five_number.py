"""The five-number contract with a personal baseline (optional).

The served five-number model (`mlcore.readings.forest.Predictor`) is unchanged. This adds a
second model for people who recorded a few readings at rest: it sees each of the five contract
values as they are and as a difference from that person's resting mean. A baseline is the mean (and
spread) of at least MIN_READINGS readings taken over 3 minutes of rest, in the contract's own
units (heart rate in bpm, the others 0-1 as the card maps them).

Leave-one-drive-out: the held-out drive's baseline is the mean of its 30 s readings inside its
first 3 minutes of Rest1; readings overlapping those 3 minutes are not scored.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from mlcore.calibration import calibration_metrics
from mlcore.readings.features import FEATURE_NAMES
from mlcore.readings.preprocessing import FeatureMapping, WindowTable, subset
from mlcore.recordings.hgb_compiled import CompiledHGB

# Serving imports this module for the baseline and the inputs; scikit-learn (with pandas and
# scipy, ~120 MB a process) is imported by the functions that fit, not here.
if TYPE_CHECKING:
    from sklearn.ensemble import HistGradientBoostingClassifier

MIN_READINGS = 3
BASELINE_S = 180.0
# The five-number calibrated model's key among a version's training sets and a person's
# models (beside the recording models' "<channel set>/<calibrated|population>").
FIVE_NUMBER_KEY = "five_number/calibrated"
FIVE_NUMBER_SET = "five_number"


class FiveNumberBaselineError(ValueError):
    pass


@dataclass(frozen=True)
class FiveNumberBaseline:
    mean: np.ndarray  # (5,) in FEATURE_NAMES order
    std: np.ndarray
    readings: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "readings": self.readings,
            "mean": dict(zip(FEATURE_NAMES, map(float, self.mean), strict=True)),
            "std": dict(zip(FEATURE_NAMES, map(float, self.std), strict=True)),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FiveNumberBaseline:
        return cls(
            mean=np.array([data["mean"][n] for n in FEATURE_NAMES], dtype=np.float64),
            std=np.array([data["std"][n] for n in FEATURE_NAMES], dtype=np.float64),
            readings=int(data["readings"]),
        )


def five_number_baseline(rows: np.ndarray) -> FiveNumberBaseline:
    """From an (n, 5) array of rest readings (contract features)."""
    rows = np.asarray(rows, dtype=np.float64)
    if rows.ndim != 2 or rows.shape[1] != len(FEATURE_NAMES):
        raise FiveNumberBaselineError(f"expected an (n, {len(FEATURE_NAMES)}) array")
    if rows.shape[0] < MIN_READINGS:
        raise FiveNumberBaselineError(
            f"A baseline needs at least {MIN_READINGS} readings taken at rest "
            f"({rows.shape[0]} given)."
        )
    if not np.isfinite(rows).all():
        raise FiveNumberBaselineError("baseline readings must be finite numbers")
    return FiveNumberBaseline(rows.mean(axis=0), rows.std(axis=0), int(rows.shape[0]))


def calibrated_inputs(rows: np.ndarray, baseline: FiveNumberBaseline) -> np.ndarray:
    rows = np.asarray(rows, dtype=np.float64)
    return np.column_stack([rows, rows - baseline.mean])


def build_estimator(random_state: int = 0) -> HistGradientBoostingClassifier:
    from sklearn.ensemble import HistGradientBoostingClassifier

    return HistGradientBoostingClassifier(
        max_iter=100,
        learning_rate=0.05,
        max_leaf_nodes=8,
        min_samples_leaf=20,
        class_weight="balanced",
        max_bins=32,  # plenty for ~1,400 readings, and weighted binning stays fast
        early_stopping=False,
        random_state=random_state,
    )


class FiveNumberCalibrated:
    """predict_proba(rows, baseline) for (n, 5) contract rows, exact against scikit-learn's
    raw scores, tempered by the model's temperature (mlcore.calibration; 1: as they are)."""

    def __init__(self, estimator: HistGradientBoostingClassifier, temperature: float = 1.0) -> None:
        self._estimator: HistGradientBoostingClassifier | None = estimator
        self._estimator_read: Callable[[], HistGradientBoostingClassifier] | None = None
        self.temperature = float(temperature)
        self.compiled = CompiledHGB(estimator, temperature)

    @classmethod
    def from_compiled(
        cls, compiled: CompiledHGB, estimator_read: Callable[[], HistGradientBoostingClassifier]
    ) -> FiveNumberCalibrated:
        """From its compiled trees (a bundle of format 2); scikit-learn's estimator is read by
        `estimator_read` only if asked for."""
        model = cls.__new__(cls)
        model._estimator, model._estimator_read = None, estimator_read
        model.temperature = compiled.temperature
        model.compiled = compiled
        return model

    @property
    def estimator(self) -> HistGradientBoostingClassifier:
        """scikit-learn's model: what a personal refit copies its settings from."""
        if self._estimator is None and self._estimator_read is not None:
            self._estimator = self._estimator_read()
        return self._estimator

    def predict_proba(self, rows: np.ndarray, baseline: FiveNumberBaseline) -> np.ndarray:
        return self.compiled.predict_proba(calibrated_inputs(rows, baseline))


def drive_split(table: WindowTable, rest1_start: dict[str, float], window_s: float):
    """Per row: is it a baseline reading (inside the first 3 min of Rest1), and may it be
    scored (not overlapping those 3 min)?"""
    start = np.array([rest1_start[d] for d in table.drives])
    end_of_baseline = start + BASELINE_S
    in_baseline = (table.segments == "Rest1") & (table.start_s + window_s <= end_of_baseline)
    overlaps = (table.start_s < end_of_baseline) & (table.start_s + window_s > start)
    return in_baseline, ~overlaps


def _calibrated_rows(table: WindowTable, mapping: FeatureMapping, in_baseline, scorable):
    x = mapping.transform(table)
    rows, labels = [], []
    for drive in sorted(set(table.drives.tolist())):
        mine = table.drives == drive
        baseline = five_number_baseline(x[mine & in_baseline])
        keep = mine & scorable
        rows.append(calibrated_inputs(x[keep], baseline))
        labels.append(table.labels[keep])
    return np.vstack(rows), np.concatenate(labels)


def train_five_number(
    table: WindowTable,
    rest1_start: dict[str, float],
    window_s: float,
    *,
    evaluate: bool = True,
    reordered: Mapping[str, tuple[WindowTable, dict[str, float]]] | None = None,
) -> tuple[HistGradientBoostingClassifier, FeatureMapping, dict[str, Any]]:
    """The final model, its mapping and (with `evaluate`) its leave-one-drive-out metrics,
    with the temperature and calibration figures of the out-of-fold probabilities. With
    `reordered` (order -> the windows of the drives spliced in that order and each drive's
    Rest1 start there), also the fold models' accuracy on those (`"reordered"`)."""
    from threadpoolctl import threadpool_limits

    from mlcore.evaluation import classification_metrics, per_drive_summary

    in_baseline, scorable = drive_split(table, rest1_start, window_s)
    metrics: dict[str, Any] = {}
    if evaluate:
        truth, probabilities, drives, per_drive = [], [], [], {}
        moved: dict[str, list[int]] = {name: [0, 0] for name in reordered or {}}
        for drive in sorted(set(table.drives.tolist())):
            test = table.drives == drive
            mapping = FeatureMapping.fit(subset(table, ~test), window_seconds=window_s)
            x, y = _calibrated_rows(
                subset(table, ~test), mapping, in_baseline[~test], scorable[~test]
            )
            with threadpool_limits(limits=1, user_api="openmp"):
                model = build_estimator().fit(x, y)
            xt, yt = _calibrated_rows(
                subset(table, test), mapping, in_baseline[test], scorable[test]
            )
            with threadpool_limits(limits=1, user_api="openmp"):
                proba = model.predict_proba(xt)
            p = proba.argmax(axis=1)
            truth.append(yt)
            probabilities.append(proba)
            drives.append(np.full(yt.shape[0], drive))
            per_drive[drive] = {"windows": len(yt), "accuracy": round(float((p == yt).mean()), 4)}
            for name, (other, other_rest1) in (reordered or {}).items():
                mine = subset(other, other.drives == drive)
                base, keep = drive_split(mine, other_rest1, window_s)
                xo, yo = _calibrated_rows(mine, mapping, base, keep)
                with threadpool_limits(limits=1, user_api="openmp"):
                    right = int((model.predict(xo) == yo).sum())
                moved[name][0] += right
                moved[name][1] += len(yo)
                per_drive[drive].setdefault("reordered", {})[name] = round(
                    right / max(len(yo), 1), 4
                )
        y_all = np.concatenate(truth)
        proba_all = np.vstack(probabilities)
        metrics = classification_metrics(y_all, proba_all.argmax(axis=1))
        metrics.update(per_drive_summary(per_drive))
        metrics.update(calibration_metrics(proba_all, y_all, np.concatenate(drives)))
        if reordered:
            metrics["reordered"] = {
                name: round(right / max(total, 1), 4) for name, (right, total) in moved.items()
            }
    mapping = FeatureMapping.fit(table, window_seconds=window_s)
    x, y = _calibrated_rows(table, mapping, in_baseline, scorable)
    with threadpool_limits(limits=1, user_api="openmp"):
        final = build_estimator().fit(x, y)
    return final, mapping, metrics


def five_number_training_rows(
    table: WindowTable, rest1_start: dict[str, float], window_s: float, mapping: FeatureMapping
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The final model's training rows (inputs, labels) and each row's drive: what a
    person's model is refitted on."""
    in_baseline, scorable = drive_split(table, rest1_start, window_s)
    x, y = _calibrated_rows(table, mapping, in_baseline, scorable)
    drives = np.concatenate(
        [
            np.full(int((table.drives == d)[scorable].sum()), d)
            for d in sorted(set(table.drives.tolist()))
        ]
    )
    return x, y, drives


def _first_of_each_segment(segments: np.ndarray, start_s: np.ndarray) -> np.ndarray:
    chosen = np.zeros(segments.shape[0], dtype=bool)
    for name in set(segments.tolist()):
        inside = np.flatnonzero(segments == name)
        chosen[inside[np.argmin(start_s[inside])]] = True
    return chosen


def five_number_personalisation(
    table: WindowTable,
    rest1_start: dict[str, float],
    window_s: float,
    weights: Sequence[float],
) -> dict[str, Any]:
    """The recording models' simulation (mlcore.recordings.personal) for typed readings:
    leave-one-drive-out, the held-out drive's first reading of each segment are its person's
    labels, added to the other drives' rows at each weight; the population model and the
    personal one scored on the rest of that drive. The weight with the highest pooled
    accuracy (ties: medium recall) is chosen, on these same folds."""
    from threadpoolctl import threadpool_limits

    from mlcore.evaluation import classification_metrics
    from mlcore.recordings.personal import episode_weights, personal_fit

    in_baseline, scorable = drive_split(table, rest1_start, window_s)
    truth: list[np.ndarray] = []
    population: list[np.ndarray] = []
    personal: dict[float, list[np.ndarray]] = {w: [] for w in weights}
    for drive in sorted(set(table.drives.tolist())):
        test = table.drives == drive
        mapping = FeatureMapping.fit(subset(table, ~test), window_seconds=window_s)
        x, y = _calibrated_rows(subset(table, ~test), mapping, in_baseline[~test], scorable[~test])
        xt, yt = _calibrated_rows(subset(table, test), mapping, in_baseline[test], scorable[test])
        kept = test & scorable
        labelled = _first_of_each_segment(table.segments[kept], table.start_s[kept])
        rest = ~labelled
        with threadpool_limits(limits=1, user_api="openmp"):
            before = build_estimator().fit(x, y).predict(xt[rest])
        truth.append(yt[rest])
        population.append(before)
        for w in weights:
            model = personal_fit(
                x,
                y,
                xt[labelled],
                yt[labelled],
                weight=episode_weights([1] * int(labelled.sum()), w),
                template=build_estimator(),
            )
            with threadpool_limits(limits=1, user_api="openmp"):
                personal[w].append(model.predict(xt[rest]))
    y_all = np.concatenate(truth)

    def figures(predicted: list[np.ndarray]) -> dict[str, float]:
        p = np.concatenate(predicted)
        medium = y_all == 1
        return {
            "accuracy": round(float((p == y_all).mean()), 4),
            "macro_f1": round(float(classification_metrics(y_all, p)["macro_f1"]), 4),
            "medium_recall": round(float((p[medium] == 1).mean()), 4) if medium.any() else 0.0,
        }

    by_weight = {f"{w:g}": figures(personal[w]) for w in weights}
    chosen = max(
        weights,
        key=lambda w: (by_weight[f"{w:g}"]["accuracy"], by_weight[f"{w:g}"]["medium_recall"]),
    )
    return {
        "weight": float(chosen),
        "population": figures(population),
        "personal": by_weight[f"{chosen:g}"],
        "by_weight": by_weight,
        "windows_scored": int(y_all.shape[0]),
    }
