import json
import subprocess
import sys
from pathlib import Path

from mlcore.artifacts import load_artifact
from mlcore.evaluation import ForestParams
from mlcore.model import Predictor
from mlcore.train import train_and_save

ROOT = Path(__file__).resolve().parents[2]


def test_it_trains_the_same_model_from_the_same_data_and_parameters(tmp_path):
    params = ForestParams(n_estimators=8, max_depth=6)
    first = train_and_save(tmp_path / "a", params=params, evaluate=False)
    second = train_and_save(tmp_path / "b", params=params, evaluate=False)
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
        "import sys, mlcore.train, mlcore.model, mlcore.artifacts, mlcore.evaluation; "
        "assert not any(m == 'django' or m.startswith('django.') for m in sys.modules), 'django'"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
