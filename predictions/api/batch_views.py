"""Batch job endpoints: upload a file, follow it, cancel it, download its results."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.parsers import BaseParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.views import APIView

from predictions import batch_services, selectors
from predictions.api.views import ERRORS
from predictions.batchfiles import BatchFileError, RowLimitExceeded
from predictions.exports import batch_results_response
from predictions.models import BatchJob

RAW_CONTENT_TYPES = (
    "text/csv",
    "application/x-ndjson",
    "application/jsonl",
    "application/json-lines",
)


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "payload_too_large"


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "idempotency_conflict"


class NotReady(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "not_ready"


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


def _own_job(request: Request, job_id: Any) -> BatchJob:
    try:
        return selectors.batch_job_get_for_user(user=request.user, job_id=job_id)
    except Http404 as exc:
        raise exceptions.NotFound("No such batch job.") from exc


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
            "(callback_url then as a query parameter). CSV header: heart_rate, ecg, emg, gsr, "
            "respiration, optionally measured_at and note. An Idempotency-Key header makes "
            "retries return the same job."
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
        max_bytes = settings.BATCH_MAX_BYTES
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > max_bytes + 64 * 1024:  # multipart framing adds a little
            raise PayloadTooLarge(f"The file is larger than {max_bytes:,} bytes.")
        content_type = request.content_type.split(";")[0].strip().lower()
        callback_url = request.query_params.get("callback_url", "")
        try:
            if content_type == "multipart/form-data":
                # Django keeps small uploads in memory and streams larger ones to a temporary
                # file (FILE_UPLOAD_MAX_MEMORY_SIZE); either way we copy it to storage in pieces.
                upload_file = request.FILES.get("file")
                if upload_file is None:
                    raise exceptions.ValidationError({"file": ["Attach the file as 'file'."]})
                callback_url = request.data.get("callback_url", callback_url) or ""
                stored = batch_services.upload_store(upload_file.chunks(), max_bytes=max_bytes)
                filename, file_type = upload_file.name or "", upload_file.content_type or ""
            elif content_type in RAW_CONTENT_TYPES:
                stored = batch_services.upload_store(
                    batch_services.stream_chunks(request._request), max_bytes=max_bytes
                )
                filename, file_type = "", content_type
            else:
                raise exceptions.UnsupportedMediaType(content_type)
            job, created = batch_services.batch_job_create(
                user=request.user,
                upload=stored,
                filename=filename,
                content_type=file_type,
                idempotency_key=request.headers.get("Idempotency-Key", "")[:255],
                callback_url=callback_url,
            )
        except batch_services.PayloadTooLarge as exc:
            raise PayloadTooLarge(str(exc)) from exc
        except RowLimitExceeded as exc:
            raise PayloadTooLarge(
                f"{exc} Split it: at most {settings.BATCH_MAX_ROWS:,} rows per job."
            ) from exc
        except batch_services.IdempotencyConflict as exc:
            raise Conflict(str(exc)) from exc
        except (BatchFileError, batch_services.InvalidCallbackUrl) as exc:
            field = "callback_url" if isinstance(exc, ValueError) else "file"
            raise exceptions.ValidationError({field: [str(exc)]}) from exc
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
        job = _own_job(request, job_id)
        return Response(BatchJobOutputSerializer(job, context={"request": request}).data)


class BatchJobCancelApi(APIView):
    @extend_schema(
        summary="Cancel a queued or running job",
        tags=["batch jobs"],
        request=None,
        responses={200: BatchJobOutputSerializer, 401: ERRORS[401], 404: ERRORS[404]},
    )
    def post(self, request: Request, job_id: Any) -> Response:
        job = batch_services.batch_job_cancel(job=_own_job(request, job_id))
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
        job = _own_job(request, job_id)
        if not job.is_finished:
            raise NotReady("The job has not finished yet; poll its status_url.")
        download = batch_services.batch_job_results(job=job)
        if download is None:
            raise exceptions.NotFound("The results file was deleted after the retention period.")
        return batch_results_response(download, job)
