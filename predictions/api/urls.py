from django.urls import path, re_path

from predictions.api import views
from predictions.batch import api as batch_views
from predictions.personal import api as personal_views
from predictions.recordings import api as recording_views

urlpatterns = [
    path("", views.ApiIndexApi.as_view(), name="api-index"),
    path(
        "personal-models",
        personal_views.PersonalModelListApi.as_view(),
        name="api-personal-models",
    ),
    path(
        "personal-models/refit",
        personal_views.PersonalRefitApi.as_view(),
        name="api-personal-refit",
    ),
    path("history/rescore", personal_views.HistoryRescoreApi.as_view(), name="api-history-rescore"),
    path("features", views.FeaturesApi.as_view(), name="api-features"),
    path("predict", views.PredictApi.as_view(), name="api-predict"),
    path("batch-predict", views.BatchPredictApi.as_view(), name="api-batch-predict"),
    path("predictions", views.PredictionListApi.as_view(), name="api-prediction-list"),
    path(
        "predictions/summary",
        views.PredictionSummaryApi.as_view(),
        name="api-prediction-summary",
    ),
    re_path(
        r"^predictions/export/(?P<standard>fhir|omh)$",
        views.PredictionStandardExportApi.as_view(),
        name="api-prediction-export",
    ),
    path(
        "predictions/<int:prediction_id>",
        views.PredictionDetailApi.as_view(),
        name="api-prediction-detail",
    ),
    path("batch-jobs", batch_views.BatchJobListCreateApi.as_view(), name="api-batch-job-list"),
    path(
        "batch-jobs/<uuid:job_id>",
        batch_views.BatchJobDetailApi.as_view(),
        name="api-batch-job-detail",
    ),
    path(
        "batch-jobs/<uuid:job_id>/cancel",
        batch_views.BatchJobCancelApi.as_view(),
        name="api-batch-job-cancel",
    ),
    path(
        "batch-jobs/<uuid:job_id>/results",
        batch_views.BatchJobResultsApi.as_view(),
        name="api-batch-job-results",
    ),
    path(
        "recordings",
        recording_views.RecordingListCreateApi.as_view(),
        name="api-recording-list",
    ),
    path(
        "recordings/<uuid:recording_id>",
        recording_views.RecordingDetailApi.as_view(),
        name="api-recording-detail",
    ),
    path(
        "recordings/<uuid:recording_id>/windows",
        recording_views.RecordingWindowsApi.as_view(),
        name="api-recording-windows",
    ),
    path(
        "recordings/<uuid:recording_id>/cancel",
        recording_views.RecordingCancelApi.as_view(),
        name="api-recording-cancel",
    ),
    path(
        "recordings/<uuid:recording_id>/rescore",
        recording_views.RecordingRescoreApi.as_view(),
        name="api-recording-rescore",
    ),
    path("baselines", recording_views.BaselineCreateApi.as_view(), name="api-baseline-create"),
    path(
        "annotations",
        recording_views.AnnotationListCreateApi.as_view(),
        name="api-annotation-list",
    ),
    path(
        "annotations/<int:annotation_id>",
        recording_views.AnnotationDetailApi.as_view(),
        name="api-annotation-detail",
    ),
]
