import numpy as np
import pytest

from mlcore.calibration import (
    calibration_metrics,
    expected_calibration_error,
    fit_temperature,
    reliability_table,
    sampling_floor,
    softmax,
    temper,
)


def hand_made():
    # Four windows at 0.95 confidence, three of them right; four at 0.55, two right.
    sure = [[0.95, 0.03, 0.02]] * 4
    unsure = [[0.55, 0.40, 0.05]] * 4
    proba = np.array(sure + unsure)
    labels = np.array([0, 0, 0, 1, 0, 0, 1, 2])
    return proba, labels


def test_ece_is_the_windows_weighted_gap_between_accuracy_and_confidence_per_bin():
    proba, labels = hand_made()
    # Bin 0.9-1.0: accuracy 0.75 at confidence 0.95; bin 0.5-0.6: 0.5 at 0.55.
    assert expected_calibration_error(proba, labels) == pytest.approx(
        0.5 * 0.20 + 0.5 * 0.05, abs=1e-12
    )
    assert reliability_table(proba, labels) == [
        {"bin": [0.5, 0.6], "count": 4, "mean_confidence": 0.55, "accuracy": 0.5},
        {"bin": [0.9, 1.0], "count": 4, "mean_confidence": 0.95, "accuracy": 0.75},
    ]
    # A perfectly calibrated case: every window at 0.5 confidence, half of them right.
    even = np.array([[0.5, 0.3, 0.2]] * 4)
    assert expected_calibration_error(even, np.array([0, 1, 0, 2])) == pytest.approx(0.0)


def test_a_bin_holds_confidences_above_its_lower_edge_up_to_its_upper_one():
    proba = np.array([[0.9, 0.05, 0.05], [0.9000001, 0.05, 0.0499999]])
    table = reliability_table(proba, np.array([0, 0]))
    assert [row["bin"] for row in table] == [[0.8, 0.9], [0.9, 1.0]]


def over_confident(n=4000, sharpen=3.0, seed=0):
    """Labels drawn from softmax(z); the model reports softmax(sharpen * z)."""
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(n, 3)) * 1.2
    truth = softmax(z)
    labels = np.array([rng.choice(3, p=row) for row in truth])
    return softmax(sharpen * z), labels


def test_an_over_confident_model_gets_a_temperature_above_one_and_a_lower_ece():
    proba, labels = over_confident()
    temperature = fit_temperature(proba, labels)
    assert temperature == pytest.approx(3.0, rel=0.15)
    before = expected_calibration_error(proba, labels)
    after = expected_calibration_error(temper(proba, temperature), labels)
    assert before > 0.1 and after < 0.03
    metrics = calibration_metrics(proba, labels, drives=np.arange(labels.shape[0]) % 4)
    assert metrics["temperature"] > 1 and metrics["ece"] < metrics["ece_raw"]
    assert metrics["ece_temperature_held_out"] < metrics["ece_raw"]
    assert sum(row["count"] for row in metrics["reliability"]) == labels.shape[0]


def test_an_under_confident_model_gets_a_temperature_below_one():
    proba, labels = over_confident(sharpen=0.4, seed=1)
    assert fit_temperature(proba, labels) < 1


@pytest.mark.parametrize("temperature", [0.3, 1.0, 2.5, 10.0])
def test_tempering_never_changes_a_level(temperature):
    proba, _ = over_confident(n=2000, seed=2)
    tempered = temper(proba, temperature)
    np.testing.assert_array_equal(tempered.argmax(axis=1), proba.argmax(axis=1))
    np.testing.assert_allclose(tempered.sum(axis=1), 1.0)
    # A forest's vote with zeros, floored: still the same levels.
    vote = np.array([[0.0, 0.2, 0.8], [0.5, 0.5, 0.0], [1.0, 0.0, 0.0]])
    np.testing.assert_array_equal(
        temper(vote, temperature, 1e-3).argmax(axis=1), vote.argmax(axis=1)
    )


def test_temperature_one_returns_the_probabilities_as_they_are():
    proba, _ = hand_made()
    assert np.array_equal(temper(proba, 1.0, 1e-3), proba)


def test_the_sampling_floor_of_a_perfect_model_shrinks_with_more_windows():
    rng = np.random.default_rng(4)
    few = softmax(rng.normal(size=(200, 3)) * 2)
    many = softmax(rng.normal(size=(20_000, 3)) * 2)
    small, large = sampling_floor(few), sampling_floor(many)
    assert 0 < large["mean"] < small["mean"] and small["mean"] <= small["p95"]
    assert sampling_floor(few) == small  # reproducible: a fixed seed
