"""Every CSV we write is safe to open in a spreadsheet: formulas become text, numbers stay."""

import csv
import io

import pytest
from django.urls import reverse

from predictions.csv_cells import safe_cell
from predictions.tests.batch.helpers import HEADER, run_job_inline, upload
from predictions.tests.factories import PredictionFactory

FORMULAS = ["=1+2", "+cmd|' /C calc'!A0", "-2+3 (a formula)", "@SUM(A1)", "\tx", "\rx"]


@pytest.mark.parametrize("text", FORMULAS)
def test_a_formula_becomes_text(text):
    assert safe_cell(text) == "'" + text


@pytest.mark.parametrize("value", ["-0.5", "+3", "1e5", 42, -1.5, None, "plain note", ""])
def test_numbers_and_plain_text_stay_as_they_are(value):
    assert safe_cell(value) == value


def _rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def test_history_and_account_exports_carry_no_formula(client, user, active_model):
    PredictionFactory(user=user, note='=HYPERLINK("http://x","y")')
    client.force_login(user)
    for url in (reverse("history-export"), reverse("account-export", args=["csv"])):
        rows = _rows(b"".join(client.get(url).streaming_content).decode())
        note = rows[1][rows[0].index("note")]
        assert note.startswith("'=HYPERLINK"), url


def test_batch_results_carry_no_formula(token_client):
    content = (
        HEADER
        + "72,0.4,0.2,0.5,0.3,,=1+2\n"  # a good row with a formula note
        + "=cmd,0.4,0.2,0.5,0.3,,@x\n"  # a bad row, every value echoed
        + "-0.5,0.4,0.2,0.5,0.3,,\n"  # a negative number stays a number
    ).encode()
    job = run_job_inline(upload(token_client, content).json()["id"])
    results = token_client.get(f"/api/batch-jobs/{job.id}/results")
    rows = _rows(b"".join(results.streaming_content).decode())
    assert rows[1][7] == "'=1+2"
    assert rows[2][1] == "'=cmd" and rows[2][7] == "'@x"
    assert rows[3][1] == "-0.5"
