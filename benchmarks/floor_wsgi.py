"""The API benchmark's floor: our whole stack (the server, middleware, DRF, token
authentication, throttling) with the predict view answering an empty 201 instead of
validating, scoring and storing. It shows how much of the request budget is spent before any
of that work. Benchmarks only; the application never imports this module."""

from typing import Any

from stressapp.wsgi import application

__all__ = ["application"]  # and Django is set up, which the imports below need

from rest_framework.request import Request
from rest_framework.response import Response

from predictions.api.views import PredictApi


def _empty_answer(self: Any, request: Request) -> Response:
    return Response({}, status=201)


PredictApi.post = _empty_answer  # type: ignore[method-assign]
