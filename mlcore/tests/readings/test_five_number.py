import numpy as np
import pytest

from mlcore import drivedb
from mlcore.readings.five_number import (
    FiveNumberBaseline,
    FiveNumberBaselineError,
    FiveNumberCalibrated,
    build_estimator,
    calibrated_inputs,
    drive_split,
    five_number_baseline,
    five_number_personalisation,
    five_number_training_rows,
    train_five_number,
)
from mlcore.readings.preprocessing import window_table


@pytest.fixture(scope="module")
def trained():
    drives = [drivedb.load_drive(n) for n in ("drive05", "drive07", "drive08")]
    table = window_table(drives, 30.0, 15.0)
    rest1 = {d.name: d.segments[0].start_s for d in drives}
    return table, rest1, train_five_number(table, rest1, 30.0, evaluate=True)


def test_it_evaluates_leave_one_drive_out_with_each_drives_own_rest(trained):
    table, rest1, (_model, _mapping, metrics) = trained
    in_baseline, scorable = drive_split(table, rest1, 30.0)
    assert not (in_baseline & scorable).any()
    assert set(metrics["per_drive"]) == {"drive05", "drive07", "drive08"}
    assert sum(d["windows"] for d in metrics["per_drive"].values()) == int(scorable.sum())


def test_it_scores_exactly_as_sklearn(trained):
    _table, _rest1, (model, _mapping, _metrics) = trained
    rng = np.random.default_rng(0)
    rows = np.column_stack([rng.uniform(40, 200, 500), rng.random((500, 4))])
    baseline = five_number_baseline(rows[:6])
    ours = FiveNumberCalibrated(model).predict_proba(rows, baseline)
    theirs = model.predict_proba(calibrated_inputs(rows, baseline))
    assert np.abs(ours - theirs).max() <= 1e-12
    assert FiveNumberBaseline.from_dict(baseline.to_dict()).readings == 6


def test_it_needs_a_few_finite_rest_readings():
    with pytest.raises(FiveNumberBaselineError, match="at least 3"):
        five_number_baseline(np.ones((2, 5)))
    with pytest.raises(FiveNumberBaselineError, match="finite"):
        five_number_baseline(np.full((4, 5), np.nan))


def test_the_bundle_serves_it_with_a_baseline(scorer):
    model = scorer.five_number_model()
    rest = np.array([[68.0, 0.3, 0.2, 0.4, 0.3]] * 6) + np.linspace(0, 0.01, 6)[:, None]
    proba = model.predict_proba(np.array([[95.0, 0.6, 0.5, 0.8, 0.6]]), five_number_baseline(rest))
    assert proba.shape == (1, 3) and abs(proba.sum() - 1) < 1e-12


def test_its_training_rows_are_the_final_models_and_each_knows_its_drive(trained):
    table, rest1, (model, mapping, _metrics) = trained
    x, y, drives = five_number_training_rows(table, rest1, 30.0, mapping)
    _in_baseline, scorable = drive_split(table, rest1, 30.0)
    assert x.shape == (int(scorable.sum()), 10) and y.shape == drives.shape == (x.shape[0],)
    for name in ("drive05", "drive07", "drive08"):
        assert (drives == name).sum() == int(((table.drives == name) & scorable).sum())
    refit = build_estimator().fit(x, y)  # the same rows give the same model
    np.testing.assert_array_equal(refit.predict_proba(x[:20]), model.predict_proba(x[:20]))


def test_the_typed_readings_simulation_labels_the_first_reading_of_each_segment(trained):
    table, rest1, _ = trained
    result = five_number_personalisation(table, rest1, 30.0, (5.0, 50.0))
    assert result["weight"] in (5.0, 50.0)
    assert set(result["by_weight"]) == {"5", "50"}
    _in_baseline, scorable = drive_split(table, rest1, 30.0)
    labelled = sum(
        len(set(table.segments[(table.drives == d) & scorable].tolist()))
        for d in ("drive05", "drive07", "drive08")
    )
    assert result["windows_scored"] == int(scorable.sum()) - labelled
    assert result["personal"] == result["by_weight"][f"{result['weight']:g}"]
