import numpy as np
import pytest

from mlcore import drivedb

# Offsets published in SOURCE.md (minutes from recording start to Rest1).
PUBLISHED_OFFSETS = {
    "drive05": 0.55,
    "drive06": 1.42,
    "drive07": 1.53,
    "drive08": 0.56,
    "drive09": 0.96,
    "drive10": 2.50,
    "drive11": 1.59,
    "drive12": 5.00,
    "drive15": 0.26,
    "drive16": 0.62,
}


@pytest.fixture(scope="module")
def drives() -> dict[str, drivedb.Drive]:
    return {name: drivedb.load_drive(name) for name in drivedb.drive_names()}


def test_it_finds_the_ten_labelled_drives():
    assert drivedb.drive_names() == sorted(PUBLISHED_OFFSETS)


def test_it_aligns_segment_boundaries_to_the_marker_spikes(drives):
    for name, published in PUBLISHED_OFFSETS.items():
        drive = drives[name]
        # Within the 15 s margin that window cutting leaves at every boundary.
        assert abs(drive.offset_min - published) <= 0.25, (name, drive.offset_min)
        assert drive.spikes_matched >= 4


def test_it_labels_rest_low_highway_medium_city_high(drives):
    drive = drives["drive05"]
    labels = {segment.name: segment.label for segment in drive.segments}
    assert labels == {
        "Rest1": 0,
        "City1": 2,
        "Highway1": 1,
        "City2": 2,
        "Highway2": 1,
        "City3": 2,
        "Rest2": 0,
    }
    starts = [segment.start_s for segment in drive.segments]
    assert starts == sorted(starts)


def test_it_leaves_out_segments_a_drive_does_not_have(drives):
    assert "Rest2" not in {segment.name for segment in drives["drive09"].segments}


def test_it_finds_no_offset_without_spikes():
    _offset, matched = drivedb.align_offset(np.array([]), np.array([0.0, 15.0]))
    assert matched == 0


def test_it_lists_every_training_file_with_its_checksum():
    files = drivedb.data_files()
    assert len(files) == 11
    assert all(len(f["sha256"]) == 64 for f in files)
