"""Rate limits with a fixed-window counter: one Redis INCR per request.

DRF's built-in throttles keep a list of every request timestamp in the cache and rewrite it on
each request, which grows with the rate (thousands of entries at API rates) and costs two cache
round trips. A counter per (caller, window) is O(1); the price is that a caller can spend up to
twice the rate across a window boundary, which is acceptable for abuse protection.
"""

from __future__ import annotations

import math
import time
from typing import Any

from django.conf import settings
from django.core.cache import cache
from rest_framework.request import Request
from rest_framework.throttling import AnonRateThrottle, SimpleRateThrottle, UserRateThrottle

from stressapp.redis_client import redis_client


def counter_increment(key: str, ttl_seconds: int) -> int:
    if settings.REDIS_URL:
        pipe = redis_client().pipeline(transaction=False)
        pipe.incr(key)
        pipe.expire(key, ttl_seconds, nx=True)
        count, _ = pipe.execute()
        return int(count)
    # Embedded mode (no Redis): the shared file cache; good enough for one machine.
    cache.add(key, 0, ttl_seconds)
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, ttl_seconds)
        return 1


class FixedWindowMixin(SimpleRateThrottle):
    def allow_request(self, request: Request, view: Any) -> bool:
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        now = time.time()
        window = int(now // self.duration)
        count = counter_increment(f"{self.key}:{window}", int(self.duration) + 1)
        if count > self.num_requests:
            self._wait = max(1.0, (window + 1) * self.duration - now)
            return False
        return True

    def wait(self) -> float | None:
        return math.ceil(getattr(self, "_wait", self.duration))


class UserThrottle(FixedWindowMixin, UserRateThrottle):
    pass


class AnonThrottle(FixedWindowMixin, AnonRateThrottle):
    pass
