"""Writes for recordings, baselines and annotations. Every door (API, pages) comes here."""

from __future__ import annotations

import shutil
import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import User
from mlcore.readers import read_recording
from mlcore.recordings.baseline import MIN_BASELINE_S
from mlcore.recordings.recording import RecordingError
from mlcore.recordings.windows import window_starts
from predictions.batch import engine
from predictions.batch.errors import UploadTooLarge
from predictions.batch.files import StoredUpload, upload_store
from predictions.ml import get_served_model
from predictions.models import Annotation, Recording, RecordingChunk, StressLevel
from predictions.recordings.baselines import baseline_active_for
from predictions.recordings.errors import (
    InvalidRange,
    RecordingRejected,
)
from predictions.recordings.files import (
    recording_dir,
    recording_files_delete,
    recording_input_path,
)
from predictions.recordings.kind import RECORDING
from predictions.validation import note_problem

# Longest range one annotation may cover: a label is about a moment, not a month.
ANNOTATION_MAX = timedelta(days=2)


@dataclass(frozen=True)
class RestRange:
    start_s: float
    end_s: float


def _read(upload: StoredUpload, filename: str) -> object:
    try:
        return read_recording(
            upload.path,
            filename or None,
            max_duration_s=settings.RECORDING_MAX_SECONDS,
            max_uncompressed_bytes=settings.RECORDING_MAX_UNCOMPRESSED_BYTES,
        )
    except RecordingError as exc:
        if exc.code == "too_large":
            raise UploadTooLarge(exc.message) from exc
        raise RecordingRejected(exc.message, exc.code) from exc


def rest_range_check(rest: RestRange, duration_s: float) -> RestRange:
    """A rest range inside the recording and at least 3 minutes long (InvalidRange if not)."""
    if not (0 <= rest.start_s < rest.end_s <= duration_s + 1e-6):
        raise InvalidRange(
            f"The rest range {rest.start_s:g}-{rest.end_s:g} s is not inside the recording "
            f"(0-{duration_s:.0f} s).",
            field="rest",
        )
    if rest.end_s - rest.start_s < MIN_BASELINE_S:
        raise InvalidRange(
            f"A rest range must last at least {MIN_BASELINE_S / 60:.0f} minutes; "
            f"{rest.start_s:g}-{rest.end_s:g} s lasts {rest.end_s - rest.start_s:g} s.",
            field="rest",
        )
    return rest


def recording_submit(
    *,
    user: User,
    chunks: Iterable[bytes],
    filename: str,
    name: str = "",
    rest: RestRange | None = None,
    idempotency_key: str = "",
) -> tuple[Recording, bool]:
    """Store an upload, read it (a file that cannot be scored is refused here, and nothing
    is kept), and queue its scoring. Returns (recording, created); an Idempotency-Key seen
    before returns the earlier recording for the same file."""
    stored = upload_store(
        chunks, max_bytes=settings.RECORDING_MAX_BYTES, root=settings.RECORDINGS_DIR
    )
    idempotency_key = idempotency_key[:255]
    moved = False
    try:
        if idempotency_key:
            existing = engine.job_for_idempotency_key(
                Recording, user=user, key=idempotency_key, sha256=stored.sha256
            )
            if existing is not None:
                return existing, False
        signals = _read(stored, filename)
        scorer = get_served_model().recording_scorer
        if scorer.best_channel_set(signals.roles, calibrated=False) is None:
            raise RecordingRejected(
                "None of the recording's channels is one a model was trained for "
                f"(it has: {', '.join(sorted(signals.roles)) or 'none'}).",
                "no_usable_channel",
            )
        windows = len(window_starts(signals.duration_s, scorer.window_s, scorer.stride_s))
        if windows == 0:
            raise RecordingRejected(
                f"The recording lasts {signals.duration_s:.0f} s; the model needs at least "
                f"{scorer.window_s:.0f} s.",
                "too_short",
            )
        if rest is not None:
            rest_range_check(rest, signals.duration_s)
        calibrated_set = scorer.best_channel_set(signals.roles, calibrated=True)
        baseline = (
            baseline_active_for(user=user, channel_set=calibrated_set)
            if rest is None and calibrated_set
            else None
        )
        now = timezone.now()
        start_time = signals.start_time
        if start_time is not None and start_time.tzinfo is None:
            # EDF and CSV clocks carry no zone: a device shows the wearer's local time.
            start_time = start_time.replace(tzinfo=zoneinfo.ZoneInfo(user.time_zone))
        recording = Recording(
            user=user,
            name=(name or filename or "recording")[:255],
            original_filename=filename[:255],
            file_format=signals.format,
            input_sha256=stored.sha256,
            input_bytes=stored.size,
            idempotency_key=idempotency_key,
            channels=signals.describe(),
            ignored_channels=list(signals.ignored),
            start_time=start_time,
            starts_at=start_time or now,
            duration_s=signals.duration_s,
            baseline=baseline,
            rest_start_s=rest.start_s if rest else None,
            rest_end_s=rest.end_s if rest else None,
            total_rows=windows,
            chunk_count=1,
            created_at=now,
        )
        recording_dir(recording.id).mkdir(parents=True)
        shutil.move(stored.path, recording_input_path(recording.id))
        moved = True
        try:
            with transaction.atomic():
                recording.save(force_insert=True)
                RecordingChunk.objects.create(
                    job=recording, index=0, first_window=0, window_count=windows
                )
                engine.job_enqueue_on_commit(RECORDING, recording.id)
        except IntegrityError:
            recording_files_delete(recording.id)
            if not idempotency_key:
                raise
            existing = engine.job_for_idempotency_key(
                Recording, user=user, key=idempotency_key, sha256=stored.sha256
            )
            if existing is None:
                raise
            return existing, False
        return recording, True
    finally:
        if not moved:
            stored.path.unlink(missing_ok=True)


def recording_calibrate(*, recording: Recording, rest: RestRange) -> Recording:
    """Use this range of the recording as the person's rest: processing makes it the active
    baseline for the recording's channel set and scores the recording against it."""
    rest_range_check(rest, recording.duration_s)
    return engine.job_restart(
        RECORDING, job=recording, rest_start_s=rest.start_s, rest_end_s=rest.end_s
    )


def recording_rescore(*, recording: Recording) -> Recording:
    """Score again with the active baseline of its channel set (or none: uncalibrated)."""
    scorer = get_served_model().recording_scorer
    calibrated_set = scorer.best_channel_set(recording.roles, calibrated=True)
    baseline = (
        baseline_active_for(user=recording.user, channel_set=calibrated_set)
        if calibrated_set
        else None
    )
    return engine.job_restart(
        RECORDING, job=recording, baseline=baseline, rest_start_s=None, rest_end_s=None
    )


def recording_cancel(*, recording: Recording) -> Recording:
    return engine.job_cancel(RECORDING, job=recording)


def recording_delete(*, recording: Recording) -> None:
    """The recording, its windows (history rows) and its file."""
    recording_id = recording.id
    recording.delete()
    recording_files_delete(recording_id)


def recording_files_delete_for_user(*, user: User) -> None:
    for recording_id in Recording.objects.filter(user=user).values_list("id", flat=True):
        recording_files_delete(recording_id)


def annotation_create(
    *,
    user: User,
    starts_at: datetime,
    ends_at: datetime,
    level: str,
    note: str = "",
    recording: Recording | None = None,
) -> Annotation:
    """A range the person labels with how they felt. On a recording, the range must lie
    inside it."""
    if level not in StressLevel.values:
        raise InvalidRange(f"level must be one of {', '.join(StressLevel.values)}", field="level")
    if ends_at <= starts_at:
        raise InvalidRange("The end must come after the start.", field="ends_at")
    if ends_at - starts_at > ANNOTATION_MAX:
        raise InvalidRange("An annotation covers at most 2 days.", field="ends_at")
    problem = note_problem(note)
    if problem:
        raise InvalidRange(problem, field="note")
    if recording is not None:
        recording_end = recording.starts_at + timedelta(seconds=recording.duration_s)
        if starts_at < recording.starts_at or ends_at > recording_end:
            raise InvalidRange(
                "The range is outside the recording "
                f"({recording.starts_at:%Y-%m-%d %H:%M:%S} to {recording_end:%H:%M:%S} UTC).",
                field="starts_at",
            )
    return Annotation.objects.create(
        user=user,
        recording=recording,
        starts_at=starts_at,
        ends_at=ends_at,
        level=level,
        note=note,
    )


def annotation_delete(*, annotation: Annotation) -> None:
    annotation.delete()
