"""Django's Redis cache backend on the process's shared Redis client (stressapp.redis_client)
instead of a new client per cache call."""

from typing import Any

from django.core.cache.backends.redis import RedisCache, RedisCacheClient

from stressapp.redis_client import redis_client


class SharedRedisCacheClient(RedisCacheClient):
    def __init__(self, servers: list[str], **options: Any) -> None:
        super().__init__(servers, **options)
        self._servers = servers

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        # One server here (REDIS_URL); reads and writes share its client.
        return redis_client(self._servers[0])


class SharedRedisCache(RedisCache):
    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = SharedRedisCacheClient
