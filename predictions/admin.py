import json

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html

from predictions.batch.jobs import batch_job_cancel, batch_job_retry
from predictions.models import (
    Annotation,
    Baseline,
    BatchJob,
    ModelVersion,
    PersonalModel,
    PersonalRefit,
    Prediction,
    Recording,
)
from predictions.recordings.services import recording_cancel
from predictions.services import model_version_activate


@admin.register(ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin):
    list_display = (
        "version",
        "is_active",
        "lodo_accuracy",
        "lodo_macro_f1",
        "baseline_accuracy",
        "created_at",
        "activated_at",
    )
    list_filter = ("is_active",)
    search_fields = ("version", "sha256")
    ordering = ("-created_at",)
    actions = ["activate_selected"]
    readonly_fields = (
        "version",
        "path",
        "sha256",
        "created_at",
        "is_active",
        "activated_at",
        "metrics_summary",
        "card_pretty",
    )
    exclude = ("metrics", "card")

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Versions come from training (`manage.py train_model`), never from a form.
        return False

    @staticmethod
    def _figure(obj: ModelVersion, name: str) -> str:
        value = obj.headline_metrics[name]
        return f"{value:.3f}" if value is not None else "-"

    @admin.display(description="LODO accuracy")
    def lodo_accuracy(self, obj: ModelVersion) -> str:
        return self._figure(obj, "accuracy")

    @admin.display(description="LODO macro-F1")
    def lodo_macro_f1(self, obj: ModelVersion) -> str:
        return self._figure(obj, "macro_f1")

    @admin.display(description="majority baseline")
    def baseline_accuracy(self, obj: ModelVersion) -> str:
        return self._figure(obj, "majority_baseline_accuracy")

    @admin.display(description="metrics")
    def metrics_summary(self, obj: ModelVersion) -> str:
        return format_html("<pre>{}</pre>", json.dumps(obj.metrics, indent=2))

    @admin.display(description="model card")
    def card_pretty(self, obj: ModelVersion) -> str:
        return format_html("<pre>{}</pre>", json.dumps(obj.card, indent=2))

    @admin.action(description="Activate the selected version (promote or roll back)")
    def activate_selected(self, request: HttpRequest, queryset: QuerySet[ModelVersion]) -> None:
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one version to activate.", messages.ERROR)
            return
        version = model_version_activate(model_version=queryset.get())
        self.message_user(
            request,
            f"{version.version} is now active; every process serves it within seconds.",
            messages.SUCCESS,
        )


@admin.register(BatchJob)
class BatchJobAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "user",
        "status",
        "progress",
        "total_rows",
        "failed_rows",
        "duration",
        "created_at",
    )
    list_filter = ("status", "input_format")
    search_fields = ("id", "user__username", "user__email", "original_filename")
    list_select_related = ("user",)
    actions = ["cancel_selected", "retry_selected"]
    readonly_fields = [f.name for f in BatchJob._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.display(description="progress")
    def progress(self, obj: BatchJob) -> str:
        return f"{obj.percent:.0f}% ({obj.chunks_done}/{obj.chunk_count} chunks)"

    @admin.display(description="duration (s)")
    def duration(self, obj: BatchJob) -> str:
        value = obj.duration_seconds
        return "-" if value is None else f"{value:.1f}"

    @admin.action(description="Cancel the selected jobs")
    def cancel_selected(self, request: HttpRequest, queryset: QuerySet[BatchJob]) -> None:
        for job in queryset:
            batch_job_cancel(job=job)
        self.message_user(request, "Cancelled the unfinished jobs among those selected.")

    @admin.action(description="Retry the selected failed or cancelled jobs")
    def retry_selected(self, request: HttpRequest, queryset: QuerySet[BatchJob]) -> None:
        retried = [job for job in queryset if batch_job_retry(job=job).status == "queued"]
        self.message_user(request, f"Queued {len(retried)} job(s) again.")


@admin.register(Prediction)
class PredictionAdmin(admin.ModelAdmin):
    """Read-only: predictions come from scoring, never from a form."""

    list_display = (
        "id",
        "user",
        "measured_at",
        "stress_level",
        "confidence_percent",
        "source",
        "model_version",
    )
    list_filter = (
        "stress_level",
        "source",
        "model_version",
        ("measured_at", admin.DateFieldListFilter),
    )
    search_fields = ("user__username", "user__email", "note")
    list_select_related = ("user", "model_version")

    @admin.display(description="confidence", ordering="confidence")
    def confidence_percent(self, prediction: Prediction) -> str:
        return f"{prediction.confidence:.0%}"

    date_hierarchy = "measured_at"
    show_full_result_count = False  # no COUNT(*) over millions of rows on every page

    def get_readonly_fields(self, request: HttpRequest, obj: object = None) -> list[str]:
        return [f.name for f in Prediction._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Recording)
class RecordingAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "user",
        "status",
        "duration",
        "channel_set",
        "calibrated",
        "file_format",
        "created_at",
    )
    list_filter = ("status", "channel_set", "calibrated", "file_format")
    search_fields = ("id", "name", "original_filename", "user__username", "user__email")
    list_select_related = ("user",)
    actions = ["cancel_selected"]
    exclude = ("traces",)  # hundreds of numbers per signal: the page draws them

    def get_readonly_fields(self, request: HttpRequest, obj: object = None) -> list[str]:
        return [f.name for f in Recording._meta.fields if f.name != "traces"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.display(description="duration")
    def duration(self, obj: Recording) -> str:
        minutes, seconds = divmod(round(obj.duration_s), 60)
        return f"{minutes // 60}:{minutes % 60:02d}:{seconds:02d}"

    @admin.action(description="Cancel the selected recordings")
    def cancel_selected(self, request: HttpRequest, queryset: QuerySet[Recording]) -> None:
        for recording in queryset:
            recording_cancel(recording=recording)
        self.message_user(request, "Cancelled the unfinished recordings among those selected.")


@admin.register(Baseline)
class BaselineAdmin(admin.ModelAdmin):
    list_display = (
        "user",
        "channel_set",
        "start_s",
        "end_s",
        "recording",
        "is_active",
        "created_at",
    )
    list_filter = ("channel_set", "is_active")
    search_fields = ("user__username", "user__email")
    list_select_related = ("user", "recording")
    readonly_fields = (
        "user",
        "channel_set",
        "recording",
        "start_s",
        "end_s",
        "statistics",
        "created_at",
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(Annotation)
class AnnotationAdmin(admin.ModelAdmin):
    """People's own labels: read here to build the next training set."""

    list_display = ("user", "level", "starts_at", "ends_at", "recording", "note", "created_at")
    list_filter = ("level", ("starts_at", admin.DateFieldListFilter))
    search_fields = ("user__username", "user__email", "note")
    list_select_related = ("user", "recording")

    def get_readonly_fields(self, request: HttpRequest, obj: object = None) -> list[str]:
        return [f.name for f in Annotation._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(PersonalModel)
class PersonalModelAdmin(admin.ModelAdmin):
    """People's own models: figures only (the model's arrays are not shown or edited)."""

    list_display = (
        "user",
        "model_key",
        "population_version",
        "episodes",
        "labelled_windows",
        "agreement",
        "is_active",
        "created_at",
    )
    list_filter = ("is_active", "channel_set", "calibrated")
    search_fields = ("user__username", "user__email")
    list_select_related = ("user", "population_version")
    exclude = ("compiled",)

    @admin.display(description="agreement (general → own)")
    def agreement(self, obj: PersonalModel) -> str:
        before, after = obj.population_share, obj.personal_share
        if before is None:
            return "—"
        return f"{before:.0%} → {after:.0%}" if after is not None else f"{before:.0%} → not checked"

    def get_readonly_fields(self, request: HttpRequest, obj: object = None) -> list[str]:
        return [f.name for f in PersonalModel._meta.fields if f.name != "compiled"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet[PersonalModel]:
        return super().get_queryset(request).defer("compiled")


@admin.register(PersonalRefit)
class PersonalRefitAdmin(admin.ModelAdmin):
    list_display = ("user", "status", "reason", "stage", "rescored", "created_at", "finished_at")
    list_filter = ("status",)
    search_fields = ("user__username", "user__email")
    list_select_related = ("user",)

    def get_readonly_fields(self, request: HttpRequest, obj: object = None) -> list[str]:
        return [f.name for f in PersonalRefit._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
