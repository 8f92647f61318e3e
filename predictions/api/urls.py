from django.urls import path

from predictions.api import views

urlpatterns = [
    path("", views.ApiIndexApi.as_view(), name="api-index"),
    path("features", views.FeaturesApi.as_view(), name="api-features"),
    path("predict", views.PredictApi.as_view(), name="api-predict"),
    path("batch-predict", views.BatchPredictApi.as_view(), name="api-batch-predict"),
    path("predictions", views.PredictionListApi.as_view(), name="api-prediction-list"),
    path(
        "predictions/summary",
        views.PredictionSummaryApi.as_view(),
        name="api-prediction-summary",
    ),
    path(
        "predictions/<int:prediction_id>",
        views.PredictionDetailApi.as_view(),
        name="api-prediction-detail",
    ),
]
