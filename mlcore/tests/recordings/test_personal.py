"""Personal models in mlcore: the stored form answers as the fitted model, the training rows
round-trip, the labels' weights, the leave-one-episode-out agreement, and the simulation's
labelled windows."""

import io

import numpy as np
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier

from mlcore import drivedb
from mlcore.recordings.dataset import drive_windows, load_drive_data
from mlcore.recordings.hgb_compiled import CompiledHGB
from mlcore.recordings.personal import (
    Episode,
    TrainingSet,
    episode_weights,
    first_window_of_each_segment,
    personal_refit,
    training_sets_read,
    training_sets_write,
)
from mlcore.recordings.train import QUICK


def blobs(n: int, seed: int, shift: float = 0.0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    x = rng.normal(size=(n, 4)) + y[:, None] + shift
    return x, y


def test_a_stored_model_answers_exactly_as_the_fitted_one():
    x, y = blobs(300, 1)
    x[::7, 2] = np.nan  # missing values take the side each split learnt
    model = HistGradientBoostingClassifier(max_iter=15, max_leaf_nodes=8).fit(x, y)
    compiled = CompiledHGB(model, temperature=1.7)
    loaded = CompiledHGB.from_bytes(compiled.to_bytes())
    assert loaded.fingerprint() == compiled.fingerprint()
    np.testing.assert_array_equal(loaded.predict_proba(x), compiled.predict_proba(x))
    np.testing.assert_array_equal(loaded.explain(x[:5]), compiled.explain(x[:5]))


def test_a_stored_model_loads_without_pickle():
    x, y = blobs(100, 2)
    data = CompiledHGB(HistGradientBoostingClassifier(max_iter=3).fit(x, y)).to_bytes()
    # allow_pickle=False raises on any object array: every array must be plain numbers.
    with np.load(io.BytesIO(data), allow_pickle=False) as arrays:
        assert all(arrays[name].dtype != object for name in arrays.files)


def test_training_rows_round_trip(tmp_path):
    x, y = blobs(50, 3)
    sets = {
        "all/calibrated": TrainingSet(x.astype(np.float32), y.astype(np.int8), np.array(["a"] * 50))
    }
    training_sets_write(tmp_path, sets)
    back = training_sets_read(tmp_path)["all/calibrated"]
    np.testing.assert_array_equal(back.x, sets["all/calibrated"].x)
    np.testing.assert_array_equal(back.y, y)
    assert list(back.drives) == ["a"] * 50


def test_each_label_weighs_w_windows_in_all_and_none_of_its_windows_less_than_one():
    weights = episode_weights([1, 10, 200], 20.0)
    assert weights[0] == 20.0
    assert weights[1:11].sum() == pytest.approx(20.0)
    assert np.all(weights[11:] == 1.0)  # 200 windows: each still one population window


def test_a_refit_checks_itself_on_episodes_it_did_not_learn_from():
    x, y = blobs(600, 4)
    training = TrainingSet(x.astype(np.float32), y.astype(np.int8), np.array(["d"] * 600))
    population = CompiledHGB(
        HistGradientBoostingClassifier(max_iter=20, max_leaf_nodes=8).fit(x, y)
    )
    # This person's levels sit one unit higher than the population's: a shift it can learn.
    episodes = []
    for i in range(6):
        label = i % 3
        rng = np.random.default_rng(10 + i)
        episodes.append(Episode(rng.normal(size=(20, 4)) + label + 1.0, label))
    refit = personal_refit(training, episodes, population=population, weight=20.0, config=QUICK)
    assert refit.episodes == 6 and refit.windows == 120
    assert refit.population.windows == refit.personal.windows == 120
    # Each episode judged by a model that never saw it, and still closer to the person.
    assert refit.personal.agreed > refit.population.agreed
    assert refit.model.temperature == population.temperature
    assert refit.model.n_features == 4


def test_one_episode_has_nothing_to_be_checked_against():
    x, y = blobs(200, 5)
    training = TrainingSet(x.astype(np.float32), y.astype(np.int8), np.array(["d"] * 200))
    population = CompiledHGB(HistGradientBoostingClassifier(max_iter=5).fit(x, y))
    refit = personal_refit(
        training, [Episode(x[:10], 1)], population=population, weight=10.0, config=QUICK
    )
    assert refit.personal.windows == 0 and refit.population.windows == 10


def test_no_labelled_window_is_refused():
    x, y = blobs(50, 6)
    training = TrainingSet(x.astype(np.float32), y.astype(np.int8), np.array(["d"] * 50))
    population = CompiledHGB(HistGradientBoostingClassifier(max_iter=3).fit(x, y))
    with pytest.raises(ValueError):
        personal_refit(
            training, [Episode(x[:0], 0)], population=population, weight=10.0, config=QUICK
        )


def test_the_simulation_labels_the_first_window_of_each_segment(drive06):
    data = load_drive_data("drive06", drive=drive06)
    windows = drive_windows(data, 120.0, 30.0)
    chosen = first_window_of_each_segment(windows, data.segments)
    assert chosen.sum() == len(drive06.segments)
    for segment in drive06.segments:
        inside = (windows.start_s >= segment.start_s) & (windows.start_s < segment.end_s)
        first = np.flatnonzero(inside)[0]
        assert chosen[first] and not chosen[np.flatnonzero(inside)[1:]].any()
        assert windows.labels[first] == segment.label
    assert drivedb.ORDERS  # the same segments the order check reassembles


def test_a_refit_from_a_template_keeps_its_settings_and_leaves_it_unfitted():
    x, y = blobs(200, 11)
    template = HistGradientBoostingClassifier(max_iter=7, max_leaf_nodes=5, class_weight="balanced")
    population = CompiledHGB(HistGradientBoostingClassifier(max_iter=7).fit(x, y), 1.3)
    # Where the population says high, this person is calm, and the other way round.
    rng = np.random.default_rng(12)
    calm = rng.normal(scale=0.1, size=(30, 4)) + 6.0
    tense = rng.normal(scale=0.1, size=(30, 4)) - 3.0
    episodes = [Episode(calm, 0), Episode(tense, 2)]
    training = TrainingSet(x.astype(np.float32), y.astype(np.int8), np.array(["a"] * 200))
    refit = personal_refit(
        training, episodes, population=population, weight=50.0, template=template
    )
    assert not hasattr(template, "n_iter_")  # cloned, never fitted itself
    assert refit.model.temperature == 1.3
    assert refit.episodes == 2 and refit.windows == 60
    assert refit.population.agreed == 0  # the population model got this person wrong
    assert (refit.model.predict_proba(calm).argmax(axis=1) == 0).all()
    assert (refit.model.predict_proba(tense).argmax(axis=1) == 2).all()
