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
        self.stdout.write("No active model: training the default one on drivedb...")
        version = model_version_train(activate=True)
        self.stdout.write(self.style.SUCCESS(f"Trained and activated {version.version}."))
