"""The API's JSON renderer: DRF's JSONRenderer's answers, written by orjson (compiled).

json.dumps with DRF's encoder runs in Python, orjson in compiled code (the API's speed:
benchmarks/api.py). The bytes differ only where JSON allows: a float may be spelt 0.00001 rather
than 1e-05 (the same number to any parser). Everything orjson would write differently from
DRF goes through DRF's own encoder (dates and times: DRF's "Z" for UTC) or renderer (an
indent asked for, an integer beyond 64 bits).
"""

from __future__ import annotations

from typing import Any

import orjson
from rest_framework.renderers import JSONRenderer
from rest_framework.utils.encoders import JSONEncoder

_OPTIONS = (
    orjson.OPT_NON_STR_KEYS  # {1: ...} becomes {"1": ...}, as json.dumps does
    | orjson.OPT_PASSTHROUGH_DATETIME  # DRF's own spelling of dates and times
    | orjson.OPT_PASSTHROUGH_DATACLASS
)
_drf_encoder = JSONEncoder()
# DRF escapes these two so that its JSON is also valid JavaScript; so do we.
_LINE_SEPARATOR, _PARAGRAPH_SEPARATOR = "\u2028".encode(), "\u2029".encode()


class FastJSONRenderer(JSONRenderer):
    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: dict[str, Any] | None = None,
    ) -> bytes:
        if data is None:
            return b""
        if self.get_indent(accepted_media_type, renderer_context or {}) is not None:
            return super().render(data, accepted_media_type, renderer_context)
        try:
            rendered = orjson.dumps(data, default=_drf_encoder.default, option=_OPTIONS)
        except orjson.JSONEncodeError:  # e.g. an integer beyond 64 bits: DRF's way, or its error
            return super().render(data, accepted_media_type, renderer_context)
        if _LINE_SEPARATOR in rendered or _PARAGRAPH_SEPARATOR in rendered:
            rendered = rendered.replace(_LINE_SEPARATOR, b"\\u2028").replace(
                _PARAGRAPH_SEPARATOR, b"\\u2029"
            )
        return rendered
