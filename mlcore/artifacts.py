"""Model artifacts on disk: one folder per version holding the served model, its sha256, the
forest it was flattened from and the model card (JSON and Markdown).

The served model (`model.joblib`, format 2) is the flattened forest's arrays
(`mlcore.readings.forest.Predictor`), its mapping and temperature: loading it needs numpy and
nothing of scikit-learn, which with pandas and scipy would cost every web and worker process
about 120 MB it never uses. scikit-learn's own forest is kept beside it (`forest.joblib`) for
the tools that compare against it, loaded only when asked for, and checked against the digest
the served model records. Format 1 (the forest inside `model.joblib`) is still read.

A pickle runs code when it is loaded, so every checksum is verified before unpickling and a
mismatch is refused.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import joblib

from mlcore.drivedb import sha256_file
from mlcore.readings.forest import Predictor, PredictorArrays
from mlcore.readings.preprocessing import FeatureMapping

if TYPE_CHECKING:
    from sklearn.ensemble import RandomForestClassifier

MODEL_FILE = "model.joblib"
CHECKSUM_FILE = "model.joblib.sha256"
FOREST_FILE = "forest.joblib"
CARD_JSON = "card.json"
CARD_MARKDOWN = "card.md"
FORMAT_VERSION = 2
READABLE_FORMATS = (1, 2)


class ArtifactError(Exception):
    """The artifact is missing, tampered with, or not one of ours."""


@dataclass
class ModelArtifact:
    version: str
    mapping: FeatureMapping
    card: dict[str, Any]
    sha256: str
    path: Path
    # Fitted on the forest's leave-one-drive-out votes (mlcore.calibration); artifacts written
    # before it existed, or without evaluation, have 1 (the vote as it is).
    temperature: float = 1.0
    arrays: PredictorArrays | None = None  # format 2
    forest_sha256: str | None = None  # format 2: the digest forest.joblib must have
    _forest: RandomForestClassifier | None = field(default=None, repr=False)  # format 1

    @property
    def predictor(self) -> Predictor:
        if not hasattr(self, "_predictor"):
            if self.arrays is not None:
                self._predictor = Predictor.from_arrays(self.arrays, self.temperature)
            else:
                self._predictor = Predictor(self.forest, self.temperature)
        return self._predictor

    @property
    def forest(self) -> RandomForestClassifier:
        """scikit-learn's forest (imports scikit-learn): for tools and tests, never serving."""
        if self._forest is None:
            forest_path = self.path.with_name(FOREST_FILE)
            if not forest_path.is_file():
                raise ArtifactError(f"no forest beside {self.path}")
            if sha256_file(forest_path) != self.forest_sha256:
                raise ArtifactError(f"checksum mismatch for {forest_path}: refusing to load it")
            # Unpickling runs code: safe only because the checksum was verified just above.
            self._forest = joblib.load(forest_path)  # nosec B301
        return self._forest


def save_artifact(
    folder: Path,
    *,
    version: str,
    forest: RandomForestClassifier,
    mapping: FeatureMapping,
    card: dict[str, Any],
    card_markdown: str,
    temperature: float = 1.0,
) -> tuple[Path, str]:
    """Write model, forest, checksum and card into `folder`; return the model path and its
    sha256."""
    folder.mkdir(parents=True, exist_ok=False)
    forest_path = folder / FOREST_FILE
    joblib.dump(forest, forest_path, compress=3)
    model_path = folder / MODEL_FILE
    payload = {
        "format": FORMAT_VERSION,
        "version": version,
        "predictor": Predictor(forest).arrays().to_dict(),
        "forest_sha256": sha256_file(forest_path),
        "mapping": mapping.to_dict(),
        "temperature": float(temperature),
    }
    joblib.dump(payload, model_path, compress=3)
    digest = sha256_file(model_path)
    (folder / CHECKSUM_FILE).write_text(f"{digest}  {MODEL_FILE}\n")
    card = {**card, "artifact": {"file": MODEL_FILE, "sha256": digest}}
    (folder / CARD_JSON).write_text(json.dumps(card, indent=2, sort_keys=False) + "\n")
    (folder / CARD_MARKDOWN).write_text(card_markdown)
    return model_path, digest


def load_artifact(model_path: Path, expected_sha256: str | None = None) -> ModelArtifact:
    """Verify the checksum, then unpickle. `expected_sha256` comes from the registry; without
    it the checksum file beside the model is used."""
    model_path = Path(model_path)
    if model_path.is_dir():
        model_path = model_path / MODEL_FILE
    if not model_path.is_file():
        raise ArtifactError(f"model file {model_path} does not exist")
    if expected_sha256 is None:
        checksum_file = model_path.with_name(CHECKSUM_FILE)
        if not checksum_file.is_file():
            raise ArtifactError(f"no checksum for {model_path}: refusing to load it")
        expected_sha256 = checksum_file.read_text().split()[0]
    actual = sha256_file(model_path)
    if actual != expected_sha256:
        raise ArtifactError(
            f"checksum mismatch for {model_path}: expected {expected_sha256}, got {actual}. "
            "The file was modified after training; refusing to load it."
        )
    # Unpickling runs code: safe only because the checksum was verified just above.
    payload = joblib.load(model_path)  # nosec B301
    if not isinstance(payload, dict) or payload.get("format") not in READABLE_FORMATS:
        raise ArtifactError(f"{model_path} is not a model artifact of format {FORMAT_VERSION}")
    card_path = model_path.with_name(CARD_JSON)
    card = json.loads(card_path.read_text()) if card_path.is_file() else {}
    common = {
        "version": payload["version"],
        "mapping": FeatureMapping.from_dict(payload["mapping"]),
        "card": card,
        "sha256": actual,
        "path": model_path,
        "temperature": float(payload.get("temperature", 1.0)),
    }
    if payload["format"] == 1:
        return ModelArtifact(**common, _forest=payload["forest"])
    try:
        arrays = PredictorArrays.from_dict(payload["predictor"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ArtifactError(f"{model_path} holds no readable forest arrays") from exc
    return ModelArtifact(**common, arrays=arrays, forest_sha256=payload["forest_sha256"])
