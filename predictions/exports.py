"""Streaming CSV: rows become lines one at a time, so an export never sits in memory."""

import csv
from collections.abc import Iterable, Iterator
from typing import Any

from django.http import StreamingHttpResponse

from predictions.batch_services import ResultsDownload
from predictions.models import BatchJob


class _Echo:
    """A file-like object whose write() hands the line back to the generator."""

    def write(self, value: str) -> str:
        return value


def csv_lines(header: list[str], rows: Iterable[Iterable[Any]]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow(header)
    for row in rows:
        yield writer.writerow(row)


def batch_results_response(download: ResultsDownload, job: BatchJob) -> StreamingHttpResponse:
    """A job's results as a CSV download, streamed from its parts, with its length known."""
    response = StreamingHttpResponse(download.blocks, content_type="text/csv")
    response["Content-Length"] = str(download.size)
    response["Content-Disposition"] = f'attachment; filename="stress-results-{job.id}.csv"'
    return response
