"""Read a recording from a file, whatever its format.

    read_recording(path, filename=None, max_duration_s=24 * 3600) -> Recording

Formats, detected from the content (and the name where the content is ambiguous):
- EDF / EDF+ / BDF (pyedflib): one signal per channel, each at its own rate.
- WFDB (wfdb): a `.hea` header with its `.dat` beside it, or a zip holding both.
- Empatica E4 export: a zip of per-channel CSVs (first row the start time in unix seconds,
  second row the rate, then one sample per row).
- Generic CSV: a header row, a time column (seconds, or ISO timestamps) and one column per
  channel; the rate comes from the time column, which must be regular.

Limits are arguments, not settings: mlcore knows nothing of Django. A file that cannot be
scored raises `RecordingError` with a code and a message naming the problem.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from mlcore.readers.csv_reader import read_csv
from mlcore.readers.edf_reader import read_edf
from mlcore.readers.zip_reader import read_wfdb_header, read_zip
from mlcore.recordings.recording import DEFAULT_MAX_DURATION_S, Recording, RecordingError

__all__ = ["DEFAULT_MAX_UNCOMPRESSED_BYTES", "detect_format", "read_recording"]

DEFAULT_MAX_UNCOMPRESSED_BYTES = 200 * 1024 * 1024
EDF_MAGIC = b"0       "
BDF_MAGIC = b"\xffBIOSEMI"


def detect_format(path: Path, filename: str | None = None) -> str:
    """'edf', 'bdf', 'zip', 'wfdb' or 'csv'; raises RecordingError for empty or unknown."""
    name = (filename or path.name).lower()
    size = path.stat().st_size
    if size == 0:
        raise RecordingError("empty", "The file is empty.")
    with open(path, "rb") as handle:
        head = handle.read(512)
    if head.startswith(BDF_MAGIC):
        return "bdf"
    if head.startswith(EDF_MAGIC) or name.endswith((".edf", ".rec")):
        return "edf"
    if zipfile.is_zipfile(path):
        return "zip"
    if name.endswith(".hea"):
        return "wfdb"
    if name.endswith(".bdf"):
        return "bdf"
    if b"\x00" in head:
        raise RecordingError(
            "unsupported_format",
            "This is not a format we read: EDF/BDF, WFDB (.hea + .dat, or a zip of them), "
            "an Empatica E4 zip or a CSV with a time column.",
        )
    return "csv"


def read_recording(
    path: str | Path,
    filename: str | None = None,
    *,
    max_duration_s: float = DEFAULT_MAX_DURATION_S,
    max_uncompressed_bytes: int = DEFAULT_MAX_UNCOMPRESSED_BYTES,
) -> Recording:
    """Read and validate a recording. `filename` is the name the user gave the file (uploads
    are often stored under another name); it only helps detection."""
    path = Path(path)
    if not path.is_file():
        raise RecordingError("empty", f"No file at {path}.")
    kind = detect_format(path, filename)
    if kind in ("edf", "bdf"):
        return read_edf(path, kind, max_duration_s=max_duration_s)
    if kind == "zip":
        return read_zip(
            path, max_duration_s=max_duration_s, max_uncompressed_bytes=max_uncompressed_bytes
        )
    if kind == "wfdb":
        return read_wfdb_header(path, max_duration_s=max_duration_s)
    return read_csv(path, max_duration_s=max_duration_s)
