"""Where job files live (BATCH_DIR/<job id>/) and how uploads get there: piece by piece,
hashed on the way, never whole in memory."""

from __future__ import annotations

import hashlib
import shutil
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from django.conf import settings

from predictions.batch.errors import UploadTooLarge


def job_dir(job_id: uuid.UUID | str) -> Path:
    return Path(settings.BATCH_DIR) / str(job_id)


def input_path(job_id: uuid.UUID | str, input_format: str) -> Path:
    return job_dir(job_id) / f"input.{input_format}"


def part_path(job_id: uuid.UUID | str, index: int) -> Path:
    return job_dir(job_id) / "parts" / f"{index:06d}.csv"


def job_files_delete(job_id: uuid.UUID | str) -> None:
    shutil.rmtree(job_dir(job_id), ignore_errors=True)


@dataclass
class StoredUpload:
    path: Path
    sha256: str
    size: int


def upload_store(
    chunks: Iterable[bytes], *, max_bytes: int, root: Path | None = None
) -> StoredUpload:
    """Write an upload to storage piece by piece, hashing as it goes; nothing is left behind
    when it is too large or the client goes away. `root` is the kind of job's folder
    (BATCH_DIR by default)."""
    incoming = Path(root or settings.BATCH_DIR) / "incoming"
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
