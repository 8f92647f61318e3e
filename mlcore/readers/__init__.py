"""Read a recording from a file, whatever its format.

    read_recording(path, filename=None, max_duration_s=24 * 3600) -> Recording

Formats, detected from the content (and the name where the content is ambiguous); each
device's own format has a module of its own here (DEVICE_READERS):
- EDF / EDF+ / BDF (pyedflib): one signal per channel, each at its own rate.
- WFDB (wfdb): a `.hea` header with its `.dat` beside it, or a zip holding both.
- Empatica E4 export: a zip of per-channel CSVs (first row the start time in unix seconds,
  second row the rate, then one sample per row).
- Garmin FIT (fit_reader, garmin-fit-sdk), Apple Health export.xml or its zip
  (apple_health_reader, streamed), Polar Sensor Logger text files or their zip (polar_reader),
  RR-interval files (rr_reader), Empatica EmbracePlus Avro files or their zip
  (embraceplus_reader, fastavro), OpenSignals .txt and .h5 (opensignals_reader, h5py).
- Generic CSV: a header row, a time column (seconds, milliseconds by name, or ISO timestamps)
  and one column per channel; the rate comes from the time column, which must be regular.

Limits are arguments, not settings: mlcore knows nothing of Django. A file that cannot be
scored raises `RecordingError` with a code and a message naming the problem.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from mlcore.readers import (
    apple_health_reader,
    embraceplus_reader,
    fit_reader,
    opensignals_reader,
    polar_reader,
    rr_reader,
)
from mlcore.readers.csv_reader import read_csv
from mlcore.readers.edf_reader import read_edf
from mlcore.readers.zip_reader import read_wfdb_header, read_zip
from mlcore.recordings.recording import DEFAULT_MAX_DURATION_S, Recording, RecordingError

__all__ = ["DEFAULT_MAX_UNCOMPRESSED_BYTES", "FORMATS_WE_READ", "detect_format", "read_recording"]

DEFAULT_MAX_UNCOMPRESSED_BYTES = 200 * 1024 * 1024
EDF_MAGIC = b"0       "
BDF_MAGIC = b"\xffBIOSEMI"
HEAD_BYTES = 4096

# A device's own file, recognised by its content (and its name where the content is not
# enough), tried in this order before the generic CSV. Each module has FORMAT, sniff(head,
# name) and read(path, max_duration_s=...).
DEVICE_READERS = (
    fit_reader,
    opensignals_reader,
    embraceplus_reader,
    apple_health_reader,
    polar_reader,
    rr_reader,
)
FORMATS_WE_READ = (
    "EDF/BDF, WFDB (.hea + .dat, or a zip of them), Garmin FIT, Apple Health export (XML or "
    "its zip), Polar Sensor Logger text, Empatica E4 and EmbracePlus exports, OpenSignals "
    "(PLUX, BITalino) .txt and .h5, RR-interval files, or a CSV with a time column"
)


def unsupported() -> RecordingError:
    return RecordingError("unsupported_format", f"This is not a format we read: {FORMATS_WE_READ}.")


def detect_format(path: Path, filename: str | None = None) -> str:
    """'edf', 'bdf', 'zip', 'wfdb', a device reader's FORMAT, or 'csv'; raises RecordingError
    for an empty or unknown file."""
    name = (filename or path.name).lower()
    size = path.stat().st_size
    if size == 0:
        raise RecordingError("empty", "The file is empty.")
    with open(path, "rb") as handle:
        head = handle.read(HEAD_BYTES)
    if head.startswith(BDF_MAGIC):
        return "bdf"
    if head.startswith(EDF_MAGIC) or name.endswith((".edf", ".rec")):
        return "edf"
    for reader in DEVICE_READERS:
        if reader.sniff(head, name):
            return reader.FORMAT
    if zipfile.is_zipfile(path):
        return "zip"
    if name.endswith(".hea"):
        return "wfdb"
    if name.endswith(".bdf"):
        return "bdf"
    if b"\x00" in head[:512]:
        raise unsupported()
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
        raise RecordingError("empty", "There is no file to read.")
    kind = detect_format(path, filename)
    if kind in ("edf", "bdf"):
        return read_edf(path, kind, max_duration_s=max_duration_s)
    if kind == "zip":
        return read_zip(
            path, max_duration_s=max_duration_s, max_uncompressed_bytes=max_uncompressed_bytes
        )
    if kind == "wfdb":
        return read_wfdb_header(path, max_duration_s=max_duration_s)
    for reader in DEVICE_READERS:
        if kind == reader.FORMAT:
            return reader.read(path, max_duration_s=max_duration_s)
    return read_csv(path, max_duration_s=max_duration_s)
