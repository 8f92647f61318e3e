"""Batch job files: format and header checks, cutting a file into chunks by byte range,
validating rows one by one, and writing result parts. Plain Python; no database here.

Row numbers count data rows from 1 (the CSV header is not a row).
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import math
import operator
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from mlcore.features import CLASSES, FEATURE_NAMES, FEATURES
from predictions.validation import EARLIEST_MEASURED_AT, measured_at_problem, note_problem

OPTIONAL_COLUMNS = ("measured_at", "note")
ALLOWED_COLUMNS = frozenset(FEATURE_NAMES) | frozenset(OPTIONAL_COLUMNS)
RESULT_COLUMNS = (
    "row",
    *FEATURE_NAMES,
    "measured_at",
    "note",
    "stress_level",
    "confidence",
    "probability_low",
    "probability_medium",
    "probability_high",
    "error",
)
_RANGES = [(f.name, f.minimum, f.maximum) for f in FEATURES]


class BatchFileError(Exception):
    """The file as a whole cannot be used; the message says why, for the person who sent it."""


class RowLimitExceeded(BatchFileError):
    pass


@dataclass(frozen=True)
class ChunkSpan:
    index: int
    first_row: int
    row_count: int
    byte_start: int
    byte_end: int


@dataclass(slots=True)
class ParsedRow:
    row: int
    features: tuple[float, ...]
    measured_at: datetime
    note: str
    raw: tuple[str, ...]  # the values as sent: five features (then measured_at and note)


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


def detect_format(filename: str, content_type: str) -> str:
    name = filename.lower()
    if name.endswith((".jsonl", ".ndjson")) or "ndjson" in content_type or "jsonl" in content_type:
        return "jsonl"
    return "csv"


def read_header(path: Path, file_format: str) -> list[str]:
    """Check the start of the file and return the CSV columns (for JSON lines, the fields)."""
    with open(path, "rb") as handle:
        first = handle.readline(64 * 1024)
        if not first.strip():
            raise BatchFileError("The file is empty.")
        if b"\x00" in first:
            raise BatchFileError("This is not a text file; send CSV or JSON lines.")
        try:
            text = first.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise BatchFileError("The file is not UTF-8 text; send CSV or JSON lines.") from exc
    if file_format == "jsonl":
        try:
            record = json.loads(text)
        except ValueError as exc:
            raise BatchFileError("The first line is not a JSON object.") from exc
        if not isinstance(record, dict):
            raise BatchFileError("Each line must be a JSON object.")
        return list(FEATURE_NAMES) + list(OPTIONAL_COLUMNS)
    columns = [c.strip() for c in next(csv.reader([text]))]
    if all(_looks_numeric(c) for c in columns if c):
        raise BatchFileError(
            "The CSV has no header. Its first line must name the columns: "
            f"{', '.join(FEATURE_NAMES)} (and optionally measured_at, note)."
        )
    missing = [name for name in FEATURE_NAMES if name not in columns]
    unknown = [c for c in columns if c not in ALLOWED_COLUMNS]
    duplicated = sorted({c for c in columns if columns.count(c) > 1})
    problems = []
    if missing:
        problems.append(f"missing column(s): {', '.join(missing)}")
    if unknown:
        problems.append(f"unknown column(s): {', '.join(unknown)}")
    if duplicated:
        problems.append(f"repeated column(s): {', '.join(duplicated)}")
    if problems:
        raise BatchFileError(
            "Wrong CSV header: "
            + "; ".join(problems)
            + f". Expected {', '.join(FEATURE_NAMES)}, optionally measured_at and note."
        )
    return columns


def _looks_numeric(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def scan_chunks(
    path: Path, file_format: str, chunk_rows: int, max_rows: int
) -> tuple[int, list[ChunkSpan]]:
    """Count data rows and cut the file into byte ranges of `chunk_rows` rows each, so every
    chunk task reads only its own slice. Rows are found by the same reader that parses them
    (csv, or one JSON object per line), so counts and boundaries always agree with it, quoted
    line breaks included."""
    chunks: list[ChunkSpan] = []
    rows = 0
    with open(path, "rb") as handle:
        end = [len(handle.readline()) if file_format == "csv" else 0]

        def lines() -> Iterator[str]:
            for raw in handle:
                end[0] += len(raw)
                yield raw.decode("utf-8", errors="replace")

        if file_format == "csv":
            records: Iterator[Any] = (
                r for r in csv.reader(lines()) if r and (len(r) > 1 or r[0].strip())
            )
        else:
            records = (line for line in lines() if line.strip())
        chunk_start, chunk_first, in_chunk = end[0], 1, 0
        for _ in records:
            rows += 1
            in_chunk += 1
            if rows > max_rows:
                raise RowLimitExceeded(f"The file has more than {max_rows:,} rows.")
            if in_chunk == chunk_rows:
                chunks.append(ChunkSpan(len(chunks), chunk_first, in_chunk, chunk_start, end[0]))
                chunk_start, chunk_first, in_chunk = end[0], rows + 1, 0
        if in_chunk:
            chunks.append(ChunkSpan(len(chunks), chunk_first, in_chunk, chunk_start, end[0]))
    return rows, chunks


def _read_span(path: Path, span: ChunkSpan) -> str:
    with open(path, "rb") as handle:
        handle.seek(span.byte_start)
        data = handle.read(span.byte_end - span.byte_start)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("utf-8", errors="replace")


def _records(
    path: Path, file_format: str, columns: list[str], span: ChunkSpan
) -> Iterator[tuple[int, dict[str, Any] | None, str | None]]:
    text = _read_span(path, span)
    row = span.first_row
    if file_format == "csv":
        width = len(columns)
        for values in csv.reader(io.StringIO(text)):
            if not values or (len(values) == 1 and not values[0].strip()):
                continue
            if len(values) != width:
                yield row, None, f"expected {width} columns, got {len(values)}"
            else:
                yield row, dict(zip(columns, values, strict=True)), None
            row += 1
        return
    for line in text.lstrip("\ufeff").split("\n"):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError:
            yield row, None, "not valid JSON"
        else:
            if isinstance(record, dict):
                yield row, record, None
            else:
                yield row, None, "not a JSON object"
        row += 1


def _number(value: Any, name: str, strict_json: bool) -> float:
    if strict_json:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"{name} must be a number")
        try:
            number = float(value)
        except OverflowError:
            raise ValueError(f"{name} must be a finite number") from None
    else:
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise ValueError(f"{name} must be a number") from None
        except OverflowError:
            raise ValueError(f"{name} must be a finite number") from None
    if not math.isfinite(number):
        raise ValueError(f"{name} must be a finite number")
    return number


def _raw(record: dict[str, Any], name: str) -> str:
    value = record.get(name, "")
    return "" if value is None else str(value)


def _raw_inputs(record: dict[str, Any]) -> tuple[str, ...]:
    return tuple(_raw(record, name) for name in (*FEATURE_NAMES, *OPTIONAL_COLUMNS))


def _check_time_and_note(
    record: dict[str, Any], default_measured_at: datetime, latest_allowed: datetime
) -> tuple[datetime, str]:
    measured_at = default_measured_at
    raw_time = record.get("measured_at")
    if raw_time not in (None, ""):
        if not isinstance(raw_time, str):
            raise ValueError("measured_at must be an ISO 8601 string")
        measured_at = _parse_time(raw_time.strip(), latest_allowed)
    note = record.get("note") or ""
    if not isinstance(note, str):
        raise ValueError("note must be text")
    problem = note_problem(note)
    if problem:
        raise ValueError(problem)
    return measured_at, note


def _parse_time(text: str, latest_allowed: datetime) -> datetime:
    try:
        measured_at = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError("measured_at is not an ISO 8601 date-time") from None
    problem = measured_at_problem(measured_at, latest_allowed)
    if problem:
        raise ValueError(problem)
    return measured_at


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
    for name, low, high in _RANGES:
        if name not in record or record[name] in ("", None):
            raise ValueError(f"{name} is missing")
        value = _number(record[name], name, strict_json)
        if not low <= value <= high:
            raise ValueError(f"{name} must be between {low:g} and {high:g}")
        features.append(value)
    measured_at, note = _check_time_and_note(record, default_measured_at, latest_allowed)
    return ParsedRow(row, tuple(features), measured_at, note, _raw_inputs(record))


def _parse_csv_fast(
    text: str,
    columns: list[str],
    span: ChunkSpan,
    default_measured_at: datetime,
    latest_allowed: datetime,
) -> tuple[ChunkRows, list[BadRow]] | None:
    """The common case, a well-formed CSV chunk, column by column: numbers converted and
    range-checked for the whole chunk at once (numpy). None when some row needs the careful
    path; a bad measured_at or note is reported here, row by row, like the careful path does."""
    rows = list(csv.reader(io.StringIO(text)))
    if len(rows) != span.row_count or set(map(len, rows)) != {len(columns)}:
        return None  # blank lines or rows of the wrong width: the careful path says which
    n = len(rows)
    by_column = dict(zip(columns, zip(*rows, strict=True), strict=True))
    raw_features = [by_column[name] for name in FEATURE_NAMES]
    try:
        matrix = np.column_stack(
            [np.fromiter(map(float, raw), dtype=np.float64, count=n) for raw in raw_features]
        )
    except ValueError:
        return None
    ok = np.isfinite(matrix).all(axis=1)
    for column, (_, low, high) in enumerate(_RANGES):
        ok &= (matrix[:, column] >= low) & (matrix[:, column] <= high)
    if not ok.all():
        return None
    raw_times = by_column.get("measured_at")
    notes = list(by_column["note"]) if "note" in by_column else [""] * n
    measured_at = [default_measured_at] * n
    problems: dict[int, str] = {}
    if raw_times is not None:
        parse, earliest = datetime.fromisoformat, EARLIEST_MEASURED_AT
        for offset, raw_time in enumerate(raw_times):
            raw_time = raw_time.strip()
            if not raw_time:
                continue
            try:
                value = parse(raw_time)
                # The common case checked inline; _parse_time words any problem.
                if value.tzinfo is None or not earliest <= value <= latest_allowed:
                    value = _parse_time(raw_time, latest_allowed)
            except ValueError as exc:
                problems[offset] = str(exc)
            else:
                measured_at[offset] = value
    if "note" in by_column:
        for offset, note in enumerate(notes):
            problem = note_problem(note)
            if problem and offset not in problems:
                problems[offset] = problem
    default_text = default_measured_at.isoformat()
    if raw_times is None:
        measured_at_text = [default_text] * n
    else:
        measured_at_text = [raw.strip() or default_text for raw in raw_times]
    first = span.first_row
    good = ChunkRows(
        list(range(first, first + n)), matrix, raw_features, measured_at, measured_at_text, notes
    )
    if not problems:
        return good, []
    bad = [
        (
            first + offset,
            error,
            (
                *(raw[offset] for raw in raw_features),
                raw_times[offset].strip() if raw_times else "",
                notes[offset],
            ),
        )
        for offset, error in sorted(problems.items())
    ]
    return good.without(sorted(problems)), bad


def parse_chunk(
    path: Path,
    file_format: str,
    columns: list[str],
    span: ChunkSpan,
    *,
    default_measured_at: datetime,
    latest_allowed: datetime,
) -> tuple[ChunkRows, list[BadRow]]:
    """Validate each row of the chunk; a bad row is reported and does not stop the others.

    A clean CSV chunk takes the vectorised path; otherwise rows are checked one by one so that
    each bad one gets its own reason."""
    if file_format == "csv":
        fast = _parse_csv_fast(
            _read_span(path, span), columns, span, default_measured_at, latest_allowed
        )
        if fast is not None:
            return fast
    good: list[ParsedRow] = []
    bad: list[BadRow] = []
    strict = file_format == "jsonl"
    for row, record, problem in _records(path, file_format, columns, span):
        if record is None:
            bad.append((row, problem or "unreadable row", ()))
            continue
        try:
            good.append(
                validate_record(
                    row,
                    record,
                    strict_json=strict,
                    default_measured_at=default_measured_at,
                    latest_allowed=latest_allowed,
                )
            )
        except ValueError as exc:
            bad.append((row, str(exc), _raw_inputs(record)))
    return ChunkRows.from_parsed(good), bad


def write_result_part(
    path: Path,
    good: ChunkRows,
    levels: list[str],
    probabilities: Any,
    bad: list[BadRow],
) -> None:
    """One chunk's lines of the results file (no header), ordered by row. Rows are zipped
    from columns and quoted by the csv module, both in C."""
    empty_inputs = ("",) * (len(FEATURE_NAMES) + len(OPTIONAL_COLUMNS))
    lines: Iterable[Sequence[Any]] = ()
    if len(good):
        probs = np.asarray(probabilities, dtype=np.float64).reshape(-1, len(CLASSES))
        # Rounded floats via tolist() are written as their shortest repr: fast and exact to 1e-6.
        table = np.round(np.column_stack([probs.max(axis=1), probs]), 6).T.tolist()
        lines = zip(
            good.row_numbers,
            *good.raw_features,
            good.measured_at_text,
            good.notes,
            levels,
            *table,
            itertools.repeat("", len(good)),
            strict=True,
        )
    if bad:
        failed = [
            (row, *(raw or empty_inputs), "", "", "", "", "", error) for row, error, raw in bad
        ]
        lines = sorted(itertools.chain(lines, failed), key=operator.itemgetter(0))
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(lines)
    tmp.replace(path)  # atomic: a re-run chunk replaces its part whole


def header_line() -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerow(RESULT_COLUMNS)
    return buffer.getvalue()
