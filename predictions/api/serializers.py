"""Input validation and output shapes for the REST API. No business logic here."""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from django.utils.dateparse import parse_datetime
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from mlcore.readings.features import FEATURE_NAMES, FEATURES, Feature
from mlcore.score import UNCERTAIN, shown_level, stress_score
from predictions.models import Prediction, Source, StressLevel
from predictions.services import Reading
from predictions.validation import (
    NOTE_MAX_LENGTH,
    feature_value,
    latest_allowed_measured_at,
    measured_at_problem,
    note_problem,
)

MAX_BATCH_READINGS = 100


@extend_schema_field(OpenApiTypes.DOUBLE)
class FeatureValueField(serializers.Field):
    """A contract feature: a JSON number and nothing else (DRF's FloatField would accept "72"
    and true), finite, within the feature's range. The rule is predictions.validation's, the
    same one batch files follow."""

    def __init__(self, *, feature: Feature, **kwargs: Any) -> None:
        self.feature = feature
        kwargs.setdefault("help_text", feature.description)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> float:
        try:
            return feature_value(data, self.feature, json_types=True)
        except ValueError as exc:
            raise serializers.ValidationError(str(exc), code="invalid") from None

    def to_representation(self, value: float) -> float:
        return value


class AwareDateTimeField(serializers.DateTimeField):
    """ISO 8601 with an explicit UTC offset; a reading without one is ambiguous."""

    def to_internal_value(self, value: Any) -> Any:
        if not isinstance(value, str):
            raise serializers.ValidationError("Must be an ISO 8601 string with a UTC offset.")
        try:
            # parse_datetime raises on well-formed but impossible values (Feb 30, +99:00).
            parsed = parse_datetime(value) if len(value) < 64 else None
        except ValueError:
            self.fail("invalid", format="ISO 8601 with a UTC offset")
        if parsed is not None and parsed.tzinfo is None:
            raise serializers.ValidationError(
                "Must include a UTC offset, e.g. 2026-11-27T08:30:00+01:00 or ...Z."
            )
        return super().to_internal_value(value)


class StrictSerializer(serializers.Serializer):
    """Names unknown fields instead of silently ignoring them."""

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, dict):
            raise serializers.ValidationError(
                {"non_field_errors": ["Expected a JSON object."]}, code="invalid"
            )
        unknown = sorted(set(data) - set(self.fields))
        if unknown:
            raise serializers.ValidationError(
                {name: ["Unknown field."] for name in unknown}, code="unknown_field"
            )
        return super().to_internal_value(data)


class ReadingInputSerializer(StrictSerializer):
    measured_at = AwareDateTimeField(
        required=False, help_text="ISO 8601 with offset; defaults to now. Not in the future."
    )
    note = serializers.CharField(
        required=False, allow_blank=True, max_length=NOTE_MAX_LENGTH, default=""
    )

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = {f.name: FeatureValueField(feature=f) for f in FEATURES}
        return {**fields, **super().get_fields()}

    def validate_measured_at(self, value: Any) -> Any:
        problem = measured_at_problem(value, latest_allowed_measured_at())
        if problem:
            raise serializers.ValidationError(problem)
        return value

    def validate_note(self, value: str) -> str:
        problem = note_problem(value)
        if problem:
            raise serializers.ValidationError(problem)
        return value

    def to_reading(self) -> Reading:
        data = self.validated_data
        return Reading(
            **{name: data[name] for name in FEATURE_NAMES},
            measured_at=data.get("measured_at") or timezone.now(),
            note=data.get("note", ""),
        )


class BatchPredictInputSerializer(StrictSerializer):
    readings = serializers.ListField(child=serializers.JSONField(), allow_empty=False)

    def validate_readings(self, items: list[Any]) -> list[Reading]:
        if len(items) > MAX_BATCH_READINGS:
            raise serializers.ValidationError(
                f"At most {MAX_BATCH_READINGS} readings per request; got {len(items)}. "
                "Send larger sets as a file to POST /api/batch-jobs."
            )
        readings, errors = [], {}
        for index, item in enumerate(items):
            serializer = ReadingInputSerializer(data=item)
            if serializer.is_valid():
                readings.append(serializer.to_reading())
            else:
                errors[str(index)] = serializer.errors
        if errors:
            raise serializers.ValidationError(errors)
        return readings


class ProbabilitiesSerializer(serializers.Serializer):
    low = serializers.FloatField()
    medium = serializers.FloatField()
    high = serializers.FloatField()


class FeatureValuesSerializer(serializers.Serializer):
    """One number per contract feature (the inputs, or their contributions)."""

    def get_fields(self) -> dict[str, serializers.Field]:
        return {name: serializers.FloatField() for name in FEATURE_NAMES}


class PredictionOutputSerializer(serializers.ModelSerializer):
    probabilities = ProbabilitiesSerializer()
    inputs = serializers.SerializerMethodField()
    contributions = serializers.DictField(
        child=serializers.FloatField(),
        allow_null=True,
        help_text="Each feature's push on the predicted level (positive: towards it): for a "
        "reading, the five inputs' pushes on the forest's vote for the level (the confidence "
        "is that vote calibrated), or on its calibrated log-odds when scored against your "
        "baseline; for a recording's window, the window features that mattered most, in "
        "calibrated log-odds. Null where not computed.",
    )
    stress_score = serializers.SerializerMethodField(
        help_text="0 (calm) to 100 (stressed): 100 * (0.5 * p_medium + p_high), the expected "
        "level with low = 0, medium = 50, high = 100 (mlcore.score). Added in issue 21."
    )
    shown_level = serializers.SerializerMethodField(
        help_text='The level the pages show beside the score: stress_level, or "uncertain" '
        "when the top probability is below 0.5. Added in issue 21."
    )
    personal_model = serializers.SerializerMethodField(
        help_text="Whether your own model, learnt from your labels, scored it (a recording's "
        "windows, or a typed reading scored against your rest baseline); false: the "
        "population's model did."
    )
    recording = serializers.UUIDField(source="recording_id", allow_null=True)
    window_start_s = serializers.FloatField(allow_null=True)
    window_end_s = serializers.FloatField(allow_null=True)
    model_version = serializers.CharField(source="model_version.version")
    stress_level = serializers.ChoiceField(choices=StressLevel.choices)
    source = serializers.ChoiceField(choices=Source.choices)

    class Meta:
        model = Prediction
        fields = (
            "id",
            "stress_level",
            "confidence",
            "probabilities",
            "model_version",
            "measured_at",
            "created_at",
            "source",
            "note",
            "inputs",
            "contributions",
            "calibrated",
            "personal_model",
            "recording",
            "window_start_s",
            "window_end_s",
            "stress_score",
            "shown_level",
        )

    @extend_schema_field(FeatureValuesSerializer(allow_null=True))
    def get_inputs(self, obj: Prediction) -> dict[str, float] | None:
        return prediction_inputs(obj)

    @extend_schema_field(serializers.BooleanField())
    def get_personal_model(self, obj: Prediction) -> bool:
        return obj.personal_model_id is not None

    @extend_schema_field(serializers.FloatField(min_value=0, max_value=100))
    def get_stress_score(self, obj: Prediction) -> float:
        return prediction_score(obj)

    @extend_schema_field(serializers.ChoiceField(choices=[*StressLevel.values, UNCERTAIN]))
    def get_shown_level(self, obj: Prediction) -> str:
        return shown_level(obj.probabilities)


def prediction_score(prediction: Prediction) -> float:
    """The stress score to one decimal (the pages round it to a whole number)."""
    return round(stress_score(prediction.probabilities), 1)


def prediction_inputs(prediction: Prediction) -> dict[str, float] | None:
    """The five numbers of a reading; None for a recording's window (scored from signals)."""
    if prediction.heart_rate is None:
        return None
    return {name: getattr(prediction, name) for name in FEATURE_NAMES}


_datetime_field = serializers.DateTimeField()


def prediction_representation(prediction: Prediction) -> dict[str, Any]:
    """What PredictionOutputSerializer describes, built directly: the serializer costs ~1 ms
    per object on the hottest endpoint. Schemathesis checks the two agree."""
    return {
        "id": prediction.id,
        "stress_level": prediction.stress_level,
        "confidence": prediction.confidence,
        "probabilities": prediction.probabilities,
        "model_version": prediction.model_version.version,
        "measured_at": _datetime_field.to_representation(prediction.measured_at),
        "created_at": _datetime_field.to_representation(prediction.created_at),
        "source": prediction.source,
        "note": prediction.note,
        "inputs": prediction_inputs(prediction),
        "contributions": prediction.contributions,
        "calibrated": prediction.calibrated,
        "personal_model": prediction.personal_model_id is not None,
        "recording": str(prediction.recording_id) if prediction.recording_id else None,
        "window_start_s": prediction.window_start_s,
        "window_end_s": prediction.window_end_s,
        "stress_score": prediction_score(prediction),
        "shown_level": shown_level(prediction.probabilities),
    }


class BatchPredictOutputSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    predictions = PredictionOutputSerializer(many=True)


class PeriodSerializer(StrictSerializer):
    """`from` and `to` query parameters. They are Python keywords, hence get_fields."""

    def get_fields(self) -> dict[str, serializers.Field]:
        return {
            "from": AwareDateTimeField(required=False, source="start", help_text="Inclusive."),
            "to": AwareDateTimeField(required=False, source="end", help_text="Exclusive."),
            **super().get_fields(),
        }

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        start, end = attrs.get("start"), attrs.get("end")
        if start and end and start >= end:
            raise serializers.ValidationError({"to": ["Must be after 'from'."]})
        return attrs


class HistoryFilterSerializer(PeriodSerializer):
    level = serializers.ChoiceField(choices=StressLevel.choices, required=False)
    source = serializers.ChoiceField(choices=Source.choices, required=False)
    cursor = serializers.CharField(required=False)
    page_size = serializers.IntegerField(required=False, min_value=1, max_value=500)


class SummaryFilterSerializer(PeriodSerializer):
    bucket = serializers.ChoiceField(choices=["day", "week"], required=False, default="day")


class LevelCountsSerializer(serializers.Serializer):
    low = serializers.IntegerField()
    medium = serializers.IntegerField()
    high = serializers.IntegerField()


class SummaryBucketSerializer(serializers.Serializer):
    bucket_start = serializers.DateField()
    total = serializers.IntegerField()
    counts = LevelCountsSerializer()
    mean_confidence = serializers.FloatField()
    dominant_level = serializers.ChoiceField(choices=StressLevel.choices, allow_null=True)


class SummaryOutputSerializer(serializers.Serializer):
    time_zone = serializers.CharField()
    bucket = serializers.CharField()
    buckets = SummaryBucketSerializer(many=True)


class FeatureSerializer(serializers.Serializer):
    name = serializers.CharField()
    label = serializers.CharField()
    unit = serializers.CharField()
    minimum = serializers.FloatField()
    maximum = serializers.FloatField()
    description = serializers.CharField()
