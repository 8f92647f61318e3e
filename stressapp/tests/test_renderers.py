"""FastJSONRenderer must say what DRF's JSONRenderer says: the same JSON value, dates and
times spelt the same, the same refusals."""

import datetime as dt
import decimal
import json
import uuid

import pytest
from django.utils.translation import gettext_lazy
from hypothesis import given
from hypothesis import strategies as st
from rest_framework.renderers import JSONRenderer

from stressapp.renderers import FastJSONRenderer

fast, drf = FastJSONRenderer(), JSONRenderer()

SAMPLES = [
    {"when": dt.datetime(2026, 11, 27, 7, 30, tzinfo=dt.UTC), "day": dt.date(2026, 11, 27)},
    {
        "when": dt.datetime(
            2026, 11, 27, 8, 30, 0, 123456, tzinfo=dt.timezone(dt.timedelta(hours=1))
        )
    },
    {"at": dt.time(8, 30), "gap": dt.timedelta(minutes=5)},
    {"id": uuid.UUID("12345678-1234-5678-1234-567812345678"), "amount": decimal.Decimal("1.10")},
    {"label": gettext_lazy("Invalid input."), "tuple": (1, 2), 3: "int key"},
    {"note": "café \u2028 line \u2029 paragraph", "none": None, "flag": True},
    {"tiny": 1e-05, "big": 1e22, "neg": -0.0, "probabilities": [0.1, 0.2, 0.7]},
    [],
    "text",
]


@pytest.mark.parametrize("data", SAMPLES)
def test_it_writes_the_value_drf_writes(data):
    ours = fast.render(data, "application/json")
    theirs = drf.render(data, "application/json")
    assert json.loads(ours) == json.loads(theirs)
    for text in ("2026-11-27T07:30:00Z", "\\u2028", "\\u2029"):  # spelt as DRF spells them
        assert (text.encode() in ours) == (text.encode() in theirs)


def test_it_pretty_prints_an_indent_asked_for_as_drf_does():
    data = {"a": [1, 2]}
    media = "application/json; indent=4"
    assert fast.render(data, media) == drf.render(data, media)


def test_it_writes_nothing_for_no_data():
    assert fast.render(None) == drf.render(None) == b""


def test_it_hands_integers_beyond_64_bits_to_drf():
    assert json.loads(fast.render({"n": 10**30})) == {"n": 10**30}


def test_it_refuses_what_drf_refuses():
    with pytest.raises(TypeError):
        drf.render({"x": object()})
    with pytest.raises(TypeError):
        fast.render({"x": object()})


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.integers(-(2**63), 2**63 - 1)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4)
    ),
    max_leaves=20,
)


@given(json_values.filter(lambda value: value is not None))  # None renders no body
def test_any_json_value_reads_back_the_same(value):
    assert json.loads(fast.render(value)) == json.loads(drf.render(value))
