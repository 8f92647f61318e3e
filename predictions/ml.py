"""The model as this process serves it: loaded once, swapped when another version is
activated.

Every process (web server process, Celery worker) holds one predictor. It is loaded as the process
starts or on first use, never at import (so `migrate` and `check` need no artifact), and it
re-reads which version is active at most every MODEL_RELOAD_SECONDS, so an activation in the
admin reaches every running process within seconds without a restart.
"""

import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings

from mlcore.artifacts import ArtifactError, ModelArtifact, load_artifact
from mlcore.readings.forest import Predictor
from mlcore.recordings.bundle import BundleError
from mlcore.recordings.personal import TrainingSet, training_sets_read
from mlcore.recordings.scorer import RecordingScorer
from stressapp.errors import Unavailable

logger = logging.getLogger(__name__)


class ModelUnavailable(Unavailable):
    """No active model version, or its artifact could not be loaded. Callers are told to try
    again; the reason (str of the error) is for logs and the readiness check only."""

    code = "model_unavailable"

    def __init__(
        self, reason: str, message: str = "No model is being served right now; try again shortly."
    ) -> None:
        super().__init__(message)
        self.reason = reason

    def __str__(self) -> str:
        return self.reason


@dataclass(frozen=True)
class ServedModel:
    id: int
    version: str
    artifact: ModelArtifact
    folder: Path
    # The recording models of the same version (None when trained without them), loaded on
    # first use: the web processes that only score typed readings never pay for them.
    _recordings: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def predictor(self) -> Predictor:
        return self.artifact.predictor

    @property
    def recording_scorer(self) -> RecordingScorer:
        """Raises ModelUnavailable when this version has no recording models."""
        if "scorer" not in self._recordings:
            with _lock:
                if "scorer" not in self._recordings:
                    try:
                        self._recordings["scorer"] = RecordingScorer.load(self.folder)
                    except (BundleError, OSError, ValueError) as exc:
                        raise ModelUnavailable(
                            f"Model {self.version} has no usable recording models: {exc}"
                        ) from exc
        return self._recordings["scorer"]

    @property
    def training_sets(self) -> dict[str, TrainingSet]:
        """The population's training rows per recording model, which personal models are
        refitted on (only the refit job reads them). Raises ModelUnavailable for a version
        trained before they were kept."""
        if "training_sets" not in self._recordings:
            with _lock:
                if "training_sets" not in self._recordings:
                    try:
                        self._recordings["training_sets"] = training_sets_read(self.folder)
                    except (OSError, ValueError, KeyError) as exc:
                        raise ModelUnavailable(
                            f"Model {self.version} has no readable training sets: {exc}",
                            "The model in use keeps no training data to learn from your "
                            "labels; a newer model does.",
                        ) from exc
        return self._recordings["training_sets"]


_lock = threading.RLock()
_served: ServedModel | None = None
_checked_at: float = float("-inf")
_last_error: ModelUnavailable | None = None


def _active_row() -> tuple[int, str, str, str] | None:
    from predictions.models import ModelVersion

    return (
        ModelVersion.objects.filter(is_active=True)
        .values_list("id", "version", "path", "sha256")
        .first()
    )


def artifact_path(relative: str) -> Path:
    path = Path(relative)
    return path if path.is_absolute() else Path(settings.MODEL_DIR) / path


def get_served_model() -> ServedModel:
    """The active model for this process, reloading it if another version was activated.

    If a newly activated version cannot be loaded (missing or tampered file), the process keeps
    serving the version it has and tries again after MODEL_RELOAD_SECONDS."""
    global _served, _checked_at, _last_error
    served = _served
    if served is not None and time.monotonic() - _checked_at < settings.MODEL_RELOAD_SECONDS:
        return served
    with _lock:
        fresh = time.monotonic() - _checked_at < settings.MODEL_RELOAD_SECONDS
        if fresh and _served is not None:
            return _served
        if fresh and _last_error is not None:
            raise _last_error
        _checked_at = time.monotonic()
        row = _active_row()
        if row is None:
            _last_error = ModelUnavailable(
                "No model version is active. Run `python manage.py train_model`."
            )
            raise _last_error
        version_id, version, path, sha256 = row
        if _served is None or _served.id != version_id:
            try:
                artifact = load_artifact(artifact_path(path), expected_sha256=sha256)
                artifact.predictor  # noqa: B018 - build and compile now, not on a request
            except (ArtifactError, OSError, ValueError) as exc:
                _last_error = ModelUnavailable(f"Model {version} cannot be loaded: {exc}")
                if _served is not None:
                    logger.error("%s; still serving %s", _last_error, _served.version)
                    return _served
                raise _last_error from exc
            logger.info("serving model version %s", version)
            _served = ServedModel(
                id=version_id,
                version=version,
                artifact=artifact,
                folder=artifact_path(path).parent,
            )
        _last_error = None
        return _served


def served_model_preload() -> None:
    """Load the model as a server or worker process starts, so its first request or task does
    not pay for it. A process that cannot load it yet still starts (and retries on use)."""
    from django.db import DatabaseError, connections

    try:
        get_served_model()
    except (ModelUnavailable, DatabaseError) as exc:
        logger.warning("model not loaded at process start (will retry on first use): %s", exc)
    finally:
        connections.close_all()  # opened in this process; let the first request open its own


def reset_served_model() -> None:
    """Forget the loaded model (tests, and after a version's file was replaced)."""
    global _served, _checked_at, _last_error
    with _lock:
        _served = None
        _checked_at = float("-inf")
        _last_error = None


def predictor_status() -> dict[str, Any]:
    try:
        served = get_served_model()
    except ModelUnavailable as exc:
        logger.warning("model unavailable: %s", exc)
        detail = "no active model" if "No model version is active" in str(exc) else "load failed"
        return {"status": "unavailable", "detail": detail}
    return {"status": "ok", "version": served.version, "loaded": True}
