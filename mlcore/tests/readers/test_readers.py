import zipfile
from datetime import UTC, datetime

import numpy as np
import pytest

from mlcore.readers import read_recording
from mlcore.recordings.recording import RecordingError
from mlcore.tests.recording_files import (
    drive_slice,
    write_csv,
    write_e4_zip,
    write_edf,
    write_wfdb,
    zip_files,
)

FIVE_ROLES = {"hr", "ecg", "gsr", "resp", "emg"}


@pytest.fixture(scope="module")
def rows(drive06):
    return drive_slice(drive06, 120.0, 300.0)  # 5 minutes of drive06


def assert_drive_channels(recording, rows, *, atol):
    assert recording.roles == FIVE_ROLES
    assert recording.channel("gsr").name == "hand GSR"  # preferred over foot GSR
    assert {"foot GSR", "marker"} <= set(recording.ignored)
    for role, column in (("hr", 5), ("gsr", 4), ("resp", 7), ("emg", 2), ("ecg", 1)):
        channel = recording.channel(role)
        assert channel.rate_hz == pytest.approx(15.5, rel=1e-3)
        np.testing.assert_allclose(channel.samples, rows[:, column], atol=atol)
    assert recording.duration_s == pytest.approx(300.0, abs=0.2)


def test_it_reads_the_drivedb_csv(tmp_path, rows):
    recording = read_recording(write_csv(tmp_path / "drive06.csv", rows))
    assert recording.format == "csv"
    assert recording.channel("hr").unit == "bpm"
    assert_drive_channels(recording, rows, atol=1e-5)


def test_it_reads_iso_timestamps_and_keeps_the_start(tmp_path, rows):
    start = datetime(2026, 11, 27, 8, 30, tzinfo=UTC)
    stamps = [(start.timestamp() + t) for t in np.arange(rows.shape[0]) / 15.5]
    lines = ["timestamp,HR,EDA"] + [
        f"{datetime.fromtimestamp(s, UTC).isoformat(timespec='milliseconds')},{r[5]},{r[4]}"
        for s, r in zip(stamps, rows, strict=True)
    ]
    path = tmp_path / "iso.csv"
    path.write_text("\n".join(lines) + "\n")
    recording = read_recording(path)
    assert recording.start_time == start
    assert recording.roles == {"hr", "gsr"}
    assert recording.channel("hr").rate_hz == pytest.approx(15.5, rel=1e-3)


def test_it_reads_an_edf_written_from_the_csv(tmp_path, rows):
    recording = read_recording(write_edf(tmp_path / "drive06.edf", rows))
    assert recording.format == "edf"
    # EDF stores 16-bit integers: values come back within one quantisation step.
    assert_drive_channels(recording, rows, atol=0.02)


def test_it_reads_a_wfdb_record_and_a_zip_of_it(tmp_path, rows):
    header = write_wfdb(tmp_path / "wfdb", rows)
    recording = read_recording(header)
    assert recording.format == "wfdb"
    assert_drive_channels(recording, rows, atol=0.01)
    archive = zip_files(tmp_path / "record.zip", [header, header.with_suffix(".dat")])
    zipped = read_recording(archive, filename="record.zip")
    assert zipped.format == "wfdb-zip"
    assert_drive_channels(zipped, rows, atol=0.01)


def test_it_reads_an_e4_export(tmp_path, rows):
    recording = read_recording(write_e4_zip(tmp_path / "e4.zip", rows))
    assert recording.format == "e4-zip"
    assert recording.roles == {"gsr", "hr"}
    assert recording.channel("gsr").rate_hz == 4.0
    assert recording.channel("gsr").unit == "uS"
    assert recording.channel("hr").offset_s == pytest.approx(10.0)
    assert {"BVP", "TEMP"} <= set(recording.ignored)
    assert recording.start_time == datetime.fromtimestamp(1_700_000_000, UTC)


def expect(code, path, **kwargs):
    with pytest.raises(RecordingError) as caught:
        read_recording(path, **kwargs)
    assert caught.value.code == code, caught.value
    assert caught.value.message
    return caught.value


def test_it_refuses_an_empty_file(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    expect("empty", path)


def test_it_refuses_a_truncated_edf(tmp_path, rows):
    path = write_edf(tmp_path / "whole.edf", rows)
    cut = tmp_path / "cut.edf"
    cut.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    error = expect("truncated", cut)
    assert "ends before its header says it should" in error.message


def test_it_refuses_a_truncated_wfdb_record(tmp_path, rows):
    header = write_wfdb(tmp_path / "wfdb", rows)
    data = header.with_suffix(".dat")
    data.write_bytes(data.read_bytes()[:1000])
    expect("truncated", header)


def test_it_refuses_a_csv_with_an_irregular_time_column(tmp_path, rows):
    gapped = rows.copy()
    gapped[2000:, 0] += 12.0  # 12 s missing in the middle
    error = expect("irregular_time", write_csv(tmp_path / "gap.csv", gapped))
    assert "not regular" in error.message


def test_it_refuses_only_unknown_channels(tmp_path, rows):
    path = write_csv(tmp_path / "unknown.csv", rows[:, :3], header="time,foo,bar")
    error = expect("no_usable_channel", path)
    assert "foo" in error.message


def test_it_refuses_more_than_24_hours(tmp_path):
    seconds = np.arange(0, 24 * 3600 + 600, 1.0)
    hr = 70 + 5 * np.sin(seconds / 100.0)
    path = write_csv(tmp_path / "long.csv", np.column_stack([seconds, hr]), header="time,HR")
    expect("too_long", path)
    expect("too_long", path, max_duration_s=3600.0)


def test_it_refuses_a_long_run_of_missing_samples(tmp_path, rows):
    path = tmp_path / "nan.csv"
    write_csv(path, rows)
    lines = path.read_text().splitlines()
    for i in range(1000, 1300):  # ~19 s without hand GSR
        cells = lines[i].split(",")
        cells[4] = ""
        lines[i] = ",".join(cells)
    path.write_text("\n".join(lines) + "\n")
    error = expect("nan_run", path)
    assert "hand GSR" in error.message


def test_it_refuses_a_flat_signal(tmp_path, rows):
    flat = rows.copy()
    flat[:, 4] = 5.0
    expect("flat_signal", write_csv(tmp_path / "flat.csv", flat))


def test_it_refuses_a_rate_too_low_for_a_role(tmp_path, rows):
    slow = rows[::31].copy()  # every 2 s: 0.5 Hz
    expect("rate_too_low", write_csv(tmp_path / "slow.csv", slow))


def test_it_refuses_a_zip_that_unpacks_past_the_limit(tmp_path):
    big = tmp_path / "EDA.csv"  # a member an E4 export is read from
    big.write_bytes(b"0" * 5_000_000)
    archive = zip_files(tmp_path / "bomb.zip", [big])
    expect("too_large", archive, max_uncompressed_bytes=1_000_000)


def test_members_a_format_does_not_read_do_not_count_toward_the_limit(tmp_path, rows):
    """An export with a large folder we never open (an Apple Health zip's ECG folder)."""
    extra = tmp_path / "route.gpx"
    extra.write_bytes(b"0" * 5_000_000)
    e4 = write_e4_zip(tmp_path / "e4.zip", rows)
    with zipfile.ZipFile(e4, "a") as archive:
        archive.write(extra, "workout-routes/route.gpx")
    recording = read_recording(e4, max_uncompressed_bytes=1_000_000)
    assert recording.format == "e4-zip"


def test_it_refuses_a_zip_of_something_else(tmp_path):
    other = tmp_path / "notes.txt"
    other.write_text("hello")
    expect("unsupported_format", zip_files(tmp_path / "other.zip", [other]))


def test_it_refuses_binary_junk(tmp_path):
    path = tmp_path / "junk.bin"
    path.write_bytes(bytes(range(256)) * 4)
    expect("unsupported_format", path)


def test_it_reads_a_semicolon_separated_csv(tmp_path, rows):
    path = tmp_path / "semicolon.csv"
    write_csv(path, rows)
    path.write_text(path.read_text().replace(",", ";"))
    recording = read_recording(path)
    assert recording.roles == FIVE_ROLES
