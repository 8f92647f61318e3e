from django.urls import path, re_path

from predictions import views

urlpatterns = [
    path("", views.home, name="home"),
    path("dashboard/recent", views.dashboard_recent, name="dashboard-recent"),
    path("timeline/", views.timeline, name="timeline"),
    path("history/", views.history, name="history"),
    path("history/export.csv", views.history_export, name="history-export"),
    path("history/<int:prediction_id>/delete", views.prediction_delete, name="prediction-delete"),
    path("jobs/", views.jobs, name="jobs"),
    path("jobs/<uuid:job_id>/", views.job_detail, name="job-detail"),
    path("jobs/<uuid:job_id>/progress", views.job_progress, name="job-progress"),
    path("jobs/<uuid:job_id>/cancel", views.job_cancel, name="job-cancel"),
    path("jobs/<uuid:job_id>/results.csv", views.job_results, name="job-results"),
    # Beside the account pages for the person, but the data (and so the view) lives here.
    re_path(
        r"^accounts/export\.(?P<file_format>csv|json)$",
        views.account_export,
        name="account-export",
    ),
]
