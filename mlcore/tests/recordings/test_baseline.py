import numpy as np
import pytest

from mlcore.recordings.baseline import (
    Baseline,
    BaselineError,
    baseline_from_derived,
    relative_columns,
    relative_features,
)
from mlcore.recordings.dataset import baseline_range, drive_recording
from mlcore.recordings.signals import to_model_rate
from mlcore.recordings.windows import FEATURE_NAMES, derived_series


@pytest.fixture(scope="module")
def derived(drive06):
    return derived_series(to_model_rate(drive_recording(drive06)))


def test_it_takes_the_statistics_of_a_rest_range(derived, drive06):
    start, end = baseline_range(drive06)
    assert end - start == 180.0
    baseline = baseline_from_derived(derived, start, end, 60.0)
    assert baseline.windows == 13  # 60 s windows every 10 s inside 180 s
    hr = baseline.mean[FEATURE_NAMES.index("hr_mean")]
    assert 50 < hr < 100
    assert Baseline.from_dict(baseline.to_dict()).to_dict() == baseline.to_dict()


def test_it_refuses_a_range_too_short_or_outside(derived):
    with pytest.raises(BaselineError, match="at least 180 s"):
        baseline_from_derived(derived, 0.0, 120.0, 60.0)
    with pytest.raises(BaselineError, match="not inside"):
        baseline_from_derived(derived, 0.0, 10 * 3600.0, 60.0)


def make_baseline(mean, std):
    names = ("hr_mean", "scl_mean", "scl_slope")
    return names, Baseline(names, np.array(mean), np.array(std), 0.0, 180.0, 13)


def test_it_makes_features_relative_in_three_ways():
    names, baseline = make_baseline([60.0, 4.0, 0.0], [2.0, 0.1, 0.5])
    x = np.array([[66.0, 8.0, 1.0]])
    diff = relative_features(x, names, baseline, "diff")
    ratio = relative_features(x, names, baseline, "ratio")
    z = relative_features(x, names, baseline, "z")
    # Heart rate is kept as it is (no unit to cancel), then every feature relative.
    assert relative_columns(names, "diff") == (
        "hr_mean",
        "hr_mean__diff",
        "scl_mean__diff",
        "scl_slope__diff",
    )
    np.testing.assert_allclose(diff, [[66.0, 6.0, 4.0, 1.0]])
    np.testing.assert_allclose(ratio, [[66.0, 1.1, 2.0, 1.0]])  # trends: a difference
    # z: each rest spread is floored at 10% of its level (heart rate 6 bpm, skin
    # conductance 0.4), so a very steady rest does not blow small changes up.
    np.testing.assert_allclose(z, [[66.0, 1.0, 10.0, 2.0]])


def test_it_cancels_units_when_relative():
    names, baseline = make_baseline([60.0, 4.0, 0.0], [2.0, 0.1, 0.5])
    _, scaled = make_baseline([60.0, 4000.0, 0.0], [2.0, 100.0, 500.0])
    x = np.array([[66.0, 8.0, 1.0]])
    x_scaled = x * np.array([1.0, 1000.0, 1000.0])
    np.testing.assert_allclose(
        relative_features(x, names, baseline, "ratio")[:, :3],
        relative_features(x_scaled, names, scaled, "ratio")[:, :3],
    )


def test_it_keeps_missing_features_missing():
    names, baseline = make_baseline([60.0, np.nan, 0.0], [2.0, np.nan, 0.5])
    out = relative_features(np.array([[66.0, 8.0, 1.0]]), names, baseline, "diff")
    assert np.isnan(out[0, 2]) and np.isfinite(out[0, 1])
