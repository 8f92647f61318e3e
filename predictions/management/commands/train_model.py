from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from mlcore.train import format_metrics, format_recording_metrics
from predictions.ml import artifact_path
from predictions.services import model_version_train


class Command(BaseCommand):
    help = "Train a model on the bundled drivedb recordings, evaluate it and register it."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--no-activate", action="store_true", help="register without serving it"
        )
        parser.add_argument("--no-eval", action="store_true", help="skip the evaluation")
        parser.add_argument(
            "--hold-out", metavar="DRIVE", help="train without this drive (e.g. drive06)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        version = model_version_train(
            activate=not options["no_activate"],
            evaluate=not options["no_eval"],
            hold_out=options["hold_out"],
        )
        if version.metrics:
            self.stdout.write(format_metrics(version.metrics))
        self.stdout.write(format_recording_metrics(version.card))
        card_dir = artifact_path(version.path).parent
        self.stdout.write(
            self.style.SUCCESS(
                f"Registered model {version.version}"
                f"{' (active)' if version.is_active else ''}; card: {card_dir}/card.md"
            )
        )
