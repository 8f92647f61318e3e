import numpy as np
import pytest

from mlcore.readings.features import FEATURES
from mlcore.readings.forest import PARALLEL_MIN_ROWS, Predictor, _float32_floor


def random_valid_rows(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    low = np.array([f.minimum for f in FEATURES])
    high = np.array([f.maximum for f in FEATURES])
    return low + rng.random((n, len(FEATURES))) * (high - low)


@pytest.fixture(scope="module")
def forest(tiny_model):
    from mlcore.artifacts import load_artifact

    return load_artifact(tiny_model.model_path).forest


@pytest.fixture(scope="module")
def predictor(forest) -> Predictor:
    return Predictor(forest)


def test_it_agrees_with_sklearn_on_100k_random_valid_rows(forest, predictor):
    rows = random_valid_rows(100_000)
    ours = predictor.predict_proba(rows)
    theirs = forest.predict_proba(rows)
    assert np.abs(ours - theirs).max() <= 1e-5
    top_two = np.sort(theirs, axis=1)[:, -2:]
    decided = top_two[:, 1] - top_two[:, 0] > 1e-5
    assert (ours.argmax(axis=1)[decided] == theirs.argmax(axis=1)[decided]).all()


def test_it_agrees_with_sklearn_one_row_at_a_time(forest, predictor):
    for row in random_valid_rows(200, seed=1):
        np.testing.assert_allclose(
            predictor.predict_proba(row[None, :]), forest.predict_proba(row[None, :]), atol=1e-12
        )


def test_it_agrees_with_sklearn_on_split_thresholds_exactly(forest, predictor):
    # Inputs sitting exactly on (and one float32 step around) each threshold are where a
    # rounding slip would send a row down the other branch.
    tree = forest.estimators_[0].tree_
    internal = tree.children_left >= 0
    rows = np.tile(random_valid_rows(1, seed=2), (int(internal.sum()) * 3, 1)).astype(np.float32)
    for i, (feature, threshold) in enumerate(
        zip(tree.feature[internal], tree.threshold[internal], strict=True)
    ):
        t32 = np.float32(threshold)
        for j, value in enumerate(
            (t32, np.nextafter(t32, np.float32(-np.inf)), np.nextafter(t32, np.float32(np.inf)))
        ):
            rows[3 * i + j, feature] = value
    np.testing.assert_allclose(
        predictor.predict_proba(rows), forest.predict_proba(rows), atol=1e-12
    )


def test_it_rounds_thresholds_down_to_float32():
    thresholds = np.array([0.1, 0.5, 1.0 / 3.0, 123.456])
    floor = _float32_floor(thresholds)
    assert (floor.astype(np.float64) <= thresholds).all()
    assert (np.nextafter(floor, np.float32(np.inf)).astype(np.float64) > thresholds).all()


def test_its_contributions_add_up_to_the_forests_vote(predictor):
    rows = random_valid_rows(500, seed=3)
    explanation = predictor.explain(rows)
    reconstructed = explanation.bias[None, :] + explanation.contributions.sum(axis=1)
    np.testing.assert_allclose(reconstructed, predictor.vote(rows), atol=1e-9)
    assert predictor.temperature == 1.0  # untempered: the vote is the probability
    np.testing.assert_array_equal(predictor.vote(rows), predictor.predict_proba(rows))


@pytest.mark.parametrize("n", [1, 300, PARALLEL_MIN_ROWS + 5])
def test_a_tempered_forest_answers_its_vote_tempered_with_the_same_levels(forest, n):
    from mlcore.calibration import PROBABILITY_FLOOR, temper

    tempered = Predictor(forest, temperature=1.6)
    rows = random_valid_rows(n, seed=5)
    vote = forest.predict_proba(rows)
    proba = tempered.predict_proba(rows)
    np.testing.assert_allclose(proba, temper(vote, 1.6, PROBABILITY_FLOOR), atol=1e-12)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    decided = np.sort(vote, axis=1)[:, -1] - np.sort(vote, axis=1)[:, -2] > 1e-9
    np.testing.assert_array_equal(proba.argmax(axis=1)[decided], vote.argmax(axis=1)[decided])
    both, explanation = tempered.predict_and_explain(rows[:50])
    np.testing.assert_array_equal(both, tempered.predict_proba(rows[:50], parallel=False))
    np.testing.assert_allclose(
        explanation.bias + explanation.contributions.sum(axis=1), vote[:50], atol=1e-9
    )
    assert tempered.fingerprint() != Predictor(forest).fingerprint()


@pytest.mark.parametrize("n", [1, 7, 300])
def test_predicting_and_explaining_in_one_pass_gives_exactly_the_two_answers(predictor, n):
    rows = random_valid_rows(n, seed=n)
    probabilities, explanation = predictor.predict_and_explain(rows)
    np.testing.assert_array_equal(probabilities, predictor.predict_proba(rows))
    alone = predictor.explain(rows)
    np.testing.assert_array_equal(explanation.bias, alone.bias)
    np.testing.assert_array_equal(explanation.contributions, alone.contributions)


def test_it_rejects_rows_of_the_wrong_shape_or_not_finite(predictor):
    with pytest.raises(ValueError, match="expected an"):
        predictor.predict_proba(np.zeros((2, 4)))
    with pytest.raises(ValueError, match="finite"):
        predictor.predict_proba(np.array([[70.0, 0.5, np.nan, 0.5, 0.5]]))
