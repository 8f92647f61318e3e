"""EDF, EDF+ and BDF files through pyedflib."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mlcore.recordings.recording import Recording, RecordingError, build_recording, select_channels


def read_edf(path: Path, kind: str, *, max_duration_s: float) -> Recording:
    import pyedflib

    try:
        reader = pyedflib.EdfReader(str(path))
    except OSError as error:
        text = str(error).lower()
        code = "truncated" if ("size" in text or "contain" in text) else "unsupported_format"
        raise RecordingError(
            code,
            f"This {kind.upper()} file ends before its header says it should: upload the whole "
            "file."
            if code == "truncated"
            else f"This file is not an {kind.upper()} file we can read: its header is damaged "
            "or of another kind.",
        ) from error
    try:
        duration = float(reader.getFileDuration())
        if duration > max_duration_s:
            raise RecordingError(
                "too_long",
                f"The recording lasts {duration / 3600:.1f} h; at most "
                f"{max_duration_s / 3600:g} h can be scored.",
            )
        labels = [reader.getLabel(i).strip() for i in range(reader.signals_in_file)]
        # Only the channels we use are read (memory: a 24 h file has many we do not).
        chosen, ignored = select_channels(labels)
        named = []
        for i in sorted(chosen.values()):
            rate = float(reader.getSampleFrequency(i))
            unit = reader.getPhysicalDimension(i).strip()
            samples = np.asarray(reader.readSignal(i), dtype=np.float64)
            named.append((labels[i], unit, rate, samples))
        start = reader.getStartdatetime()
    finally:
        reader.close()
    return build_recording(
        named, start_time=start, format=kind, max_duration_s=max_duration_s, ignored=ignored
    )
