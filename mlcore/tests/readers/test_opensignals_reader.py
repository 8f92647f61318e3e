"""OpenSignals (PLUX biosignalsplux, BITalino) .txt and .h5, on real recordings.

The files in data/opensignals come from the biosignalsnotebooks package (see SOURCE.md there);
the damaged or edited variants are made from them in tmp_path.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest

from mlcore.readers import detect_format, opensignals_reader, read_recording
from mlcore.readers.opensignals_reader import (
    counter_positions,
    parse_start,
    read_channels,
    sniff,
    transfer_function,
)
from mlcore.recordings.recording import RecordingError

DATA = Path(__file__).parent / "data" / "opensignals"
ECG_TXT = DATA / "supine_1min.txt"
ECG_H5 = DATA / "supine_1min.h5"
EDA_TXT = DATA / "eda_slow_signal.txt"
EDA_H5 = DATA / "eda_slow_signal.h5"
BITALINO_EDA_TXT = DATA / "eda_hot_surface_first10s.txt"
ACC_TXT = DATA / "sync_acc_2_first10s.txt"
TWO_DEVICES_TXT = DATA / "sync_cable_acoustic_first5s.txt"
RESP_TXT = DATA / "respiration_first20s.txt"
ALL_FILES = [ECG_TXT, ECG_H5, EDA_TXT, EDA_H5, BITALINO_EDA_TXT, ACC_TXT, TWO_DEVICES_TXT, RESP_TXT]
SUPINE_START = datetime(2019, 2, 7, 15, 11, 20, 455000)
NO_LEAKS = ("/", "h5py", "json", "Traceback", "pandas")


def header_and_rows(path: Path) -> tuple[list[str], list[str]]:
    lines = path.read_text().splitlines(keepends=True)
    end = next(i for i, line in enumerate(lines) if line.startswith("# EndOfHeader")) + 1
    return lines[:end], lines[end:]


def described(header: list[str]) -> dict:
    line = next(line for line in header if line.lstrip("# ").startswith("{"))
    return json.loads(line.lstrip("# "))


def with_description(header: list[str], devices: dict) -> list[str]:
    return [
        f"# {json.dumps(devices)}\n" if line.lstrip("# ").startswith("{") else line
        for line in header
    ]


def raw_column(path: Path, column: int) -> np.ndarray:
    return np.genfromtxt(path, comments="#", delimiter="\t", usecols=column)


def refused(path: Path, code: str, filename: str | None = None, **kwargs) -> str:
    with pytest.raises(RecordingError) as caught:
        read_recording(path, filename, **kwargs)
    assert caught.value.code == code, caught.value
    message = caught.value.message
    for leak in NO_LEAKS:
        assert leak.lower() not in message.lower(), message
    return message


# --- detection -------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ALL_FILES, ids=lambda p: p.name)
def test_the_dispatcher_picks_opensignals_for_every_real_file(path):
    # Uploads are stored under other names: the content decides.
    assert detect_format(path, "upload.bin") == "opensignals"
    assert sniff(path.read_bytes()[:4096], path.name.lower())


def test_sniff_is_specific():
    assert not sniff(b"time,HR,EDA\n0,60,1\n", "drive.csv")
    assert not sniff(b"# a comment\n1\t2\n", "notes.txt")
    assert not sniff(b"\x89HDF\r\n\x1a\n" + b"\x00" * 200, "other.h5")  # HDF5, no device
    assert not sniff(b"0       " + b" " * 248, "x.edf")


# --- real recordings -------------------------------------------------------------------------


def test_it_reads_a_biosignalsplux_ecg_text_file():
    recording = read_recording(ECG_TXT, "supine_1min.txt")
    assert recording.format == "opensignals"
    assert recording.roles == {"ecg"}
    ecg = recording.channel("ecg")
    assert (ecg.name, ecg.unit, ecg.rate_hz, ecg.offset_s) == ("ECG", "mV", 1000.0, 0.0)
    assert ecg.samples.shape == (60000,)
    assert recording.duration_s == pytest.approx(60.0)
    assert recording.start_time == SUPINE_START  # the acquisition computer's clock: naive
    assert recording.start_time.tzinfo is None
    assert recording.ignored == ["nSeq", "DI"]
    # biosignalsplux ECG: (ADC / 2^16 - 1/2) * 3 V / 1019 * 1000, from the file's own column.
    adc = raw_column(ECG_TXT, 2)
    np.testing.assert_allclose(ecg.samples, (adc / 65536 - 0.5) * 3.0 / 1019 * 1000)
    # A resting ECG in mV: centred on zero, beats of about a millivolt, never beyond the
    # sensor's +-1.5 mV.
    assert abs(np.median(ecg.samples)) < 0.1
    assert 0.3 < np.percentile(ecg.samples, 99.9) - np.percentile(ecg.samples, 0.1) < 3.0
    assert np.abs(ecg.samples).max() <= 1.5


def test_the_h5_of_the_same_recording_gives_the_same_channel():
    from_txt = read_recording(ECG_TXT)
    from_h5 = read_recording(ECG_H5, "supine_1min.h5")
    assert from_h5.format == "opensignals"
    assert from_h5.describe() == from_txt.describe()
    np.testing.assert_array_equal(from_h5.channel("ecg").samples, from_txt.channel("ecg").samples)
    assert from_h5.start_time == SUPINE_START
    assert from_h5.ignored == ["nSeq", "digital_1"]


def test_heart_rate_from_the_converted_ecg_is_a_resting_rate():
    from mlcore.recordings.signals import to_model_rate

    signals = to_model_rate(read_recording(ECG_H5))
    assert signals.derived["hr"] == "R-peaks of ECG"
    assert 45 < np.nanmedian(signals.series["hr"]) < 100  # supine, at rest


@pytest.mark.parametrize("path", [EDA_TXT, EDA_H5], ids=lambda p: p.suffix)
def test_it_reads_biosignalsplux_eda_and_refuses_it_as_too_short(path):
    channels = read_channels(path, max_duration_s=3600)
    [(name, unit, rate, samples, offset)] = channels.named
    assert (name, unit, rate, offset) == ("EDA", "uS", 100.0, 0.0)
    assert samples.shape == (2820,)
    assert channels.start_time == datetime(2017, 1, 23, 13, 28, 43, 110000)
    assert channels.devices[0].model == "channeller"  # a biosignalsplux hub
    # Skin conductance in uS: 0-25 for this sensor, here a calm 14-18 uS.
    assert samples.min() > 0 and samples.max() < 25
    assert 10 < np.median(samples) < 20
    message = refused(path, "too_short")
    assert message == "The recording lasts 28 s; at least 60 s are needed."


def test_the_eda_h5_and_txt_agree():
    from_txt = read_channels(EDA_TXT, max_duration_s=3600).named[0][3]
    from_h5 = read_channels(EDA_H5, max_duration_s=3600).named[0][3]
    np.testing.assert_array_equal(from_txt, from_h5)


def test_it_reads_bitalino_revolution_eda():
    channels = read_channels(BITALINO_EDA_TXT, max_duration_s=3600)
    [(name, unit, rate, samples, _)] = channels.named
    assert (name, unit, rate) == ("EDA", "uS", 1000.0)
    assert samples.shape == (10000,)
    assert channels.devices[0].model == "bitalino_rev"
    assert channels.start_time == datetime(2019, 9, 3, 15, 18, 36, 344000)
    assert channels.ignored == ["nSeq", "I1", "I2", "O1", "O2"]
    # BITalino EDA: ADC / 2^10 * 3.3 V / 0.132 (10-bit channel A3).
    adc = raw_column(BITALINO_EDA_TXT, 5)
    np.testing.assert_allclose(samples, adc / 1024 * 3.3 / 0.132)
    assert samples[0] == pytest.approx(461 / 1024 * 25.0)
    assert samples.min() >= 0 and samples.max() <= 25
    refused(BITALINO_EDA_TXT, "too_short")


def test_a_three_axis_accelerometer_becomes_its_magnitude_in_g():
    channels = read_channels(ACC_TXT, max_duration_s=3600)
    [(name, unit, rate, magnitude, _)] = channels.named
    assert (name, unit, rate) == ("ACC", "g", 1000.0)
    assert magnitude.shape == (10000,)
    axes = [(raw_column(ACC_TXT, c) - 28000) / 10000 * 2 - 1 for c in (2, 3, 4)]
    np.testing.assert_allclose(magnitude, np.sqrt(sum(axis**2 for axis in axes)))
    assert 0.9 < np.median(magnitude) < 1.1  # gravity, with the sensor mostly still
    assert magnitude.max() < 3.0


def test_it_reads_a_respiration_band():
    channels = read_channels(RESP_TXT, max_duration_s=3600)
    [(name, unit, rate, samples, _)] = channels.named
    assert (name, unit, rate) == ("RESP", "%", 1000.0)
    assert samples.shape == (20000,)
    assert samples.min() >= -50 and samples.max() <= 50
    assert np.ptp(samples) > 5  # breathing moves the band


def test_two_devices_side_by_side_with_sensors_we_cannot_convert():
    channels = read_channels(TWO_DEVICES_TXT, max_duration_s=3600)
    assert [device.key for device in channels.devices] == ["00:07:80:4D:2E:AD", "00:07:80:3B:46:58"]
    assert channels.named == []
    assert channels.ignored == ["RAW (CH1, device 1)", "nSeq", "DI", "RAW (CH1, device 2)"]
    message = refused(TWO_DEVICES_TXT, "no_usable_channel")
    assert "RAW (CH1, device 1)" in message and "RAW (CH1, device 2)" in message


def test_several_devices_in_an_h5_keep_their_own_rates_and_starts(tmp_path):
    import h5py

    path = tmp_path / "two.h5"
    with h5py.File(path, "w") as out, h5py.File(ECG_H5) as ecg, h5py.File(EDA_H5) as eda:
        for source in (ecg, eda):
            for key in source:
                source.copy(source[key], out, name=key)
        eda_group = out["00:07:80:3B:46:61"]
        eda_group.attrs["date"] = "2019-2-7"
        eda_group.attrs["time"] = "15:11:25.455"  # 5 s after the ECG device
    recording = read_recording(path, "two.h5")
    assert recording.roles == {"ecg", "gsr"}
    assert recording.start_time == SUPINE_START
    ecg, eda = recording.channel("ecg"), recording.channel("gsr")
    assert (ecg.rate_hz, ecg.offset_s) == (1000.0, 0.0)
    assert (eda.name, eda.unit, eda.rate_hz) == ("EDA", "uS", 100.0)
    assert eda.offset_s == pytest.approx(5.0)
    assert recording.duration_s == pytest.approx(60.0)


# --- unknown sensors, edits and damage -------------------------------------------------------


def test_an_unknown_sensor_ends_in_ignored(tmp_path):
    header, rows = header_and_rows(ECG_TXT)
    devices = described(header)
    device = devices["00:07:80:4D:2E:AD"]
    device.update(
        sensor=["ECG", "NEWSENSOR"],
        label=["CH1", "CH2"],
        column=["nSeq", "DI", "CH1", "CH2"],
        channels=[1, 2],
        resolution=[16, 16],
    )
    # CH2 repeats CH1's counts: what matters is that nobody converts them.
    rows = [f"{line.rstrip()}\t{line.split()[2]}\n" for line in rows]
    path = tmp_path / "new_sensor.txt"
    path.write_text("".join(with_description(header, devices) + rows))
    recording = read_recording(path)
    assert recording.roles == {"ecg"}
    assert recording.ignored == ["NEWSENSOR (CH2)", "nSeq", "DI"]


def test_a_device_without_transfer_functions_is_ignored(tmp_path):
    header, rows = header_and_rows(ECG_TXT)
    devices = described(header)
    devices["00:07:80:4D:2E:AD"]["device"] = "someplux"
    path = tmp_path / "other_device.txt"
    path.write_text("".join(with_description(header, devices) + rows))
    message = refused(path, "no_usable_channel")
    assert "ECG (CH1)" in message


def test_a_header_without_samples_is_empty(tmp_path):
    header, _ = header_and_rows(ECG_TXT)
    path = tmp_path / "header_only.txt"
    path.write_text("".join(header))
    assert refused(path, "empty") == "The OpenSignals file has a header but no samples."


def test_a_file_cut_inside_its_header_is_truncated(tmp_path):
    path = tmp_path / "cut_header.txt"
    path.write_bytes(ECG_TXT.read_bytes()[:300])
    refused(path, "truncated")


@pytest.mark.parametrize("keep", [0.5, 0.99])
def test_a_cut_off_h5_is_truncated(tmp_path, keep):
    data = ECG_H5.read_bytes()
    path = tmp_path / "cut.h5"
    path.write_bytes(data[: int(len(data) * keep)])
    message = refused(path, "truncated", "supine_1min.h5")
    assert "upload the whole file" in message


def test_a_text_file_cut_mid_line_drops_that_line(tmp_path):
    path = tmp_path / "cut_rows.txt"
    path.write_bytes(ECG_TXT.read_bytes()[:-4])  # '...\t330' of the last row
    [(_, _, _, samples, _)] = read_channels(path, max_duration_s=3600).named
    assert samples.shape == (59999,)
    np.testing.assert_array_equal(samples, read_recording(ECG_TXT).channel("ecg").samples[:-1])


def test_samples_lost_on_the_way_become_missing_and_keep_the_timing(tmp_path):
    header, rows = header_and_rows(ECG_TXT)
    path = tmp_path / "dropout.txt"
    path.write_text("".join(header + rows[:30000] + rows[30500:]))  # 0.5 s lost
    recording = read_recording(path)
    ecg = recording.channel("ecg").samples
    assert ecg.shape == (60000,)
    assert np.isnan(ecg[30000:30500]).all() and not np.isnan(ecg[:30000]).any()
    np.testing.assert_array_equal(
        ecg[30500:], read_recording(ECG_TXT).channel("ecg").samples[30500:]
    )


def test_the_counter_of_an_h5_sticks_at_65535_and_is_then_trusted():
    # supine_1min.h5's nSeq runs from 30000 and stays at 65535 after 35536 samples.
    counter = np.concatenate((np.arange(65530, 65536), np.full(5, 65535))).astype(float)
    assert counter_positions(counter, 1000.0) is None
    wrapping = np.concatenate((np.arange(10, 16), np.arange(0, 4))).astype(float)  # BITalino
    assert counter_positions(wrapping, 1000.0) is None
    lost = np.array([3, 4, 7, 8], dtype=float)
    np.testing.assert_array_equal(counter_positions(lost, 1000.0), [0, 1, 4, 5])
    with pytest.raises(RecordingError) as caught:
        counter_positions(np.array([1, 2, 2, 3], dtype=float), 1000.0)
    assert caught.value.code == "irregular_time"


def test_values_beyond_the_resolution_are_refused(tmp_path):
    header, rows = header_and_rows(ECG_TXT)
    devices = described(header)
    devices["00:07:80:4D:2E:AD"]["resolution"] = [8]
    path = tmp_path / "wrong_bits.txt"
    path.write_text("".join(with_description(header, devices) + rows))
    message = refused(path, "bad_value")
    assert "8-bit" in message


def test_converted_values_are_refused(tmp_path):
    header, rows = header_and_rows(ECG_TXT)
    devices = described(header)
    devices["00:07:80:4D:2E:AD"]["convertedValues"] = 1
    path = tmp_path / "converted.txt"
    path.write_text("".join(with_description(header, devices) + rows))
    refused(path, "unsupported_format")


def test_devices_at_different_rates_in_one_text_file_are_refused(tmp_path):
    header, rows = header_and_rows(TWO_DEVICES_TXT)
    devices = described(header)
    devices["00:07:80:3B:46:58"]["sampling rate"] = 500
    path = tmp_path / "two_rates.txt"
    path.write_text("".join(with_description(header, devices) + rows))
    message = refused(path, "unsupported_format")
    assert "1000 Hz and 500 Hz" in message


def test_a_malformed_header_is_refused_plainly(tmp_path):
    header, rows = header_and_rows(ECG_TXT)
    header = [line.replace('"sensor":', '"sensor"') for line in header]
    path = tmp_path / "malformed.txt"
    path.write_text("".join(header + rows))
    refused(path, "unsupported_format")


def test_a_recording_longer_than_allowed_is_refused_before_reading():
    refused(ECG_TXT, "too_long", max_duration_s=30.0)
    refused(ECG_H5, "too_long", max_duration_s=30.0)


# --- transfer functions and the header's clock ------------------------------------------------


@pytest.mark.parametrize(
    ("device", "sensor", "adc", "bits", "expected"),
    [
        ("biosignalsplux", "ECG", 32768, 16, 0.0),
        ("biosignalsplux", "ECG", 65536, 16, 0.5 * 3.0 / 1019 * 1000),
        ("channeller", "EMG", 0, 16, -0.5 * 3.0 / 1000 * 1000),
        ("biosignalsplux", "EDA", 65536, 16, 25.0),
        ("biosignalsplux", "EDA", 128, 8, 12.5),
        ("biosignalsplux", "RESPIRATION", 49152, 16, 25.0),
        ("biosignalsplux", "BVP", 16384, 16, 0.25),
        ("biosignalsplux", "XYZ", 38000, 16, 1.0),
        ("biosignalsplux", "XYZ", 28000, 16, -1.0),
        ("bitalino_rev", "ECG", 1024, 10, 0.5 * 3.3 / 1100 * 1000),
        ("bitalino_rev", "EMG", 0, 10, -0.5 * 3.3 / 1009 * 1000),
        ("bitalino_rev", "EDABITREV", 1024, 10, 25.0),
        ("bitalino_rev", "PZT", 256, 10, -25.0),
        ("bitalino", "EDA", 512, 10, 2.0),
    ],
)
def test_transfer_functions(device, sensor, adc, bits, expected):
    function = transfer_function(opensignals_reader.device_family(device), sensor)
    assert function(np.array([float(adc)]), bits)[0] == pytest.approx(expected)


@pytest.mark.parametrize(
    ("device", "sensor"),
    [
        ("biosignalsplux", "RAW"),
        ("biosignalsplux", "TEMP"),
        ("biosignalsplux", "cACC"),
        ("bitalino_rev", "ACC"),
        ("bitalino_rev", "LUX"),
        ("bioplux", "ECG"),
    ],
)
def test_sensors_without_a_transfer_function(device, sensor):
    assert transfer_function(opensignals_reader.device_family(device), sensor) is None


def test_the_header_clock():
    assert parse_start("2019-3-11", "10:45:4.388") == datetime(2019, 3, 11, 10, 45, 4, 388000)
    # Milliseconds are written without zero padding, like the other fields.
    assert parse_start("2019-3-12", "13:28:24.56") == datetime(2019, 3, 12, 13, 28, 24, 56000)
    assert parse_start("2019-05-24", "15:09:59") == datetime(2019, 5, 24, 15, 9, 59)
    assert parse_start("2019-2-30", "10:00:00") is None
    assert parse_start(None, "10:00:00") is None
