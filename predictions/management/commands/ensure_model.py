import time
from typing import Any

from django.core.management.base import BaseCommand

from predictions.models import ModelVersion
from predictions.services import model_version_train


class Command(BaseCommand):
    help = "Train and activate a default model if no version is active (used by `make run`)."

    def handle(self, *args: Any, **options: Any) -> None:
        active = ModelVersion.objects.filter(is_active=True).first()
        if active is not None:
            self.stdout.write(f"Serving model {active.version}.")
            return
        self.stdout.write(
            "No active model yet: training one on the bundled drivedb recordings and "
            "evaluating it drive by drive (about a minute on two cores; only the first time)."
        )
        started = time.monotonic()

        def progress(line: str) -> None:
            self.stdout.write(f"  [{time.monotonic() - started:5.0f} s] {line}")
            self.stdout.flush()

        progress("typed-reading model (random forest), then one model per channel set")
        version = model_version_train(activate=True, log=progress)
        self.stdout.write(self.style.SUCCESS(f"Trained and activated {version.version}."))
