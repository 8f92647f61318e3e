"""A kind that does nothing heavy: each chunk writes its row count into `output`, so a test
sees what ran and how often. `FAKE.fail_on` makes one chunk raise, as a bug would."""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db.models import F

from jobs.kinds import ChunkOutcome, JobKind
from jobs.tests.fakes.models import FakeChunk, FakeJob


def fake_dir(job_id: Any) -> Path:
    return Path(settings.DATA_DIR) / "fake-jobs" / str(job_id)


class FakeKind(JobKind):
    name = "fake"
    job_model = FakeJob
    chunk_model = FakeChunk
    fail_on: int | None = None

    def chunk_process(
        self, job: FakeJob, chunk: FakeChunk, *, now: datetime, prepared: Any = None
    ) -> ChunkOutcome:
        if chunk.index == self.fail_on:
            raise RuntimeError("this chunk is broken")
        FakeChunk.objects.filter(pk=chunk.pk).update(output=F("output") + chunk.rows)
        return ChunkOutcome(processed=chunk.rows)

    def on_ended(self, job: FakeJob) -> None:
        FakeJob.objects.filter(pk=job.pk).update(ended=F("ended") + 1)

    def upload_keep(self, job: FakeJob, path: Path) -> None:
        fake_dir(job.pk).mkdir(parents=True)
        shutil.move(path, fake_dir(job.pk) / "input")

    def files_delete(self, job_id: Any) -> None:
        shutil.rmtree(fake_dir(job_id), ignore_errors=True)


FAKE = FakeKind()
