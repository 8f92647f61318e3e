"""Empatica EmbracePlus raw-data files, written with fastavro (an Avro writer) under the
EmbracePlus schema rebuilt from what Empatica publishes (no .avsc is public: the record
empatica.format.avro.Session with its Version records, as an embedded schema shows; rawData's
streams and field names as Empatica's example code reads them; the types as its user manual
states them, timestamps long µs, values float arrays, the axes int ADC counts), from
drivedb's drive06: EDA at 4 Hz is drive06's hand GSR (its values taken as µS), the 64 Hz BVP
is a pulse at each of drive06's beats (its HR channel integrated to beat times), the
systolic peaks are those pulses' peaks, the 64 Hz accelerometer is a wrist at rest with some
sway in ADC counts (imuParams of a ±8 g, 16-bit sensor), temperature a constant 33 °C."""

from __future__ import annotations

import io
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from mlcore import drivedb
from mlcore.drive_files import drive_slice
from mlcore.readers import detect_format, embraceplus_reader, read_recording
from mlcore.recordings.recording import RecordingError
from mlcore.tests.readers.test_polar_reader import beat_times, check_message

START = datetime(2026, 2, 10, 13, 0, 0, tzinfo=UTC)
BVP_HZ = ACC_HZ = 64.0
EDA_HZ = 4.0
PHYSICAL = (-8, 8)
DIGITAL = (-32768, 32767)
COUNTS_PER_G = (DIGITAL[1] - DIGITAL[0]) / (PHYSICAL[1] - PHYSICAL[0])


def _signal(name: str, items: str) -> dict:
    return {
        "type": "record",
        "name": name,
        "fields": [
            {"name": "timestampStart", "type": "long"},
            {"name": "samplingFrequency", "type": "float"},
            {"name": "values", "type": {"type": "array", "items": items}},
        ],
    }


def _imu(name: str, params: dict | str) -> dict:
    return {
        "type": "record",
        "name": name,
        "fields": [
            {"name": "timestampStart", "type": "long"},
            {"name": "samplingFrequency", "type": "float"},
            {"name": "imuParams", "type": params},
            *({"name": axis, "type": {"type": "array", "items": "int"}} for axis in "xyz"),
        ],
    }


def schema(conversion_factor: bool = False) -> dict:
    """The EmbracePlus Session schema (6.4; with `conversion_factor`, 6.5's imuParams)."""
    params = {
        "type": "record",
        "name": "ImuParams",
        "fields": [
            {"name": "physicalMin", "type": "int"},
            {"name": "physicalMax", "type": "int"},
            {"name": "digitalMin", "type": "int"},
            {"name": "digitalMax", "type": "int"},
            *([{"name": "conversionFactor", "type": "float"}] if conversion_factor else []),
        ],
    }
    version = {
        "type": "record",
        "name": "Version",
        "fields": [{"name": part, "type": "int"} for part in ("major", "minor", "patch")],
    }
    times = {"type": "array", "items": "long"}
    raw = [
        {"name": "accelerometer", "type": _imu("Accelerometer", params)},
        {"name": "gyroscope", "type": _imu("Gyroscope", "ImuParams")},
        {"name": "eda", "type": _signal("Eda", "float")},
        {"name": "temperature", "type": _signal("Temperature", "float")},
        {
            "name": "tags",
            "type": {
                "type": "record",
                "name": "Tags",
                "fields": [{"name": "tagsTimeMicros", "type": times}],
            },
        },
        {"name": "bvp", "type": _signal("Bvp", "float")},
        {
            "name": "systolicPeaks",
            "type": {
                "type": "record",
                "name": "SystolicPeaks",
                "fields": [{"name": "peaksTimeNanos", "type": times}],
            },
        },
        {"name": "steps", "type": _signal("Steps", "int")},
    ]
    enrollment = {
        "type": "record",
        "name": "Enrollment",
        "fields": [
            {"name": key, "type": "string"}
            for key in ("participantID", "siteID", "studyID", "organizationID")
        ],
    }
    return {
        "type": "record",
        "name": "Session",
        "namespace": "empatica.format.avro",
        "doc": "Session file for Empatica devices.",
        "fields": [
            {"name": "schemaVersion", "type": version},
            {"name": "fwVersion", "type": "Version"},
            {"name": "hwVersion", "type": "Version"},
            {"name": "algoVersion", "type": "Version"},
            {"name": "timezone", "type": "int"},
            {"name": "enrollment", "type": enrollment},
            {"name": "deviceSn", "type": "string"},
            {"name": "rawData", "type": {"type": "record", "name": "RawData", "fields": raw}},
        ],
    }


def _stream(start_us: int, rate: float, values) -> dict:
    return {"timestampStart": start_us, "samplingFrequency": rate, "values": list(values)}


def session_record(
    drive: drivedb.Drive,
    start_s: float,
    seconds: float,
    when: datetime,
    *,
    conversion_factor: bool = False,
    seed: int = 0,
) -> dict:
    """One file's record: `seconds` of drive06 from `start_s`, starting at `when`."""
    rows = drive_slice(drive, start_s, seconds)
    t_rows = np.arange(rows.shape[0]) / drivedb.FRAME_HZ
    beats = beat_times(rows[:, drivedb.COL_HR], drivedb.FRAME_HZ)
    start_us = round(when.timestamp() * 1e6)
    eda = np.interp(
        np.arange(int(seconds * EDA_HZ)) / EDA_HZ, t_rows, rows[:, drivedb.COL_HAND_GSR]
    )
    t_bvp = np.arange(int(seconds * BVP_HZ)) / BVP_HZ
    phase = np.interp(t_bvp, beats, np.arange(beats.shape[0]), left=0, right=0) % 1.0
    bvp = 80 * np.exp(-(((phase - 0.25) / 0.1) ** 2)) - 20
    peaks = beats + 0.25 * np.diff(beats, append=beats[-1] + 0.8)
    rng = np.random.default_rng(seed)
    n = t_bvp.shape[0]
    sway = 0.05 * np.sin(2 * np.pi * 0.2 * t_bvp)
    gravity = [0.1 + sway, -0.98 + rng.normal(0, 0.005, n), 0.15 + rng.normal(0, 0.005, n)]
    axes = {
        axis: np.rint(g * COUNTS_PER_G).astype(int).tolist()
        for axis, g in zip("xyz", gravity, strict=True)
    }
    params = {
        "physicalMin": PHYSICAL[0],
        "physicalMax": PHYSICAL[1],
        "digitalMin": DIGITAL[0],
        "digitalMax": DIGITAL[1],
    }
    if conversion_factor:
        params["conversionFactor"] = 1.0 / COUNTS_PER_G
    version = {"major": 6, "minor": 5 if conversion_factor else 4, "patch": 0}
    return {
        "schemaVersion": version,
        "fwVersion": {"major": 2, "minor": 1, "patch": 0},
        "hwVersion": {"major": 1, "minor": 0, "patch": 0},
        "algoVersion": {"major": 1, "minor": 0, "patch": 0},
        "timezone": 3600,
        "enrollment": {
            "participantID": "1-1-01",
            "siteID": "1",
            "studyID": "1",
            "organizationID": "1",
        },
        "deviceSn": "3YK3K1526F",
        "rawData": {
            "accelerometer": {
                "timestampStart": start_us,
                "samplingFrequency": ACC_HZ,
                "imuParams": params,
                **axes,
            },
            "gyroscope": {
                "timestampStart": 0,
                "samplingFrequency": 0.0,
                "imuParams": params,
                "x": [],
                "y": [],
                "z": [],
            },
            "eda": _stream(start_us, EDA_HZ, eda),
            "temperature": _stream(start_us, 1.0, np.full(int(seconds), 33.0)),
            "tags": {"tagsTimeMicros": []},
            "bvp": _stream(start_us, BVP_HZ, bvp),
            "systolicPeaks": {
                "peaksTimeNanos": (start_us * 1000 + np.rint(peaks * 1e9)).astype(np.int64).tolist()
            },
            "steps": _stream(0, 0.0, []),
        },
    }


def write_avro(
    path: Path, record: dict, *, conversion_factor: bool = False, codec: str = "deflate"
) -> Path:
    import fastavro

    with open(path, "wb") as handle:
        fastavro.writer(
            handle, fastavro.parse_schema(schema(conversion_factor)), [record], codec=codec
        )
    return path


@pytest.fixture(scope="module")
def record(drive06):
    return session_record(drive06, 300.0, 900.0, START)


@pytest.fixture(scope="module")
def hr_reference(drive06):
    return drive_slice(drive06, 300.0, 900.0)[:, drivedb.COL_HR]


def test_it_reads_one_embraceplus_file(tmp_path, record, hr_reference):
    """1-1-01_<unix start>.avro (Empatica's naming): 15 min of drive06 (see the module),
    deflate-compressed (the 6.5 and refusal tests write uncompressed files: Avro allows
    both)."""
    path = write_avro(tmp_path / f"1-1-01_{int(START.timestamp())}.avro", record)
    assert detect_format(path, path.name) == "embraceplus"
    recording = read_recording(path, path.name)
    assert recording.format == "embraceplus"
    assert recording.roles == {"gsr", "ppg", "acc", "hr"}
    assert recording.start_time == START
    assert "TEMP" in recording.ignored
    eda, bvp, acc, hr = (recording.channel(r) for r in ("gsr", "ppg", "acc", "hr"))
    assert (eda.name, eda.unit, eda.rate_hz) == ("EDA", "uS", EDA_HZ)
    np.testing.assert_allclose(eda.samples, record["rawData"]["eda"]["values"], rtol=1e-6)
    assert (bvp.name, bvp.rate_hz) == ("BVP", BVP_HZ)
    assert (acc.name, acc.unit, acc.rate_hz) == ("ACC", "g", ACC_HZ)
    assert np.median(acc.samples) == pytest.approx(np.sqrt(0.1**2 + 0.98**2 + 0.15**2), rel=0.01)
    assert (hr.name, hr.unit, hr.rate_hz) == ("HR", "bpm", 4.0)
    peaks = np.asarray(record["rawData"]["systolicPeaks"]["peaksTimeNanos"]) / 1e9
    assert hr.offset_s == pytest.approx(peaks[0] - START.timestamp(), abs=1e-3)
    t = hr.offset_s + np.arange(hr.samples.shape[0]) / 4.0
    ok = np.isfinite(hr.samples)
    assert ok.mean() > 0.9
    reference = np.interp(t, np.arange(hr_reference.shape[0]) / drivedb.FRAME_HZ, hr_reference)
    assert np.median(np.abs(hr.samples[ok] - reference[ok])) < 5.0
    assert recording.duration_s == pytest.approx(900.0, abs=1.0)


def test_schema_6_5_converts_with_the_conversion_factor(tmp_path, drive06):
    """The same kind of file under schema 6.5 (imuParams.conversionFactor), uncompressed."""
    record = session_record(drive06, 300.0, 120.0, START, conversion_factor=True)
    path = write_avro(tmp_path / "a.avro", record, conversion_factor=True, codec="null")
    acc = read_recording(path, "a.avro").channel("acc")
    assert np.median(acc.samples) == pytest.approx(0.995, rel=0.01)


def test_a_zip_of_consecutive_files_is_one_recording(tmp_path, drive06):
    """Three 5-minute files of drive06 in a zip, the third starting 3 s after the second
    ended (the band lost contact): one recording, the 3 s missing in every stream."""
    files = []
    offsets = (0.0, 300.0, 603.0)
    for k, offset in enumerate(offsets):
        when = datetime.fromtimestamp(START.timestamp() + offset, UTC)
        record = session_record(drive06, 300.0 + 300.0 * k, 300.0, when, seed=k)
        files.append(write_avro(tmp_path / f"1-1-01_{int(when.timestamp())}.avro", record))
    archive = tmp_path / "embrace.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        for file in reversed(files):  # order in the zip does not matter
            zipped.write(file, arcname=f"raw_data/v6/{file.name}")
    recording = read_recording(archive, "embrace.zip")
    assert recording.format == "embraceplus-zip"
    assert recording.start_time == START
    assert recording.duration_s == pytest.approx(903.0, abs=1.0)
    eda = recording.channel("gsr")
    assert eda.samples.shape[0] == int(903 * EDA_HZ)
    gap = slice(int(600 * EDA_HZ), int(603 * EDA_HZ))
    assert np.isnan(eda.samples[gap]).all()
    assert np.isfinite(np.delete(eda.samples, np.r_[gap])).all()
    bvp = recording.channel("ppg")
    assert np.isnan(bvp.samples[int(600 * BVP_HZ) : int(603 * BVP_HZ)]).all()
    hr = recording.channel("hr")
    assert np.isfinite(hr.samples).mean() > 0.9


def test_sniff_and_zip_members():
    avro_head = b"Obj\x01\x04\x14avro.codec\x0edeflate\x16avro.schema...rawData..."
    assert embraceplus_reader.sniff(avro_head, "x.bin")
    assert embraceplus_reader.sniff(b"Obj\x01\x02", "1-1-01_1707311064.avro")
    assert not embraceplus_reader.sniff(b"Obj\x01\x02 other schema", "x.bin")
    assert not embraceplus_reader.sniff(b"time,EDA\n0,1\n", "x.avro")
    assert embraceplus_reader.zip_members(["a.avro", "README.txt", "b.AVRO"]) == [
        "a.avro",
        "b.AVRO",
    ]
    assert embraceplus_reader.zip_members(["EDA.csv"]) is None


def test_refusals_say_what_is_wrong_in_plain_words(tmp_path, drive06, record):
    """A file cut in half (an interrupted download), one with only its magic bytes, an Avro
    file of another kind, and an EmbracePlus file with temperature only."""
    import fastavro

    whole = write_avro(tmp_path / "whole.avro", record, codec="null").read_bytes()
    cut = tmp_path / "cut.avro"
    cut.write_bytes(whole[: len(whole) // 2])
    stub = tmp_path / "stub.avro"
    stub.write_bytes(b"Obj\x01\x00")
    other = tmp_path / "other.avro"
    buffer = io.BytesIO()
    fastavro.writer(
        buffer,
        fastavro.parse_schema(
            {"type": "record", "name": "Reading", "fields": [{"name": "value", "type": "float"}]}
        ),
        [{"value": 1.0}],
    )
    other.write_bytes(buffer.getvalue())
    bare = session_record(drive06, 300.0, 120.0, START)
    raw = bare["rawData"]
    for key in ("eda", "bvp"):
        raw[key] = _stream(0, 0.0, [])
    raw["systolicPeaks"] = {"peaksTimeNanos": []}
    for axis in "xyz":
        raw["accelerometer"][axis] = []
    temperature_only = write_avro(tmp_path / "temp.avro", bare)
    cases = [
        (cut, "truncated"),
        (stub, "truncated"),
        (other, "unsupported_format"),
        (temperature_only, "no_usable_channel"),
    ]
    for path, code in cases:
        with pytest.raises(RecordingError) as caught:
            read_recording(path, path.name)
        assert caught.value.code == code, (path.name, caught.value)
        check_message(caught.value)
    archive = tmp_path / "cut.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.write(cut, arcname=cut.name)
    with pytest.raises(RecordingError) as caught:
        read_recording(archive, "cut.zip")
    assert caught.value.code == "truncated"
    check_message(caught.value)
