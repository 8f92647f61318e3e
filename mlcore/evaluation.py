"""Honest evaluation: leave-one-drive-out, with the whole pipeline (feature mapping included)
fitted on the training drives of each fold only."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from mlcore.calibration import PROBABILITY_FLOOR, calibration_metrics
from mlcore.readings.features import CLASSES
from mlcore.readings.preprocessing import FeatureMapping, WindowTable, subset

# A serving process reaches this module through the personal models' code but never fits or
# evaluates: scikit-learn (with pandas and scipy, ~120 MB a process) is imported on first use.
if TYPE_CHECKING:
    from sklearn.ensemble import RandomForestClassifier


@dataclass(frozen=True)
class ForestParams:
    n_estimators: int = 100
    max_depth: int | None = 15
    min_samples_split: int = 5
    class_weight: str | None = "balanced"
    random_state: int = 42

    def build(self, n_jobs: int = 1) -> RandomForestClassifier:
        from sklearn.ensemble import RandomForestClassifier

        return RandomForestClassifier(
            n_estimators=self.n_estimators,
            max_depth=self.max_depth,
            min_samples_split=self.min_samples_split,
            class_weight=self.class_weight,
            random_state=self.random_state,
            n_jobs=n_jobs,
        )


def classification_metrics(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, Any]:
    from sklearn.metrics import (
        accuracy_score,
        confusion_matrix,
        f1_score,
        precision_recall_fscore_support,
    )

    labels = list(range(len(CLASSES)))
    precision, recall, f1, support = precision_recall_fscore_support(
        y_true, y_pred, labels=labels, zero_division=0
    )
    return {
        "accuracy": round(float(accuracy_score(y_true, y_pred)), 4),
        "macro_f1": round(float(f1_score(y_true, y_pred, average="macro", labels=labels)), 4),
        "per_class": {
            name: {
                "precision": round(float(precision[i]), 4),
                "recall": round(float(recall[i]), 4),
                "f1": round(float(f1[i]), 4),
                "support": int(support[i]),
            }
            for i, name in enumerate(CLASSES)
        },
        "confusion_matrix": {
            "labels": list(CLASSES),
            "rows_are": "true class",
            "matrix": confusion_matrix(y_true, y_pred, labels=labels).tolist(),
        },
    }


def per_drive_summary(per_drive: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """What every leave-one-drive-out reports of its drives: each one, the worst, the median."""
    accuracies = [d["accuracy"] for d in per_drive.values()]
    return {
        "per_drive": per_drive,
        "per_drive_min": round(float(min(accuracies)), 4),
        "per_drive_median": round(float(np.median(accuracies)), 4),
    }


def majority_baseline(y_train: np.ndarray, y_test: np.ndarray) -> np.ndarray:
    values, counts = np.unique(y_train, return_counts=True)
    return np.full_like(y_test, values[np.argmax(counts)])


def leave_one_drive_out(
    table: WindowTable,
    params: ForestParams,
    statistics: dict[str, str] | None = None,
    window_seconds: float = 30.0,
    reordered: Mapping[str, WindowTable] | None = None,
) -> dict[str, Any]:
    """Every drive held out once. Also the temperature and calibration figures of the
    forest's out-of-fold votes (mlcore.calibration), and with `reordered` (order -> the
    windows of the same drives spliced in that order, drivedb.splice_drive) the accuracy of
    the same fold models on them (`"reordered"`)."""
    from sklearn.metrics import accuracy_score, f1_score

    predictions = np.empty_like(table.labels)
    probabilities = np.zeros((len(table), len(CLASSES)))
    baseline = np.empty_like(table.labels)
    per_drive: dict[str, dict[str, Any]] = {}
    moved: dict[str, list[int]] = {name: [0, 0] for name in reordered or {}}
    for drive in sorted(set(table.drives.tolist())):
        test = table.drives == drive
        train_table = subset(table, ~test)
        test_table = subset(table, test)
        mapping = FeatureMapping.fit(train_table, statistics, window_seconds)
        model = params.build(n_jobs=-1).fit(mapping.transform(train_table), train_table.labels)
        proba = model.predict_proba(mapping.transform(test_table))
        predicted = proba.argmax(axis=1)
        probabilities[test] = proba
        predictions[test] = predicted
        baseline[test] = majority_baseline(train_table.labels, test_table.labels)
        per_drive[drive] = {
            "windows": int(test.sum()),
            "accuracy": round(float(accuracy_score(test_table.labels, predicted)), 4),
        }
        for name, other in (reordered or {}).items():
            spliced = subset(other, other.drives == drive)
            right = int((model.predict(mapping.transform(spliced)) == spliced.labels).sum())
            moved[name][0] += right
            moved[name][1] += len(spliced)
            per_drive[drive].setdefault("reordered", {})[name] = round(
                right / max(len(spliced), 1), 4
            )
    result = classification_metrics(table.labels, predictions)
    result.update(per_drive_summary(per_drive))
    accuracies = [d["accuracy"] for d in per_drive.values()]
    result["per_drive_accuracy_range"] = [min(accuracies), max(accuracies)]
    result["majority_baseline"] = {
        "accuracy": round(float(accuracy_score(table.labels, baseline)), 4),
        "macro_f1": round(float(f1_score(table.labels, baseline, average="macro")), 4),
    }
    result.update(calibration_metrics(probabilities, table.labels, table.drives, PROBABILITY_FLOOR))
    if reordered:
        result["reordered"] = {
            name: round(right / max(total, 1), 4) for name, (right, total) in moved.items()
        }
    return result


def stratified_cv_optimistic(
    table: WindowTable,
    params: ForestParams,
    statistics: dict[str, str] | None = None,
    window_seconds: float = 30.0,
    folds: int = 5,
) -> dict[str, Any]:
    """Random stratified k-fold. Neighbouring windows of one drive fall on both sides of
    the split, so this overstates accuracy; reported only to show by how much."""
    from sklearn.metrics import accuracy_score, f1_score
    from sklearn.model_selection import StratifiedKFold

    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=params.random_state)
    predictions = np.empty_like(table.labels)
    for train_idx, _test_idx in splitter.split(table.labels, table.labels):
        train_mask = np.zeros(len(table), dtype=bool)
        train_mask[train_idx] = True
        train_table, test_table = subset(table, train_mask), subset(table, ~train_mask)
        mapping = FeatureMapping.fit(train_table, statistics, window_seconds)
        model = params.build(n_jobs=-1).fit(mapping.transform(train_table), train_table.labels)
        predictions[~train_mask] = model.predict(mapping.transform(test_table))
    return {
        "label": "optimistic: random stratified split leaks neighbouring windows",
        "folds": folds,
        "accuracy": round(float(accuracy_score(table.labels, predictions)), 4),
        "macro_f1": round(float(f1_score(table.labels, predictions, average="macro")), 4),
    }
