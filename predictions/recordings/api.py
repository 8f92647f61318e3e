"""Recording, baseline and annotation endpoints: thin doors onto predictions.recordings."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.views import APIView

from predictions.api.serializers import (
    AwareDateTimeField,
    PredictionOutputSerializer,
    StrictSerializer,
    prediction_representation,
)
from predictions.api.uploads import upload_size_check
from predictions.api.views import ERRORS
from predictions.models import Annotation, Baseline, Recording, StressLevel
from predictions.recordings import selectors, services
from predictions.recordings.baselines import five_number_baseline_set
from predictions.validation import NOTE_MAX_LENGTH


def _errors(*codes: int) -> dict[int, OpenApiResponse]:
    return {code: ERRORS[code] for code in codes}


class RecordingOutputSerializer(serializers.ModelSerializer):
    percent = serializers.FloatField()
    baseline = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)
    model_version = serializers.CharField(source="model_version.version", allow_null=True)
    personal = serializers.SerializerMethodField(
        help_text="Scored by your own model (learnt from your labels)"
    )
    url = serializers.SerializerMethodField()
    windows_url = serializers.SerializerMethodField()

    class Meta:
        model = Recording
        fields = (
            "id",
            "name",
            "original_filename",
            "file_format",
            "status",
            "stage",
            "percent",
            "error",
            "channels",
            "ignored_channels",
            "start_time",
            "starts_at",
            "start_source",
            "duration_s",
            "channel_set",
            "calibrated",
            "baseline",
            "model_version",
            "window_s",
            "stride_s",
            "total_rows",
            "drift",
            "notes",
            "unscored_windows",
            "personal",
            "last_change",
            "created_at",
            "finished_at",
            "url",
            "windows_url",
        )

    def get_personal(self, obj: Recording) -> bool:
        return obj.personal_model_id is not None

    def get_url(self, obj: Recording) -> str:
        return reverse("api-recording-detail", args=[obj.id], request=self.context.get("request"))

    def get_windows_url(self, obj: Recording) -> str:
        return reverse("api-recording-windows", args=[obj.id], request=self.context.get("request"))


class RecordingUploadSerializer(StrictSerializer):
    """The form fields beside the file (the file itself is read as a stream by the view)."""

    # Empty files reach the reader, which says so in the same words as for every bad file.
    file = serializers.FileField(
        allow_empty_file=True,
        help_text=services.FORMATS_WE_READ[:1].upper() + services.FORMATS_WE_READ[1:],
    )
    name = serializers.CharField(required=False, allow_blank=True, max_length=255)
    started_at = serializers.DateTimeField(
        required=False,
        help_text="When the recording started, for a file that holds only elapsed time "
        "(without it, the recording is taken to have ended as it was uploaded). A file's own "
        "clock comes first.",
    )
    rest_start_s = serializers.FloatField(required=False, min_value=0)
    rest_end_s = serializers.FloatField(required=False, min_value=0)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if ("rest_start_s" in attrs) != ("rest_end_s" in attrs):
            raise serializers.ValidationError(
                {"rest_end_s": ["Give both rest_start_s and rest_end_s, or neither."]}
            )
        return attrs

    def rest(self) -> services.RestRange | None:
        data = self.validated_data
        if "rest_start_s" not in data:
            return None
        return services.RestRange(data["rest_start_s"], data["rest_end_s"])


def _own(request: Request, recording_id: Any) -> Recording:
    return selectors.recording_get_for_user(user=request.user, recording_id=recording_id)


def _answer(request: Request, recording: Recording, code: int = 200) -> Response:
    body = RecordingOutputSerializer(recording, context={"request": request}).data
    response = Response(body, status=code)
    if code == status.HTTP_202_ACCEPTED:
        response["Location"] = body["url"]
    return response


class RecordingListCreateApi(APIView):
    parser_classes = [MultiPartParser]

    @extend_schema(
        summary="Your recordings, newest first",
        tags=["recordings"],
        responses={200: RecordingOutputSerializer(many=True), **_errors(401, 429)},
    )
    def get(self, request: Request) -> Response:
        recordings = selectors.recording_list_for_user(user=request.user)
        return Response(
            RecordingOutputSerializer(recordings, many=True, context={"request": request}).data
        )

    @extend_schema(
        summary="Upload a recording to score in the background",
        description=(
            f"multipart/form-data: `file` ({services.FORMATS_WE_READ}), optional `name`, optional "
            "`started_at` (for a file with only elapsed time), and optionally "
            "`rest_start_s`/`rest_end_s`: a range of at least 3 minutes where you rested, "
            "which becomes your baseline. An Idempotency-Key header makes retries return the "
            "same recording. A file that cannot be scored is refused and nothing is kept."
        ),
        tags=["recordings"],
        parameters=[OpenApiParameter("Idempotency-Key", OpenApiTypes.STR, OpenApiParameter.HEADER)],
        request={"multipart/form-data": RecordingUploadSerializer},
        responses={
            202: RecordingOutputSerializer,
            200: OpenApiResponse(RecordingOutputSerializer, description="Idempotent retry"),
            409: OpenApiResponse(ERRORS[400].response, description="Key reused"),
            **_errors(400, 401, 413, 415, 429, 503),
        },
    )
    def post(self, request: Request) -> Response:
        upload_size_check(request, settings.RECORDING_MAX_BYTES)
        form = RecordingUploadSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        upload = form.validated_data["file"]
        recording, created = services.recording_submit(
            user=request.user,
            chunks=upload.chunks(),
            filename=upload.name or "",
            name=form.validated_data.get("name", ""),
            rest=form.rest(),
            idempotency_key=request.headers.get("Idempotency-Key", ""),
            started_at=form.validated_data.get("started_at"),
        )
        return _answer(request, recording, 202 if created else 200)


class RecordingDetailApi(APIView):
    @extend_schema(
        summary="One of your recordings",
        tags=["recordings"],
        responses={200: RecordingOutputSerializer, **_errors(401, 404, 429)},
    )
    def get(self, request: Request, recording_id: Any) -> Response:
        return _answer(request, _own(request, recording_id))

    @extend_schema(
        summary="Delete a recording, its windows and its file",
        tags=["recordings"],
        responses={204: None, **_errors(401, 404, 429)},
    )
    def delete(self, request: Request, recording_id: Any) -> Response:
        services.recording_delete(recording=_own(request, recording_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class RecordingWindowsApi(APIView):
    @extend_schema(
        summary="A recording's windows, in order",
        tags=["recordings"],
        responses={200: PredictionOutputSerializer(many=True), **_errors(401, 404, 429)},
    )
    def get(self, request: Request, recording_id: Any) -> Response:
        recording = _own(request, recording_id)
        windows = selectors.recording_windows(recording=recording)
        return Response([prediction_representation(w) for w in windows])


class RecordingCancelApi(APIView):
    @extend_schema(
        summary="Cancel a queued or processing recording",
        tags=["recordings"],
        request=None,
        responses={200: RecordingOutputSerializer, **_errors(401, 404, 429)},
    )
    def post(self, request: Request, recording_id: Any) -> Response:
        recording = services.recording_cancel(recording=_own(request, recording_id))
        return _answer(request, recording)


class RecordingRescoreApi(APIView):
    @extend_schema(
        summary="Score a recording again with your active baseline",
        tags=["recordings"],
        request=None,
        responses={
            202: RecordingOutputSerializer,
            409: OpenApiResponse(ERRORS[400].response, description="Still processing"),
            **_errors(401, 404, 429, 503),
        },
    )
    def post(self, request: Request, recording_id: Any) -> Response:
        recording = services.recording_rescore(recording=_own(request, recording_id))
        return _answer(request, recording, status.HTTP_202_ACCEPTED)


class BaselineInputSerializer(StrictSerializer):
    """Either a range of one of your recordings (recording, start_s, end_s), or the time span
    of typed readings taken at rest (from, to) for the five-number baseline."""

    recording = serializers.UUIDField(required=False, help_text="One of your recordings")
    start_s = serializers.FloatField(required=False, min_value=0, help_text="Rest start, s")
    end_s = serializers.FloatField(required=False, min_value=0, help_text="At least 3 min on")

    def get_fields(self) -> dict[str, serializers.Field]:
        return {
            **super().get_fields(),
            "from": AwareDateTimeField(required=False, source="start", help_text="Typed rest"),
            "to": AwareDateTimeField(required=False, source="end"),
        }

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        recording_shape = {"recording", "start_s", "end_s"} & attrs.keys()
        readings_shape = {"start", "end"} & attrs.keys()
        if recording_shape and readings_shape:
            raise serializers.ValidationError(
                "Give a recording range (recording, start_s, end_s) or a span of typed "
                "readings (from, to), not both."
            )
        if readings_shape and readings_shape != {"start", "end"}:
            raise serializers.ValidationError({"to": ["Give both from and to."]})
        if not readings_shape and recording_shape != {"recording", "start_s", "end_s"}:
            missing = sorted({"recording", "start_s", "end_s"} - recording_shape)
            raise serializers.ValidationError(
                {name: ["This field is required."] for name in missing}
            )
        return attrs


class BaselineOutputSerializer(serializers.ModelSerializer):
    recording = serializers.UUIDField(source="recording_id", allow_null=True)

    class Meta:
        model = Baseline
        fields = (
            "id",
            "channel_set",
            "recording",
            "start_s",
            "end_s",
            "statistics",
            "is_active",
            "created_at",
        )


class BaselineCreateApi(APIView):
    @extend_schema(
        summary="Set a rest baseline (3 minutes or more)",
        description="With `recording`, `start_s`, `end_s`: that range becomes your baseline "
        "for the recording's channel set and the recording is scored again against it (in "
        "the background; 202 with the recording). With `from`, `to`: your typed readings in "
        "that span (at least 3) become the baseline your typed readings are scored against "
        "(201 with the baseline).",
        tags=["baselines"],
        request=BaselineInputSerializer,
        responses={
            201: BaselineOutputSerializer,
            202: RecordingOutputSerializer,
            409: OpenApiResponse(ERRORS[400].response, description="Still processing"),
            **_errors(400, 401, 404, 415, 429, 503),
        },
    )
    def post(self, request: Request) -> Response:
        data = BaselineInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        if "start" in values:
            baseline = five_number_baseline_set(
                user=request.user, start=values["start"], end=values["end"]
            )
            return Response(BaselineOutputSerializer(baseline).data, status=status.HTTP_201_CREATED)
        recording = services.recording_calibrate(
            recording=_own(request, values["recording"]),
            rest=services.RestRange(values["start_s"], values["end_s"]),
        )
        return _answer(request, recording, status.HTTP_202_ACCEPTED)


class AnnotationSerializer(serializers.ModelSerializer):
    recording = serializers.UUIDField(source="recording_id", allow_null=True)

    class Meta:
        model = Annotation
        fields = ("id", "recording", "starts_at", "ends_at", "level", "note", "created_at")


class AnnotationInputSerializer(StrictSerializer):
    recording = serializers.UUIDField(required=False, allow_null=True)
    starts_at = AwareDateTimeField()
    ends_at = AwareDateTimeField(
        required=False,
        allow_null=True,
        help_text="Leave it out to mark an episode as it starts: the next one you mark ends it.",
    )
    level = serializers.ChoiceField(choices=StressLevel.choices)
    note = serializers.CharField(
        required=False, allow_blank=True, max_length=NOTE_MAX_LENGTH, default=""
    )


class AnnotationListCreateApi(APIView):
    @extend_schema(
        summary="Your annotations, newest first",
        tags=["annotations"],
        parameters=[OpenApiParameter("recording", OpenApiTypes.UUID)],
        responses={200: AnnotationSerializer(many=True), **_errors(400, 401, 404, 429)},
    )
    def get(self, request: Request) -> Response:
        recording = None
        if "recording" in request.query_params:
            field = serializers.UUIDField()
            try:
                recording_id = field.to_internal_value(request.query_params["recording"])
            except serializers.ValidationError as exc:
                raise exceptions.ValidationError({"recording": exc.detail}) from exc
            recording = _own(request, recording_id)
        annotations = selectors.annotation_list_for_user(user=request.user, recording=recording)
        return Response(AnnotationSerializer(annotations, many=True).data)

    @extend_schema(
        summary="Label a time range, or an episode as it starts, with how you felt",
        tags=["annotations"],
        request=AnnotationInputSerializer,
        responses={201: AnnotationSerializer, **_errors(400, 401, 404, 415, 429)},
    )
    def post(self, request: Request) -> Response:
        data = AnnotationInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        recording_id = values.pop("recording", None)
        recording = _own(request, recording_id) if recording_id else None
        annotation = services.annotation_create(user=request.user, recording=recording, **values)
        return Response(AnnotationSerializer(annotation).data, status=status.HTTP_201_CREATED)


class AnnotationDetailApi(APIView):
    @extend_schema(
        summary="Delete one of your annotations",
        tags=["annotations"],
        responses={204: None, **_errors(401, 404, 429)},
    )
    def delete(self, request: Request, annotation_id: int) -> Response:
        annotation = selectors.annotation_get_for_user(
            user=request.user, annotation_id=annotation_id
        )
        services.annotation_delete(annotation=annotation)
        return Response(status=status.HTTP_204_NO_CONTENT)
