"""REST API doors: validate input, call a service or selector, serialise the answer."""

from __future__ import annotations

from typing import Any

from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    inline_serializer,
)
from rest_framework import serializers, status
from rest_framework.pagination import CursorPagination
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.views import APIView

from mlcore.readings.features import CLASS_DESCRIPTIONS, CLASSES, FEATURES
from predictions import exports, selectors, services
from predictions.api.reading_decoder import reading_from_body
from predictions.api.serializers import (
    BatchPredictInputSerializer,
    BatchPredictOutputSerializer,
    FeatureSerializer,
    HistoryFilterSerializer,
    PredictionOutputSerializer,
    ReadingInputSerializer,
    SummaryFilterSerializer,
    SummaryOutputSerializer,
    prediction_representation,
)
from predictions.models import Source

ErrorSerializer = inline_serializer(
    "Error",
    {
        "error": serializers.CharField(),
        "message": serializers.CharField(),
        "details": serializers.JSONField(),
    },
)
ERRORS = {
    code: OpenApiResponse(ErrorSerializer, description=text)
    for code, text in {
        400: "Invalid input",
        401: "Missing, invalid, expired or revoked credentials",
        404: "Not found (or not yours)",
        413: "Body too large",
        415: "Not JSON",
        429: "Throttled (see Retry-After)",
        503: "No model available",
    }.items()
}


def _errors(*codes: int) -> dict[int, OpenApiResponse]:
    return {code: ERRORS[code] for code in codes}


class HistoryPagination(CursorPagination):
    ordering = ("-measured_at", "-id")
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500


class ApiIndexApi(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list = []

    @extend_schema(
        responses={200: OpenApiTypes.OBJECT}, summary="Index of the endpoints", tags=["meta"]
    )
    def get(self, request: Request) -> Response:
        def url(name: str) -> str:
            return reverse(name, request=request)

        return Response(
            {
                "health": url("api-health"),
                "features": url("api-features"),
                "predict": url("api-predict"),
                "batch_predict": url("api-batch-predict"),
                "predictions": url("api-prediction-list"),
                "summary": url("api-prediction-summary"),
                "batch_jobs": url("api-batch-job-list"),
                "recordings": url("api-recording-list"),
                "baselines": url("api-baseline-create"),
                "annotations": url("api-annotation-list"),
                "schema": url("api-schema"),
                "docs": url("api-docs"),
            }
        )


class FeaturesApi(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list = []

    @extend_schema(
        summary="Input features, classes and the active model",
        tags=["meta"],
        responses=inline_serializer(
            "FeaturesInfo",
            {
                "features": FeatureSerializer(many=True),
                "classes": serializers.ListField(child=serializers.CharField()),
                "class_descriptions": serializers.DictField(child=serializers.CharField()),
                "model": serializers.JSONField(allow_null=True),
            },
        ),
    )
    def get(self, request: Request) -> Response:
        active = selectors.model_version_active()
        model = None
        if active is not None:
            model = {
                "version": active.version,
                "evaluation": "leave-one-drive-out on PhysioNet drivedb",
                **active.headline_metrics,
            }
        return Response(
            {
                "features": [f.to_dict() for f in FEATURES],
                "classes": list(CLASSES),
                "class_descriptions": CLASS_DESCRIPTIONS,
                "model": model,
            }
        )


class PredictApi(APIView):
    @extend_schema(
        summary="Score one reading and store it in your history",
        tags=["predictions"],
        request=ReadingInputSerializer,
        responses={201: PredictionOutputSerializer, **_errors(400, 401, 413, 415, 429, 503)},
    )
    def post(self, request: Request) -> Response:
        reading = reading_from_body(request)
        if reading is None:  # not provably valid: the serializer decides, and explains
            serializer = ReadingInputSerializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            reading = serializer.to_reading()
        prediction = services.prediction_create(
            user=request.user, reading=reading, source=Source.API
        )
        return Response(prediction_representation(prediction), status=status.HTTP_201_CREATED)


class BatchPredictApi(APIView):
    @extend_schema(
        summary="Score 1 to 100 readings, all or nothing",
        description="Validation errors are keyed by the reading's index. For more than 100 "
        "readings, upload a file to POST /api/batch-jobs.",
        tags=["predictions"],
        request=inline_serializer(
            "BatchPredictInput", {"readings": ReadingInputSerializer(many=True)}
        ),
        responses={201: BatchPredictOutputSerializer, **_errors(400, 401, 413, 415, 429, 503)},
    )
    def post(self, request: Request) -> Response:
        serializer = BatchPredictInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        predictions = services.prediction_create_many(
            user=request.user, readings=serializer.validated_data["readings"], source=Source.API
        )
        return Response(
            {
                "count": len(predictions),
                "predictions": [prediction_representation(p) for p in predictions],
            },
            status=status.HTTP_201_CREATED,
        )


HISTORY_PARAMETERS = [
    OpenApiParameter("from", OpenApiTypes.DATETIME, description="Inclusive, with offset"),
    OpenApiParameter("to", OpenApiTypes.DATETIME, description="Exclusive, with offset"),
    OpenApiParameter("level", OpenApiTypes.STR, enum=list(CLASSES)),
    OpenApiParameter("source", OpenApiTypes.STR, enum=[s.value for s in Source]),
]


def _history_filters(request: Request, serializer_class: type) -> dict[str, Any]:
    serializer = serializer_class(data=request.query_params.dict())
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class PredictionListApi(APIView):
    @extend_schema(
        summary="Your history, newest first",
        operation_id="api_predictions_list",
        tags=["predictions"],
        parameters=[
            *HISTORY_PARAMETERS,
            OpenApiParameter("cursor", OpenApiTypes.STR),
            OpenApiParameter("page_size", OpenApiTypes.INT, description="1 to 500, default 50"),
        ],
        responses={
            200: inline_serializer(
                "PredictionPage",
                {
                    "next": serializers.URLField(allow_null=True),
                    "previous": serializers.URLField(allow_null=True),
                    "results": PredictionOutputSerializer(many=True),
                },
            ),
            **_errors(400, 401, 404, 429),
        },
    )
    def get(self, request: Request) -> Response:
        data = _history_filters(request, HistoryFilterSerializer)
        queryset = selectors.prediction_list_for_user(
            user=request.user,
            filters=selectors.HistoryFilters(
                start=data.get("start"),
                end=data.get("end"),
                level=data.get("level"),
                source=data.get("source"),
            ),
        )
        paginator = HistoryPagination()
        page = paginator.paginate_queryset(queryset, request, view=self)
        return paginator.get_paginated_response([prediction_representation(p) for p in page])


class PredictionDetailApi(APIView):
    @extend_schema(
        summary="One of your predictions",
        tags=["predictions"],
        responses={200: PredictionOutputSerializer, **_errors(401, 404, 429)},
    )
    def get(self, request: Request, prediction_id: int) -> Response:
        prediction = selectors.prediction_get_for_user(
            user=request.user, prediction_id=prediction_id
        )
        return Response(prediction_representation(prediction))

    @extend_schema(
        summary="Delete one of your predictions",
        tags=["predictions"],
        responses={204: None, **_errors(401, 404, 429)},
    )
    def delete(self, request: Request, prediction_id: int) -> Response:
        prediction = selectors.prediction_get_for_user(
            user=request.user, prediction_id=prediction_id
        )
        services.prediction_delete(prediction=prediction)
        return Response(status=status.HTTP_204_NO_CONTENT)


class PredictionSummaryApi(APIView):
    @extend_schema(
        summary="Counts per level per day or week, in your time zone",
        tags=["predictions"],
        parameters=[
            OpenApiParameter("from", OpenApiTypes.DATETIME, description="Inclusive, with offset"),
            OpenApiParameter("to", OpenApiTypes.DATETIME, description="Exclusive, with offset"),
            OpenApiParameter("bucket", OpenApiTypes.STR, enum=["day", "week"]),
        ],
        responses={200: SummaryOutputSerializer, **_errors(400, 401, 429)},
    )
    def get(self, request: Request) -> Response:
        data = _history_filters(request, SummaryFilterSerializer)
        buckets = selectors.prediction_summary_for_user(
            user=request.user,
            start=data.get("start"),
            end=data.get("end"),
            bucket=data["bucket"],
        )
        return Response(
            SummaryOutputSerializer(
                {"time_zone": request.user.time_zone, "bucket": data["bucket"], "buckets": buckets}
            ).data
        )


class PredictionStandardExportApi(APIView):
    @extend_schema(
        summary="All your results as HL7 FHIR R4 or Open mHealth",
        description=(
            "`fhir`: a FHIR R4 Bundle (collection) of Observations: the stress level (a local "
            "code system) with its confidence, LOINC 8867-4 heart rate, 9279-1 respiratory "
            "rate and 80404-7 SDNN where measured, the model version as `method`, the "
            "recording as `derivedFrom`. `omh`: Open mHealth data points, heart rate "
            "(omh:heart-rate:2.0) and RR-interval variability (omh:rr-interval:2.0)."
        ),
        tags=["predictions"],
        responses={
            (200, "application/fhir+json"): OpenApiTypes.OBJECT,
            (200, "application/json"): OpenApiTypes.OBJECT,
            **_errors(401, 404, 429),
        },
    )
    def get(self, request: Request, standard: str) -> StreamingHttpResponse:
        return exports.standard_export_response(
            user=request.user, standard=standard, base_url=request.build_absolute_uri("/")
        )
