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
