"""A batch file: its format and header, cut into chunks by byte range, each chunk's rows
validated. Plain Python and numpy; no database here."""

from __future__ import annotations

import csv
import io
import json
import operator
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from mlcore.readings.features import FEATURE_NAMES, FEATURES
from predictions.batch.errors import BatchFileError, RowLimitExceeded
from predictions.batch.rows import (
    ALLOWED_COLUMNS,
    CSV_HEADER_TEXT,
    OPTIONAL_COLUMNS,
    BadRow,
    ChunkRows,
    ParsedRow,
    parse_measured_at,
    raw_inputs,
    validate_record,
)
from predictions.validation import EARLIEST_MEASURED_AT, note_problem


@dataclass(frozen=True)
class ChunkSpan:
    index: int
    first_row: int
    row_count: int
    byte_start: int
    byte_end: int


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
        except (ValueError, RecursionError) as exc:
            raise BatchFileError("The first line is not a JSON object.") from exc
        if not isinstance(record, dict):
            raise BatchFileError("Each line must be a JSON object.")
        return list(FEATURE_NAMES) + list(OPTIONAL_COLUMNS)
    try:
        columns = [c.strip() for c in next(csv.reader([text]))]
    except csv.Error as exc:
        raise BatchFileError(f"The CSV header cannot be read: {exc}.") from exc
    if all(_looks_numeric(c) for c in columns if c):
        raise BatchFileError(
            f"The CSV has no header. Its first line must name the columns: {CSV_HEADER_TEXT}."
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
            f"Wrong CSV header: {'; '.join(problems)}. Expected {CSV_HEADER_TEXT}."
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
    line breaks included; a plain CSV (no quotes) is scanned faster, to the same result."""
    if file_format == "csv":
        plain = _scan_plain_csv(path, chunk_rows, max_rows)
        if plain is not None:
            return plain
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
        try:
            for _ in records:
                rows += 1
                in_chunk += 1
                if rows > max_rows:
                    raise _too_many_rows(max_rows)
                if in_chunk == chunk_rows:
                    chunks.append(
                        ChunkSpan(len(chunks), chunk_first, in_chunk, chunk_start, end[0])
                    )
                    chunk_start, chunk_first, in_chunk = end[0], rows + 1, 0
        except csv.Error as exc:
            # e.g. a bare carriage return inside an unquoted field: the rows after it cannot
            # be told apart, so the file is refused whole rather than guessed at.
            raise BatchFileError(f"Row {rows + 1} cannot be read as CSV: {exc}.") from exc
        if in_chunk:
            chunks.append(ChunkSpan(len(chunks), chunk_first, in_chunk, chunk_start, end[0]))
    return rows, chunks


# Read this much of a file at a time when scanning it: the web process never holds the
# whole upload.
SCAN_BLOCK_BYTES = 4 << 20


def _too_many_rows(max_rows: int) -> RowLimitExceeded:
    return RowLimitExceeded(
        f"The file has more than {max_rows:,} rows. Split it: at most {max_rows:,} rows per job."
    )


def _scan_plain_csv(
    path: Path, chunk_rows: int, max_rows: int
) -> tuple[int, list[ChunkSpan]] | None:
    """scan_chunks for a CSV with no quote, no carriage return and a comma on every line, by
    finding its line feeds with numpy: there every line is one row, as csv.reader reads it.
    None for any other file (and for a line longer than csv's field limit), which csv.reader
    scans."""
    ends: list[np.ndarray] = []
    rows = 0
    with open(path, "rb") as handle:
        offset = header_end = len(handle.readline())
        carry = b""
        while True:
            block = handle.read(SCAN_BLOCK_BYTES)
            data = carry + block
            if b'"' in data or b"\r" in data:
                return None
            if not block and data:
                data += b"\n"  # a last line without its line feed is a row too
            last = data.rfind(b"\n") + 1
            cells = np.frombuffer(data, dtype=np.uint8, count=last)
            feeds = np.flatnonzero(cells == ord("\n"))
            if feeds.size:
                starts = np.concatenate(([0], feeds[:-1] + 1))
                if (
                    not np.logical_or.reduceat(cells == ord(","), starts).all()
                    or (feeds + 1 - starts).max() > csv.field_size_limit()
                ):
                    return None  # a line with no comma (blank?), or a huge one: csv decides
                rows += feeds.size
                if rows > max_rows:
                    raise _too_many_rows(max_rows)
                ends.append(feeds + (offset + 1))
            if not block:
                break
            offset += last
            carry = data[last:]
    if not rows:
        return 0, []
    # The line feed added to a last line that had none lies past the file's end.
    line_ends = np.minimum(np.concatenate(ends), path.stat().st_size)
    spans, start = [], header_end
    for index, first in enumerate(range(0, rows, chunk_rows)):
        count = min(chunk_rows, rows - first)
        end = int(line_ends[first + count - 1])
        spans.append(ChunkSpan(index, first + 1, count, start, end))
        start = end
    return rows, spans


def _read_span(path: Path, span: ChunkSpan) -> str:
    with open(path, "rb") as handle:
        handle.seek(span.byte_start)
        data = handle.read(span.byte_end - span.byte_start)
    return data.decode("utf-8", errors="replace")


def _records(
    text: str, file_format: str, columns: list[str], first_row: int
) -> Iterator[tuple[int, dict[str, Any] | None, str | None]]:
    row = first_row
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
        except (ValueError, RecursionError):
            yield row, None, "not valid JSON"
        else:
            if isinstance(record, dict):
                yield row, record, None
            else:
                yield row, None, "not a JSON object"
        row += 1


def _measured_at_column(
    raw_times: tuple[str, ...], default: datetime, latest_allowed: datetime
) -> tuple[list[datetime], dict[int, str]]:
    measured_at = [default] * len(raw_times)
    problems: dict[int, str] = {}
    parse, earliest = datetime.fromisoformat, EARLIEST_MEASURED_AT
    for offset, raw_time in enumerate(raw_times):
        raw_time = raw_time.strip()
        if not raw_time:
            continue
        try:
            value = parse(raw_time)
            # The common case checked inline; parse_measured_at words any problem.
            if value.tzinfo is None or not earliest <= value <= latest_allowed:
                value = parse_measured_at(raw_time, latest_allowed)
        except ValueError as exc:
            problems[offset] = str(exc)
        else:
            measured_at[offset] = value
    return measured_at, problems


def _split_columns(text: str, width: int) -> list[list[str]] | None:
    """The columns of a chunk that has no quote and no carriage return, cut by str.split in
    C (about twice as fast as csv.reader and a transpose); None when the text has either,
    or a line of another width (blank lines included). Without quotes a CSV field is what
    lies between two commas, and without a carriage return a record ends at each line
    feed, so these are exactly the fields csv.reader reads."""
    if '"' in text or "\r" in text:
        return None
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()  # the chunk's last line feed ends its last row; no row follows it
    if set(map(operator.methodcaller("count", ","), lines)) != {width - 1}:
        return None
    fields = ",".join(lines).split(",")
    return [fields[i::width] for i in range(width)]


def _columns_of(text: str, columns: list[str], row_count: int) -> dict[str, Sequence[str]] | None:
    """Each column's cells as sent, when every one of the chunk's rows has all columns."""
    width = len(columns)
    cells: Sequence[Sequence[str]] | None = _split_columns(text, width)
    if cells is None:
        rows = list(csv.reader(io.StringIO(text)))
        if set(map(len, rows)) != {width}:
            return None
        cells = list(zip(*rows, strict=True))
    if len(cells[0]) != row_count:
        return None
    return dict(zip(columns, cells, strict=True))


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
    by_column = _columns_of(text, columns, span.row_count)
    if by_column is None:
        return None  # blank lines or rows of the wrong width: the careful path says which
    n = span.row_count
    raw_features = [by_column[name] for name in FEATURE_NAMES]
    try:
        matrix = np.column_stack(
            [np.fromiter(map(float, raw), dtype=np.float64, count=n) for raw in raw_features]
        )
    except (ValueError, OverflowError):
        return None
    ok = np.isfinite(matrix).all(axis=1)
    for column, feature in enumerate(FEATURES):
        ok &= (matrix[:, column] >= feature.minimum) & (matrix[:, column] <= feature.maximum)
    if not ok.all():
        return None
    raw_times = by_column.get("measured_at")
    notes = list(by_column["note"]) if "note" in by_column else [""] * n
    measured_at, problems = [default_measured_at] * n, {}
    if raw_times is not None:
        measured_at, problems = _measured_at_column(raw_times, default_measured_at, latest_allowed)
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
    text = _read_span(path, span)
    if file_format == "csv":
        fast = _parse_csv_fast(text, columns, span, default_measured_at, latest_allowed)
        if fast is not None:
            return fast
    good: list[ParsedRow] = []
    bad: list[BadRow] = []
    strict = file_format == "jsonl"
    for row, record, problem in _records(text, file_format, columns, span.first_row):
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
            bad.append((row, str(exc), raw_inputs(record)))
    return ChunkRows.from_parsed(good), bad
