"""Middleware the pages need and a token-authenticated API request does not: skipped for it.

A request to /api/ that carries `Authorization: Bearer` is authenticated by its token alone
(DRF tries the token first and never falls back to the session), reads no session and shows no
flash message; its JSON needs no page policy. Running those middleware anyway cost ~0.12 ms
per request, about a quarter of an API request's Django overhead. CSRF, Axes and htmx cost
nothing measurable (a view exempt from CSRF returns at once) and stay as they are; Django's
deployment check also wants its own CsrfViewMiddleware by name. Every other request, pages
and session-authenticated API calls included, goes through all of them as before.

Each class here subclasses the original, so Django's system checks (the admin's need for the
session, auth and messages middleware) still recognise it.
"""

from __future__ import annotations

from typing import Any

from csp.middleware import CSPMiddleware as _CSP
from django.contrib.auth.middleware import AuthenticationMiddleware as _Authentication
from django.contrib.messages.middleware import MessageMiddleware as _Messages
from django.contrib.sessions.middleware import SessionMiddleware as _Sessions
from django.http import HttpRequest, HttpResponse

# A JSON answer is never a document to render: it may load nothing and be framed by no one.
API_CONTENT_SECURITY_POLICY = "default-src 'none'; frame-ancestors 'none'"


def is_token_api_request(request: HttpRequest) -> bool:
    return (
        request.path_info.startswith("/api/")
        and request.META.get("HTTP_AUTHORIZATION", "")[:7].lower() == "bearer "
    )


def _pages_only(base: type) -> type:
    class PagesOnly(base):  # type: ignore[misc, valid-type]
        def __call__(self, request: HttpRequest) -> Any:
            if is_token_api_request(request):
                return self.get_response(request)
            return super().__call__(request)

        if hasattr(base, "process_view"):

            def process_view(self, request: HttpRequest, *args: Any) -> Any:
                if is_token_api_request(request):
                    return None
                return super().process_view(request, *args)

    PagesOnly.__name__ = PagesOnly.__qualname__ = base.__name__
    PagesOnly.__doc__ = f"{base.__module__}.{base.__name__}, skipped for token API requests."
    return PagesOnly


SessionMiddleware = _pages_only(_Sessions)
AuthenticationMiddleware = _pages_only(_Authentication)
MessageMiddleware = _pages_only(_Messages)


class CSPMiddleware(_CSP):
    """The pages' policy, built per request, for everything but a token API request, which
    gets a fixed, stricter one instead."""

    def __call__(self, request: HttpRequest) -> Any:
        if is_token_api_request(request):
            response: HttpResponse = self.get_response(request)
            response.headers.setdefault("Content-Security-Policy", API_CONTENT_SECURITY_POLICY)
            return response
        return super().__call__(request)
