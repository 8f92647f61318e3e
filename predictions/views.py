"""HTML pages (HTMX): thin doors onto the same services and selectors as the API."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "home.html")
