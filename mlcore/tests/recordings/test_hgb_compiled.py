import numpy as np
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier

from mlcore.recordings.hgb_compiled import CompiledHGB


@pytest.fixture(scope="module")
def model():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(1500, 12))
    y = (x[:, 0] + x[:, 1] > 0).astype(int) + (x[:, 2] > 0.8)
    x[rng.random(x.shape) < 0.1] = np.nan  # missing values, as window features have
    return HistGradientBoostingClassifier(
        max_iter=60, max_leaf_nodes=8, class_weight="balanced", random_state=0
    ).fit(x, y)


def rows(n, seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 12)) * 2
    x[rng.random(x.shape) < 0.15] = np.nan
    return x


def test_it_agrees_with_sklearn_with_missing_values(model):
    compiled = CompiledHGB(model)
    x = rows(20_000, 1)
    assert np.abs(compiled.predict_proba(x) - model.predict_proba(x)).max() <= 1e-12


def test_it_agrees_on_split_thresholds_exactly(model):
    compiled = CompiledHGB(model)
    nodes = model._predictors[0][0].nodes
    internal = nodes[nodes["is_leaf"] == 0]
    x = np.tile(rows(1, 2), (len(internal) * 3, 1))
    for i, node in enumerate(internal):
        t = node["num_threshold"]
        for j, value in enumerate((t, np.nextafter(t, -np.inf), np.nextafter(t, np.inf))):
            x[3 * i + j, node["feature_idx"]] = value
    assert np.abs(compiled.predict_proba(x) - model.predict_proba(x)).max() <= 1e-12


def test_its_contributions_add_up_to_the_raw_scores(model):
    compiled = CompiledHGB(model)
    x = rows(300, 3)
    credits = compiled.explain(x)
    np.testing.assert_allclose(
        compiled.baseline[None, :] + credits.sum(axis=1), compiled.raw(x), atol=1e-9
    )


def test_it_rejects_the_wrong_number_of_features(model):
    with pytest.raises(ValueError, match="expected an"):
        CompiledHGB(model).predict_proba(np.zeros((1, 5)))
