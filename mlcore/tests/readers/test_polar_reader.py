"""Polar Sensor Logger files, written here exactly as the app writes them (its ';'-separated
headers, ISO local phone timestamps to the millisecond, sensor timestamps in ns since
2000-01-01 on the sensor's clock, rows in BLE packets) from drivedb's drive06.

drivedb has ECG at 15.5 Hz only, so the 130 Hz H10 ECG is synthetic: the beat times follow
drive06's beat-to-beat heart rate (its HR channel integrated to a beat phase), and at each
beat one PQRST complex from NeuroKit2's ecg_simulate (ECGSYN model, 60 bpm, at 1300 Hz so
that beats fall between the 130 Hz samples) is added, in µV with a little noise and baseline
wander. The RR files hold those beats' intervals, sent once a second as the H10 notifies.

The writers are public: benchmarks/polar.py writes its hour of ECG with them.
"""

from __future__ import annotations

import zipfile
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path

import numpy as np
import pytest

from mlcore import drivedb
from mlcore.drive_files import drive_slice
from mlcore.readers import detect_format, polar_reader, read_recording
from mlcore.recordings.recording import RecordingError

POLAR_EPOCH = datetime(2000, 1, 1)  # the sensor clock's epoch (naive: the clock is local)
H10_DEFAULT_CLOCK = datetime(2019, 1, 1)  # where an H10's clock restarts when never set
ECG_HZ = 130.0
ECG_PACKET = 73  # samples per H10 ECG notification
ECG_HEADER = "Phone timestamp;sensor timestamp [ns];timestamp [ms];ecg [uV]"
ACC_HEADER = "Phone timestamp;sensor timestamp [ns];X [mg];Y [mg];Z [mg]"
RR_HEADER = "Phone timestamp;RR-interval [ms]"
HR_HEADER = "Phone timestamp;HR [bpm];HRV [ms];Breathing interval [rpm];"
HR_HEADER_OLD = "Phone timestamp;HR [bpm]"
PPI_HEADER = (
    "Phone Data RX timestamp;PP-interval [ms];error estimate [ms];blocker;contact;contact;hr [bpm]"
)
PPG_HEADER = "Phone timestamp;sensor timestamp [ns];channel 0;channel 1;channel 2;ambient"
GYRO_HEADER = "Phone timestamp;sensor timestamp [ns];X [dps];Y [dps];Z [dps]"
PHONE_START = datetime(2026, 3, 14, 9, 30, 0)  # the phone's local time at the first sample
LIBRARY_WORDS = ("fastavro", "pandas", "numpy", "Traceback", "neurokit")


# -- the app's files ---------------------------------------------------------------------------
def beat_times(hr_bpm: np.ndarray, hr_rate: float) -> np.ndarray:
    """Beat times (s) whose rate follows a heart-rate series: its integral's whole numbers."""
    phase = np.concatenate(([0.0], np.cumsum(np.clip(hr_bpm, 40.0, 180.0) / 60.0 / hr_rate)))
    t = np.arange(phase.shape[0]) / hr_rate
    return np.interp(np.arange(1.0, np.floor(phase[-1])), phase, t)


def drive_beats(drive: drivedb.Drive, start_s: float, seconds: float) -> np.ndarray:
    rows = drive_slice(drive, start_s, seconds)
    return beat_times(rows[:, drivedb.COL_HR], drivedb.FRAME_HZ)


@cache
def _complex() -> np.ndarray:
    """One PQRST complex at 1300 Hz from -0.35 s to +0.55 s around its R peak (mV)."""
    import neurokit2 as nk

    fine = 1300
    ecg = nk.ecg_simulate(
        duration=10, sampling_rate=fine, heart_rate=60, noise=0, method="ecgsyn", random_state=7
    )
    r = 5 * fine + int(np.argmax(ecg[5 * fine : 6 * fine]))
    return ecg[r - int(0.35 * fine) : r + int(0.55 * fine)] - np.median(ecg)


def synthetic_ecg(beats_s: np.ndarray, seconds: float, rate: float = ECG_HZ, seed: int = 0):
    """ECG in whole µV at `rate` with an R peak at each beat time (see the module)."""
    fine = 1300
    template = _complex()
    lead = int(0.35 * fine)
    n = int(seconds * rate)
    ecg = np.zeros(n)
    for beat in beats_s:
        first = int(np.ceil((beat - 0.35) * rate))
        last = int(np.floor((beat + 0.55) * rate))
        index = np.arange(max(first, 0), min(last + 1, n))
        fine_index = np.rint((index / rate - beat) * fine).astype(int) + lead
        ok = (fine_index >= 0) & (fine_index < template.shape[0])
        ecg[index[ok]] += template[fine_index[ok]]
    rng = np.random.default_rng(seed)
    t = np.arange(n) / rate
    ecg = ecg * 1000.0 + 80.0 * np.sin(2 * np.pi * 0.25 * t) + rng.normal(0, 8.0, n)
    return np.rint(ecg)


def _stamp(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds")


def _ns(sensor_start: datetime, seconds: np.ndarray) -> np.ndarray:
    origin = round((sensor_start - POLAR_EPOCH).total_seconds() * 1e9)
    return origin + np.rint(seconds * 1e9).astype(np.int64)


def write_sensor_file(
    path: Path,
    header: str,
    columns: list[np.ndarray],
    rate: float,
    *,
    phone_start: datetime = PHONE_START,
    sensor_start: datetime = PHONE_START,
    packet: int = ECG_PACKET,
    per_sample: bool = True,
    lost_packets: tuple[int, ...] = (),
    ms_column: bool = False,
    seed: int = 1,
) -> Path:
    """A sensor stream as the app writes it: rows in packets of `packet` samples, every row
    of a packet with the phone time it arrived (its last sample + 20-120 ms) and either its
    own sensor time (newer app) or the packet's last sample's (`per_sample=False`, older).
    `sensor_start` is what the sensor's clock read at the first sample (the phone's local
    time when the app set it, H10_DEFAULT_CLOCK when it never did)."""
    rng = np.random.default_rng(seed)
    n = columns[0].shape[0]
    t = np.arange(n) / rate
    sensor = _ns(sensor_start, t)
    lines = [header]
    for k, a in enumerate(range(0, n, packet)):
        b = min(n, a + packet)
        if k in lost_packets:
            continue
        arrival = phone_start + timedelta(seconds=float(t[b - 1] + rng.uniform(0.02, 0.12)))
        phone = _stamp(arrival)
        for i in range(a, b):
            stamp = sensor[i] if per_sample else sensor[b - 1]
            values = ";".join(str(int(c[i])) for c in columns)
            middle = f"{(t[i]) * 1000:.6f};" if ms_column else ""
            lines.append(f"{phone};{stamp};{middle}{values}")
    path.write_text("\n".join(lines) + "\n")
    return path


def write_ecg(path: Path, ecg_uv: np.ndarray, **kwargs) -> Path:
    return write_sensor_file(path, ECG_HEADER, [ecg_uv], ECG_HZ, ms_column=True, **kwargs)


def write_rr(
    path: Path,
    beats_s: np.ndarray,
    *,
    phone_start: datetime = PHONE_START,
    intervals_ms: np.ndarray | None = None,
    seed: int = 2,
) -> Path:
    """RR intervals as the H10 sends them: once a second, the intervals of the beats since
    the last notification, each row stamped with the notification's arrival."""
    rng = np.random.default_rng(seed)
    ms = np.rint(np.diff(beats_s) * 1000) if intervals_ms is None else intervals_ms
    ends = beats_s[1:]
    lines = [RR_HEADER]
    for second in range(int(np.ceil(ends[-1])) + 1):
        sent = (ends > second - 1) & (ends <= second)
        if not sent.any():
            continue
        arrival = _stamp(phone_start + timedelta(seconds=second + rng.uniform(0.02, 0.3)))
        lines += [f"{arrival};{int(v)}" for v in ms[sent]]
    path.write_text("\n".join(lines) + "\n")
    return path


def write_hr(path: Path, hr_1hz: np.ndarray, *, header: str = HR_HEADER) -> Path:
    lines = [header]
    trailing = ";;" if header == HR_HEADER else ""
    for i, bpm in enumerate(hr_1hz):
        arrival = PHONE_START + timedelta(seconds=i + 0.05)
        lines.append(f"{_stamp(arrival)};{round(bpm)}{trailing}")
    path.write_text("\n".join(lines) + "\n")
    return path


def acc_columns(seconds: float, rate: float = 50.0, seed: int = 3) -> list[np.ndarray]:
    """A chest strap at rest with some movement: gravity on -Y, in whole mg."""
    rng = np.random.default_rng(seed)
    n = int(seconds * rate)
    t = np.arange(n) / rate
    sway = 60 * np.sin(2 * np.pi * 0.3 * t)
    return [
        np.rint(30 + sway + rng.normal(0, 5, n)),
        np.rint(-990 + 0.5 * sway + rng.normal(0, 5, n)),
        np.rint(120 + rng.normal(0, 5, n)),
    ]


def check_message(error: RecordingError) -> None:
    assert "/" not in error.message
    assert not any(word in error.message for word in LIBRARY_WORDS)


# -- fixtures ----------------------------------------------------------------------------------
SECONDS = 300.0


@pytest.fixture(scope="module")
def beats(drive06):
    return drive_beats(drive06, 600.0, SECONDS)


@pytest.fixture(scope="module")
def hr_reference(drive06):
    """drive06's HR channel over the same 5 minutes, at 15.5 Hz."""
    return drive_slice(drive06, 600.0, SECONDS)[:, drivedb.COL_HR]


@pytest.fixture(scope="module")
def ecg(beats):
    return synthetic_ecg(beats, SECONDS)


def _reference_at(hr_reference: np.ndarray, t: np.ndarray) -> np.ndarray:
    return np.interp(t, np.arange(hr_reference.shape[0]) / drivedb.FRAME_HZ, hr_reference)


# -- tests -------------------------------------------------------------------------------------
def test_it_reads_a_polar_h10_ecg_file(tmp_path, ecg):
    """Polar_H10_*_ECG.txt: 5 min of synthetic ECG from drive06's beats (see the module),
    per-sample sensor timestamps (the current app), the sensor clock set to the phone's
    local time."""
    path = write_ecg(tmp_path / "Polar_H10_ABCD1234_20260314_093000_ECG.txt", ecg)
    assert detect_format(path, path.name.lower()) == "polar"
    recording = read_recording(path, path.name)
    assert recording.format == "polar"
    assert recording.roles == {"ecg"}
    channel = recording.channel("ecg")
    assert (channel.name, channel.unit) == ("ECG", "uV")
    assert channel.rate_hz == pytest.approx(ECG_HZ, rel=1e-6)
    np.testing.assert_array_equal(channel.samples, ecg)
    assert recording.duration_s == pytest.approx(SECONDS, abs=0.05)
    # The phone's local time (no zone): the service gives it the user's zone.
    assert recording.start_time.tzinfo is None
    assert abs((recording.start_time - PHONE_START).total_seconds()) < 0.15


def test_the_start_comes_from_the_phone_when_the_sensor_clock_was_never_set(tmp_path, ecg):
    """The same ECG with the H10's clock at its default (2019-01-01, where it restarts when it
    switches off and no app set it): its timestamps still space the samples, the phone gives
    the date."""
    path = write_ecg(tmp_path / "ecg.txt", ecg, sensor_start=H10_DEFAULT_CLOCK)
    recording = read_recording(path, "ecg.txt")
    assert abs((recording.start_time - PHONE_START).total_seconds()) < 0.15
    assert recording.channel("ecg").rate_hz == pytest.approx(ECG_HZ, rel=1e-6)


def test_packet_timestamps_and_a_lost_packet(tmp_path, ecg):
    """The older app's layout: every row of a 73-sample packet carries the packet's last
    sample's sensor time; packet 100 never arrived (BLE loss)."""
    path = write_ecg(tmp_path / "ecg.txt", ecg, per_sample=False, lost_packets=(100,))
    recording = read_recording(path, "ecg.txt")
    channel = recording.channel("ecg")
    assert channel.rate_hz == pytest.approx(ECG_HZ, rel=1e-6)
    lost = slice(100 * ECG_PACKET, 101 * ECG_PACKET)
    assert np.isnan(channel.samples[lost]).all()
    kept = np.ones(ecg.shape[0], dtype=bool)
    kept[lost] = False
    np.testing.assert_array_equal(channel.samples[kept], ecg[kept])
    assert abs((recording.start_time - PHONE_START).total_seconds()) < 0.15


def test_the_scorer_finds_the_beats_of_the_synthetic_ecg(tmp_path, ecg, hr_reference):
    """HR from the 130 Hz ECG's R-peaks (what scoring does for a file with ECG and no HR)
    follows drive06's own HR: the synthetic ECG is one the R-peak detector reads."""
    from mlcore.recordings.signals import to_model_rate

    signals = to_model_rate(read_recording(write_ecg(tmp_path / "ecg.txt", ecg), "ecg.txt"))
    assert "R-peaks" in signals.derived["hr"]
    derived = signals.series["hr"]
    t = np.arange(derived.shape[0]) / signals.rate_hz
    ok = np.isfinite(derived) & (t > 5)
    error = np.abs(derived[ok] - _reference_at(hr_reference, t[ok]))
    assert np.median(error) < 3.0


def test_a_session_zip_gives_one_recording(tmp_path, ecg, beats, hr_reference):
    """A zip of one session's ECG, ACC (50 Hz, started 2 s after the ECG), RR and HR files,
    as the app shares them (Polar_H10_<id>_<date>_<time>_<STREAM>.txt): one recording, each
    channel at its offset; the RR intervals give the HR (4 Hz), the HR file is left out."""
    prefix = "Polar_H10_ABCD1234_20260314_093000"
    files = [
        write_ecg(tmp_path / f"{prefix}_ECG.txt", ecg),
        write_sensor_file(
            tmp_path / f"{prefix}_ACC.txt",
            ACC_HEADER,
            acc_columns(SECONDS - 2.0),
            50.0,
            phone_start=PHONE_START + timedelta(seconds=2),
            sensor_start=PHONE_START + timedelta(seconds=2),
            packet=36,
        ),
        write_rr(tmp_path / f"{prefix}_RR.txt", beats),
        write_hr(tmp_path / f"{prefix}_HR.txt", _reference_at(hr_reference, np.arange(300.0))),
    ]
    archive = tmp_path / "session.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        for file in files:
            zipped.write(file, arcname=f"{prefix}/{file.name}")
    recording = read_recording(archive, "session.zip")
    assert recording.format == "polar-zip"
    assert recording.roles == {"ecg", "acc", "hr"}
    assert "heart rate file" in recording.ignored
    ecg_channel, acc, hr = (recording.channel(r) for r in ("ecg", "acc", "hr"))
    assert ecg_channel.offset_s == pytest.approx(0.0, abs=0.1)
    assert acc.offset_s == pytest.approx(2.0, abs=0.1)
    assert (acc.unit, acc.rate_hz) == ("mg", pytest.approx(50.0, rel=1e-6))
    assert np.nanmedian(acc.samples) == pytest.approx(997, abs=10)  # |g| in mg
    assert (hr.name, hr.unit, hr.rate_hz) == ("HR", "bpm", 4.0)
    # The first beat is the first interval's start, on the ECG's clock.
    assert hr.offset_s == pytest.approx(beats[0], abs=0.15)
    t = hr.offset_s + np.arange(hr.samples.shape[0]) / hr.rate_hz
    ok = np.isfinite(hr.samples)
    assert ok.mean() > 0.95
    # Each beat's rate (from the intervals written) held until the next beat...
    written = 60000.0 / np.rint(np.diff(beats) * 1000)
    latest = np.searchsorted(beats[1:], t, side="right") - 1
    expected = np.where(latest >= 0, written[np.clip(latest, 0, None)], np.nan)
    assert np.mean(np.abs(hr.samples[ok] - expected[ok]) < 0.5) > 0.9
    # ...which follows drive06's own (jumpy, beat-to-beat) HR channel.
    assert np.median(np.abs(hr.samples[ok] - _reference_at(hr_reference, t[ok]))) < 5.0
    assert abs((recording.start_time - PHONE_START).total_seconds()) < 0.15
    assert recording.duration_s == pytest.approx(SECONDS, abs=1.0)


def test_rr_intervals_alone_and_their_artefacts(tmp_path, beats):
    """Polar_H10_*_RR.txt on its own: drive06's intervals with an extra beat (one interval
    split 40/60) and a missed one (two intervals merged, 2 s or more): those stretches are
    missing, every other interval's rate is held until the next beat."""
    ms = np.rint(np.diff(beats) * 1000)
    split = 100
    ms = np.concatenate((ms[:split], [0.4 * ms[split], 0.6 * ms[split]], ms[split + 1 :]))
    ms = np.rint(ms)
    merged = 200
    ms = np.concatenate((ms[:merged], [max(ms[merged] + ms[merged + 1], 2050)], ms[merged + 2 :]))
    ends = beats[0] + np.cumsum(ms) / 1000.0
    path = write_rr(tmp_path / "rr.txt", np.concatenate(([beats[0]], ends)), intervals_ms=ms)
    recording = read_recording(path, "Polar_H10_ABCD1234_20260314_093000_RR.txt")
    assert recording.format == "polar"
    hr = recording.channel("hr")
    assert hr.rate_hz == 4.0
    start = ends[0] - ms[0] / 1000.0
    for bad in (split, split + 1, merged):
        held_from = ends[bad] - start
        assert np.isnan(hr.samples[int(np.ceil(held_from * 4.0))])
    good = 50
    i = int(np.ceil((ends[good] - start) * 4.0))
    assert hr.samples[i] == pytest.approx(60000.0 / ms[good])
    assert recording.start_time.tzinfo is None
    expected = PHONE_START + timedelta(seconds=float(start))
    assert abs((recording.start_time - expected).total_seconds()) < 0.35


def test_a_gap_in_the_rr_stream_stays_a_gap(tmp_path, beats):
    """Eight seconds of intervals never arrived (contact lost): the beats after the gap keep
    their phone-clock times, not pulled 8 s early by adding the intervals up."""
    ends = beats[1:]
    lost = (ends > 100.0) & (ends < 108.0)
    ms = np.rint(np.diff(beats) * 1000)
    kept_ends = ends[~lost]
    lines = [RR_HEADER]
    for end, value in zip(kept_ends, ms[~lost], strict=True):
        arrival = PHONE_START + timedelta(seconds=float(np.ceil(end)) + 0.05)
        lines.append(f"{_stamp(arrival)};{int(value)}")
    path = tmp_path / "rr.txt"
    path.write_text("\n".join(lines) + "\n")
    hr = read_recording(path, "rr.txt").channel("hr")
    start = kept_ends[0] - ms[~lost][0] / 1000.0
    t = start + np.arange(hr.samples.shape[0]) / 4.0
    assert np.isnan(hr.samples[(t > 103.0) & (t < 107.0)]).all()  # held 2.5 s at most
    after = kept_ends[kept_ends > 108.0][3]
    i = int(np.ceil((after - start) * 4.0))
    assert t[i] == pytest.approx(after, abs=0.3)  # the beat is where it happened
    assert np.isfinite(hr.samples[i])


@pytest.mark.parametrize("header", [HR_HEADER, HR_HEADER_OLD], ids=["newer", "older"])
def test_an_hr_file_alone(tmp_path, hr_reference, header):
    """Polar_H10_*_HR.txt, both headers the app has written (the newer one with empty HRV and
    breathing columns): drive06's HR once a second, held on a 1 Hz grid."""
    values = np.rint(_reference_at(hr_reference, np.arange(300.0)))
    recording = read_recording(write_hr(tmp_path / "hr.txt", values, header=header), "hr.txt")
    hr = recording.channel("hr")
    assert (hr.unit, hr.rate_hz) == ("bpm", 1.0)
    np.testing.assert_array_equal(hr.samples, values)
    assert abs((recording.start_time - PHONE_START).total_seconds()) < 0.1


def test_a_verity_sense_zip_ppg_and_pp_intervals(tmp_path, beats):
    """A Verity Sense session: PPG (55 Hz, three optical channels and ambient, a pulse at
    each of drive06's beats) and PP intervals, two of them flagged by the sensor ("blocker",
    movement): PPG, and HR from the intervals with the flagged ones missing."""
    rate = 55.0
    n = int(SECONDS * rate)
    t = np.arange(n) / rate
    phase = np.interp(t, beats, np.arange(beats.shape[0]), left=0, right=0) % 1.0
    pulse = np.exp(-(((phase - 0.2) / 0.08) ** 2))
    channels = [np.rint(200_000 - 9000 * pulse + 300 * k) for k in range(3)]
    channels.append(np.full(n, -650_000.0))
    ppg = write_sensor_file(tmp_path / "V_PPG.txt", PPG_HEADER, channels, rate, packet=28)
    ms = np.rint(np.diff(beats) * 1000)
    lines = [PPI_HEADER]
    for i, (end, value) in enumerate(zip(beats[1:], ms, strict=True)):
        blocker = 1 if i in (40, 41) else 0
        arrival = _stamp(PHONE_START + timedelta(seconds=float(end) + 0.4))
        lines.append(f"{arrival};{int(value)};10;{blocker};1;1;{int(60000 / value)}")
    ppi = tmp_path / "V_PPI.txt"
    ppi.write_text("\n".join(lines) + "\n")
    archive = tmp_path / "verity.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.write(ppg, arcname="Polar_Sense_B36A_20260314_093000_PPG.txt")
        zipped.write(ppi, arcname="Polar_Sense_B36A_20260314_093000_PPI.txt")
    recording = read_recording(archive, "verity.zip")
    assert recording.roles == {"ppg", "hr"}
    assert recording.channel("ppg").rate_hz == pytest.approx(rate, rel=1e-6)
    hr = recording.channel("hr")
    start = beats[0] - hr.offset_s
    flagged = int(np.ceil((beats[41] - start) * 4.0))
    assert np.isnan(hr.samples[flagged])
    assert np.isfinite(hr.samples[int(np.ceil((beats[60] - start) * 4.0))])


def test_sniff_takes_the_apps_headers_only():
    for header in (ECG_HEADER, ACC_HEADER, RR_HEADER, HR_HEADER, HR_HEADER_OLD, PPI_HEADER):
        assert polar_reader.sniff(f"{header}\n2026-03-14T09:30:00.000;1\n".encode(), "x.txt")
    assert polar_reader.sniff(("\ufeff" + ECG_HEADER + "\n").encode(), "x.txt")
    for other in (b"time,HR\n0,70\n1,71\n", b"timestamp;ecg\n0;1\n", b"800\n810\n"):
        assert not polar_reader.sniff(other, "x.csv")
    assert polar_reader.zip_members(["a_ECG.txt", "a_GYRO.txt", "notes.txt", "a_RR.txt"]) == [
        "a_ECG.txt",
        "a_RR.txt",
    ]
    assert polar_reader.zip_members(["EDA.csv", "readme.txt"]) is None


def test_refusals_say_what_is_wrong_in_plain_words(tmp_path, ecg):
    """A file cut off after its header, one with rows that are not numbers, a gyroscope
    file, a sensor clock reset mid-file, and a zip named like an export holding other files."""
    cases = []
    header_only = tmp_path / "ecg1.txt"
    header_only.write_text(ECG_HEADER + "\n")
    cases.append((header_only, "truncated"))
    garbled = tmp_path / "ecg2.txt"
    text = write_ecg(tmp_path / "ecg2.txt", ecg[:13000]).read_text().splitlines()
    text[500] = text[500].replace(";", ";x", 3)
    garbled.write_text("\n".join(text) + "\n")
    cases.append((garbled, "unsupported_format"))
    gyro = write_sensor_file(tmp_path / "gyro.txt", GYRO_HEADER, acc_columns(100.0), 52.0)
    cases.append((gyro, "no_usable_channel"))
    reset = tmp_path / "ecg3.txt"
    lines = write_ecg(tmp_path / "ecg3.txt", ecg[:13000]).read_text().splitlines()
    for i in range(6000, len(lines)):
        phone, sensor, rest = lines[i].split(";", 2)
        lines[i] = f"{phone};{int(sensor) - 3_600_000_000_000};{rest}"
    reset.write_text("\n".join(lines) + "\n")
    cases.append((reset, "irregular_time"))
    fake = tmp_path / "fake.zip"
    with zipfile.ZipFile(fake, "w") as zipped:
        zipped.writestr("session_ECG.txt", "time,ecg\n0,1\n1,2\n")
    cases.append((fake, "unsupported_format"))
    for path, code in cases:
        with pytest.raises(RecordingError) as caught:
            read_recording(path, path.name)
        assert caught.value.code == code, (path.name, caught.value)
        check_message(caught.value)


def test_a_cut_off_last_row_is_dropped(tmp_path, ecg):
    """The app killed mid-write: the last row stops halfway through (no line end)."""
    path = write_ecg(tmp_path / "ecg.txt", ecg)
    data = path.read_bytes()
    path.write_bytes(data[: data.rstrip(b"\n").rfind(b"\n") + 30])
    channel = read_recording(path, "ecg.txt").channel("ecg")
    np.testing.assert_array_equal(channel.samples, ecg[:-1])


def test_trailing_separators_and_windows_line_ends(tmp_path, ecg):
    """The same ECG with a ';' closing every line (as the app's HR header has) and CRLF line
    ends (a file passed through Windows): the columns stay in place."""
    lines = write_ecg(tmp_path / "ecg.txt", ecg[:13000]).read_text().splitlines()
    path = tmp_path / "ecg_crlf.txt"
    path.write_bytes(("\r\n".join(f"{line};" for line in lines) + "\r\n").encode())
    channel = read_recording(path, "ecg_crlf.txt").channel("ecg")
    np.testing.assert_array_equal(channel.samples, ecg[:13000])
