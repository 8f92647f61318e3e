import numpy as np
import pytest

from mlcore import drivedb
from mlcore.readings.features import FEATURE_NAMES, FEATURES
from mlcore.readings.preprocessing import FeatureMapping, window_bounds, window_table


@pytest.fixture(scope="module")
def table():
    drives = [drivedb.load_drive(name) for name in ("drive05", "drive06")]
    return window_table(drives, window_s=30.0, margin_s=15.0)


def test_it_keeps_windows_away_from_segment_boundaries():
    segment = drivedb.Segment("Rest1", 0, start_s=100.0, end_s=200.0)
    assert window_bounds(segment, 30.0, 15.0) == [(115.0, 145.0), (145.0, 175.0)]


def test_it_maps_every_feature_into_its_contract_range(table):
    mapping = FeatureMapping.fit(table)
    features = mapping.transform(table)
    assert features.shape == (len(table), len(FEATURE_NAMES))
    for column, feature in enumerate(FEATURES):
        assert features[:, column].min() >= feature.minimum
        assert features[:, column].max() <= feature.maximum
    # heart rate stays in bpm, the others span most of 0-1
    assert 50 < np.median(features[:, 0]) < 110
    assert features[:, 1:].max() == 1.0 and features[:, 1:].min() == 0.0


def test_it_round_trips_the_mapping_through_plain_data(table):
    mapping = FeatureMapping.fit(table)
    restored = FeatureMapping.from_dict(mapping.to_dict())
    assert restored == mapping
    np.testing.assert_array_equal(restored.transform(table), mapping.transform(table))


def test_it_labels_every_window(table):
    assert set(np.unique(table.labels)) == {0, 1, 2}
    assert len(table) == len(table.drives) == len(table.segments)
