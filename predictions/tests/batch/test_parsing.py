from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from predictions.batch import parsing
from predictions.batch.errors import BatchFileError, RowLimitExceeded

HEADER = "heart_rate,ecg,emg,gsr,respiration,measured_at,note\n"
NOW = datetime(2026, 11, 27, 12, tzinfo=UTC)


def write(tmp_path, text: str, name: str = "in.csv"):
    path = tmp_path / name
    path.write_bytes(text.encode())
    return path


def parse_all(path, fmt="csv"):
    columns = parsing.read_header(path, fmt)
    total, spans = parsing.scan_chunks(path, fmt, chunk_rows=2, max_rows=100)
    good, bad = [], []
    for span in spans:
        g, b = parsing.parse_chunk(
            path, fmt, columns, span, default_measured_at=NOW, latest_allowed=NOW
        )
        good += [
            SimpleNamespace(row=row, features=tuple(features), raw=raw, measured_at=at, note=note)
            for row, features, raw, at, note in zip(
                g.row_numbers,
                g.features.tolist(),
                zip(*g.raw_features, strict=True),
                g.measured_at,
                g.notes,
                strict=True,
            )
        ]
        bad += b
    return total, spans, good, bad


def test_it_cuts_a_file_into_chunks_that_cover_every_row_once(tmp_path):
    rows = "".join(f"{60 + i},0.1,0.2,0.3,0.4,,row {i}\n" for i in range(5))
    total, spans, good, bad = parse_all(write(tmp_path, HEADER + rows))
    assert total == 5 and [s.row_count for s in spans] == [2, 2, 1]
    assert [g.row for g in good] == [1, 2, 3, 4, 5] and not bad
    assert good[4].note == "row 4" and good[0].measured_at == NOW


def test_it_keeps_a_quoted_multi_line_note_in_one_row(tmp_path):
    text = HEADER + '70,0.1,0.2,0.3,0.4,,"line one\nline ""two"""\n' + "71,0.1,0.2,0.3,0.4,,\n"
    total, _, good, bad = parse_all(write(tmp_path, text))
    assert total == 2 and not bad
    assert good[0].note == 'line one\nline "two"'


def test_it_reports_bad_rows_by_number_and_reason_and_keeps_the_good(tmp_path):
    rows = (
        "70,0.1,0.2,0.3,0.4,,\n"
        "abc,0.1,0.2,0.3,0.4,,\n"
        "70,1.5,0.2,0.3,0.4,,\n"
        "70,0.1,0.2\n"
        "70,0.1,0.2,0.3,0.4,2026-11-27T10:00:00,\n"
        f"70,0.1,0.2,0.3,0.4,{(NOW + timedelta(days=1)).isoformat()},\n"
        "70,nan,0.2,0.3,0.4,,\n"
        "70,0.1,0.2,0.3,0.4,2026-11-27T10:00:00+01:00,ok\n"
    )
    _, _, good, bad = parse_all(write(tmp_path, HEADER + rows))
    assert [g.row for g in good] == [1, 8]
    reasons = {row: error for row, error, _ in bad}
    assert "heart_rate must be a number" in reasons[2]
    assert "ecg must be between 0 and 1" in reasons[3]
    assert "expected 7 columns" in reasons[4]
    assert "UTC offset" in reasons[5]
    assert "future" in reasons[6]
    assert "finite" in reasons[7]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("70,0.1,0.2,0.3,0.4\n", "no header"),
        ("heart_rate,ecg,emg,gsr\n70,0.1,0.2,0.3\n", r"missing column\(s\): respiration"),
        ("heart_rate,ecg,emg,gsr,respiration,mood\n", r"unknown column\(s\): mood"),
    ],
)
def test_it_rejects_a_wrong_missing_or_empty_header(tmp_path, text, message):
    with pytest.raises(BatchFileError, match=message):
        parsing.read_header(write(tmp_path, text), "csv")


def test_it_rejects_a_file_that_is_not_text(tmp_path):
    path = tmp_path / "x.csv"
    path.write_bytes(b"%PDF-1.7\x00\x01\x02\xff\xfe")
    with pytest.raises(BatchFileError, match="not a text file"):
        parsing.read_header(path, "csv")


def test_it_stops_counting_past_the_row_limit(tmp_path):
    rows = "70,0.1,0.2,0.3,0.4,,\n" * 11
    with pytest.raises(RowLimitExceeded):
        parsing.scan_chunks(write(tmp_path, HEADER + rows), "csv", chunk_rows=5, max_rows=10)


def test_it_reads_json_lines_with_strict_numbers(tmp_path):
    text = (
        '{"heart_rate": 70, "ecg": 0.1, "emg": 0.2, "gsr": 0.3, "respiration": 0.4}\n'
        '{"heart_rate": "70", "ecg": 0.1, "emg": 0.2, "gsr": 0.3, "respiration": 0.4}\n'
        "not json\n"
        '{"heart_rate": 70, "ecg": 0.1, "emg": 0.2, "gsr": 0.3, "respiration": 0.4, "x": 1}\n'
    )
    total, _, good, bad = parse_all(write(tmp_path, text, "in.jsonl"), "jsonl")
    assert total == 4 and [g.row for g in good] == [1]
    reasons = {row: error for row, error, _ in bad}
    assert reasons[2] == "heart_rate must be a JSON number"
    assert "not valid JSON" in reasons[3]
    assert "unknown field" in reasons[4]


def test_a_stray_quote_inside_a_field_does_not_swallow_later_rows(tmp_path):
    rows = '70,0.1,0.2,0.3,0.4,,he said "hi\n' + "71,0.1,0.2,0.3,0.4,,\n" * 3
    total, spans, good, bad = parse_all(write(tmp_path, HEADER + rows))
    assert total == 4 and sum(s.row_count for s in spans) == 4
    assert [g.row for g in good] == [1, 2, 3, 4] and not bad


def test_it_rejects_huge_numbers_old_dates_and_nul_characters(tmp_path):
    rows = (
        f"{'9' * 400},0.1,0.2,0.3,0.4,,\n"
        "70,0.1,0.2,0.3,0.4,1999-12-31T23:00:00+00:00,\n"
        "70,0.1,0.2,0.3,0.4,,bad\x00note\n"
    )
    _, _, good, bad = parse_all(write(tmp_path, HEADER + rows))
    reasons = {row: error for row, error, _ in bad}
    assert not good
    assert "finite" in reasons[1] and "2000-01-01" in reasons[2] and "NUL" in reasons[3]


def test_json_lines_with_a_byte_order_mark_keep_their_first_row(tmp_path):
    line = '{"heart_rate": 70, "ecg": 0.1, "emg": 0.2, "gsr": 0.3, "respiration": 0.4}\n'
    path = tmp_path / "in.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + (line * 2).encode())
    total, _, good, bad = parse_all(path, "jsonl")
    assert total == 2 and [g.row for g in good] == [1, 2] and not bad


def test_a_bare_carriage_return_in_an_unquoted_field_refuses_the_file(tmp_path):
    path = write(tmp_path, HEADER + "72,0.4,0.2,0.5,0.3,a\rb\n")
    with pytest.raises(BatchFileError, match="Row 1 cannot be read as CSV"):
        parsing.scan_chunks(path, "csv", chunk_rows=5, max_rows=10)


# Files the quote-free split (parsing._split_columns) reads, or hands to csv.reader: each must
# come out exactly as csv.reader alone reads it.
SPLIT_CASES = [
    "70,0.1,0.2,0.3,0.4,,\n71.5,0.5,0.6,0.7,0.8,2026-11-27T10:00:00+00:00, a note \n",
    "70,0.1,0.2,0.3,0.4,,=cmd\n71,0.1,0.2,0.3,0.4, 2026-11-27T10:00:00Z ,x",  # no final \n
    "70,0.1,0.2,0.3,0.4,,\r\n71,0.1,0.2,0.3,0.4,,\r\n",  # CRLF: csv.reader reads it
    '70,0.1,0.2,0.3,0.4,,"a, quoted note"\n71,0.1,0.2,0.3,0.4,,\n',
    "70,0.1,0.2,0.3,0.4,,\n\n71,0.1,0.2,0.3,0.4,,\n",  # a blank line
    "70,0.1,0.2,0.3,0.4,,\n71,0.1,0.2,0.3,0.4\n72,0.1,0.2,0.3,0.4,,,\n",  # short, long
    "1_0e1,0.1,0.2,0.3,0.4,,\n abc ,0.1,0.2,0.3,0.4,,\n70,2,0.2,0.3,0.4,,\n",
    "70,0.1,0.2,0.3,0.4,2026-11-27T10:00:00,\n70,0.1,0.2,0.3,0.4,,nul\x00\n",
]


def columns_of(good):
    return (
        good.row_numbers,
        good.features.tolist(),
        [list(column) for column in good.raw_features],
        good.measured_at,
        good.measured_at_text,
        good.notes,
    )


@pytest.mark.parametrize("rows", SPLIT_CASES)
def test_the_quote_free_split_reads_every_file_as_csv_reader_does(tmp_path, monkeypatch, rows):
    path = write(tmp_path, HEADER + rows)
    columns = parsing.read_header(path, "csv")
    _, spans = parsing.scan_chunks(path, "csv", chunk_rows=3, max_rows=100)

    def parse(span):
        good, bad = parsing.parse_chunk(
            path, "csv", columns, span, default_measured_at=NOW, latest_allowed=NOW
        )
        return columns_of(good), bad

    fast = [parse(span) for span in spans]
    monkeypatch.setattr(parsing, "_split_columns", lambda text, width: None)
    assert fast == [parse(span) for span in spans]


def test_the_quote_free_split_cuts_only_plain_text(tmp_path):
    assert parsing._split_columns("1,2\n3,4\n", 2) == [["1", "3"], ["2", "4"]]
    assert parsing._split_columns("1,2\r\n3,4\r\n", 2) is None
    assert parsing._split_columns('1,"2"\n', 2) is None
    assert parsing._split_columns("1,2\n\n3,4\n", 2) is None
    assert parsing._split_columns("1,2\n3\n", 2) is None


def test_a_quote_free_chunk_still_reports_each_bad_row(tmp_path):
    rows = "70,0.1,0.2,0.3,0.4,,\n70,0.1,0.2\nabc,0.1,0.2,0.3,0.4,,\n"
    _, _, good, bad = parse_all(write(tmp_path, HEADER + rows))
    assert [g.row for g in good] == [1]
    reasons = {row: error for row, error, _ in bad}
    assert reasons[2] == "expected 7 columns, got 3"
    assert reasons[3] == "heart_rate must be a number"


@pytest.mark.parametrize(
    "rows",
    [
        "70,0.1,0.2,0.3,0.4,,\n" * 7,
        "70,0.1,0.2,0.3,0.4,,\n" * 6 + "71,0.1,0.2,0.3,0.4,,",  # no final line feed
        "70,0.1,0.2,0.3,0.4,,\n\n71,0.1,0.2,0.3,0.4,,\n",  # a blank line is no row
        "70,0.1,0.2,0.3,0.4,,\n   \n71\n",  # a line of spaces, a line with no comma
        "70,0.1,0.2,0.3,0.4,,\r\n" * 3,
        '70,0.1,0.2,0.3,0.4,,"a\nb"\n' * 3,
        "",
    ],
)
@pytest.mark.parametrize("block", [5, 64, 1 << 20])
def test_the_plain_scan_cuts_a_file_as_csv_reader_does(tmp_path, monkeypatch, rows, block):
    path = write(tmp_path, HEADER + rows)
    monkeypatch.setattr(parsing, "SCAN_BLOCK_BYTES", block)
    fast = parsing.scan_chunks(path, "csv", chunk_rows=3, max_rows=100)
    if rows.count("\n") >= 6 and not set('"\r') & set(rows):  # plain: the fast scan answers
        assert parsing._scan_plain_csv(path, 3, 100) == fast
    monkeypatch.setattr(parsing, "_scan_plain_csv", lambda *args: None)
    assert fast == parsing.scan_chunks(path, "csv", chunk_rows=3, max_rows=100)


def test_the_plain_scan_stops_counting_past_the_row_limit(tmp_path, monkeypatch):
    path = write(tmp_path, HEADER + "70,0.1,0.2,0.3,0.4,,\n" * 11)
    assert parsing._scan_plain_csv(path, 5, 11) is not None
    with pytest.raises(RowLimitExceeded, match="more than 10 rows"):
        parsing.scan_chunks(path, "csv", chunk_rows=5, max_rows=10)
