"""The upload lifecycle, written once for every kind made from a file: store the upload piece
by piece (hashed on the way, never whole in memory), answer a repeated Idempotency-Key, let
the kind validate it and describe the job, keep the file, save the job and its chunks, and
queue it once that is committed. A rejected upload leaves nothing behind."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from django.db import IntegrityError, transaction

from jobs import engine
from jobs.errors import UploadTooLarge
from jobs.kinds import JobKind


@dataclass
class StoredUpload:
    path: Path
    sha256: str
    size: int


def upload_store(chunks: Iterable[bytes], *, max_bytes: int, root: Path) -> StoredUpload:
    """Write an upload under `root`/incoming piece by piece, hashing as it goes; nothing is
    left behind when it is too large or the client goes away."""
    incoming = Path(root) / "incoming"
    incoming.mkdir(parents=True, exist_ok=True)
    path = incoming / uuid.uuid4().hex
    digest, size = hashlib.sha256(), 0
    try:
        with open(path, "wb") as handle:
            for piece in chunks:
                size += len(piece)
                if size > max_bytes:
                    raise UploadTooLarge(f"The file is larger than {max_bytes:,} bytes.")
                digest.update(piece)
                handle.write(piece)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return StoredUpload(path, digest.hexdigest(), size)


def stream_chunks(stream: IO[bytes], block: int = 1 << 16) -> Iterable[bytes]:
    while piece := stream.read(block):
        yield piece


@dataclass
class JobPlan:
    """What a kind makes of a valid upload: the job (not saved yet) and its chunks."""

    job: Any
    chunks: Sequence[Any]


def job_submit(
    kind: JobKind,
    *,
    user: Any,
    upload: StoredUpload,
    idempotency_key: str,
    plan: Callable[[StoredUpload], JobPlan],
) -> tuple[Any, bool]:
    """Create the job for a stored upload and queue it on commit. Returns (job, created).

    An Idempotency-Key seen before returns the earlier job (same file) or raises
    IdempotencyConflict (another file), also when the same key races in from a parallel
    request. `plan` validates the upload (raising the kind's own errors) and describes the
    job; on any error the upload is removed and nothing is written."""
    kept = False
    try:
        if idempotency_key:
            existing = engine.job_for_idempotency_key(
                kind.job_model, user=user, key=idempotency_key, sha256=upload.sha256
            )
            if existing is not None:
                return existing, False
        planned = plan(upload)
        job = planned.job
        kind.upload_keep(job, upload.path)
        kept = True
        try:
            with transaction.atomic():
                job.save(force_insert=True)
                kind.chunk_model.objects.bulk_create(planned.chunks)
                engine.job_enqueue_on_commit(kind, job.pk)
        except IntegrityError:
            kind.files_delete(job.pk)
            if not idempotency_key:
                raise
            # The same key raced in from a parallel request: answer as for a retry.
            existing = engine.job_for_idempotency_key(
                kind.job_model, user=user, key=idempotency_key, sha256=upload.sha256
            )
            if existing is None:
                raise
            return existing, False
        return job, True
    finally:
        if not kept:
            upload.path.unlink(missing_ok=True)
