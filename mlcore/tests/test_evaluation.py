import numpy as np
import pytest

from mlcore import drivedb, evaluation
from mlcore.evaluation import ForestParams, leave_one_drive_out, stratified_cv_optimistic
from mlcore.readings.preprocessing import FeatureMapping, window_table

SMALL = ForestParams(n_estimators=10, max_depth=8)


@pytest.fixture(scope="module")
def table():
    return window_table([drivedb.load_drive(n) for n in drivedb.drive_names()], 30.0, 15.0)


def test_it_holds_out_each_drive_from_everything_it_fits(table, monkeypatch):
    seen_in_fit: list[set[str]] = []
    real_fit = FeatureMapping.fit.__func__

    def recording_fit(cls, train_table, *args, **kwargs):
        seen_in_fit.append(set(train_table.drives.tolist()))
        return real_fit(cls, train_table, *args, **kwargs)

    monkeypatch.setattr(evaluation.FeatureMapping, "fit", classmethod(recording_fit))
    result = leave_one_drive_out(table, SMALL)
    drives = set(table.drives.tolist())
    assert len(seen_in_fit) == len(drives) == 10
    assert all(len(drives - fitted) == 1 for fitted in seen_in_fit)
    assert set(result["per_drive"]) == drives


def test_it_reports_the_metrics_the_card_needs(table):
    result = leave_one_drive_out(table, SMALL)
    matrix = np.array(result["confusion_matrix"]["matrix"])
    assert matrix.sum() == len(table)
    assert set(result["per_class"]) == {"low", "medium", "high"}
    assert 0 < result["majority_baseline"]["accuracy"] < 0.5
    # Real signal: even a small forest beats always answering the majority class.
    assert result["accuracy"] > result["majority_baseline"]["accuracy"]


def test_it_labels_random_cv_as_optimistic(table):
    result = stratified_cv_optimistic(table, SMALL)
    assert "optimistic" in result["label"]
