from pathlib import Path

from django.apps import AppConfig
from django.conf import settings


def runtime_dirs() -> list[Path]:
    """The folders a process writes to: data, models, uploads, static files, and the embedded
    broker's queue when no Redis is configured."""
    folders = [settings.DATA_DIR, settings.MODEL_DIR, settings.MEDIA_ROOT, settings.STATIC_ROOT]
    options = settings.CELERY_BROKER_TRANSPORT_OPTIONS
    for key in ("data_folder_in", "processed_folder", "control_folder"):
        if key in options:
            folders.append(Path(options[key]))
    return [Path(folder) for folder in folders]


class StressappConfig(AppConfig):
    """The project package as an app: its startup makes the runtime folders, so that importing
    settings has no side effects."""

    name = "stressapp"
    verbose_name = "Stress tracker"

    def ready(self) -> None:
        for folder in runtime_dirs():
            folder.mkdir(parents=True, exist_ok=True)
