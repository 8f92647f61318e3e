"""Early answers reach every client: what a view left of a request body is read and thrown
away before the answer goes out.

A view may answer before it reads the body (a 413 from an announced size over the limit, a
401, a 415) or stop half way (an upload over its limit). The web server then closes the
connection on a client that is still writing, and a client that writes its whole body before
it reads (Python's urllib and http.client) sees "Broken pipe" instead of the answer. Reading
the rest first lets it finish writing and read the answer, and keeps the connection usable.

Bounded: at most `max_bytes` are read and discarded, in 64 KiB pieces (nothing is kept), and
no new piece is read after `max_seconds`; past either, the server closes the connection as it
did before. The default covers the largest upload limit with room for a body well over it
(stressapp.settings REQUEST_DRAIN_MAX_BYTES).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from typing import Any

logger = logging.getLogger(__name__)

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
BLOCK = 64 * 1024


def _has_body(environ: dict[str, Any]) -> bool:
    length = str(environ.get("CONTENT_LENGTH") or "")
    if length.isdigit():
        return int(length) > 0
    return "chunked" in str(environ.get("HTTP_TRANSFER_ENCODING", "")).lower()


def body_rest_discard(stream: Any, *, max_bytes: int, max_seconds: float) -> tuple[int, bool]:
    """Read what is left of a request body and drop it. Returns (bytes read, reached the
    end); a body still going after `max_bytes` or `max_seconds` is left for the server to cut."""
    deadline = time.monotonic() + max_seconds
    read = 0
    while read <= max_bytes and time.monotonic() < deadline:
        try:
            piece = stream.read(BLOCK)
        except OSError:  # the client went away: nothing to answer
            return read, True
        if not piece:
            return read, True
        read += len(piece)
    return read, False


class DrainUnreadBody:
    """WSGI middleware (outside Django) that reads the rest of every request body the
    application left unread, before the server sends the answer."""

    def __init__(self, app: WSGIApp, *, max_bytes: int, max_seconds: float) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.max_seconds = max_seconds

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        result = self.app(environ, start_response)
        # granian sends the status and headers once this call returns, so the rest of the
        # body is read here; a body the view read to its end costs one empty read.
        if _has_body(environ):
            read, ended = body_rest_discard(
                environ["wsgi.input"], max_bytes=self.max_bytes, max_seconds=self.max_seconds
            )
            if read:
                logger.info(
                    "discarded %d unread body bytes on %s (%s)",
                    read,
                    environ.get("PATH_INFO", ""),
                    "to its end" if ended else "cut: over the drain limit",
                )
        return result


def drain_unread_body(app: WSGIApp) -> DrainUnreadBody:
    from django.conf import settings

    return DrainUnreadBody(
        app,
        max_bytes=settings.REQUEST_DRAIN_MAX_BYTES,
        max_seconds=settings.REQUEST_DRAIN_MAX_SECONDS,
    )
