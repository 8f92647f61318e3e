from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from stressapp import health, metrics

urlpatterns = [
    path("health", health.liveness, name="health"),
    path("api/health", health.readiness, name="api-health"),
    path("metrics", metrics.metrics_view, name="metrics"),
    path("api/schema", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves Swagger UI's start-up script as a file: no inline script (CSP).
    path("docs", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    # Where people look for the docs first; before the API's own URLs, which answer JSON 404s.
    path("api/docs", RedirectView.as_view(pattern_name="api-docs", permanent=False)),
    path("api/", include("predictions.api.urls")),
    path("admin/", admin.site.urls),
    path("accounts/", include("accounts.urls")),
    path("", include("predictions.urls")),
]

handler404 = "stressapp.api_errors.handler404"
handler500 = "stressapp.api_errors.handler500"
