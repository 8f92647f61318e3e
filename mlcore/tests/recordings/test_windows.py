import numpy as np
import pytest

from mlcore.recordings.dataset import drive_recording
from mlcore.recordings.recording import Channel, Recording
from mlcore.recordings.signals import MODEL_HZ, resample, to_model_rate
from mlcore.recordings.windows import FEATURE_NAMES, derived_series, window_features, window_starts


@pytest.fixture(scope="module")
def derived(drive06):
    return derived_series(to_model_rate(drive_recording(drive06)))


def test_it_leaves_drivedb_at_its_own_rate_untouched(drive06):
    signals = to_model_rate(drive_recording(drive06))
    assert signals.rate_hz == MODEL_HZ
    np.testing.assert_array_equal(signals.series["gsr"], drive06.signals[: signals.n, 4])


def test_it_brings_other_rates_to_the_model_rate():
    t = np.arange(0, 600, 1 / 64.0)
    slow = 5 + np.sin(2 * np.pi * t / 60.0)  # one cycle a minute
    out = resample(slow, 64.0, int(600 * MODEL_HZ))
    grid = np.arange(out.shape[0]) / MODEL_HZ
    inner = (grid > 5) & (grid < 590)
    np.testing.assert_allclose(out[inner], 5 + np.sin(2 * np.pi * grid[inner] / 60.0), atol=1e-3)
    up = resample(slow[::64], 1.0, int(600 * MODEL_HZ))  # 1 Hz up to 15.5 Hz
    assert np.nanmax(np.abs(up[inner] - out[inner])) < 0.01


def test_it_derives_heart_rate_from_raw_ecg():
    import neurokit2 as nk

    ecg = nk.ecg_simulate(duration=180, sampling_rate=256, heart_rate=72, random_state=1)
    recording = Recording([Channel("ecg", "ECG", "mV", 256.0, ecg)], format="test")
    signals = to_model_rate(recording)
    assert signals.derived == {"hr": "R-peaks of ECG"}
    assert np.nanmedian(signals.series["hr"]) == pytest.approx(72, abs=3)


def test_it_computes_every_feature_of_a_full_drive(derived):
    table = window_features(derived, 60.0, 30.0)
    assert table.names == FEATURE_NAMES
    assert len(table) == len(window_starts(derived.n / derived.rate_hz, 60.0, 30.0))
    assert np.diff(table.start_s).max() <= 30.0 + 1e-9
    filled = np.isfinite(table.values).mean(axis=0)
    always = [n for n in FEATURE_NAMES if n != "scr_amp"]
    assert all(filled[FEATURE_NAMES.index(n)] > 0.9 for n in always), dict(
        zip(FEATURE_NAMES, filled, strict=True)
    )
    rate = table.column("resp_rate")
    assert 5 < np.nanmedian(rate) < 30  # breaths per minute
    assert 50 < np.nanmedian(table.column("hr_mean")) < 110


def test_it_slices_features_computed_once(derived):
    # The same window gives the same features whatever grid it sits in.
    a = window_features(derived, 60.0, 30.0)
    b = window_features(derived, 60.0, 10.0)
    np.testing.assert_allclose(a.values[2], b.values[6], equal_nan=True)


def test_it_leaves_missing_channels_and_empty_windows_missing(derived):
    partial = type(derived)(
        rate_hz=derived.rate_hz, n=derived.n, series={"hr": derived.series["hr"].copy()}
    )
    partial.series["hr"][: int(120 * derived.rate_hz)] = np.nan
    table = window_features(partial, 60.0, 30.0)
    assert np.isnan(table.column("scl_mean")).all()
    assert np.isnan(table.column("hr_mean")[:3]).all()
    assert np.isfinite(table.column("hr_mean")[5:]).all()
    # A window without any skin conductance response has no amplitude (not zero).
    full = window_features(derived, 60.0, 30.0)
    no_response = full.column("scr_rate") == 0
    assert np.isnan(full.column("scr_amp")[no_response]).all()


def test_it_describes_each_windows_last_minutes_as_context(derived):
    from mlcore.recordings.windows import context_features

    table = window_features(derived, 120.0, 30.0)
    context = context_features(derived, table.start_s, 120.0, 300.0)
    assert context.shape == table.values.shape
    # A window ending at 600 s: its context is 300-600 s. The first windows (ending before
    # 300 s) get the recording's first 300 s.
    later = int(np.flatnonzero(np.isclose(table.end_s, 600.0, atol=0.1))[0])
    expected = window_features(derived, 300.0, 300.0, starts_s=np.array([300.0]))
    np.testing.assert_allclose(context[later], expected.values[0], equal_nan=True)
    first = window_features(derived, 300.0, 300.0, starts_s=np.array([0.0]))
    np.testing.assert_allclose(context[0], first.values[0], equal_nan=True)
