"""The words a person reads: channel sets, explanations, model names, the reading guide."""

from __future__ import annotations

import re
from datetime import date

from mlcore.plain_words import (
    CHANNEL_SET_WORDS,
    EXAMPLE_READINGS,
    WINDOW_FEATURE_WORDS,
    channel_set_words,
    column_direction,
    column_words,
    example_readings_from_drivedb,
    model_words,
    reading_guide,
    reading_reasons,
    recording_reasons,
)
from mlcore.readings.features import FEATURE_NAMES
from mlcore.readings.preprocessing import FeatureMapping
from mlcore.recordings.channel_sets import CHANNEL_SETS
from mlcore.recordings.spec import make_spec
from mlcore.recordings.windows import FEATURE_NAMES as WINDOW_FEATURES

CODE = re.compile(r"[a-z]+_[a-z_]+|__|@")


def test_every_channel_set_and_feature_has_words_and_no_code():
    assert set(CHANNEL_SETS) <= set(CHANNEL_SET_WORDS)
    assert channel_set_words("hr_gsr_resp") == "heart rate, skin conductance and breathing"
    assert channel_set_words("no_such_set") == "the signals it had"
    assert set(WINDOW_FEATURES) == set(WINDOW_FEATURE_WORDS)
    for words in CHANNEL_SET_WORDS.values():
        assert not CODE.search(words)


def test_every_column_a_shipped_model_can_use_reads_as_words():
    for name in CHANNEL_SETS:
        for calibrated in (False, True):
            spec = make_spec(name, calibrated, "diff", context_s=300.0)
            for column in spec.columns:
                for direction in (-1, 0, 1):
                    text = column_words(column, direction)
                    assert text and not CODE.search(text), (column, text)


def test_a_column_relative_to_rest_says_which_way_it_went():
    assert column_direction("resp_rate__diff", 2.5) == 1
    assert column_direction("resp_rate__ratio", 0.8) == -1
    assert column_direction("resp_rate", 20.0) == 0  # as measured: no rest to compare with
    assert column_direction("resp_rate__diff", float("nan")) == 0
    assert column_words("resp_rate__diff", 1) == "your breathing was faster than at rest"
    assert column_words("scr_rate__diff", 1) == "skin conductance rose more often than at rest"
    assert column_words("resp_std__diff@context", -1) == (
        "your breathing movement was smaller than at rest over the minutes before"
    )
    assert column_words("resp_rate__z", 0) == "your breathing rate, compared with your rest"


def test_reasons_carry_their_share_of_the_result():
    reasons = recording_reasons(
        {"resp_rate__diff": 0.3, "hr_mean": -0.1, "scl_mean__diff": 0.001},
        {"resp_rate__diff": 1},
        shares={"resp_rate__diff": 0.6, "hr_mean": 0.2, "scl_mean__diff": 0.002},
    )
    assert [(r.text, round(r.share, 2), r.towards) for r in reasons] == [
        ("Your breathing was faster than at rest", 0.6, True),
        ("Your heart rate", 0.2, False),
    ]
    # Without the scorer's shares: the share among the columns given.
    alone = recording_reasons({"resp_rate__diff": 0.3, "hr_mean": -0.1})
    assert [round(r.share, 2) for r in alone] == [0.75, 0.25]
    typed = reading_reasons(
        {"heart_rate": 0.2, "gsr": 0.1, "ecg": -0.1, "emg": 0.0, "respiration": 0.0},
        {"heart_rate": 90.0, "gsr": 0.05, "ecg": 0.3},
        EXAMPLE_READINGS["rest"],
    )
    assert [(r.text, r.share) for r in typed] == [
        ("Your heart rate was higher than at a typical rest", 0.5),
        ("Your skin conductance was lower than at a typical rest", 0.25),
        ("The heart's electrical signal varied more than at a typical rest", 0.25),
    ]


def test_a_model_is_named_by_its_day():
    assert model_words(date(2026, 12, 1)) == "model of 1 Dec 2026"
    assert model_words(None) == "current model"


def test_the_reading_guide_says_how_a_device_value_maps_to_each_number():
    mapping = FeatureMapping.fit(_table()).to_dict()
    guide = reading_guide(mapping)
    assert list(guide) == list(FEATURE_NAMES)
    gsr = next(ch for ch in mapping["channels"] if ch["feature"] == "gsr")
    assert f"{gsr['low']:.2f} mV or less is 0" in guide["gsr"].from_device
    assert "beats per minute" in guide["heart_rate"].what
    assert set(reading_guide(None)) == set(FEATURE_NAMES)  # without a card: what each one is


def _table():
    from mlcore import drivedb
    from mlcore.readings.preprocessing import window_table

    return window_table([drivedb.load_drive("drive06")])


def test_the_example_readings_are_what_drivedb_measures():
    assert example_readings_from_drivedb() == EXAMPLE_READINGS
