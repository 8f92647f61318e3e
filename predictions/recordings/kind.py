"""The recording job kind: one chunk that reads the file, prepares its signals (resampled,
features over the whole recording once), scores every window with the best channel set it
has, against the person's baseline when one applies, and stores the windows as predictions.

The heavy part runs in chunk_prepare, outside the transaction, writing its stage as it goes so
the page can say what is happening; the windows, the recording's results and the progress are
then written in one transaction by the engine.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings

from mlcore.readers import read_recording
from mlcore.recordings.baseline import Baseline as BaselineStats
from mlcore.recordings.drift import DriftFinding
from mlcore.recordings.recording import RecordingError
from mlcore.recordings.results import RecordingScore
from predictions.batch import engine
from predictions.models import Prediction, Recording, RecordingChunk, Source
from predictions.recordings.baselines import baseline_activate
from predictions.recordings.charts import signal_traces
from predictions.recordings.files import recording_input_path
from predictions.services import recording_signals_score
from stressapp.metrics import PREDICTIONS


@dataclass
class ScoredRecording:
    score: RecordingScore
    drift: list[DriftFinding]
    model_version_id: int
    # Set when this run calibrates: the rest statistics to save as the active baseline.
    new_baseline: BaselineStats | None = None
    new_baseline_set: str = ""
    traces: dict[str, Any] = field(default_factory=dict)


def _stage(recording: Recording, text: str) -> None:
    Recording.objects.filter(pk=recording.pk).update(stage=text)


def recording_read(recording: Recording) -> Any:
    """The stored upload as an mlcore Recording (raises RecordingError)."""
    return read_recording(
        recording_input_path(recording.id),
        recording.original_filename or None,
        max_duration_s=settings.RECORDING_MAX_SECONDS,
        max_uncompressed_bytes=settings.RECORDING_MAX_UNCOMPRESSED_BYTES,
    )


def _contributions(window: Any) -> dict[str, float]:
    return {item["feature"]: round(float(item["effect"]), 6) for item in window.contributions}


class RecordingKind(engine.JobKind):
    name = "recording"
    job_model = Recording
    chunk_model = RecordingChunk

    def unavailable_reason(self, job: Recording) -> str | None:
        if not recording_input_path(job.id).is_file():
            return "The uploaded file is no longer in storage."
        return None

    def chunk_prepare(self, job: Recording, chunk: RecordingChunk) -> ScoredRecording:
        _stage(job, "reading the file")
        try:
            signals = recording_read(job)
        except RecordingError as exc:
            # It was read at upload; failing now means the stored file changed: say so.
            raise RuntimeError(f"The stored file can no longer be read: {exc.message}") from exc
        rest = None
        if job.rest_start_s is not None and job.rest_end_s is not None:
            rest = (job.rest_start_s, job.rest_end_s)
        scored = recording_signals_score(
            signals=signals,
            rest=rest,
            baseline_statistics=job.baseline.statistics if job.baseline else None,
            stage=lambda text: _stage(job, text),
        )
        signals_at_model_rate = scored.prepared.signals
        return ScoredRecording(
            scored.score,
            scored.drift,
            scored.model_version_id,
            scored.new_baseline,
            scored.new_baseline_set,
            signal_traces(signals_at_model_rate.series, signals_at_model_rate.rate_hz),
        )

    def chunk_process(
        self,
        job: Recording,
        chunk: RecordingChunk,
        *,
        now: datetime,
        prepared: ScoredRecording | None = None,
    ) -> engine.ChunkOutcome:
        if prepared is None:  # chunk_prepare always returns one; this guards a misuse
            raise RuntimeError("a recording chunk runs only after chunk_prepare")
        score = prepared.score
        baseline_id = job.baseline_id
        if prepared.new_baseline is not None:
            baseline_id = baseline_activate(
                user=job.user,
                channel_set=prepared.new_baseline_set,
                statistics=prepared.new_baseline.to_dict(),
                start_s=prepared.new_baseline.start_s,
                end_s=prepared.new_baseline.end_s,
                recording=job,
            ).id
        Prediction.objects.filter(recording=job).delete()  # a re-run replaces, never adds
        Prediction.objects.bulk_create(
            (
                Prediction(
                    user_id=job.user_id,
                    measured_at=job.starts_at + timedelta(seconds=window.start_s),
                    created_at=now,
                    stress_level=window.level,
                    calibrated=score.calibrated,
                    confidence=window.confidence,
                    probability_low=window.probabilities["low"],
                    probability_medium=window.probabilities["medium"],
                    probability_high=window.probabilities["high"],
                    contributions=_contributions(window),
                    model_version_id=prepared.model_version_id,
                    source=Source.RECORDING,
                    recording_id=job.id,
                    row_number=index,
                    window_start_s=window.start_s,
                    window_end_s=window.end_s,
                )
                for index, window in enumerate(score.windows)
            ),
            batch_size=1000,
        )
        Recording.objects.filter(pk=job.pk).update(
            stage="",
            total_rows=len(score.windows),
            channel_set=score.channel_set,
            calibrated=score.calibrated,
            baseline_id=baseline_id if score.calibrated else None,
            rest_start_s=None,
            rest_end_s=None,
            window_s=score.window_s,
            stride_s=score.stride_s,
            drift=[finding.message for finding in prepared.drift],
            notes=score.notes,
            traces=prepared.traces,
            model_version_id=prepared.model_version_id,
        )
        levels = Counter(window.level for window in score.windows)

        def count() -> None:
            for level, n in levels.items():
                PREDICTIONS.labels(level=level, source=Source.RECORDING.value).inc(n)

        return engine.ChunkOutcome(processed=len(score.windows), after_commit=count)


RECORDING = engine.kind_register(RecordingKind())
