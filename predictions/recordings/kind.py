"""The recording job kind: one chunk that reads the file, prepares its signals (resampled,
features over the whole recording once), scores every window with the best channel set it
has, against the person's baseline when one applies, and stores the windows as predictions.

The heavy part runs in chunk_prepare, outside the transaction, writing its stage as it goes so
the page can say what is happening; the windows, the recording's results and the progress are
then written in one transaction by the engine.
"""

from __future__ import annotations

import contextlib
import shutil
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from django.db import transaction

from jobs.errors import JobFailed
from jobs.kinds import ChunkOutcome
from mlcore.recordings.recording import RecordingError
from mlcore.recordings.spec import model_key
from predictions.kinds import ScoringKind
from predictions.models import (
    JobStatus,
    PersonalModel,
    Prediction,
    Recording,
    RecordingChunk,
    Source,
)
from predictions.recordings.baselines import baseline_activate
from predictions.recordings.files import (
    recording_dir,
    recording_file_read,
    recording_files_delete,
    recording_input_path,
)
from predictions.services import RecordingScores, recording_signals_score
from stressapp.errors import Conflict
from stressapp.metrics import PREDICTIONS


def _stage(recording: Recording, text: str) -> None:
    Recording.objects.filter(pk=recording.pk).update(stage=text)


def _contributions(window: Any) -> dict[str, float]:
    return {item["feature"]: round(float(item["effect"]), 6) for item in window.contributions}


def _why(window: Any) -> list[list[Any]]:
    """What the page says drove the window: [column, direction against rest, share of the
    whole push] per top column, as short lists (a 24 h recording has 2,880 windows; the API's
    contributions stay feature -> effect)."""
    return [
        [item["feature"], int(item.get("direction", 0)), round(float(item.get("share", 0.0)), 3)]
        for item in window.contributions
    ]


def _change(job: Recording, score: Any, prepared: RecordingScores) -> dict[str, Any]:
    """What this scoring changes against the windows stored before it (none: a first
    scoring): time in each level before and after, and the windows whose level moved."""
    rows = list(
        Prediction.objects.filter(recording=job).values_list(
            "window_start_s", "stress_level", "model_version_id", "personal_model_id"
        )
    )
    if not rows:
        return {}
    before = {start: level for start, level, _, _ in rows}
    _, _, version_before, personal_before = rows[0]
    stride = score.stride_s
    after = {window.start_s: window.level for window in score.windows}
    moved = Counter(
        (before[start], level)
        for start, level in after.items()
        if start in before and before[start] != level
    )
    return {
        "before": {level: n * stride for level, n in Counter(before.values()).items()},
        "after": {level: n * stride for level, n in Counter(after.values()).items()},
        "compared": sum(1 for start in after if start in before),
        "moved": sum(moved.values()),
        "moves": [{"from": old, "to": new, "windows": n} for (old, new), n in moved.most_common()],
        "model_version_before": version_before,
        "model_version_after": prepared.model_version_id,
        "personal_before": personal_before is not None,
        "personal_after": prepared.personal_model_id is not None,
    }


class RecordingKind(ScoringKind):
    name = "recording"
    job_model = Recording
    chunk_model = RecordingChunk

    def input_file(self, job: Recording) -> Path:
        return recording_input_path(job.id)

    def chunk_prepare(self, job: Recording, chunk: RecordingChunk) -> RecordingScores:
        _stage(job, "reading the file")
        try:
            signals = recording_file_read(recording_input_path(job.id), job.original_filename)
        except RecordingError as exc:
            # It was read at upload; failing now means the stored file changed: say so.
            raise JobFailed(f"The stored file can no longer be read: {exc.message}") from exc
        rest = None
        if job.rest_start_s is not None and job.rest_end_s is not None:
            rest = (job.rest_start_s, job.rest_end_s)
        scores = recording_signals_score(
            signals=signals,
            rest=rest,
            baseline_statistics=job.baseline.statistics if job.baseline else None,
            stage=lambda text: _stage(job, text),
            user_id=job.user_id,
        )
        _stage(job, "storing the windows")
        return scores

    def chunk_process(
        self,
        job: Recording,
        chunk: RecordingChunk,
        *,
        now: datetime,
        prepared: RecordingScores | None = None,
    ) -> ChunkOutcome:
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
        change = _change(job, score, prepared)
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
                    personal_model_id=prepared.personal_model_id,
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
            unscored_windows=[
                {"start_s": w.start_s, "end_s": w.end_s, "reason": w.reason} for w in score.unscored
            ],
            window_details=[
                {"activity": w.activity, **w.vitals, "why": _why(w)} for w in score.windows
            ],
            traces=prepared.traces,
            model_version_id=prepared.model_version_id,
            personal_model_id=prepared.personal_model_id,
            last_change=change,
        )
        levels = Counter(window.level for window in score.windows)

        def count() -> None:
            for level, n in levels.items():
                PREDICTIONS.labels(level=level, source=Source.RECORDING.value).inc(n)

        return ChunkOutcome(processed=len(score.windows), after_commit=count)

    def on_ended(self, job: Recording) -> None:
        """A person's model refitted while this recording was being scored could not queue
        it again then (it was busy): once it has ended, score it again if the model that
        scored it is no longer the person's current one."""
        if job.status != JobStatus.SUCCEEDED or not job.channel_set:
            return
        current = (
            PersonalModel.objects.filter(
                user_id=job.user_id,
                model_key=model_key(job.channel_set, job.calibrated),
                population_version_id=job.model_version_id,
                is_active=True,
            )
            .values_list("id", flat=True)
            .first()
        )
        if current == job.personal_model_id:
            return

        def again() -> None:
            from predictions.recordings.services import recording_rescore

            # Already queued again, or deleted meanwhile: nothing to do.
            with contextlib.suppress(Conflict, Recording.DoesNotExist):
                recording_rescore(recording=Recording.objects.get(pk=job.pk))

        transaction.on_commit(again)

    def upload_keep(self, job: Recording, path: Path) -> None:
        recording_dir(job.id).mkdir(parents=True)
        shutil.move(path, recording_input_path(job.id))

    def files_delete(self, job_id: Any) -> None:
        recording_files_delete(job_id)


# Registered with the engine by PredictionsConfig.ready().
RECORDING = RecordingKind()
