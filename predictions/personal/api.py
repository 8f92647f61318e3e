"""A person's own models over the API: list them (and the latest refit), ask for a refit,
delete them, and score the history again. Thin doors onto predictions.personal."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from predictions.api.views import ERRORS
from predictions.models import PersonalModel, PersonalRefit
from predictions.personal import selectors, services


def _errors(*codes: int) -> dict[int, OpenApiResponse]:
    return {code: ERRORS[code] for code in codes}


class PersonalModelSerializer(serializers.ModelSerializer):
    population_version = serializers.CharField(source="population_version.version")
    population_agreement = serializers.FloatField(source="population_share", allow_null=True)
    personal_agreement = serializers.FloatField(
        source="personal_share",
        allow_null=True,
        help_text="Leave one episode out: on labels it did not learn from (null: one episode).",
    )

    class Meta:
        model = PersonalModel
        fields = (
            "id",
            "model_key",
            "channel_set",
            "calibrated",
            "population_version",
            "episodes",
            "labelled_windows",
            "weight",
            "population_agreement",
            "personal_agreement",
            "personal_checked",
            "created_at",
        )


class PersonalRefitSerializer(serializers.ModelSerializer):
    percent = serializers.FloatField()

    class Meta:
        model = PersonalRefit
        fields = (
            "id",
            "status",
            "stage",
            "percent",
            "reason",
            "error",
            "summary",
            "rescored",
            "created_at",
            "finished_at",
        )


def _state(request: Request) -> dict:
    refit = selectors.personal_refit_latest_for_user(user=request.user)
    return {
        "models": PersonalModelSerializer(
            selectors.personal_model_list_for_user(user=request.user), many=True
        ).data,
        "refit": PersonalRefitSerializer(refit).data if refit else None,
    }


class PersonalModelListApi(APIView):
    @extend_schema(
        summary="Your own models (learnt from your labels) and the latest refit",
        tags=["personal models"],
        responses={200: OpenApiResponse(description="models and refit"), **_errors(401, 429)},
    )
    def get(self, request: Request) -> Response:
        return Response(_state(request))

    @extend_schema(
        summary="Delete your own models; your recordings are scored again without them",
        tags=["personal models"],
        request=None,
        responses={204: None, **_errors(401, 429)},
    )
    def delete(self, request: Request) -> Response:
        services.personal_models_delete(user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class PersonalRefitApi(APIView):
    @extend_schema(
        summary="Learn from your labels now (labels changing queues this by itself)",
        tags=["personal models"],
        request=None,
        responses={202: PersonalRefitSerializer, **_errors(401, 429)},
    )
    def post(self, request: Request) -> Response:
        refit = services.personal_refit_request(user=request.user, reason="asked")
        return Response(PersonalRefitSerializer(refit).data, status=status.HTTP_202_ACCEPTED)


class HistoryRescoreApi(APIView):
    @extend_schema(
        summary="Score all your recordings again with the current models",
        tags=["personal models"],
        request=None,
        responses={202: OpenApiResponse(description="how many were queued"), **_errors(401, 429)},
    )
    def post(self, request: Request) -> Response:
        queued = services.history_rescore(user=request.user)
        return Response({"queued": queued}, status=status.HTTP_202_ACCEPTED)
