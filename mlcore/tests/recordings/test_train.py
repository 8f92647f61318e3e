import numpy as np
import pytest

from mlcore import drivedb
from mlcore.recordings import train as recording_train
from mlcore.recordings.spec import make_spec
from mlcore.recordings.train import QUICK, leave_one_drive_out, load_windows

DRIVES = ("drive05", "drive07", "drive08")


@pytest.fixture(scope="module")
def windows():
    drives = [drivedb.load_drive(name) for name in DRIVES]
    return load_windows(drives, QUICK)[1]


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
