"""The batch job kind: a chunk of a file of readings parsed, scored through
services.readings_score like every other reading, stored (COPY) and written as a results part."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
from django.conf import settings

from jobs.kinds import ChunkOutcome
from mlcore.readings.features import CLASSES
from predictions.batch import callbacks, files, parsing, results, storage
from predictions.kinds import ScoringKind
from predictions.models import BatchJob, BatchJobChunk, Source
from predictions.services import five_number_baseline_for, readings_score
from predictions.validation import latest_allowed_measured_at
from stressapp.metrics import BATCH_ROWS, PREDICTIONS


def columns_path(job_id: Any) -> Any:
    return files.job_dir(job_id) / "columns.json"


def input_path(job: BatchJob) -> Any:
    return files.input_path(job.id, job.input_format)


def _row_errors(job: BatchJob) -> list[dict[str, Any]]:
    errors: list[dict[str, Any]] = []
    for chunk_errors in (
        BatchJobChunk.objects.filter(job=job).order_by("index").values_list("row_errors", flat=True)
    ):
        errors.extend(chunk_errors)
        if len(errors) >= settings.BATCH_ROW_ERRORS_KEPT:
            break
    return errors[: settings.BATCH_ROW_ERRORS_KEPT]


class BatchJobKind(ScoringKind):
    name = "batch"
    job_model = BatchJob
    chunk_model = BatchJobChunk

    def input_file(self, job: BatchJob) -> Path:
        return input_path(job)

    def chunk_process(
        self, job: BatchJob, chunk: BatchJobChunk, *, now: datetime, prepared: Any = None
    ) -> ChunkOutcome:
        good, bad = parsing.parse_chunk(
            input_path(job),
            job.input_format,
            json.loads(columns_path(job.id).read_text()),
            parsing.ChunkSpan(
                chunk.index, chunk.first_row, chunk.row_count, chunk.byte_start, chunk.byte_end
            ),
            default_measured_at=job.created_at,
            latest_allowed=latest_allowed_measured_at(now),
        )
        levels: list[str] = []
        probabilities = np.empty((0, len(CLASSES)))
        if len(good):
            # Serial: the workers already run one process per core.
            scores = readings_score(
                features=good.features,
                explain=False,
                parallel=False,
                baseline=five_number_baseline_for(user_id=job.user_id),
                user_id=job.user_id,
            )
            probabilities = scores.probabilities
            levels = [CLASSES[i] for i in scores.predicted.tolist()]
            storage.batch_predictions_insert(
                user_id=job.user_id,
                calibrated=scores.calibrated,
                job_id=job.id,
                rows=good,
                levels=levels,
                probabilities=probabilities,
                version_id=scores.model.id,
                now=now,
                personal_model_id=scores.personal_model_id,
            )
        results.write_result_part(
            files.part_path(job.id, chunk.index), good, levels, probabilities, bad
        )
        kept = [{"row": row, "error": error} for row, error, _ in sorted(bad)]

        def count() -> None:
            for level, n in Counter(levels).items():
                PREDICTIONS.labels(level=level, source=Source.BATCH.value).inc(n)
            BATCH_ROWS.labels(outcome="scored").inc(len(good))
            BATCH_ROWS.labels(outcome="rejected").inc(len(bad))

        return ChunkOutcome(
            processed=len(good),
            failed=len(bad),
            chunk_updates={"row_errors": kept[: settings.BATCH_ROW_ERRORS_KEPT]},
            after_commit=count,
        )

    def end_fields(self, job: BatchJob) -> dict[str, Any]:
        return {"row_errors": _row_errors(job)}

    def on_ended(self, job: BatchJob) -> None:
        callbacks.batch_job_notify_on_commit(job)

    def upload_keep(self, job: BatchJob, path: Path) -> None:
        (files.job_dir(job.id) / "parts").mkdir(parents=True)
        shutil.move(path, input_path(job))

    def files_delete(self, job_id: Any) -> None:
        files.job_files_delete(job_id)


# Registered with the engine by PredictionsConfig.ready().
BATCH = BatchJobKind()
