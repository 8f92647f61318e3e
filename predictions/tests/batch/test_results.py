import csv
import io
from datetime import UTC, datetime

import numpy as np
import pytest

from predictions.batch import results
from predictions.batch.rows import ChunkRows

NOW = datetime(2026, 11, 27, 12, tzinfo=UTC)


def chunk(notes, times=None):
    n = len(notes)
    features = np.tile([70.0, 0.1, 0.2, 0.3, 0.4], (n, 1))
    raw = [["70", " 0.1", "0.2", "0.3", "4e-1"][i : i + 1] * n for i in range(5)]
    times = times or ["2026-11-27T10:00:00+00:00"] * n
    return ChunkRows(list(range(1, n + 1)), features, raw, [NOW] * n, times, notes)


def write(tmp_path, good, bad=()):
    probabilities = np.array([[0.1234567, 0.5, 0.3765433]] * len(good))
    levels = ["medium"] * len(good)
    path = tmp_path / "part.csv"
    results.write_result_part(path, good, levels, probabilities, list(bad))
    return path.read_bytes()


@pytest.mark.parametrize(
    "notes",
    [
        ["", "plain note", "=HYPERLINK(x)", "-0.5", "  spaced  "],  # no cell needs quotes
        ["a, comma", 'a "quote"', "two\nlines", "cr\rhere", ""],  # csv.writer quotes these
    ],
)
def test_a_part_reads_the_same_whichever_way_it_is_written(tmp_path, monkeypatch, notes):
    good = chunk(notes)
    written = write(tmp_path, good)
    monkeypatch.setattr(results, "_needs_quotes", lambda columns: True)
    assert written == write(tmp_path, good)
    rows = list(csv.reader(io.StringIO(written.decode(), newline="")))
    assert [row[7] for row in rows] == results.safe_column(notes)
    assert rows[0][9:13] == ["0.5", "0.123457", "0.5", "0.376543"] and rows[0][13] == ""


def test_a_part_with_bad_rows_keeps_row_order(tmp_path):
    good = chunk(["a", "b"])
    good.row_numbers[:] = [1, 3]
    written = write(tmp_path, good, bad=[(2, "heart_rate must be a number", ())])
    rows = list(csv.reader(io.StringIO(written.decode(), newline="")))
    assert [row[0] for row in rows] == ["1", "2", "3"]
    assert rows[1][-1] == "heart_rate must be a number"
