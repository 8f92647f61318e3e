"""Every refusal a reader or the recording check makes: its stable code, for the file that
causes it, and a message in plain words (no server path, no library's name, no exception
text). Files are made here from drivedb's drive06 (mlcore.tests.recording_files) or by hand."""

import zipfile

import numpy as np
import pytest

from mlcore import drivedb
from mlcore.readers import read_recording
from mlcore.recordings.recording import RecordingError
from mlcore.tests.recording_files import drive_slice, write_csv, write_edf

# Libraries, not formats: "WFDB" and "Garmin FIT" name what a person uploads, so they may appear.
LIBRARY_WORDS = (
    "pandas", "numpy", "pyedflib", "wfdb.", "neurokit", "scipy", "zipfile", "h5py", "fastavro",
    "garmin_fit", "fit_sdk", "Traceback", "Errno", "Error:", "exception", "format='",
)  # fmt: skip


def _bytes(path, content: bytes):
    path.write_bytes(content)
    return path


def _csv(path, header, *columns):
    write_csv(path, np.column_stack(columns), header=header)
    return path


def _edf_cut(tmp_path):
    whole = write_edf(tmp_path / "whole.edf", drive_slice(drivedb.load_drive("drive06"), 0, 300))
    cut = tmp_path / "cut.edf"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    return cut


def _zip_bomb(tmp_path):
    path = tmp_path / "big.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("EDA.csv", "0" * 3_000_000)
    return path


t10 = np.arange(0, 600, 0.1)  # 10 Hz for 10 minutes
MAKERS = {
    "empty": lambda p: _bytes(p / "empty.csv", b""),
    "truncated": _edf_cut,
    "unsupported_format": lambda p: _bytes(p / "x.bin", b"\x00\x01garbage" * 100),
    "no_usable_channel": lambda p: _csv(p / "a.csv", "time,lux", t10, np.sin(t10)),
    "irregular_time": lambda p: _csv(
        p / "a.csv", "time,HR", np.concatenate([t10[:3000], t10[3000:] + 30]), 70 + np.sin(t10)
    ),
    "rate_too_low": lambda p: _csv(
        p / "a.csv", "time,EDA", np.arange(0, 600, 1.0), 5 + np.sin(np.arange(600) / 9)
    ),
    "nan_run": lambda p: _csv(
        p / "a.csv", "time,HR", t10, np.where((t10 > 100) & (t10 < 130), np.nan, 70 + np.sin(t10))
    ),
    "flat_signal": lambda p: _csv(p / "a.csv", "time,HR", t10, np.full(t10.shape, 70.0)),
    "too_short": lambda p: _csv(
        p / "a.csv", "time,HR", np.arange(0, 30, 0.1), 70 + np.sin(np.arange(300))
    ),
    "too_long": lambda p: _csv(
        p / "a.csv", "time,HR", np.arange(0, 25 * 3600, 1.0), 70 + np.sin(np.arange(90000) / 50)
    ),
    "too_large": _zip_bomb,
    "bad_value": lambda p: _csv(
        p / "a.csv", "time,HR", t10, np.where(t10 == 50, np.inf, 70.0 + t10 % 3)
    ),
    "implausible_channel": lambda p: _csv(
        p / "a.csv", "time,HR", t10, 500 + 60 * np.sin(2 * np.pi * 1.2 * t10)
    ),
    "looks_like_milliseconds": lambda p: _csv(
        p / "a.csv", "time,HR", np.arange(0, 600_000, 4), 70 + np.sin(np.arange(150_000) / 500)
    ),
}


def test_every_code_has_a_file_that_causes_it():
    assert set(MAKERS) == set(RecordingError.CODES)


@pytest.mark.parametrize("code", sorted(MAKERS))
def test_each_refusal_has_its_code_and_plain_words(code, tmp_path):
    path = MAKERS[code](tmp_path)
    with pytest.raises(RecordingError) as caught:
        read_recording(path, path.name, max_uncompressed_bytes=1_000_000)
    error = caught.value
    assert error.code == code, error.message
    assert error.message[0].isupper() and error.message.rstrip(")").endswith(".")
    assert str(tmp_path) not in error.message and "/" + "tmp" not in error.message
    assert not [word for word in LIBRARY_WORDS if word.lower() in error.message.lower()]
