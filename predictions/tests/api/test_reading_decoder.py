"""The compiled decoder of POST /api/predict must never accept what the serializer refuses,
nor read a body differently; and it must really take the common bodies (else the hot path
silently falls back and the speed-up is gone)."""

import json
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.exceptions import ParseError
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from mlcore.readings.features import FEATURES
from predictions.api.reading_decoder import reading_from_body
from predictions.api.serializers import ReadingInputSerializer
from stressapp.parsers import StrictJSONParser
from stressapp.tests.support import reading_payload

factory = APIRequestFactory()


def request_for(body: bytes, content_type: str = "application/json") -> Request:
    return Request(
        factory.post("/api/predict", data=body, content_type=content_type),
        parsers=[StrictJSONParser()],
    )


def serializer_reading(body: bytes):
    """What the serializer path makes of the body: a Reading, or None when it refuses."""
    request = request_for(body)
    try:
        data = request.data
    except ParseError:
        return None
    serializer = ReadingInputSerializer(data=data)
    return serializer.to_reading() if serializer.is_valid() else None


@pytest.mark.parametrize(
    "payload",
    [
        reading_payload(),
        reading_payload(heart_rate=72, ecg=0, emg=1),  # integers and both ends of a range
        reading_payload(measured_at="2026-11-27T08:30:00+01:00", note="  after the run "),
        reading_payload(measured_at="2026-11-27T07:30:00Z", note=""),
    ],
)
def test_it_takes_the_common_bodies_and_reads_them_as_the_serializer_does(payload):
    body = json.dumps(payload).encode()
    fast = reading_from_body(request_for(body))
    assert fast is not None
    slow = serializer_reading(body)
    if "measured_at" not in payload:  # both default to now
        assert abs((fast.measured_at - slow.measured_at).total_seconds()) < 5
        slow = slow.__class__(**{**slow.__dict__, "measured_at": fast.measured_at})
    assert fast == slow


@pytest.mark.parametrize(
    "body",
    [
        b'{"heart_rate": 72, "heart_rate": 190, "ecg": 0.4, "emg": 0.2, "gsr": 0.5, '
        b'"respiration": 0.3}',  # a duplicate key, which StrictJSONParser names
        b'{"heart\\u005frate": 72, "ecg": 0.4, "emg": 0.2, "gsr": 0.5, "respiration": 0.3}',
        b'{"heart_rate": 72, "ecg": 0.4, "emg": 0.2, "gsr": 0.5, "respiration": 0.3, "x": 1}',
        b'{"heart_rate": 300, "ecg": 0.4, "emg": 0.2, "gsr": 0.5, "respiration": 0.3}',
        b'{"heart_rate": true, "ecg": 0.4, "emg": 0.2, "gsr": 0.5, "respiration": 0.3}',
        b'{"heart_rate": "72", "ecg": 0.4, "emg": 0.2, "gsr": 0.5, "respiration": 0.3}',
        b'{"heart_rate": 72, "ecg": 0.4, "emg": 0.2, "gsr": 0.5}',
        b'{"heart_rate": 72, "ecg": 0.4, "emg": 0.2, "gsr": 0.5, "respiration": 0.3,'
        b' "measured_at": "2026-11-27T08:30:00"}',  # no offset
        b'{"heart_rate": 72, "ecg": 0.4, "emg": 0.2, "gsr": 0.5, "respiration": 0.3,'
        b' "measured_at": "2999-01-01T00:00:00Z"}',  # the future
        b"[72, 0.4, 0.2, 0.5, 0.3]",
        b'{"heart_rate": 72, "ecg": 0.4, "emg": 0.2, "gsr": 0.5, "respiration": 0.3,'
        b' "note": "\xff\xfe"}',  # not UTF-8
        b"",
    ],
)
def test_it_leaves_every_doubtful_body_to_the_serializer(body):
    assert reading_from_body(request_for(body)) is None


def test_it_leaves_other_encodings_and_large_bodies_to_the_serializer():
    body = json.dumps(reading_payload()).encode()
    assert reading_from_body(request_for(body, "application/json; charset=latin-1")) is None
    assert reading_from_body(request_for(body, "text/plain")) is None
    long_note = json.dumps(reading_payload(note="x" * 5000)).encode()
    assert reading_from_body(request_for(long_note)) is None


def test_it_stays_within_django_body_limit(settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 20
    body = json.dumps(reading_payload()).encode()
    assert reading_from_body(request_for(body)) is None


def test_the_serializer_still_reads_a_body_it_declined():
    request = request_for(b'{"heart_rate": 72, "heart_rate": 73}')
    assert reading_from_body(request) is None
    with pytest.raises(ParseError, match="more than once"):
        request.data  # noqa: B018 - the body must still be readable after the fast path


# Values near and beyond each range, of every JSON type the body might carry.
_values = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False),
    st.floats(min_value=-1, max_value=250),
    st.integers(min_value=-5, max_value=250),
    st.integers(min_value=-(10**400), max_value=10**400),
    st.booleans(),
    st.none(),
    st.text(max_size=5),
    st.sampled_from([40, 200, 0, 1, 1.0000000000000002, 39.99999999999999, -0.0]),
)
_optional = st.one_of(
    st.fixed_dictionaries({}),
    st.fixed_dictionaries(
        {
            "measured_at": st.one_of(
                st.sampled_from(
                    [
                        "2026-11-27T08:30:00+01:00",
                        "2026-11-27T08:30:00.123456Z",
                        "2026-11-27 08:30:00+00:00",
                        "2026-02-30T08:30:00Z",
                        "1999-12-31T23:59:59Z",
                        "2026-11-27T08:30:00+24:00",
                        "2026-11-27T08:30",
                        "",
                    ]
                ),
                st.text(max_size=30),
                st.integers(),
                st.none(),
            )
        }
    ),
    st.fixed_dictionaries({"note": st.one_of(st.text(max_size=20), st.integers(), st.none())}),
    st.fixed_dictionaries({"unknown": st.integers()}),
)


@st.composite
def bodies(draw) -> bytes:
    payload = {f.name: draw(_values) for f in FEATURES if draw(st.integers(0, 20))}
    payload.update(draw(_optional))
    body = json.dumps(payload, ensure_ascii=draw(st.booleans())).encode()
    if draw(st.integers(0, 9)) == 0:  # now and then, raw bytes spliced in anywhere
        at = draw(st.integers(0, len(body)))
        body = body[:at] + draw(st.binary(min_size=1, max_size=4)) + body[at:]
    return body


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=bodies())
def test_it_never_accepts_what_the_serializer_refuses_nor_reads_a_body_differently(body):
    fast = reading_from_body(request_for(body))
    if fast is None:
        return
    slow = serializer_reading(body)
    assert slow is not None, body
    if b'"measured_at"' not in body:
        slow = slow.__class__(**{**slow.__dict__, "measured_at": fast.measured_at})
    assert fast == slow, body
    assert fast.measured_at.tzinfo is not None
    assert fast.measured_at <= datetime.now(UTC).replace(year=3000)


@st.composite
def valid_bodies(draw) -> bytes:
    """Bodies the fast path must take: every number in range, no character JSON escapes."""
    payload = {
        f.name: draw(
            st.one_of(
                st.floats(min_value=f.minimum, max_value=f.maximum),
                st.integers(min_value=int(f.minimum), max_value=int(f.maximum)),
            )
        )
        for f in FEATURES
    }
    if draw(st.booleans()):
        payload["measured_at"] = draw(
            st.datetimes(
                min_value=datetime(2000, 1, 2),
                max_value=datetime(2026, 1, 1),
                timezones=st.just(UTC),
            )
        ).isoformat()
    if draw(st.booleans()):
        # No lone surrogate: a client cannot send one as UTF-8 (hypothesis drew one once).
        plain = st.characters(
            min_codepoint=32, blacklist_characters='"\\', blacklist_categories=("Cs",)
        )
        payload["note"] = draw(st.text(alphabet=plain, max_size=40))
    return json.dumps(payload, ensure_ascii=False).encode()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=valid_bodies())
def test_it_takes_every_plain_valid_body_as_the_serializer_reads_it(body):
    fast = reading_from_body(request_for(body))
    assert fast is not None, body
    slow = serializer_reading(body)
    if b'"measured_at"' not in body:
        slow = slow.__class__(**{**slow.__dict__, "measured_at": fast.measured_at})
    assert fast == slow, body
