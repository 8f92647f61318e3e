from django.urls import path

from predictions.api import views

urlpatterns = [
    path("", views.ApiIndexApi.as_view(), name="api-index"),
]
