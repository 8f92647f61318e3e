"""Downloads: history CSV, the account's data (CSV or JSON), batch results. All streamed, so
an export never sits whole in memory."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from typing import Any

from django.http import StreamingHttpResponse

from accounts.models import User
from accounts.selectors import api_token_export_rows
from predictions import selectors, standards
from predictions.batch.results import ResultsDownload
from predictions.csv_cells import safe_row
from predictions.personal.selectors import personal_model_export_rows
from predictions.recordings import selectors as recording_selectors


class _Echo:
    """A file-like object whose write() hands the line back to the generator."""

    def write(self, value: str) -> str:
        return value


def csv_lines(header: list[str], rows: Iterable[Iterable[Any]]) -> Iterator[str]:
    """A CSV, line by line, its text cells safe from spreadsheet formulas."""
    writer = csv.writer(_Echo())
    yield writer.writerow(header)
    for row in rows:
        yield writer.writerow(safe_row(row))


def _attachment(response: StreamingHttpResponse, filename: str) -> StreamingHttpResponse:
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def history_csv_response(
    *,
    user: User,
    filters: selectors.HistoryFilters | None = None,
    filename: str = "stress-history.csv",
) -> StreamingHttpResponse:
    rows = selectors.prediction_export_rows(user=user, filters=filters)
    response = StreamingHttpResponse(
        csv_lines(selectors.export_header(), rows), content_type="text/csv"
    )
    return _attachment(response, filename)


def _account_json_lines(user: User) -> Iterator[str]:
    header = selectors.export_header()
    profile = {
        "username": user.username,
        "email": user.email,
        "time_zone": user.time_zone,
        "date_joined": user.date_joined.isoformat(),
        "api_tokens": api_token_export_rows(user=user),
    }
    extras = {
        "recordings": recording_selectors.recording_export_rows(user=user),
        "baselines": recording_selectors.baseline_export_rows(user=user),
        "annotations": _annotation_records(user),
        "personal_models": personal_model_export_rows(user=user),
    }
    yield '{"profile": ' + json.dumps(profile, default=str)
    for key, value in extras.items():
        yield f', "{key}": ' + json.dumps(value, default=str)
    yield ', "readings": ['
    for i, row in enumerate(selectors.prediction_export_rows(user=user)):
        yield ("," if i else "") + json.dumps(dict(zip(header, row, strict=True)), default=str)
    yield "]}"


def _annotation_records(user: User) -> list[dict[str, Any]]:
    header = recording_selectors.ANNOTATION_EXPORT_FIELDS
    return [
        dict(zip(header, row, strict=True))
        for row in recording_selectors.annotation_export_rows(user=user)
    ]


def annotations_export_response(*, user: User, file_format: str) -> StreamingHttpResponse:
    """The person's own labels (the next training set's raw material), CSV or JSON."""
    if file_format == "csv":
        rows = recording_selectors.annotation_export_rows(user=user)
        response = StreamingHttpResponse(
            csv_lines(list(recording_selectors.ANNOTATION_EXPORT_FIELDS), rows),
            content_type="text/csv",
        )
    else:
        response = StreamingHttpResponse(
            [json.dumps({"annotations": _annotation_records(user)}, default=str)],
            content_type="application/json",
        )
    return _attachment(response, f"stress-annotations.{file_format}")


def account_export_response(*, user: User, file_format: str) -> StreamingHttpResponse:
    """All of a person's data: CSV (the readings) or JSON (profile, tokens, readings)."""
    if file_format == "csv":
        return history_csv_response(user=user, filename="stress-data.csv")
    response = StreamingHttpResponse(_account_json_lines(user), content_type="application/json")
    return _attachment(response, "stress-data.json")


def batch_results_response(download: ResultsDownload) -> StreamingHttpResponse:
    """A job's results as a CSV download, streamed from its parts, with its length known."""
    response = StreamingHttpResponse(download.blocks, content_type="text/csv")
    response["Content-Length"] = str(download.size)
    return _attachment(response, download.filename)


# The standards a person's results are exported in, and how each is served.
STANDARDS = {
    "fhir": ("application/fhir+json", "stress-data.fhir.json"),
    "omh": ("application/json", "stress-data.omh.json"),
}


def standard_export_document(*, user: User, standard: str, base_url: str) -> dict[str, Any]:
    """The person's readings and recording windows as an HL7 FHIR R4 Bundle of Observations,
    or as Open mHealth data points (heart rate, and the device's SDNN as RR-interval
    variability)."""
    results = list(selectors.standard_results_for_user(user=user))
    if standard == "fhir":
        return standards.fhir_bundle(results, patient_reference=None, base_url=base_url)
    return {
        "heart_rate": standards.omh_heart_rate(results, base_url=base_url),
        "rr_interval": standards.omh_rr_intervals(results, base_url=base_url),
    }


def standard_export_response(*, user: User, standard: str, base_url: str) -> StreamingHttpResponse:
    content_type, filename = STANDARDS[standard]
    document = standard_export_document(user=user, standard=standard, base_url=base_url)
    response = StreamingHttpResponse([json.dumps(document)], content_type=content_type)
    return _attachment(response, filename)
