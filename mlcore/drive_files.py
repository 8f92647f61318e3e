"""A bundled drive written as a device would write it: CSV (drivedb's own layout) and EDF
(pyedflib). For the hold-out check (a drive the model never saw, uploaded as a user would),
benchmarks and tests; the tests' other formats are in mlcore/tests/recording_files.py."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mlcore import drivedb
from mlcore.recordings.dataset import CSV_COLUMNS

HEADER = "Elapsed time(s),ECG(mV),EMG(mV),foot GSR(mV),hand GSR(mV),HR(bpm),marker(mV),RESP(mV)"


def drive_slice(drive: drivedb.Drive, start_s: float, seconds: float) -> np.ndarray:
    """Rows of the raw CSV (time column included) from start_s, time restarted at 0."""
    time_s = drive.signals[:, drivedb.COL_TIME]
    i, j = np.searchsorted(time_s, [start_s, start_s + seconds])
    rows = drive.signals[i:j].copy()
    rows[:, 0] = np.round(np.arange(rows.shape[0]) / drivedb.FRAME_HZ, 3)
    return rows


def write_csv(path: Path, rows: np.ndarray, header: str = HEADER) -> Path:
    # Time to the millisecond (as drivedb's CSV), values to 6 significant digits.
    fmt = ["%.3f"] + ["%.6g"] * (rows.shape[1] - 1)
    np.savetxt(path, rows, delimiter=",", header=header, comments="", fmt=fmt)
    return path


def write_edf(path: Path, rows: np.ndarray) -> Path:
    from pyedflib import highlevel

    signals, headers = [], []
    for i, (name, unit) in enumerate(CSV_COLUMNS):
        column = rows[:, 1 + i]
        low, high = float(column.min()), float(column.max())
        pad = max(1.0, (high - low) * 0.1)
        header = highlevel.make_signal_header(
            name,
            dimension=unit,
            sample_frequency=drivedb.FRAME_HZ,
            physical_min=round(low - pad, 3),
            physical_max=round(high + pad, 3),
        )
        headers.append(header)
        signals.append(np.ascontiguousarray(column))
    highlevel.write_edf(str(path), signals, headers)
    return path
