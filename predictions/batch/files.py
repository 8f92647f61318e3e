"""Where a batch job's files live: BATCH_DIR/<job id>/ (the upload, its columns, the result
parts). Uploads get there through jobs.uploads."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

from django.conf import settings


def job_dir(job_id: uuid.UUID | str) -> Path:
    return Path(settings.BATCH_DIR) / str(job_id)


def input_path(job_id: uuid.UUID | str, input_format: str) -> Path:
    return job_dir(job_id) / f"input.{input_format}"


def part_path(job_id: uuid.UUID | str, index: int) -> Path:
    return job_dir(job_id) / "parts" / f"{index:06d}.csv"


def job_files_delete(job_id: uuid.UUID | str) -> None:
    shutil.rmtree(job_dir(job_id), ignore_errors=True)
