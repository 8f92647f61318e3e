import numpy as np
import pytest

from mlcore import drivedb
from mlcore.drivedb import ORDERS, SEGMENT_LABEL, Segment
from mlcore.recordings.dataset import (
    DriveData,
    drive_windows,
    load_drive_data,
    splice,
    window_labels,
)
from mlcore.recordings.windows import Derived

# A toy drive at 1 Hz: a 5 s lead-in, the seven segments, a 2 s tail. Each sample's value is
# its time in the original, so the reassembled series says where every sample came from.
BOUNDS = {
    "Rest1": (5, 20),
    "City1": (20, 40),
    "Highway1": (40, 55),
    "City2": (55, 65),
    "Highway2": (65, 75),
    "City3": (75, 90),
    "Rest2": (90, 98),
}


def toy() -> DriveData:
    segments = tuple(
        Segment(n, SEGMENT_LABEL[n], float(a), float(b)) for n, (a, b) in BOUNDS.items()
    )
    derived = Derived(
        rate_hz=1.0,
        n=100,
        series={"hr": np.arange(100, dtype=np.float64)},
        scr_peaks=np.array([3, 45, 60, 95]),
        scr_amplitudes=np.array([0.1, 0.2, 0.3, 0.4]),
    )
    return DriveData("toy", derived, segments, (5.0, 185.0))


def test_it_reassembles_the_segments_in_the_order_asked_rest1_first():
    spliced = splice(toy(), ORDERS["A"])
    assert [s.name for s in spliced.segments] == list(ORDERS["A"])
    expected = np.concatenate(
        [np.arange(0, 20)]  # the lead-in stays with Rest1
        + [np.arange(*BOUNDS[name]) for name in ORDERS["A"][1:]]
        + [np.arange(98, 100)]  # the tail stays last
    )
    np.testing.assert_array_equal(spliced.derived.series["hr"], expected)
    assert spliced.derived.n == 100
    # Rest1 keeps its samples, so its baseline range is the same.
    assert spliced.segments[0] == Segment("Rest1", 0, 5.0, 20.0)
    assert spliced.baseline_s == (5.0, 185.0)
    # Segments are contiguous and as long as before.
    for a, b in zip(spliced.segments, spliced.segments[1:], strict=False):
        assert a.end_s == b.start_s
    for segment in spliced.segments:
        lo, hi = BOUNDS[segment.name]
        assert segment.end_s - segment.start_s == hi - lo
    # Skin conductance responses move with their samples.
    hr = spliced.derived.series["hr"]
    np.testing.assert_array_equal(hr[spliced.derived.scr_peaks], [3, 45, 60, 95])
    np.testing.assert_array_equal(spliced.derived.scr_amplitudes, [0.1, 0.2, 0.3, 0.4])


def test_window_labels_follow_their_segments_in_the_new_order():
    spliced = splice(toy(), ORDERS["B"])
    hr = spliced.derived.series["hr"]
    starts = np.arange(0.0, 95.0, 1.0)
    labels = window_labels(spliced.segments, starts, window_s=3.0, margin_s=1.0)
    for start, label in zip(starts, labels, strict=True):
        if label < 0:
            continue
        # Every sample of a labelled window comes from one original segment of that label.
        origin = {
            name
            for name, (lo, hi) in BOUNDS.items()
            for t in hr[int(start) : int(start) + 3]
            if lo <= t < hi
        }
        assert len(origin) == 1
        assert SEGMENT_LABEL[origin.pop()] == label


def test_it_refuses_an_order_that_moves_rest1():
    with pytest.raises(ValueError, match="first"):
        splice(toy(), ("City1", "Rest1", "Highway1", "City2", "Highway2", "City3", "Rest2"))


def test_a_real_drive_spliced_keeps_its_baseline_and_labels_its_windows_in_the_new_order():
    data = load_drive_data("drive09")  # no Rest2: the order skips it
    original = drive_windows(data, 120.0, 30.0, context_s=300.0)
    spliced = drive_windows(splice(data, ORDERS["B"]), 120.0, 30.0, context_s=300.0)
    np.testing.assert_array_equal(spliced.baseline.mean, original.baseline.mean)
    runs = [int(x) for i, x in enumerate(spliced.labels) if i == 0 or x != spliced.labels[i - 1]]
    assert runs == [0, 1, 2]  # Rest1, Highway1 Highway2, City1 City2 City3
    runs = [int(x) for i, x in enumerate(original.labels) if i == 0 or x != original.labels[i - 1]]
    assert runs == [0, 2, 1, 2, 1, 2]
    # About as many windows of each level as before (cut at other places).
    for level in (0, 1, 2):
        assert abs((spliced.labels == level).sum() - (original.labels == level).sum()) <= 4


def test_a_raw_drive_spliced_has_the_same_thirty_second_readings():
    from mlcore.readings.preprocessing import window_table

    drive = drivedb.load_drive("drive05")
    spliced = drivedb.splice_drive(drive, ORDERS["A"])
    assert [s.name for s in spliced.segments] == list(ORDERS["A"])
    assert spliced.signals.shape == drive.signals.shape
    a, b = window_table([drive]), window_table([spliced])
    # Non-overlapping windows inside their segment, which moved by whole frames: the same
    # windows, in another order.
    order = np.lexsort((a.start_s, a.segments))
    other = np.lexsort((b.start_s, b.segments))
    np.testing.assert_array_equal(a.segments[order], b.segments[other])
    np.testing.assert_array_equal(a.labels[order], b.labels[other])
    for name, values in a.statistics.items():
        np.testing.assert_array_equal(values[order], b.statistics[name][other])
