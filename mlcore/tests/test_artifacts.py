import shutil

import pytest

from mlcore.artifacts import CHECKSUM_FILE, MODEL_FILE, ArtifactError, load_artifact


@pytest.fixture
def artifact_copy(tiny_model, tmp_path):
    folder = tmp_path / "copy"
    shutil.copytree(tiny_model.model_path.parent, folder)
    return folder


def test_it_loads_a_verified_artifact_with_its_card(tiny_model):
    artifact = load_artifact(tiny_model.model_path, expected_sha256=tiny_model.sha256)
    assert artifact.version == tiny_model.version
    assert artifact.card["version"] == tiny_model.version
    assert artifact.sha256 == tiny_model.sha256


def test_it_refuses_a_tampered_artifact(artifact_copy, tiny_model):
    model = artifact_copy / MODEL_FILE
    model.write_bytes(model.read_bytes() + b"\x00")
    with pytest.raises(ArtifactError, match="checksum mismatch"):
        load_artifact(model, expected_sha256=tiny_model.sha256)
    with pytest.raises(ArtifactError, match="checksum mismatch"):
        load_artifact(model)  # against the checksum file written at training


def test_it_refuses_an_artifact_without_a_checksum(artifact_copy):
    (artifact_copy / CHECKSUM_FILE).unlink()
    with pytest.raises(ArtifactError, match="no checksum"):
        load_artifact(artifact_copy / MODEL_FILE)


def test_it_refuses_a_missing_file(tmp_path):
    with pytest.raises(ArtifactError, match="does not exist"):
        load_artifact(tmp_path / MODEL_FILE, expected_sha256="0" * 64)


def test_it_keeps_the_forests_temperature_and_reads_none_as_one(tiny_model, tmp_path):
    import joblib

    from mlcore.artifacts import save_artifact

    artifact = load_artifact(tiny_model.model_path)
    assert artifact.temperature == 1.0  # quick: nothing evaluated, nothing fitted
    path, _digest = save_artifact(
        tmp_path / "v",
        version="v",
        forest=artifact.forest,
        mapping=artifact.mapping,
        card={},
        card_markdown="",
        temperature=1.4,
    )
    assert load_artifact(path).predictor.temperature == 1.4
    # An artifact written before temperatures existed.
    payload = joblib.load(path)
    del payload["temperature"]
    joblib.dump(payload, path)
    (path.parent / CHECKSUM_FILE).unlink()
    from mlcore.drivedb import sha256_file

    old = load_artifact(path, expected_sha256=sha256_file(path))
    assert old.temperature == 1.0 and old.predictor.temperature == 1.0


def test_the_served_arrays_answer_as_the_forest_beside_them(tiny_model):
    import numpy as np

    from mlcore.readings.forest import Predictor

    artifact = load_artifact(tiny_model.model_path)
    assert artifact.arrays is not None  # format 2: no forest unpickled to serve
    from_forest = Predictor(artifact.forest, artifact.temperature)
    assert artifact.predictor.fingerprint() == from_forest.fingerprint()
    rows = np.random.default_rng(1).random((50, 5)).astype(np.float32) * [200, 1, 1, 1, 1]
    np.testing.assert_array_equal(
        artifact.predictor.predict_proba(rows), from_forest.predict_proba(rows)
    )


def test_it_refuses_a_forest_that_is_not_the_one_it_was_served_from(artifact_copy):
    from mlcore.artifacts import FOREST_FILE

    forest = artifact_copy / FOREST_FILE
    forest.write_bytes(forest.read_bytes() + b"\x00")
    artifact = load_artifact(artifact_copy / MODEL_FILE)
    artifact.predictor  # noqa: B018 - serving needs no forest, so it still loads
    with pytest.raises(ArtifactError, match="checksum mismatch"):
        artifact.forest  # noqa: B018


def _cut_short(arrays):
    arrays["right"] = arrays["right"][:-1]


def _feature_out_of_range(arrays):
    arrays["feature"] = arrays["feature"].copy()
    arrays["feature"][0] = 9  # there are five features


def _child_past_the_end(arrays):
    arrays["right"] = arrays["right"].copy()
    arrays["right"][0] = arrays["right"].shape[0]


@pytest.mark.parametrize("corrupt", [_cut_short, _feature_out_of_range, _child_past_the_end])
def test_it_refuses_forest_arrays_that_do_not_fit_together(artifact_copy, corrupt):
    import joblib

    from mlcore.drivedb import sha256_file

    model = artifact_copy / MODEL_FILE
    payload = joblib.load(model)
    corrupt(payload["predictor"])
    joblib.dump(payload, model)
    with pytest.raises(ArtifactError, match="no readable forest arrays"):
        load_artifact(model, expected_sha256=sha256_file(model))


def test_it_still_reads_an_artifact_of_format_1(tiny_model, tmp_path):
    import joblib
    import numpy as np

    from mlcore.drivedb import sha256_file

    artifact = load_artifact(tiny_model.model_path)
    path = tmp_path / MODEL_FILE
    joblib.dump(
        {
            "format": 1,
            "version": "old",
            "forest": artifact.forest,
            "mapping": artifact.mapping.to_dict(),
            "temperature": 1.3,
        },
        path,
    )
    old = load_artifact(path, expected_sha256=sha256_file(path))
    assert old.arrays is None and old.forest is not None
    assert old.predictor.temperature == 1.3
    assert old.predictor.arrays().to_dict().keys() == artifact.arrays.to_dict().keys()
    np.testing.assert_array_equal(old.predictor.value, artifact.predictor.value)
