import json
import subprocess
import sys
from pathlib import Path

import pytest

from mlcore.artifacts import load_artifact
from mlcore.evaluation import ForestParams
from mlcore.readings.forest import Predictor
from mlcore.train import train_and_save

ROOT = Path(__file__).resolve().parents[2]


def test_it_trains_the_same_model_from_the_same_data_and_parameters(tmp_path):
    params = ForestParams(n_estimators=8, max_depth=6)
    first = train_and_save(tmp_path / "a", params=params, evaluate=False, recording=False)
    second = train_and_save(tmp_path / "b", params=params, evaluate=False, recording=False)
    a = Predictor(load_artifact(first.model_path).forest)
    b = Predictor(load_artifact(second.model_path).forest)
    assert a.fingerprint() == b.fingerprint()
    assert first.card["fingerprint"] == second.card["fingerprint"]


def test_it_writes_model_checksum_and_card_for_every_version(tiny_model):
    folder = tiny_model.model_path.parent
    assert {p.name for p in folder.iterdir()} >= {
        "model.joblib",
        "model.joblib.sha256",
        "card.json",
        "card.md",
    }
    card = json.loads((folder / "card.json").read_text())
    assert card["version"] == tiny_model.version
    assert card["artifact"]["sha256"] == tiny_model.sha256
    assert len(card["data"]["files"]) == 11
    assert {"scikit-learn", "numpy", "python"} <= card["libraries"].keys()
    assert card["feature_mapping"]["channels"][1]["statistic"] == "ecg_std_mv"
    assert "ODC-By" in card["data"]["licence"]


def test_mlcore_imports_no_django():
    code = (
        "import sys, mlcore.train, mlcore.readings.forest, mlcore.artifacts, mlcore.evaluation, "
        "mlcore.readers, mlcore.recordings.scorer, mlcore.recordings.select; "
        "assert not any(m == 'django' or m.startswith('django.') for m in sys.modules), 'django'"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_it_leaves_the_held_out_drive_out_of_everything(tmp_path):
    result = train_and_save(
        tmp_path, quick=True, hold_out="drive06", drive_names=["drive05", "drive06", "drive07"]
    )
    card = result.card
    assert card["data"]["held_out"] == "drive06"
    assert set(card["data"]["drives"]) == {"drive05", "drive07"}
    assert card["recording_models"]["drives"] == ["drive05", "drive07"]
    assert card["metrics"] == {}  # quick: nothing evaluated
    with pytest.raises(ValueError, match="unknown drive"):
        train_and_save(tmp_path, quick=True, hold_out="drive99")


def test_the_command_line_trains_quickly_and_prints_what_it_did(tmp_path):
    from mlcore.train import main

    assert main(["--out", str(tmp_path), "--quick", "--hold-out", "drive06"]) == 0
    (folder,) = tmp_path.iterdir()
    assert {"model.joblib", "recording_models.joblib", "card.json", "card.md"} <= {
        p.name for p in folder.iterdir()
    }
