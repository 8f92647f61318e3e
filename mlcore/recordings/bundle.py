"""The recording-model bundle on disk: one joblib file beside the five-number model, checked
against its sha256 before it is unpickled (a pickle runs code when it is loaded).

Format 2 stores each model as its compiled trees (`CompiledHGB`, arrays: scoring needs numpy
and numba only) and keeps scikit-learn's fitted estimators in a file of their own
(`recording_estimators.joblib`), whose digest the bundle records: only a personal refit (which
copies a model's settings) and the tools that compare against scikit-learn read it. Without
it every process that scores a recording imported scikit-learn, with pandas and scipy (~110 MB
more each). Format 1 (estimators inside) is still read."""

from __future__ import annotations

import dataclasses
import importlib
import json
import sys
from pathlib import Path
from typing import Any

import joblib

from mlcore.drivedb import sha256_file
from mlcore.recordings.hgb_compiled import CompiledHGB

BUNDLE_FILE = "recording_models.joblib"
BUNDLE_CHECKSUM = "recording_models.joblib.sha256"
ESTIMATORS_FILE = "recording_estimators.joblib"
BUNDLE_FORMAT = 2
READABLE_FORMATS = (1, 2)
# The five-number calibrated model's estimator, among the recording models' in ESTIMATORS_FILE.
FIVE_NUMBER_ESTIMATOR = "five_number_calibrated"


class BundleError(Exception):
    """The recording-model bundle is missing, tampered with, or not one of ours."""


def write_bundle(folder: Path, payload: dict[str, Any]) -> str:
    """Write the bundle (format 2) and its estimators' file; return the bundle's sha256.
    `payload` holds fitted estimators (the specs' and the five-number entry's); it is not
    changed."""
    folder = Path(folder)
    estimators: dict[str, Any] = {}
    models = {}
    for key, spec in payload["models"].items():
        estimators[key] = spec.estimator
        models[key] = dataclasses.replace(
            spec, estimator=None, compiled=CompiledHGB(spec.estimator)
        )
    served = {**payload, "models": models}
    five = payload.get("five_number_calibrated")
    if five:
        estimators[FIVE_NUMBER_ESTIMATOR] = five["estimator"]
        served["five_number_calibrated"] = {
            **five,
            "estimator": None,
            "compiled": CompiledHGB(five["estimator"]),
        }
    estimators_path = folder / ESTIMATORS_FILE
    joblib.dump(estimators, estimators_path, compress=3)
    served["estimators_sha256"] = sha256_file(estimators_path)
    path = folder / BUNDLE_FILE
    joblib.dump({"format": BUNDLE_FORMAT, **served}, path, compress=3)
    digest = sha256_file(path)
    (folder / BUNDLE_CHECKSUM).write_text(f"{digest}  {BUNDLE_FILE}\n")
    return digest


def bundle_estimators(folder: Path, expected_sha256: str) -> dict[str, Any]:
    """scikit-learn's fitted estimators of a format-2 bundle, by model key (and
    FIVE_NUMBER_ESTIMATOR), after their file's checksum is verified (imports scikit-learn)."""
    path = Path(folder) / ESTIMATORS_FILE
    if not path.is_file():
        raise BundleError(f"no estimators beside the recording models in {folder}")
    if sha256_file(path) != expected_sha256:
        raise BundleError(f"checksum mismatch for {path}: refusing to load it")
    # Unpickling runs code: safe only because the checksum was verified just above.
    return joblib.load(path)  # nosec B301


def read_card(bundle_dir: str | Path) -> dict[str, Any]:
    return json.loads((Path(bundle_dir) / "card.json").read_text())


# Bundles written before mlcore was split into subpackages name the spec's old module.
_MOVED_MODULES = {"mlcore.recording_model": "mlcore.recordings.spec"}


def bundle_read(folder: Path) -> dict[str, Any]:
    """The bundle's payload, after its checksum is verified (BundleError otherwise)."""
    model_path = folder / BUNDLE_FILE
    checksum = folder / BUNDLE_CHECKSUM
    if not model_path.is_file() or not checksum.is_file():
        raise BundleError(f"no recording models (or no checksum) in {folder}")
    expected = checksum.read_text().split()[0]
    if sha256_file(model_path) != expected:
        raise BundleError(f"checksum mismatch for {model_path}: refusing to load it")
    for old, new in _MOVED_MODULES.items():
        sys.modules.setdefault(old, importlib.import_module(new))
    # Unpickling runs code: safe only because the checksum was verified just above.
    payload = joblib.load(model_path)  # nosec B301
    if not isinstance(payload, dict) or payload.get("format") not in READABLE_FORMATS:
        raise BundleError(f"{model_path} is not a recording-model bundle")
    return payload
