"""One reading's JSON body decoded and validated in compiled code (msgspec), for
POST /api/predict, the API's hottest door.

It vouches only for bodies it can prove valid; everything else (any error, an escape
sequence, a key that may appear twice, an unusual encoding) returns None and goes to
ReadingInputSerializer, which owns every error message. So a rejected body is described
exactly as before, and the serializer stays the contract the OpenAPI schema publishes.
predictions/tests/api/test_reading_decoder.py holds the two to the same answers.

The serializer works in Python (field copies, per-field validation, the strict JSON parser's
hooks); this path runs in compiled code. `make bench` (benchmarks/api.py) measures the API.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from django.conf import settings
from django.utils import timezone
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request

from mlcore.readings.features import FEATURE_NAMES, FEATURES
from predictions.api.serializers import AwareDateTimeField
from predictions.services import Reading
from predictions.validation import latest_allowed_measured_at, measured_at_problem, note_problem

# A valid reading is about 120 bytes; longer bodies (long notes) take the serializer's path.
MAX_FAST_BODY_BYTES = 4096
_JSON_TYPES = frozenset({"application/json", "application/json; charset=utf-8"})
# msgspec, like json, keeps the last of two equal keys; StrictJSONParser refuses them. A key
# spelt with an escape ("heart\u005frate") would hide from the count below: no backslash at all.
_QUOTED_NAMES = tuple(f'"{name}"'.encode() for name in (*FEATURE_NAMES, "measured_at", "note"))

_ReadingBody = msgspec.defstruct(
    "_ReadingBody",
    [
        *((f.name, Annotated[float, msgspec.Meta(ge=f.minimum, le=f.maximum)]) for f in FEATURES),
        ("measured_at", str | msgspec.UnsetType, msgspec.UNSET),
        ("note", str, ""),
    ],
    forbid_unknown_fields=True,
)
_decoder = msgspec.json.Decoder(_ReadingBody)
# The serializer's own field, so that a timestamp is parsed by exactly the same code.
_measured_at_field = AwareDateTimeField()


def reading_from_body(request: Request) -> Reading | None:
    """The reading in this request's body, or None when only the serializer can judge it."""
    django_request = request._request
    if django_request.META.get("CONTENT_TYPE", "").lower() not in _JSON_TYPES:
        return None
    try:
        length = int(django_request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return None
    # Within Django's own body limit too, so that reading the body here cannot raise.
    if not 0 < length <= min(MAX_FAST_BODY_BYTES, settings.DATA_UPLOAD_MAX_MEMORY_SIZE or length):
        return None
    body = django_request.body  # kept: the serializer's parser re-reads it when we decline
    if b"\\" in body or any(body.count(name) > 1 for name in _QUOTED_NAMES):
        return None
    try:
        decoded: Any = _decoder.decode(body)
    except (msgspec.DecodeError, UnicodeDecodeError):  # ValidationError is a DecodeError
        return None
    # The serializer's CharField trims surrounding whitespace before its checks.
    note = decoded.note.strip()
    if note_problem(note):
        return None
    measured_at = timezone.now()
    if decoded.measured_at is not msgspec.UNSET:
        try:
            measured_at = _measured_at_field.run_validation(decoded.measured_at)
        except ValidationError:
            return None
        if measured_at_problem(measured_at, latest_allowed_measured_at()):
            return None
    return Reading(
        **{name: getattr(decoded, name) for name in FEATURE_NAMES},
        measured_at=measured_at,
        note=note,
    )
