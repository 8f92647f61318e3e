"""Test files in the formats the readers take beyond CSV and EDF (mlcore.drive_files): WFDB
(wfdb.wrsamp, the format's own writer), zips, and an Empatica E4 export, written from bundled
drives."""

from __future__ import annotations

import warnings
import zipfile
from pathlib import Path

import numpy as np

from mlcore import drivedb
from mlcore.drive_files import HEADER, drive_slice, write_csv, write_edf
from mlcore.recordings.dataset import CSV_COLUMNS

__all__ = [
    "HEADER",
    "drive_slice",
    "write_csv",
    "write_e4_zip",
    "write_edf",
    "write_wfdb",
    "zip_files",
]


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
