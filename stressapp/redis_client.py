"""One Redis client (and connection pool) per process, shared by the cache and the throttle.

redis-py clients are thread-safe and cheap to share; building one is not (~0.2 ms: it rebuilds
its response-callback tables), and Django's Redis cache would build one per call.
"""

from __future__ import annotations

import threading
from typing import Any

from django.conf import settings

_lock = threading.Lock()
_clients: dict[str, Any] = {}


def redis_client(url: str | None = None) -> Any:
    """The process's client for this URL (REDIS_URL by default)."""
    url = url or settings.REDIS_URL
    client = _clients.get(url)
    if client is None:
        with _lock:
            client = _clients.get(url)
            if client is None:
                import redis

                client = _clients[url] = redis.Redis.from_url(url)
    return client
