"""Write bundled drives as recording files, in every format the readers take: CSV (drivedb's
own layout), EDF (pyedflib), WFDB (wfdb.wrsamp), zips, and an Empatica E4 export.

For tests, benchmarks and end-to-end checks (a held-out drive uploaded as a user would)."""

from __future__ import annotations

import warnings
import zipfile
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


def write_wfdb(folder: Path, rows: np.ndarray, name: str = "drive") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        # wfdb 4.3 uses pandas idioms that pandas 3 deprecates; nothing for us to act on.
        warnings.filterwarnings("ignore", message=".*inplace.*")
        _wrsamp(folder, rows, name)
    return folder / f"{name}.hea"


def _wrsamp(folder: Path, rows: np.ndarray, name: str) -> None:
    import wfdb

    wfdb.wrsamp(
        name,
        fs=drivedb.FRAME_HZ,
        units=[unit for _, unit in CSV_COLUMNS],
        sig_name=[n for n, _ in CSV_COLUMNS],
        p_signal=rows[:, 1:],
        fmt=["16"] * len(CSV_COLUMNS),
        write_dir=str(folder),
    )


def zip_files(path: Path, files: list[Path]) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for file in files:
            archive.write(file, arcname=file.name)
    return path


def write_e4_zip(path: Path, rows: np.ndarray, start_unix: float = 1_700_000_000.0) -> Path:
    """An Empatica E4 export: EDA at 4 Hz (drivedb's hand GSR), HR at 1 Hz starting 10 s
    later (as the E4 does), and a BVP and TEMP file we ignore."""
    t = rows[:, 0]
    duration = t[-1]

    def channel(rate: float, column: int, offset: float = 0.0) -> np.ndarray:
        grid = np.arange(offset, duration, 1.0 / rate)
        return np.interp(grid, t, rows[:, column])

    files = {
        "EDA.csv": (start_unix, 4.0, channel(4.0, 1 + 3)),
        "HR.csv": (start_unix + 10.0, 1.0, channel(1.0, 1 + 4, 10.0)),
        "TEMP.csv": (start_unix, 4.0, np.full(int(duration * 4), 33.0)),
        "BVP.csv": (start_unix, 64.0, np.sin(np.arange(int(duration * 64)) / 9.0)),
    }
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, (start, rate, samples) in files.items():
            lines = [f"{start:.6f}", f"{rate:.6f}", *(f"{v:.6f}" for v in samples)]
            archive.writestr(name, "\n".join(lines) + "\n")
    return path
