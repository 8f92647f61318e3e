"""The FIT reader, on FIT files written by Garmin's own encoder (garmin_fit_sdk.Encoder) from
drive06's heart rate (drivedb's HR column, 2 minutes into the drive)."""

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from mlcore import drivedb
from mlcore.readers import detect_format, fit_reader, read_recording
from mlcore.recordings.recording import RecordingError

START = datetime(2024, 3, 5, 7, 0, tzinfo=UTC)
SECONDS = 600
ACC_HZ = 25
STRESS = [(60, 25), (150, -1), (180, 40), (420, -2), (540, 61)]
INVALID_RR = 65.535  # 0xFFFF ms, FIT's "no value" for a uint16 in seconds / 1000


def plain(message: str) -> bool:
    lowered = message.lower()
    return "/" not in message and not any(
        word in lowered for word in ("garmin", "fit_sdk", "traceback", "error:")
    )


@pytest.fixture(scope="module")
def hr(drive06) -> np.ndarray:
    """drive06's HR once a second for SECONDS, from 120 s into the drive."""
    time_s = drive06.signals[:, drivedb.COL_TIME]
    return np.interp(120.0 + np.arange(SECONDS), time_s, drive06.signals[:, drivedb.COL_HR])


def beat_intervals(hr: np.ndarray) -> np.ndarray:
    """Beat-to-beat intervals (s, to the millisecond as FIT stores them) of a heart beating
    at `hr` (bpm, once a second)."""
    intervals, t = [], 0.0
    while t < hr.size:
        rr = round(60.0 / float(np.interp(t, np.arange(hr.size), hr)), 3)
        intervals.append(rr)
        t += rr
    return np.asarray(intervals)


def assert_beat_to_beat(samples, rr, from_s=0.0, *, exact=True):
    """`samples` (4 Hz from `from_s`) are, at each time, the rate of the beat interval `rr`
    (counted from 0 s) that holds it, wherever the reader kept it (intervals far from their
    neighbours' median are artefacts; drivedb's HR has a few). Not `exact`: beats re-timed
    after a dropout may sit up to a second later than they were, so for some shift in 0-1 s
    nearly every sample matches."""
    kept = np.isfinite(samples)
    assert kept.mean() > 0.95
    end = np.cumsum(rr)
    best = 0.0
    for shift in [0.0] if exact else np.linspace(0.0, 1.0, 41):
        t = from_s - shift + np.arange(samples.size) / 4.0
        which = np.minimum(np.searchsorted(end, t), rr.size - 1)
        matches = np.isclose(samples[kept], 60.0 / rr[which[kept]], rtol=1e-9)
        best = max(best, matches.mean())
    assert best == 1.0 if exact else best > 0.9


def write_fit(
    path,
    hr=None,
    *,
    rr=None,
    stress=(),
    acc=False,
    every=1,
    missing_records=(),
    missing_beats=(),
    seconds=SECONDS,
):
    """A FIT activity as a watch writes it: file_id, a timer start event, then each second a
    record (heart_rate from `hr` where given, cadence always), an hrv message with the beats
    of that second (from the intervals `rr`), and an accelerometer_data message (25 Hz,
    calibrated g); stress_level messages (second, value) at the end."""
    from garmin_fit_sdk import Encoder, Profile

    num = Profile["mesg_num"]
    encoder = Encoder()
    encoder.write_mesg(
        {
            "mesg_num": num["FILE_ID"],
            "type": "activity",
            "manufacturer": "garmin",
            "product": 3113,
            "serial_number": 1234567,
            "time_created": START,
        }
    )
    encoder.write_mesg(
        {"mesg_num": num["EVENT"], "timestamp": START, "event": "timer", "event_type": "start"}
    )
    beat_end = np.cumsum(rr) if rr is not None else np.zeros(0)
    for second in range(0, seconds, every):
        if second in missing_records:
            continue
        record = {"mesg_num": num["RECORD"], "timestamp": START + timedelta(seconds=second)}
        if hr is not None:
            record["heart_rate"] = round(float(hr[second]))
        record["cadence"] = 80
        encoder.write_mesg(record)
        if rr is not None and second not in missing_beats:
            these = rr[(beat_end > second - every) & (beat_end <= second)]
            for i in range(0, these.size, 5):
                # Five intervals a message, padded with the invalid value, as watches write.
                five = [float(x) for x in these[i : i + 5]] + [INVALID_RR] * 5
                encoder.write_mesg({"mesg_num": num["HRV"], "time": five[:5]})
        if acc:
            phase = 2 * np.pi * (second + np.arange(ACC_HZ) / ACC_HZ)
            encoder.write_mesg(
                {
                    "mesg_num": num["ACCELEROMETER_DATA"],
                    "timestamp": START + timedelta(seconds=second),
                    "timestamp_ms": 0,
                    "sample_time_offset": [int(i * 1000 / ACC_HZ) for i in range(ACC_HZ)],
                    "calibrated_accel_x": [float(x) for x in 0.3 * np.sin(phase)],
                    "calibrated_accel_y": [0.0] * ACC_HZ,
                    "calibrated_accel_z": [1.0] * ACC_HZ,
                }
            )
    for second, value in stress:
        encoder.write_mesg(
            {
                "mesg_num": num["STRESS_LEVEL"],
                "stress_level_value": value,
                "stress_level_time": START + timedelta(seconds=second),
            }
        )
    path.write_bytes(encoder.close())
    return path


@pytest.fixture(scope="module")
def activity(tmp_path_factory, hr):
    """activity.fit: 10 min of drive06's HR as per-second records, its beat intervals as hrv
    messages, stress levels (two of them "no measurement") and a 25 Hz accelerometer."""
    path = tmp_path_factory.mktemp("fit") / "activity.fit"
    return write_fit(path, hr, rr=beat_intervals(hr), stress=STRESS, acc=True)


def test_it_sniffs_a_fit_header(activity):
    """activity.fit (its fixture) by its header, whatever its name; not a CSV named .fit."""
    head = activity.read_bytes()[:4096]
    assert fit_reader.sniff(head, "activity.fit")
    assert fit_reader.sniff(head, "upload.bin")  # the content decides
    assert not fit_reader.sniff(b"time,HR\n0,70\n", "activity.fit")
    assert detect_format(activity) == "fit"


def test_it_reads_beat_to_beat_hr_stress_and_movement(activity, hr):
    """activity.fit (see its fixture): the beat intervals give HR at 4 Hz, preferred over
    the per-second HR; stress levels become extras; the accelerometer its magnitude."""
    recording = fit_reader.read(activity, max_duration_s=24 * 3600)
    assert recording.format == "fit"
    assert recording.roles == {"hr", "acc"}
    channel = recording.channel("hr")
    assert (channel.name, channel.unit, channel.rate_hz) == ("HR (beat to beat)", "bpm", 4.0)
    assert recording.start_time == START
    assert recording.start_time.utcoffset() == timedelta(0)
    assert recording.duration_s == pytest.approx(SECONDS, abs=1.5)
    assert_beat_to_beat(channel.samples, beat_intervals(hr))
    assert "per-second heart rate" in recording.ignored
    assert "cadence" in recording.ignored
    assert recording.extras["device_stress"] == [(60.0, 25.0), (180.0, 40.0), (540.0, 61.0)]
    movement = recording.channel("acc")
    assert (movement.unit, movement.rate_hz) == ("g", ACC_HZ)
    assert movement.offset_s == 0.0
    expected = np.sqrt((0.3 * np.sin(2 * np.pi * np.arange(ACC_HZ) / ACC_HZ)) ** 2 + 1.0)
    np.testing.assert_allclose(movement.samples[:ACC_HZ], expected, atol=1e-6)


def test_it_reads_per_second_hr_when_there_are_no_beats(tmp_path, hr):
    """records.fit: the same 10 min as per-second records only (no hrv messages)."""
    recording = fit_reader.read(write_fit(tmp_path / "records.fit", hr), max_duration_s=86400)
    channel = recording.channel("hr")
    assert (channel.name, channel.unit, channel.rate_hz) == ("HR", "bpm", 1.0)
    np.testing.assert_array_equal(channel.samples, np.round(hr))
    assert recording.start_time == START
    assert recording.duration_s == SECONDS
    assert "device_stress" not in recording.extras


def test_smart_recording_is_interpolated_onto_one_hertz(tmp_path, hr):
    """smart.fit: a record every 4 s (a watch's "smart recording"), no beats."""
    recording = fit_reader.read(
        write_fit(tmp_path / "smart.fit", hr, every=4), max_duration_s=86400
    )
    samples = recording.channel("hr").samples
    assert recording.channel("hr").rate_hz == 1.0
    assert not np.isnan(samples).any()
    np.testing.assert_array_equal(samples[::4], np.round(hr[::4]))
    assert samples[1] == pytest.approx(0.75 * round(hr[0]) + 0.25 * round(hr[4]))


def test_a_long_pause_leaves_the_longest_unbroken_stretch(tmp_path, hr):
    """paused.fit: per-second records with none between 200 s and 270 s (a paused timer):
    the 330 s after the pause are read, and the 200 s before are named as dropped."""
    path = write_fit(tmp_path / "paused.fit", hr, missing_records=range(200, 270))
    recording = fit_reader.read(path, max_duration_s=86400)
    assert recording.start_time == START + timedelta(seconds=270)
    assert recording.duration_s == SECONDS - 270
    np.testing.assert_array_equal(recording.channel("hr").samples, np.round(hr[270:]))
    dropped = [i for i in recording.ignored if "longest unbroken stretch" in i]
    assert dropped == ["heart rate outside its longest unbroken stretch (4.5 min before it)"]


def test_beats_after_a_dropout_stay_in_step_with_the_records(tmp_path, hr):
    """dropout.fit: as activity.fit without accelerometer, but the strap's beats of 200-207 s
    never arrived: the beats after the dropout are put back in step with the records (not 8 s
    early), and the dropout is missing data."""
    rr = beat_intervals(hr)
    path = write_fit(tmp_path / "dropout.fit", hr, rr=rr, missing_beats=range(200, 208))
    recording = fit_reader.read(path, max_duration_s=86400)
    channel = recording.channel("hr")
    assert channel.rate_hz == 4.0
    assert recording.duration_s == pytest.approx(SECONDS, abs=1.5)
    assert np.isnan(channel.samples[201 * 4 : 206 * 4]).all()
    assert_beat_to_beat(channel.samples[210 * 4 :], rr, from_s=210.0, exact=False)


def test_heart_rate_a_strap_stored_in_hr_messages(tmp_path, hr):
    """hr.fit: records without heart rate and, as a strap that stored heart rate the watch
    could not receive (swimming) leaves it, hr messages: an anchor with the time, then
    messages of eight beats' event times (1 s apart here) and filtered bpm."""
    from garmin_fit_sdk import Encoder, Profile

    num = Profile["mesg_num"]
    encoder = Encoder()
    encoder.write_mesg(
        {"mesg_num": num["FILE_ID"], "type": "activity", "manufacturer": "garmin", "product": 1}
    )
    for second in range(SECONDS):
        encoder.write_mesg(
            {"mesg_num": num["RECORD"], "timestamp": START + timedelta(seconds=second)}
        )
    bpm = [round(float(x)) for x in hr]
    encoder.write_mesg(
        {
            "mesg_num": num["HR"],
            "timestamp": START,
            "fractional_timestamp": 0.0,
            "event_timestamp": [0.0],
            "filtered_bpm": [bpm[0]],
        }
    )
    for first in range(1, SECONDS, 8):
        seconds = list(range(first, min(first + 8, SECONDS)))
        encoder.write_mesg(
            {
                "mesg_num": num["HR"],
                "event_timestamp": [float(s) for s in seconds],
                "filtered_bpm": [bpm[s] for s in seconds],
            }
        )
    path = tmp_path / "hr.fit"
    path.write_bytes(encoder.close())
    recording = fit_reader.read(path, max_duration_s=86400)
    channel = recording.channel("hr")
    assert (channel.name, channel.rate_hz) == ("HR", 1.0)
    assert recording.start_time == START
    np.testing.assert_array_equal(channel.samples, bpm)


def test_a_file_without_heart_rate_has_no_usable_channel(tmp_path):
    """cadence.fit: records with cadence only."""
    path = write_fit(tmp_path / "cadence.fit")
    with pytest.raises(RecordingError) as caught:
        read_recording(path, "cadence.fit")
    assert caught.value.code == "no_usable_channel"
    assert "heart rate" in caught.value.message
    assert plain(caught.value.message)


def test_a_cut_off_file_is_truncated(tmp_path, activity):
    """half.fit: activity.fit's first half (its header promises the whole)."""
    path = tmp_path / "half.fit"
    data = activity.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(RecordingError) as caught:
        read_recording(path, "half.fit")
    assert caught.value.code == "truncated"
    assert caught.value.message.startswith("This FIT file ends before its header says")
    assert plain(caught.value.message)


def test_a_changed_byte_fails_the_checksum(tmp_path, activity):
    """damaged.fit: activity.fit with one byte of a record flipped."""
    data = bytearray(activity.read_bytes())
    data[len(data) // 2] ^= 0x01
    path = tmp_path / "damaged.fit"
    path.write_bytes(bytes(data))
    with pytest.raises(RecordingError) as caught:
        read_recording(path, "damaged.fit")
    assert caught.value.code == "truncated"
    assert "damaged" in caught.value.message
    assert plain(caught.value.message)


def test_more_than_a_day_is_too_long(tmp_path, hr):
    """long.fit: a record every 10 s for 25 h (drive06's 10 min of HR over and over)."""
    seconds = 25 * 3600
    path = write_fit(tmp_path / "long.fit", np.resize(hr, seconds), every=10, seconds=seconds)
    with pytest.raises(RecordingError) as caught:
        read_recording(path, "long.fit")
    assert caught.value.code == "too_long"
    assert caught.value.message == "The recording lasts 25.0 h; at most 24 h can be scored."


def test_the_dispatcher_reads_it_by_content(tmp_path, activity):
    """activity.fit stored under another name, as uploads are."""
    stored = tmp_path / "upload-0001"
    stored.write_bytes(activity.read_bytes())
    recording = read_recording(stored, "activity.fit")
    assert recording.format == "fit"
    assert recording.roles == {"hr", "acc"}
    assert recording.extras["device_stress"][0] == (60.0, 25.0)
