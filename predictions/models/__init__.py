"""The predictions app's models, one module per part; everything is importable from here."""

from jobs.models import FINISHED_STATUSES, JobStatus
from predictions.models.jobs import BatchJob, BatchJobChunk
from predictions.models.personal import PersonalModel, PersonalRefit, PersonalRefitChunk
from predictions.models.readings import (
    ModelVersion,
    Prediction,
    PredictionDay,
    Source,
    StressLevel,
)
from predictions.models.recordings import (
    FIVE_NUMBER_SET,
    Annotation,
    Baseline,
    Recording,
    RecordingChunk,
)

__all__ = [
    "FINISHED_STATUSES",
    "FIVE_NUMBER_SET",
    "Annotation",
    "Baseline",
    "BatchJob",
    "BatchJobChunk",
    "JobStatus",
    "ModelVersion",
    "PersonalModel",
    "PersonalRefit",
    "PersonalRefitChunk",
    "Prediction",
    "PredictionDay",
    "Recording",
    "RecordingChunk",
    "Source",
    "StressLevel",
]
