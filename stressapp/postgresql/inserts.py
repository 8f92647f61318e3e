"""One row INSERTed the fast way: a statement built once per process for a model, bound on
the server and prepared once per connection (PostgreSQL parses and plans it once), with plain
values passed as they are, instead of Django's save() machinery per row (the API's speed:
benchmarks/api.py). Other databases (the embedded SQLite) use the ORM's own save()."""

from __future__ import annotations

import functools
from typing import Any

from django.db import connection, models
from django.db.backends.postgresql.base import ServerBindingCursor

# Values of these fields, as a service sets them (floats, strings, booleans, ids, aware
# datetimes, None), are what the driver takes as they are: no per-field preparation. Any
# other field (JSON) is prepared by Django.
_PLAIN_FIELDS = (
    models.FloatField,
    models.CharField,
    models.BooleanField,
    models.DateTimeField,
    models.ForeignKey,
    models.PositiveIntegerField,
)


_INSERT = "INSERT INTO {table} ({columns}) VALUES ({values}) RETURNING {pk}"


class PreparedInsert:
    """`PreparedInsert(Model).insert(instance)`: every column but the id, in model order."""

    def __init__(self, model: type[models.Model]) -> None:
        self.model = model
        fields = [f for f in model._meta.concrete_fields if not f.primary_key]
        self._fields = fields
        self._preparation = [
            (f.attname, None if isinstance(f, _PLAIN_FIELDS) else f) for f in fields
        ]

    @functools.cached_property
    def sql(self) -> str:
        quote = connection.ops.quote_name
        # Only names from the model's own definition, quoted: no outside text reaches it.
        return _INSERT.format(
            table=quote(self.model._meta.db_table),
            columns=", ".join(quote(f.column) for f in self._fields),
            values=", ".join(["%s"] * len(self._fields)),
            pk=quote(self.model._meta.pk.column),
        )

    def insert(self, instance: models.Model) -> None:
        """Store `instance` as one atomic statement (no BEGIN/COMMIT round trips) and set its
        primary key."""
        if connection.vendor != "postgresql":
            instance.save(force_insert=True)
            return
        values = [
            getattr(instance, name)
            if field is None
            else field.get_db_prep_save(getattr(instance, name), connection)
            for name, field in self._preparation
        ]
        with server_binding_cursor() as cursor:
            cursor.execute(self.sql, values)
            instance.pk = cursor.fetchone()[0]
        instance._state.adding = False
        instance._state.db = connection.alias


def server_binding_cursor() -> Any:
    """A cursor like connection.cursor() (health-checked, counted by the test tools, errors
    wrapped as Django's) whose statements are bound on the server, so prepared."""
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    with connection.wrap_database_errors:
        cursor = ServerBindingCursor(connection.connection)
    if connection.queries_logged:
        return connection.make_debug_cursor(cursor)
    return connection.make_cursor(cursor)
