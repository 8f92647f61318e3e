"""`{% load plain %}`: what templates show for scores, durations, models and row errors."""

from datetime import UTC, datetime

import pytest
from django.template import Context, Template

from predictions.templatetags.plain import (
    columns_as_code,
    duration_words,
    score,
    seconds_words,
    shown_level,
    time_in_levels,
)
from predictions.tests.factories import ModelVersionFactory


def test_a_score_and_its_level_come_from_the_probabilities():
    coin_flip = {"low": 0.35, "medium": 0.36, "high": 0.29}
    assert (score(coin_flip), shown_level(coin_flip)) == (47, "uncertain")


@pytest.mark.django_db
def test_a_model_reads_as_its_day_with_its_id_on_hover():
    version = ModelVersionFactory(version="rf-20261201-174925-9cb2d0f4")
    version.created_at = datetime(2026, 12, 1, 17, 49, tzinfo=UTC)
    html = Template("{% load plain %}{% model_name v %}").render(Context({"v": version}))
    assert html == (
        '<span class="model-name" title="rf-20261201-174925-9cb2d0f4">model of 1 Dec 2026</span>'
    )


@pytest.mark.django_db
def test_a_fresh_results_version_without_its_date_is_looked_up():
    saved = ModelVersionFactory()
    bare = type(saved)(id=saved.id, version=saved.version)  # as services attach it
    html = Template("{% load plain %}{% model_name v %}").render(Context({"v": bare}))
    assert f"model of {saved.created_at.day} {saved.created_at:%b %Y}" in html


def test_durations_in_words():
    assert [duration_words(s) for s in (0, 20, 60, 2400, 4800, 7200)] == [
        "0 min",
        "under a minute",
        "1 min",
        "40 min",
        "1 h 20 min",
        "2 h",
    ]
    assert [seconds_words(s) for s in (30, 60, 120, 1)] == [
        "30 seconds",
        "1 minute",
        "2 minutes",
        "1 second",
    ]


def test_uncertain_time_is_listed_only_when_there_was_some():
    assert [
        level for level, _ in time_in_levels({"low": 0, "medium": 30, "high": 0, "uncertain": 0})
    ] == [
        "low",
        "medium",
        "high",
    ]
    assert time_in_levels({"low": 0, "uncertain": 30}) == [("low", 0), ("uncertain", 30)]


def test_a_row_errors_column_names_are_code_and_the_rest_is_escaped():
    assert columns_as_code("heart_rate must be <b>40</b>; ecg too") == (
        "<code>heart_rate</code> must be &lt;b&gt;40&lt;/b&gt;; <code>ecg</code> too"
    )
