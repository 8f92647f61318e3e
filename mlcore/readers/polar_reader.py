"""Placeholder while the reader is written: sniff() says no, so nothing reaches read()."""

from __future__ import annotations

from pathlib import Path

from mlcore.recordings.recording import Recording, RecordingError

FORMAT = "polar"


def sniff(head: bytes, name: str) -> bool:
    return False


def read(path: Path, *, max_duration_s: float) -> Recording:
    raise RecordingError("unsupported_format", "This format is not read yet.")


def zip_members(names: list[str]) -> list[str] | None:
    return None


def read_folder(folder: Path, *, max_duration_s: float) -> Recording:
    raise RecordingError("unsupported_format", "This format is not read yet.")
