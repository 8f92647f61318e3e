from django.urls import path, re_path

from predictions import views
from predictions.batch import views as batch_views
from predictions.personal import views as personal_views
from predictions.recordings import views as recording_views

urlpatterns = [
    path("", views.home, name="home"),
    path("dashboard/recent", views.dashboard_recent, name="dashboard-recent"),
    path("timeline/", views.timeline, name="timeline"),
    path("history/", views.history, name="history"),
    path("history/export.csv", views.history_export, name="history-export"),
    path("history/<int:prediction_id>/delete", views.prediction_delete, name="prediction-delete"),
    path("jobs/", batch_views.jobs, name="jobs"),
    path("jobs/<uuid:job_id>/", batch_views.job_detail, name="job-detail"),
    path("jobs/<uuid:job_id>/progress", batch_views.job_progress, name="job-progress"),
    path("jobs/<uuid:job_id>/cancel", batch_views.job_cancel, name="job-cancel"),
    path("jobs/<uuid:job_id>/results.csv", batch_views.job_results, name="job-results"),
    path("recordings/", recording_views.recordings, name="recordings"),
    path(
        "recordings/<uuid:recording_id>/",
        recording_views.recording_detail,
        name="recording-detail",
    ),
    path(
        "recordings/<uuid:recording_id>/calibrate",
        recording_views.recording_calibrate,
        name="recording-calibrate",
    ),
    path(
        "recordings/<uuid:recording_id>/rescore",
        recording_views.recording_rescore,
        name="recording-rescore",
    ),
    path(
        "recordings/<uuid:recording_id>/cancel",
        recording_views.recording_cancel,
        name="recording-cancel",
    ),
    path(
        "recordings/<uuid:recording_id>/delete",
        recording_views.recording_delete,
        name="recording-delete",
    ),
    path(
        "recordings/<uuid:recording_id>/annotate",
        recording_views.recording_annotate,
        name="recording-annotate",
    ),
    path(
        "recordings/<uuid:recording_id>/windows.csv",
        recording_views.recording_windows_csv,
        name="recording-windows",
    ),
    path(
        "annotations/<int:annotation_id>/delete",
        recording_views.annotation_delete,
        name="annotation-delete",
    ),
    path(
        "baselines/<int:baseline_id>/deactivate",
        recording_views.baseline_deactivate,
        name="baseline-deactivate",
    ),
    path(
        "baselines/five-number",
        recording_views.baseline_five_number,
        name="baseline-five-number",
    ),
    path("agreement/", recording_views.agreement, name="agreement"),
    path("agreement/personal/", personal_views.personal_status, name="personal-status"),
    path("agreement/learn/", personal_views.personal_refit, name="personal-refit"),
    path("recordings/rescore/", personal_views.history_rescore, name="history-rescore"),
    path(
        "accounts/personal-models/delete/",
        personal_views.personal_models_delete,
        name="personal-models-delete",
    ),
    path("timeline/annotate", recording_views.timeline_annotate, name="timeline-annotate"),
    re_path(
        r"^annotations/export\.(?P<file_format>csv|json)$",
        views.annotations_export,
        name="annotations-export",
    ),
    # Beside the account pages for the person, but the data (and so the view) lives here.
    re_path(
        r"^accounts/export\.(?P<file_format>csv|json)$",
        views.account_export,
        name="account-export",
    ),
    re_path(
        r"^accounts/export\.(?P<standard>fhir|omh)\.json$",
        views.account_export_standard,
        name="account-export-standard",
    ),
]
