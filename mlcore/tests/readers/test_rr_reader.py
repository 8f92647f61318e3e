"""RR-interval files and the HR they give, written from drivedb's drive06: its beat-to-beat
HR channel integrated to beat times (test_polar_reader.beat_times), their intervals written
as HRV apps and Kubios write them (one per line, in ms or s), as a two-column CSV, and as an
Empatica E4 IBI.csv."""

from __future__ import annotations

from datetime import UTC

import numpy as np
import pytest

from mlcore.readers import detect_format, read_recording, rr_reader
from mlcore.readers.rr_reader import artefacts, hr_from_intervals
from mlcore.recordings.recording import RecordingError
from mlcore.tests.readers.test_polar_reader import check_message, drive_beats

SECONDS = 600.0


@pytest.fixture(scope="module")
def beats(drive06):
    return drive_beats(drive06, 900.0, SECONDS)


@pytest.fixture(scope="module")
def intervals_ms(beats):
    return np.rint(np.diff(beats) * 1000)


def expected_hr(intervals_s: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Each interval's rate from the beat that ends it (t from the first beat)."""
    ends = np.cumsum(intervals_s)
    latest = np.searchsorted(ends, t, side="right") - 1
    return np.where(latest >= 0, 60.0 / intervals_s[np.clip(latest, 0, None)], np.nan)


def test_hr_from_intervals_holds_each_beat_and_drops_artefacts():
    """No file: 40 intervals of 800 ms made here, one 37% short, one of 2.2 s, one 6% long."""
    rr = np.full(40, 0.8)
    rr[10] = 0.5  # 37% short: an extra or ectopic beat
    rr[20] = 2.2  # outside 300-2000 ms: a missed beat
    rr[30] = 0.85  # 6% off the local median: a normal beat
    hr = hr_from_intervals(rr)
    t = np.arange(hr.shape[0]) / 4.0
    ends = np.cumsum(rr)
    assert np.isnan(hr[t < ends[0]]).all()  # nothing before the first interval ends
    assert hr[int(np.ceil(ends[0] * 4))] == pytest.approx(75.0)
    for bad in (10, 20):
        during = (t >= ends[bad]) & (t < ends[bad + 1])
        assert np.isnan(hr[during]).all()
    normal = (t >= ends[30]) & (t < ends[31])
    assert hr[normal] == pytest.approx(60 / 0.85)
    assert artefacts(rr).nonzero()[0].tolist() == [10, 20]


def test_hr_from_intervals_with_beat_times_keeps_a_gap():
    """No file: 20 one-second intervals whose beat times skip 6 s after the tenth."""
    rr = np.full(20, 1.0)
    ends = np.cumsum(rr)
    ends[10:] += 6.0  # six seconds without beats
    hr = hr_from_intervals(rr, ends_s=ends)
    t = np.arange(hr.shape[0]) / 4.0
    assert np.isnan(hr[(t > ends[9] + 2.5) & (t < ends[10])]).all()
    assert hr[-1] == pytest.approx(60.0)
    assert hr.shape[0] == pytest.approx((ends[-1] - 0.0) * 4 + 1, abs=1)


def test_one_interval_per_line_in_ms(tmp_path, intervals_ms):
    """rr.txt: drive06's intervals, one per line in ms, no header (Elite HRV, Kubios ASCII)."""
    path = tmp_path / "rr.txt"
    path.write_text("\n".join(str(int(v)) for v in intervals_ms) + "\n")
    assert detect_format(path, "rr.txt") == "rr"
    recording = read_recording(path, "rr.txt")
    assert recording.format == "rr"
    assert recording.start_time is None  # no clock in the file
    hr = recording.channel("hr")
    assert (hr.name, hr.unit, hr.rate_hz, hr.offset_s) == ("HR", "bpm", 4.0, 0.0)
    rr = intervals_ms / 1000.0
    t = np.arange(hr.samples.shape[0]) / 4.0
    expected = expected_hr(rr, t)
    clean = ~np.isnan(hr.samples)
    assert clean.mean() > 0.95
    np.testing.assert_allclose(hr.samples[clean], expected[clean])
    assert recording.duration_s == pytest.approx(rr.sum(), abs=0.3)


def test_seconds_under_a_header(tmp_path, intervals_ms):
    """Kubios-style: a header line, then the intervals in seconds (the unit comes from their
    magnitude, median < 3)."""
    path = tmp_path / "ibi.txt"
    path.write_text("RR (s)\n" + "\n".join(f"{v / 1000:.3f}" for v in intervals_ms) + "\n")
    recording = read_recording(path, "ibi.txt")
    assert recording.channel("hr").samples[40] == pytest.approx(
        expected_hr(intervals_ms / 1000.0, np.array([10.0]))[0]
    )
    assert recording.duration_s == pytest.approx(intervals_ms.sum() / 1000.0, abs=0.3)


def test_a_two_column_csv_with_beat_times(tmp_path, beats, intervals_ms):
    """time,rr_ms: beat times (s) and intervals (ms), with 6 s of beats missing: the beat
    times keep the gap instead of the intervals pulling the later beats forward."""
    ends = beats[1:]
    keep = ~((ends > 200.0) & (ends < 206.0))
    lines = ["time,rr_ms"] + [
        f"{t:.3f},{int(v)}" for t, v in zip(ends[keep], intervals_ms[keep], strict=True)
    ]
    path = tmp_path / "beats.csv"
    path.write_text("\n".join(lines) + "\n")
    assert detect_format(path, "beats.csv") == "rr"
    hr = read_recording(path, "beats.csv").channel("hr")
    first = beats[0]
    t = first + np.arange(hr.samples.shape[0]) / 4.0
    assert np.isnan(hr.samples[(t > 203.0) & (t < 205.5)]).all()
    later = np.flatnonzero(ends > 206.0)[5]
    i = int(np.ceil((ends[later] - first) * 4.0))
    assert hr.samples[i] == pytest.approx(60000.0 / intervals_ms[later])


def test_an_empatica_e4_ibi_file(tmp_path, beats, intervals_ms):
    """IBI.csv as the E4 exports it: the session start (unix s) and 'IBI' as the header, then
    each beat's time after the start and its interval, both in seconds."""
    session = 1_700_000_000.0
    lines = [f"{session:.6f}, IBI"] + [
        f"{t:.6f},{v / 1000:.6f}" for t, v in zip(beats[1:], intervals_ms, strict=True)
    ]
    path = tmp_path / "IBI.csv"
    path.write_text("\n".join(lines) + "\n")
    recording = read_recording(path, "IBI.csv")
    first_beat = session + round(beats[1], 6) - intervals_ms[0] / 1000.0
    assert recording.start_time.tzinfo is UTC
    assert recording.start_time.timestamp() == pytest.approx(first_beat, abs=1e-3)
    assert recording.channel("hr").rate_hz == 4.0


def test_sniff_claims_intervals_only():
    """File heads written inline: RR layouts it takes, and CSVs it must leave to the CSV
    reader."""
    assert rr_reader.sniff(b"812\n790\n845\n801\n", "rr.txt")
    assert rr_reader.sniff(b"0.812\n0.790\n0.845\n", "rr.txt")
    assert rr_reader.sniff(b"RR-interval [ms]\n812\n790\n", "x.txt")
    assert rr_reader.sniff(b"time;IBI\n0.8;812\n1.6;790\n", "x.csv")
    assert rr_reader.sniff(b"1700000000.000000, IBI\n10.1,0.8\n", "IBI.csv")
    for other in (
        b"time,HR\n0,70\n1,71\n",  # an ordinary CSV with a time column
        b"time,HR,EDA\n0,70,1.2\n1,71,1.3\n",
        b"time,RR,HR\n0,800,70\n1,810,71\n",  # more than two columns
        b"time,RR\n0,14\n1,15\n2,15\n3,16\n",  # RR as a respiratory rate (breaths/min)
        b"70\n71\n72\n73\n",  # heart rates, not intervals
        b"1700000000.0\n4.0\n0.3\n0.31\n",  # an E4 EDA.csv
        b"0,800\n1,810\n2,790\n",  # two bare columns
        b"",
    ):
        assert not rr_reader.sniff(other, "x.csv"), other


def test_refusals(tmp_path, intervals_ms):
    """Small files written inline (a header with no intervals, a line that is not a number,
    30 beats, an interval of 0) and drive06's intervals repeated past the duration limit."""
    cases = {
        "header_only.txt": ("RR\n", "empty"),
        "garbled.txt": ("800\n810\nabc\n790\n", "unsupported_format"),
        "short.txt": ("\n".join(["800", "810"] * 15) + "\n", "too_short"),
        "zero.txt": ("RR\n800\n0\n790\n", "bad_value"),
    }
    for name, (text, code) in cases.items():
        path = tmp_path / name
        path.write_text(text)
        with pytest.raises(RecordingError) as caught:
            rr_reader.read(path, max_duration_s=24 * 3600)
        assert caught.value.code == code, (name, caught.value)
        check_message(caught.value)
    long = tmp_path / "long.txt"
    long.write_text("\n".join(str(int(v)) for v in np.resize(intervals_ms, 8000)) + "\n")
    with pytest.raises(RecordingError) as caught:
        read_recording(long, "long.txt", max_duration_s=3600)
    assert caught.value.code == "too_long"
