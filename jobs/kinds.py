"""What differs between kinds of job, and the registry the tasks find them in.

A kind says how to do one chunk and what to record when the job ends; the engine does the
rest. Each app registers its kinds from its AppConfig.ready(), so a worker knows every kind
as soon as Django is set up, whatever it imported first.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar

from jobs.models import Job, JobChunk


@dataclass
class ChunkOutcome:
    processed: int
    failed: int = 0
    chunk_updates: dict[str, Any] = field(default_factory=dict)  # more columns of the chunk
    after_commit: Callable[[], None] | None = None  # e.g. metrics, once the rows are in


class JobKind:
    """Subclasses set the models and do one chunk; the other hooks have defaults."""

    name: ClassVar[str]
    job_model: ClassVar[type[Job]]
    chunk_model: ClassVar[type[JobChunk]]  # with a `job` foreign key

    def claim_fields(self) -> dict[str, Any]:
        """More columns to write as a job is claimed (e.g. the model version that scores it)."""
        return {}

    def unavailable_reason(self, job: Any) -> str | None:
        """Why a claimed job cannot run at all (it then fails with this message)."""
        return None

    def chunk_prepare(self, job: Any, chunk: Any) -> Any:
        """Heavy work that needs no database, done before the chunk's transaction opens (so
        no row stays locked meanwhile, and progress written here is seen at once). What it
        returns is handed to chunk_process."""
        return None

    def chunk_process(
        self, job: Any, chunk: Any, *, now: datetime, prepared: Any = None
    ) -> ChunkOutcome:
        """Do one chunk inside its transaction: write its output, return the counts."""
        raise NotImplementedError

    def end_fields(self, job: Any) -> dict[str, Any]:
        """More columns to write when the job succeeds or fails (e.g. collected row errors)."""
        return {}

    def on_ended(self, job: Any) -> None:
        """Called in the transaction that ended the job (succeeded, failed or cancelled)."""

    # For kinds made from an upload (jobs.uploads.job_submit):
    def upload_keep(self, job: Any, path: Path) -> None:
        """Move the stored upload into the job's own storage (before the job is saved)."""
        raise NotImplementedError

    def files_delete(self, job_id: Any) -> None:
        """Remove everything stored for the job (its upload, its results)."""


KINDS: dict[str, JobKind] = {}


def kind_register(kind: JobKind) -> JobKind:
    KINDS[kind.name] = kind
    return kind


def kind_get(name: str) -> JobKind:
    return KINDS[name]
