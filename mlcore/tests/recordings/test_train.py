from dataclasses import asdict

import numpy as np
import pytest

from mlcore import drivedb
from mlcore.recordings import train as recording_train
from mlcore.recordings.spec import make_spec
from mlcore.recordings.train import QUICK, leave_one_drive_out, load_windows

DRIVES = ("drive05", "drive07", "drive08")


@pytest.fixture(scope="module")
def loaded():
    drives = [drivedb.load_drive(name) for name in DRIVES]
    return load_windows(drives, QUICK)


@pytest.fixture(scope="module")
def windows(loaded):
    return loaded[1]


def test_it_holds_each_drive_out_of_the_model_that_scores_it(windows, monkeypatch):
    fitted_on = []
    real_fit = recording_train.fit

    def spying_fit(spec, train, config):
        fitted_on.append({w.drive for w in train})
        return real_fit(spec, train, config)

    monkeypatch.setattr(recording_train, "fit", spying_fit)
    spec = make_spec("hr_gsr", True, "ratio", "all")
    metrics = leave_one_drive_out(spec, windows, QUICK)
    assert fitted_on == [set(DRIVES) - {d} for d in DRIVES]
    assert set(metrics["per_drive"]) == set(DRIVES)
    assert metrics["per_drive_min"] <= metrics["per_drive_median"]
    assert set(metrics["per_class"]["medium"]) >= {"precision", "recall"}
    assert metrics["windows"] == sum(len(w.labels) for w in windows)


def test_it_never_scores_windows_overlapping_the_baseline(windows):
    for w in windows:
        assert len(w.labels) and set(np.unique(w.labels)) <= {0, 1, 2}
        assert (
            (w.start_s + QUICK.window_s <= w.baseline.start_s) | (w.start_s >= w.baseline.end_s)
        ).all()
        assert w.baseline.end_s - w.baseline.start_s == 180.0


def test_it_weights_classes_by_their_rarity_and_medium_more():
    labels = np.array([0, 0, 0, 1, 2, 2])
    weights = recording_train.sample_weights(labels, medium_weight=2.0)
    assert weights[0] == pytest.approx(6 / 9)
    assert weights[3] == pytest.approx(2 * 6 / 3)


def test_the_card_gives_each_models_calibration_and_order_check(loaded):
    """card.json: recording_models.models.<key>.metrics.leave_one_drive_out has ece_raw, ece,
    temperature, reliability; .reordered is {"A": accuracy, "B": accuracy}."""
    from mlcore import card as model_card
    from mlcore.recordings.train import reordered_windows

    datas, windows = loaded
    spec = make_spec("hr_gsr", True, QUICK.mode, QUICK.absolute, context_s=QUICK.context_s)
    spec.metrics = leave_one_drive_out(spec, windows, QUICK, reordered_windows(datas, QUICK))
    spec.temperature = spec.metrics["temperature"]
    payload = {
        "config": asdict(QUICK),
        "drives": list(DRIVES),
        "windows": 1,
        "models": {spec.key: spec},
        "training_ranges": {},
    }
    section = model_card.recording_section(payload)
    metrics = section["models"][spec.key]["metrics"]
    lodo = metrics["leave_one_drive_out"]
    assert {"ece_raw", "ece", "temperature", "reliability", "accuracy"} <= set(lodo)
    assert "reordered" not in lodo and set(metrics["reordered"]) == {"A", "B"}
    assert lodo["temperature"] == section["models"][spec.key]["temperature"] > 0
    assert sum(row["count"] for row in lodo["reliability"]) == lodo["windows"]
    failing = recording_train.order_check(
        {"accuracy": lodo["accuracy"], "reordered": metrics["reordered"]}
    )
    assert section["order_check"]["failed"] == ({spec.key: failing} if failing else {})
    checks = model_card.shipped_checks({"metrics": {}, "recording_models": section})
    assert checks["models"][spec.key]["ece"] == lodo["ece"]
    assert model_card.checks_text(checks)[0].startswith("ECE <= 0.04 after temperature")
    table = model_card.recording_table(section)
    assert table[0][-3:] == ["ECE before/after", "T", "reordered A/B"]
