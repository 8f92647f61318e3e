"""One row of a batch file: its rules, and a chunk's valid rows held column by column.

Row numbers count data rows from 1 (the CSV header is not a row). The rules are the API's:
the range message, the strict number and the note limits come from the same functions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np

from mlcore.readings.features import FEATURE_NAMES, FEATURES
from predictions.validation import feature_value, measured_at_problem, note_problem

OPTIONAL_COLUMNS = ("measured_at", "note")
ALLOWED_COLUMNS = frozenset(FEATURE_NAMES) | frozenset(OPTIONAL_COLUMNS)
# What a batch file's header holds, as told to people (form help, API docs, errors).
CSV_HEADER_TEXT = f"{', '.join(FEATURE_NAMES)}; optionally {' and '.join(OPTIONAL_COLUMNS)}"


@dataclass(slots=True)
class ParsedRow:
    row: int
    features: tuple[float, ...]
    measured_at: datetime
    note: str
    raw: tuple[str, ...]  # the values as sent: five features, then measured_at and note


# (row number, reason, the values as sent: five features, measured_at, note; or none)
BadRow = tuple[int, str, tuple[str, ...]]


@dataclass
class ChunkRows:
    """A chunk's valid rows, column by column: cheaper to build, score, store and write out
    than an object per row (a chunk holds tens of thousands)."""

    row_numbers: list[int]
    features: np.ndarray  # (n, 5), FEATURE_NAMES order
    raw_features: list[Sequence[str]]  # five columns of the values as sent
    measured_at: list[datetime]
    measured_at_text: list[str]  # as sent, or the default used when none was
    notes: list[str]

    def __len__(self) -> int:
        return len(self.row_numbers)

    @classmethod
    def from_parsed(cls, rows: list[ParsedRow]) -> ChunkRows:
        n_features = len(FEATURE_NAMES)
        if not rows:
            return cls([], np.empty((0, n_features)), [()] * n_features, [], [], [])
        return cls(
            [r.row for r in rows],
            np.array([r.features for r in rows], dtype=np.float64),
            list(zip(*(r.raw[:n_features] for r in rows), strict=True)),
            [r.measured_at for r in rows],
            [r.raw[n_features].strip() or r.measured_at.isoformat() for r in rows],
            [r.note for r in rows],
        )

    def without(self, offsets: list[int]) -> ChunkRows:
        dropped = set(offsets)
        keep = [i for i in range(len(self)) if i not in dropped]
        return ChunkRows(
            [self.row_numbers[i] for i in keep],
            self.features[keep],
            [[column[i] for i in keep] for column in self.raw_features],
            [self.measured_at[i] for i in keep],
            [self.measured_at_text[i] for i in keep],
            [self.notes[i] for i in keep],
        )


def raw_inputs(record: dict[str, Any]) -> tuple[str, ...]:
    """The row's values as sent, as text, in results-file order."""
    return tuple(
        "" if record.get(name) is None else str(record.get(name))
        for name in (*FEATURE_NAMES, *OPTIONAL_COLUMNS)
    )


def parse_measured_at(text: str, latest_allowed: datetime) -> datetime:
    try:
        measured_at = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError("measured_at is not an ISO 8601 date-time") from None
    problem = measured_at_problem(measured_at, latest_allowed)
    if problem:
        raise ValueError(problem)
    return measured_at


def _time_and_note(
    record: dict[str, Any], default_measured_at: datetime, latest_allowed: datetime
) -> tuple[datetime, str]:
    measured_at = default_measured_at
    raw_time = record.get("measured_at")
    if raw_time not in (None, ""):
        if not isinstance(raw_time, str):
            raise ValueError("measured_at must be an ISO 8601 string")
        measured_at = parse_measured_at(raw_time.strip(), latest_allowed)
    note = record.get("note") or ""
    if not isinstance(note, str):
        raise ValueError("note must be text")
    problem = note_problem(note)
    if problem:
        raise ValueError(problem)
    return measured_at, note


def validate_record(
    row: int,
    record: dict[str, Any],
    *,
    strict_json: bool,
    default_measured_at: datetime,
    latest_allowed: datetime,
) -> ParsedRow:
    """One row, checked field by field; raises ValueError naming the first problem."""
    unknown = set(record) - ALLOWED_COLUMNS
    if unknown:
        raise ValueError(f"unknown field(s): {', '.join(sorted(unknown))}")
    features = []
    for feature in FEATURES:
        if record.get(feature.name) in ("", None):
            raise ValueError(f"{feature.name} is missing")
        features.append(feature_value(record[feature.name], feature, json_types=strict_json))
    measured_at, note = _time_and_note(record, default_measured_at, latest_allowed)
    return ParsedRow(row, tuple(features), measured_at, note, raw_inputs(record))
