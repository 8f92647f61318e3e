"""Writing a chunk's scored rows as predictions.

On PostgreSQL: one binary COPY, its rows zipped from the columns; psycopg packs them in C
(several times cheaper than INSERT or a text COPY, and the server parses no text). Elsewhere
(the embedded SQLite) bulk_create from the same rows.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from itertools import repeat
from typing import Any

import numpy as np
from django.db import connection

from mlcore.readings.features import FEATURE_NAMES
from predictions.batch.rows import ChunkRows
from predictions.models import Prediction, Source

# A batch row's columns in COPY order, with the PostgreSQL type its binary form is packed as.
COPY_COLUMNS = (
    ("user_id", "int8"),
    ("measured_at", "timestamptz"),
    ("created_at", "timestamptz"),
    *((name, "float8") for name in FEATURE_NAMES),
    ("stress_level", "varchar"),
    ("confidence", "float8"),
    ("probability_low", "float8"),
    ("probability_medium", "float8"),
    ("probability_high", "float8"),
    ("calibrated", "bool"),
    ("model_version_id", "int8"),
    ("personal_model_id", "int8"),
    ("source", "varchar"),
    ("note", "varchar"),
    ("batch_job_id", "uuid"),
    ("row_number", "int4"),
)
COPY_FIELDS = tuple(column for column, _ in COPY_COLUMNS)


def _copy(rows: Iterable[tuple[Any, ...]]) -> None:
    table = Prediction._meta.db_table
    names = ", ".join(COPY_FIELDS)
    with connection.cursor() as cursor, connection.wrap_database_errors:  # noqa: SIM117
        with cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types([pg_type for _, pg_type in COPY_COLUMNS])
            for row in rows:
                copy.write_row(row)


def batch_predictions_insert(
    *,
    user_id: int,
    calibrated: bool,
    job_id: uuid.UUID,
    rows: ChunkRows,
    levels: list[str],
    probabilities: np.ndarray,
    version_id: int,
    now: datetime,
    personal_model_id: int | None = None,
) -> None:
    n = len(rows)
    if not n:
        return
    confidence = probabilities.max(axis=1).tolist()
    low, medium, high = probabilities.T.tolist()
    values = zip(
        repeat(user_id, n),
        rows.measured_at,
        repeat(now, n),
        *rows.features.T.tolist(),
        levels,
        confidence,
        low,
        medium,
        high,
        repeat(calibrated, n),
        repeat(version_id, n),
        repeat(personal_model_id, n),
        repeat(Source.BATCH.value, n),
        rows.notes,
        repeat(job_id, n),
        rows.row_numbers,
        strict=True,
    )
    if connection.vendor == "postgresql":
        _copy(values)
        return
    Prediction.objects.bulk_create(
        (Prediction(**dict(zip(COPY_FIELDS, row, strict=True))) for row in values),
        batch_size=500,
    )
