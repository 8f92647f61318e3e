"""Batch job files: format and header checks, cutting a file into chunks by byte range,
validating rows one by one, and writing result parts. Plain Python; no database here.

Row numbers count data rows from 1 (the CSV header is not a row).
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from mlcore.features import CLASSES, FEATURE_NAMES, FEATURES
from predictions.validation import measured_at_problem, note_problem

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
) -> tuple[list[ParsedRow], list[tuple[int, str, tuple[str, ...]]]] | None:
    """The common case, a well-formed CSV chunk, without a dict per row: numbers converted
    for the whole chunk at once (numpy). None when some row needs the careful path."""
    rows = [r for r in csv.reader(io.StringIO(text)) if r and (len(r) > 1 or r[0].strip())]
    width = len(columns)
    if len(rows) != span.row_count or any(len(r) != width for r in rows):
        return None
    feature_index = [columns.index(name) for name in FEATURE_NAMES]
    raw_features = [tuple(r[i] for i in feature_index) for r in rows]
    try:
        flat = np.fromiter(
            map(float, (v for values in raw_features for v in values)),
            dtype=np.float64,
            count=len(rows) * len(FEATURE_NAMES),
        )
    except ValueError:
        return None
    matrix = flat.reshape(len(rows), len(FEATURE_NAMES))
    ok = np.isfinite(matrix).all(axis=1)
    for column, (_, low, high) in enumerate(_RANGES):
        ok &= (matrix[:, column] >= low) & (matrix[:, column] <= high)
    if not ok.all():
        return None
    time_index = columns.index("measured_at") if "measured_at" in columns else None
    note_index = columns.index("note") if "note" in columns else None
    good: list[ParsedRow] = []
    bad: list[tuple[int, str, tuple[str, ...]]] = []
    features = matrix.tolist()
    for offset, values in enumerate(rows):
        row = span.first_row + offset
        measured_at = default_measured_at
        note = values[note_index] if note_index is not None else ""
        raw_time = values[time_index].strip() if time_index is not None else ""
        try:
            if raw_time:
                measured_at = _parse_time(raw_time, latest_allowed)
            problem = note_problem(note)
            if problem:
                raise ValueError(problem)
        except ValueError as exc:
            bad.append((row, str(exc), (*raw_features[offset], raw_time, note)))
            continue
        good.append(
            ParsedRow(row, tuple(features[offset]), measured_at, note, raw_features[offset])
        )
    return good, bad


def parse_chunk(
    path: Path,
    file_format: str,
    columns: list[str],
    span: ChunkSpan,
    *,
    default_measured_at: datetime,
    latest_allowed: datetime,
) -> tuple[list[ParsedRow], list[tuple[int, str, tuple[str, ...]]]]:
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
    bad: list[tuple[int, str, tuple[str, ...]]] = []
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
    return good, bad


def write_result_part(
    path: Path,
    good: list[ParsedRow],
    levels: list[str],
    probabilities: Any,
    bad: list[tuple[int, str, tuple[str, ...]]],
) -> None:
    """One chunk's lines of the results file (no header), ordered by row."""
    empty_inputs = ("",) * (len(FEATURE_NAMES) + len(OPTIONAL_COLUMNS))
    probs = np.asarray(probabilities, dtype=np.float64).reshape(-1, len(CLASSES))
    # Rounded floats via tolist() are written as their shortest repr: fast and exact to 1e-6.
    table = np.round(np.column_stack([probs.max(axis=1), probs]), 6).tolist() if good else []
    lines: list[list[Any]] = [
        [
            parsed.row,
            *parsed.raw[: len(FEATURE_NAMES)],
            parsed.measured_at.isoformat(),
            parsed.note,
            levels[i],
            *table[i],
            "",
        ]
        for i, parsed in enumerate(good)
    ]
    if bad:
        lines += [
            [row, *(raw or empty_inputs), "", "", "", "", "", error] for row, error, raw in bad
        ]
        lines.sort(key=lambda line: line[0])
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(lines)
    tmp.replace(path)  # atomic: a re-run chunk replaces its part whole


def header_line() -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerow(RESULT_COLUMNS)
    return buffer.getvalue()
