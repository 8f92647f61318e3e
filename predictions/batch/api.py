"""Batch job endpoints: upload a file, follow it, cancel it, download its results."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.parsers import BaseParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.views import APIView

from jobs.uploads import stream_chunks
from predictions import selectors
from predictions.api.uploads import upload_size_check
from predictions.api.views import ERRORS
from predictions.batch import jobs as batch_jobs
from predictions.batch.rows import CSV_HEADER_TEXT
from predictions.exports import batch_results_response
from predictions.models import BatchJob

RAW_CONTENT_TYPES = (
    "text/csv",
    "application/x-ndjson",
    "application/jsonl",
    "application/json-lines",
)


class RawUploadParser(BaseParser):
    """Accepts a CSV or JSON-lines body as is; the view streams it to storage itself."""

    media_type = "text/csv"

    def parse(self, stream: Any, media_type: Any = None, parser_context: Any = None) -> Any:
        return {}


class BatchJobOutputSerializer(serializers.ModelSerializer):
    percent = serializers.FloatField()
    duration_seconds = serializers.FloatField(allow_null=True)
    status_url = serializers.SerializerMethodField()
    results_url = serializers.SerializerMethodField()
    cancel_url = serializers.SerializerMethodField()
    error_count = serializers.IntegerField(source="failed_rows")

    class Meta:
        model = BatchJob
        fields = (
            "id",
            "status",
            "input_format",
            "original_filename",
            "total_rows",
            "processed_rows",
            "failed_rows",
            "error_count",
            "percent",
            "chunk_count",
            "chunks_done",
            "created_at",
            "started_at",
            "finished_at",
            "progress_at",
            "duration_seconds",
            "error",
            "row_errors",
            "callback_url",
            "callback_status",
            "status_url",
            "results_url",
            "cancel_url",
        )

    def _url(self, name: str, obj: BatchJob) -> str:
        return reverse(name, args=[obj.id], request=self.context.get("request"))

    def get_status_url(self, obj: BatchJob) -> str:
        return self._url("api-batch-job-detail", obj)

    def get_results_url(self, obj: BatchJob) -> str | None:
        return self._url("api-batch-job-results", obj) if obj.is_finished else None

    def get_cancel_url(self, obj: BatchJob) -> str | None:
        return None if obj.is_finished else self._url("api-batch-job-cancel", obj)


class BatchJobListSerializer(BatchJobOutputSerializer):
    class Meta(BatchJobOutputSerializer.Meta):
        fields = tuple(f for f in BatchJobOutputSerializer.Meta.fields if f != "row_errors")


def _upload(request: Request) -> dict[str, Any]:
    """The file from a multipart form or a raw body, as pieces to store, with its name, type
    and the callback URL. Refuses a body whose announced size is over the limit up front."""
    upload_size_check(request, settings.BATCH_MAX_BYTES)
    content_type = request.content_type.split(";")[0].strip().lower()
    callback_url = request.query_params.get("callback_url", "")
    if content_type == "multipart/form-data":
        # Django keeps small uploads in memory and streams larger ones to a temporary file
        # (FILE_UPLOAD_MAX_MEMORY_SIZE); either way they are copied to storage in pieces.
        upload_file = request.FILES.get("file")
        if upload_file is None:
            raise exceptions.ValidationError({"file": ["Attach the file as 'file'."]})
        return {
            "chunks": upload_file.chunks(),
            "filename": upload_file.name or "",
            "content_type": upload_file.content_type or "",
            "callback_url": request.data.get("callback_url", callback_url) or "",
        }
    if content_type in RAW_CONTENT_TYPES:
        return {
            "chunks": stream_chunks(request._request),
            "filename": "",
            "content_type": content_type,
            "callback_url": callback_url,
        }
    raise exceptions.UnsupportedMediaType(content_type)


class BatchJobListCreateApi(APIView):
    parser_classes = [MultiPartParser, RawUploadParser]

    @extend_schema(
        summary="Your batch jobs, newest first",
        tags=["batch jobs"],
        responses={200: BatchJobListSerializer(many=True), 401: ERRORS[401]},
    )
    def get(self, request: Request) -> Response:
        jobs = selectors.batch_job_list_for_user(user=request.user)
        return Response(BatchJobListSerializer(jobs, many=True, context={"request": request}).data)

    @extend_schema(
        summary="Upload a CSV or JSON-lines file to score in the background",
        description=(
            "Send multipart/form-data with a `file` field (and optional `callback_url`), or the "
            "file itself as the body with Content-Type text/csv or application/x-ndjson "
            f"(callback_url then as a query parameter). CSV header: {CSV_HEADER_TEXT}. An "
            "Idempotency-Key header makes retries return the same job."
        ),
        tags=["batch jobs"],
        parameters=[
            OpenApiParameter("Idempotency-Key", OpenApiTypes.STR, OpenApiParameter.HEADER),
            OpenApiParameter("callback_url", OpenApiTypes.URI),
        ],
        request={
            "multipart/form-data": {
                "type": "object",
                "properties": {
                    "file": {"type": "string", "format": "binary"},
                    "callback_url": {"type": "string", "format": "uri"},
                },
                "required": ["file"],
            },
            "text/csv": {"type": "string", "format": "binary"},
        },
        responses={
            202: BatchJobOutputSerializer,
            200: OpenApiResponse(BatchJobOutputSerializer, description="Idempotent retry"),
            409: OpenApiResponse(ERRORS[400].response, description="Key reused"),
            **{code: ERRORS[code] for code in (400, 401, 413, 415, 429)},
        },
    )
    def post(self, request: Request) -> Response:
        job, created = batch_jobs.batch_job_submit(
            user=request.user,
            idempotency_key=request.headers.get("Idempotency-Key", ""),
            **_upload(request),
        )
        body = BatchJobOutputSerializer(job, context={"request": request}).data
        response = Response(
            body, status=status.HTTP_202_ACCEPTED if created else status.HTTP_200_OK
        )
        response["Location"] = body["status_url"]
        return response


class BatchJobDetailApi(APIView):
    @extend_schema(
        summary="One of your batch jobs",
        tags=["batch jobs"],
        responses={200: BatchJobOutputSerializer, 401: ERRORS[401], 404: ERRORS[404]},
    )
    def get(self, request: Request, job_id: Any) -> Response:
        job = selectors.batch_job_get_for_user(user=request.user, job_id=job_id)
        return Response(BatchJobOutputSerializer(job, context={"request": request}).data)


class BatchJobCancelApi(APIView):
    @extend_schema(
        summary="Cancel a queued or running job",
        tags=["batch jobs"],
        request=None,
        responses={200: BatchJobOutputSerializer, 401: ERRORS[401], 404: ERRORS[404]},
    )
    def post(self, request: Request, job_id: Any) -> Response:
        job = selectors.batch_job_get_for_user(user=request.user, job_id=job_id)
        job = batch_jobs.batch_job_cancel(job=job)
        return Response(BatchJobOutputSerializer(job, context={"request": request}).data)


class BatchJobResultsApi(APIView):
    @extend_schema(
        summary="Download the results (CSV, streamed)",
        tags=["batch jobs"],
        responses={
            (200, "text/csv"): OpenApiTypes.BINARY,
            401: ERRORS[401],
            404: ERRORS[404],
            409: OpenApiResponse(ERRORS[400].response, description="Not finished yet"),
        },
    )
    def get(self, request: Request, job_id: Any) -> Any:
        job = selectors.batch_job_get_for_user(user=request.user, job_id=job_id)
        return batch_results_response(batch_jobs.batch_job_results(job=job))
