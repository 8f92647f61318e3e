"""Zip archives (a WFDB record, a device's export) and WFDB records on disk.

A zip is checked before anything is extracted: its declared uncompressed size must stay under
the limit, and each member is copied with a running byte count, so an archive that lies about
its sizes (a zip bomb) is stopped as soon as it passes the limit.
"""

from __future__ import annotations

import tempfile
import warnings
import zipfile
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

import numpy as np

from mlcore.readers import apple_health_reader, embraceplus_reader, polar_reader
from mlcore.recordings.recording import Recording, RecordingError, build_recording

# Exports that come as a zip of their own files (each module: zip_members, read_folder).
ZIPPED_READERS = (apple_health_reader, embraceplus_reader, polar_reader)

E4_CHANNELS = {"EDA.csv": ("EDA", "uS"), "HR.csv": ("HR", "bpm")}
E4_IGNORED = ("BVP.csv", "TEMP.csv", "ACC.csv", "IBI.csv", "tags.csv")
COPY_BLOCK = 1 << 20
DAMAGED_ZIP = "The zip archive is damaged or cut short: make it again and upload the whole file."


def _too_big(limit: int) -> RecordingError:
    return RecordingError(
        "too_large", f"The archive unpacks to more than {limit / 1e6:.0f} MB, the limit."
    )


def _extract(archive: zipfile.ZipFile, members: list[zipfile.ZipInfo], folder: Path, limit: int):
    """Only the members a format reads count toward the limit (an Apple Health export also
    holds ECG and route folders we never open): their declared sizes first, then the bytes
    actually copied, for an archive that lies about them."""
    if sum(i.file_size for i in members) > limit:
        raise _too_big(limit)
    total = 0
    for info in members:
        target = folder / PurePosixPath(info.filename).name  # flat: no path from the archive
        with archive.open(info) as source, open(target, "wb") as sink:
            while block := source.read(COPY_BLOCK):
                total += len(block)
                if total > limit:
                    raise _too_big(limit)
                sink.write(block)


def read_zip(path: Path, *, max_duration_s: float, max_uncompressed_bytes: int) -> Recording:
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile as error:
        raise RecordingError("truncated", DAMAGED_ZIP) from error
    with archive, tempfile.TemporaryDirectory(prefix="recording-") as tmp:
        members = [i for i in archive.infolist() if not i.is_dir()]
        if not members:
            raise RecordingError("empty", "The zip archive is empty.")
        names = {PurePosixPath(i.filename).name: i for i in members}
        folder = Path(tmp)
        try:
            if any(n.lower().endswith(".hea") for n in names):
                _extract(archive, members, folder, max_uncompressed_bytes)
                header = next(folder / n for n in names if n.lower().endswith(".hea"))
                recording = read_wfdb_header(header, max_duration_s=max_duration_s)
                recording.format = "wfdb-zip"
                return recording
            if any(n in E4_CHANNELS for n in names):
                wanted = [names[n] for n in names if n in E4_CHANNELS]
                _extract(archive, wanted, folder, max_uncompressed_bytes)
                return read_e4_folder(folder, names, max_duration_s=max_duration_s)
            for reader in ZIPPED_READERS:
                chosen = reader.zip_members(sorted(names))
                if chosen:
                    _extract(archive, [names[n] for n in chosen], folder, max_uncompressed_bytes)
                    return reader.read_folder(folder, max_duration_s=max_duration_s)
        except (zipfile.BadZipFile, EOFError) as error:
            raise RecordingError("truncated", DAMAGED_ZIP) from error
        except (RuntimeError, NotImplementedError) as error:  # encrypted, unknown compression
            raise RecordingError(
                "unsupported_format",
                "The zip archive cannot be opened: it is encrypted or compressed in a way we "
                "do not read. Zip the files again without a password.",
            ) from error
    raise RecordingError(
        "unsupported_format",
        "The zip holds none of the exports we read (a WFDB record, an Empatica E4 or "
        "EmbracePlus export, an Apple Health export, Polar Sensor Logger files). It holds: "
        f"{', '.join(sorted(names)[:20])}.",
    )


def read_e4_folder(folder: Path, names, *, max_duration_s: float) -> Recording:
    starts: dict[str, float] = {}
    loaded = []
    for file_name, (channel, unit) in E4_CHANNELS.items():
        if file_name not in names:
            continue
        try:
            raw = np.loadtxt(folder / file_name, delimiter=",", ndmin=1, dtype=np.float64)
        except ValueError as error:
            raise RecordingError(
                "unsupported_format",
                f"{file_name} is not an E4 channel file: it should hold the start time, the "
                "rate, then one number per row.",
            ) from error
        if raw.shape[0] < 3:
            raise RecordingError(
                "truncated", f"{file_name} holds no samples after its start time and rate."
            )
        starts[channel] = float(raw[0])
        loaded.append((channel, unit, float(raw[1]), raw[2:]))
    first = min(starts.values())
    # E4 channels start at different times (HR.csv 10 s after EDA.csv): keep each offset.
    named = [(ch, unit, rate, samples, starts[ch] - first) for ch, unit, rate, samples in loaded]
    ignored = sorted(n for n in names if n not in E4_CHANNELS and n.endswith(".csv"))
    recording = build_recording(
        named,
        start_time=datetime.fromtimestamp(first, tz=UTC),
        format="e4-zip",
        max_duration_s=max_duration_s,
    )
    recording.ignored.extend(n.removesuffix(".csv") for n in ignored)
    return recording


def read_wfdb_header(header: Path, *, max_duration_s: float) -> Recording:
    with warnings.catch_warnings():
        # wfdb 4.3 uses pandas idioms that pandas 3 deprecates; nothing for us to act on.
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.filterwarnings("ignore", message=".*inplace.*")
        return _read_wfdb(header, max_duration_s=max_duration_s)


def _read_wfdb(header: Path, *, max_duration_s: float) -> Recording:
    import wfdb

    record_name = str(header.with_suffix(""))
    try:
        meta = wfdb.rdheader(record_name)
        if meta.sig_len and meta.fs and meta.sig_len / meta.fs > max_duration_s:
            raise RecordingError(
                "too_long",
                f"The recording lasts {meta.sig_len / meta.fs / 3600:.1f} h; at most "
                f"{max_duration_s / 3600:g} h can be scored.",
            )
        # smooth_frames=False keeps each signal at its own rate (drivedb: ECG at 496 Hz).
        record = wfdb.rdrecord(record_name, smooth_frames=False)
    except RecordingError:
        raise
    except FileNotFoundError as error:
        raise RecordingError(
            "truncated", "The WFDB record's data file (.dat) is missing: upload both files."
        ) from error
    except (ValueError, IndexError, OSError, TypeError) as error:
        raise RecordingError(
            "truncated", "The WFDB record's data file ends before its header says it should."
        ) from error
    signals = record.e_p_signal
    if signals is None or meta.sig_len is None:
        raise RecordingError("empty", "The WFDB record holds no signals.")
    named = []
    for i, name in enumerate(record.sig_name):
        samples = np.asarray(signals[i], dtype=np.float64)
        expected = meta.sig_len * record.samps_per_frame[i]
        if samples.shape[0] < expected:
            raise RecordingError(
                "truncated",
                f"The WFDB data file holds {samples.shape[0]} samples of {name}; the header "
                f"promises {expected}. Upload the whole .dat file.",
            )
        rate = float(record.fs) * record.samps_per_frame[i]
        named.append((name, record.units[i] or "", rate, samples))
    start = record.base_datetime if record.base_date is not None else None
    return build_recording(named, start_time=start, format="wfdb", max_duration_s=max_duration_s)
