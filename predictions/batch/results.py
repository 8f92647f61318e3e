"""The results file of a batch job: one part per chunk (written with the chunk's rows, in
the same transaction's lifetime), streamed back as header + committed parts in row order."""

from __future__ import annotations

import csv
import io
import itertools
import operator
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mlcore.readings.features import CLASSES, FEATURE_NAMES
from predictions.batch.rows import OPTIONAL_COLUMNS, BadRow, ChunkRows
from predictions.csv_cells import safe_column, safe_row

RESULT_COLUMNS = (
    "row",
    *FEATURE_NAMES,
    *OPTIONAL_COLUMNS,
    "stress_level",
    "confidence",
    *(f"probability_{level}" for level in CLASSES),
    "error",
)


# A results line whose cells need no quotes, as csv.writer writes it (str() of each cell,
# its "\r\n" line end), without its per-cell quoting checks: the common part (a file with
# no quoted cell and no bad row) is formatted, not written cell by cell.
_PLAIN_LINE = ",".join(["%s"] * len(RESULT_COLUMNS)) + "\r\n"
_QUOTED = (",", '"', "\r", "\n")


def _needs_quotes(columns: Iterable[Sequence[str]]) -> bool:
    """Whether csv.writer would quote any of these text cells (numbers never are)."""
    joined = "\x1f".join(itertools.chain.from_iterable(columns))
    return any(char in joined for char in _QUOTED)


def write_result_part(
    path: Path,
    good: ChunkRows,
    levels: list[str],
    probabilities: Any,
    bad: list[BadRow],
) -> None:
    """One chunk's lines of the results file (no header), ordered by row. Rows are zipped
    from columns and formatted in C: by one %-format each when no cell needs quotes, else
    by the csv module."""
    empty_inputs = ("",) * (len(FEATURE_NAMES) + len(OPTIONAL_COLUMNS))
    lines: Iterable[Sequence[Any]] = ()
    tmp = path.with_suffix(".tmp")
    if len(good):
        probs = np.asarray(probabilities, dtype=np.float64).reshape(-1, len(CLASSES))
        # Rounded floats via tolist() are written as their shortest repr: fast and exact to 1e-6.
        table = np.round(np.column_stack([probs.max(axis=1), probs]), 6).T.tolist()
        # Features and times of good rows parsed as numbers and dates: only notes can hold a
        # formula.
        texts = [*good.raw_features, good.measured_at_text, safe_column(good.notes), levels]
        lines = zip(good.row_numbers, *texts, *table, itertools.repeat("", len(good)), strict=True)
        if not bad and not _needs_quotes(texts):
            with open(tmp, "w", newline="", encoding="utf-8") as handle:
                handle.write("".join(map(_PLAIN_LINE.__mod__, lines)))
            tmp.replace(path)
            return
    if bad:
        failed = [
            (row, *safe_row(raw or empty_inputs), "", "", "", "", "", error)
            for row, error, raw in bad
        ]
        lines = sorted(itertools.chain(lines, failed), key=operator.itemgetter(0))
    with open(tmp, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(lines)
    tmp.replace(path)  # atomic: a re-run chunk replaces its part whole


def header_line() -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerow(RESULT_COLUMNS)
    return buffer.getvalue()


@dataclass(frozen=True)
class ResultsDownload:
    size: int  # bytes, for Content-Length
    blocks: Iterator[bytes]
    filename: str


def results_stream(parts: list[Path], filename: str) -> ResultsDownload:
    """The header, then each part as it is on disk: no second copy, nothing whole in memory."""
    header = header_line().encode()

    def blocks() -> Iterator[bytes]:
        yield header
        for part in parts:
            with open(part, "rb") as handle:
                while block := handle.read(1 << 20):
                    yield block

    size = len(header) + sum(part.stat().st_size for part in parts)
    return ResultsDownload(size, blocks(), filename)
