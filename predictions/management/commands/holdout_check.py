from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import User
from jobs import engine
from jobs.uploads import stream_chunks
from mlcore import drivedb
from mlcore.drive_files import drive_slice, write_csv, write_edf
from mlcore.readings.features import CLASSES
from mlcore.recordings.dataset import MARGIN_S, baseline_range, window_labels
from mlcore.recordings.spec import model_key
from predictions.models import ModelVersion, Recording
from predictions.recordings.kind import RECORDING
from predictions.recordings.selectors import recording_windows
from predictions.recordings.services import RestRange, recording_delete, recording_submit

# "About as well as the card's figure for that drive" (issue 12): within this.
TOLERANCE = 0.05


def _lodo_figure(drive: str, channel_set: str) -> tuple[str, float] | None:
    """The leave-one-drive-out accuracy of `drive` in the newest card trained on all drives."""
    for version in ModelVersion.objects.order_by("-created_at"):
        card = version.card or {}
        if card.get("data", {}).get("held_out"):
            continue
        models = card.get("recording_models", {}).get("models", {})
        lodo = models.get(model_key(channel_set, True), {}).get("metrics", {})
        per_drive = lodo.get("leave_one_drive_out", {}).get("per_drive", {})
        if drive in per_drive:
            return version.version, float(per_drive[drive]["accuracy"])
    return None


class Command(BaseCommand):
    help = (
        "A driver the model has not seen, through the service: upload a held-out drive (EDF "
        "and CSV) with its first 3 minutes of rest as baseline, score it as the workers do, and "
        "compare the windows with the true segments and with the card's figure for that drive."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "drive", help="e.g. drive06; the active model must be trained without it"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        name = options["drive"]
        active = ModelVersion.objects.filter(is_active=True).first()
        held_out = (active.card or {}).get("data", {}).get("held_out") if active else None
        if held_out != name:
            raise CommandError(
                f"The active model was not trained without {name}: run "
                f"`manage.py train_model --hold-out {name}` first (and `train_model` on all "
                "drives before it, for the card's figure)."
            )
        drive = drivedb.load_drive(name)
        user, _ = User.objects.get_or_create(username="holdout-check")
        rest = RestRange(*baseline_range(drive))
        failures = 0
        with tempfile.TemporaryDirectory() as folder:
            rows = drive_slice(drive, 0.0, 1e9)
            files = [
                write_edf(Path(folder) / f"{name}.edf", rows),
                write_csv(Path(folder) / f"{name}.csv", rows),
            ]
            for path in files:
                failures += self._check(user, path, drive, rest)
        if failures:
            raise CommandError(f"{failures} file(s) off the card's figure by more than {TOLERANCE}")

    def _check(self, user: User, path: Path, drive: drivedb.Drive, rest: RestRange) -> int:
        with open(path, "rb") as handle:
            recording, _ = recording_submit(
                user=user, chunks=stream_chunks(handle), filename=path.name, rest=rest
            )
        for index in engine.job_claim(RECORDING, job_id=recording.id):
            engine.job_chunk_run(RECORDING, job_id=recording.id, index=index)
        recording = Recording.objects.get(pk=recording.id)
        if recording.status != "succeeded":
            raise CommandError(f"{path.name}: {recording.status}: {recording.error}")
        windows = list(
            recording_windows(recording=recording).values_list(
                "window_start_s", "window_end_s", "stress_level"
            )
        )
        starts = np.array([w[0] for w in windows])
        ends = np.array([w[1] for w in windows])
        levels = np.array([CLASSES.index(w[2]) for w in windows])
        labels = window_labels(drive.segments, starts, recording.window_s, MARGIN_S)
        scored = (labels >= 0) & ~((starts < rest.end_s) & (ends > rest.start_s))
        accuracy = float((levels[scored] == labels[scored]).mean())
        reference = _lodo_figure(drive.name, recording.channel_set)
        line = (
            f"{path.name}: uploaded and scored by the service ({recording.channel_set}, "
            f"calibrated={recording.calibrated}): {int(scored.sum())} windows agree with the "
            f"true segments {accuracy:.3f}"
        )
        failed = 0
        if reference is None:
            line += "; no card trained on all drives with this drive's figure to compare"
        else:
            version, figure = reference
            verdict = "within" if abs(accuracy - figure) <= TOLERANCE else "NOT within"
            failed = int(verdict != "within")
            line += (
                f"; the card's leave-one-drive-out figure for {drive.name} ({version}): "
                f"{figure:.3f}; difference {accuracy - figure:+.3f}, {verdict} {TOLERANCE}"
            )
        self.stdout.write(line)
        recording_delete(recording=recording)
        return failed
