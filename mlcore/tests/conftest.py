"""Fixtures of the mlcore tests: real drives and a small recording-model bundle."""

from __future__ import annotations

import pytest
from threadpoolctl import threadpool_limits

from mlcore import drivedb
from mlcore.recordings.scorer import RecordingScorer
from mlcore.train import TrainingResult, train_and_save

# Three drives are enough for models that work; quick mode skips every evaluation.
BUNDLE_DRIVES = ["drive05", "drive07", "drive08"]


@pytest.fixture(scope="session", autouse=True)
def one_openmp_thread():
    """scikit-learn's HistGradientBoosting uses OpenMP; on a busy 2-core machine its waiting
    threads made a small fit take 80 s instead of 1."""
    with threadpool_limits(limits=1, user_api="openmp"):
        yield


@pytest.fixture(scope="session")
def drive06() -> drivedb.Drive:
    return drivedb.load_drive("drive06")


@pytest.fixture(scope="session")
def recording_bundle(tmp_path_factory: pytest.TempPathFactory) -> TrainingResult:
    return train_and_save(tmp_path_factory.mktemp("bundle"), quick=True, drive_names=BUNDLE_DRIVES)


@pytest.fixture(scope="session")
def scorer(recording_bundle: TrainingResult) -> RecordingScorer:
    return RecordingScorer.load(recording_bundle.model_path.parent)
