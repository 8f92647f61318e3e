"""The recording-model bundle on disk: one joblib file beside the five-number model, checked
against its sha256 before it is unpickled (a pickle runs code when it is loaded)."""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path
from typing import Any

import joblib

from mlcore.drivedb import sha256_file

BUNDLE_FILE = "recording_models.joblib"
BUNDLE_CHECKSUM = "recording_models.joblib.sha256"
BUNDLE_FORMAT = 1


class BundleError(Exception):
    """The recording-model bundle is missing, tampered with, or not one of ours."""


def write_bundle(folder: Path, payload: dict[str, Any]) -> str:
    path = Path(folder) / BUNDLE_FILE
    joblib.dump({"format": BUNDLE_FORMAT, **payload}, path, compress=3)
    digest = sha256_file(path)
    (Path(folder) / BUNDLE_CHECKSUM).write_text(f"{digest}  {BUNDLE_FILE}\n")
    return digest


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
    if not isinstance(payload, dict) or payload.get("format") != BUNDLE_FORMAT:
        raise BundleError(f"{model_path} is not a recording-model bundle")
    return payload
