"""Django's PostgreSQL backend with a health check that costs no round trip.

With CONN_HEALTH_CHECKS, Django checks a persistent connection at the start of every request
by running SELECT 1: a round trip and a statement in PostgreSQL per request, on the API's
hottest path (benchmarks/api.py). A connection the server has closed (a restart,
an administrator's kill, an idle timeout) has something waiting to be read on its socket: the
server's goodbye or the end of the stream. An idle connection with nothing to read is alive
as far as anything but a round trip can tell, and a round trip would tell no more about the
next millisecond. Only when there is something to read do we ask the server, as Django does.
"""

from __future__ import annotations

import select
from typing import Any

from django.db.backends.postgresql import base, operations
from psycopg import errors


class DatabaseOperations(operations.DatabaseOperations):
    def last_executed_query(self, cursor: Any, sql: str, params: Any) -> str | None:
        """psycopg keeps no text of a statement bound on the server (the reading INSERT):
        compose it as Django does when all cursors bind on the server, for the query log."""
        if isinstance(cursor, base.ServerBindingCursor):
            try:
                return self.compose_sql(sql, params)
            except errors.DataError:
                return None
        return super().last_executed_query(cursor, sql, params)


class DatabaseWrapper(base.DatabaseWrapper):
    ops_class = DatabaseOperations

    def is_usable(self) -> bool:
        connection = self.connection
        if connection is None or connection.closed or connection.broken:
            return False
        try:
            poller = select.poll()  # not select(): no limit on the descriptor's number
            poller.register(connection.fileno(), select.POLLIN)
            waiting = poller.poll(0)
        except (OSError, ValueError):
            return False
        if not waiting:
            return True
        return super().is_usable()
