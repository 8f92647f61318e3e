"""Writes for recordings, baselines and annotations. Every door (API, pages) comes here."""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from jobs import engine
from jobs.errors import UploadTooLarge
from jobs.uploads import JobPlan, StoredUpload, job_submit, upload_store

# Re-exported for the doors' help texts (they do not import mlcore).
from mlcore.readers import FORMATS_WE_READ as FORMATS_WE_READ
from mlcore.recordings.baseline import MIN_BASELINE_S
from mlcore.recordings.recording import ROLE_NAMES, RecordingError, relative_only_roles
from mlcore.recordings.recording import Recording as RecordingSignals
from mlcore.recordings.scorer import ScoringPlan
from mlcore.recordings.signals import roles_after_derivation
from mlcore.recordings.windows import window_starts
from predictions.ml import get_served_model
from predictions.models import Annotation, Recording, RecordingChunk, StressLevel
from predictions.models.recordings import ANNOTATION_MAX
from predictions.personal.services import personal_refit_request
from predictions.recordings.baselines import baseline_active_for
from predictions.recordings.errors import InvalidRange, RecordingRejected
from predictions.recordings.files import recording_file_read, recording_files_delete
from predictions.recordings.kind import RECORDING
from predictions.validation import note_problem


@dataclass(frozen=True)
class RestRange:
    start_s: float
    end_s: float


def _read(upload: StoredUpload, filename: str) -> RecordingSignals:
    try:
        return recording_file_read(upload.path, filename)
    except RecordingError as exc:
        if exc.code == "too_large":
            raise UploadTooLarge(exc.message) from exc
        raise RecordingRejected(exc.message, exc.code) from exc


def _role_words(roles: Iterable[str]) -> str:
    return ", ".join(ROLE_NAMES.get(role, role) for role in sorted(roles)) or "none"


def _scoring_plan(channels: list[dict[str, Any]]) -> ScoringPlan:
    """Which channel set scores a recording with these channels (as stored: role, rate), and
    whose baseline applies: decided by mlcore on the roles after derivation."""
    rates = {c["role"]: float(c["rate_hz"]) for c in reversed(channels)}
    units = {c["role"]: str(c.get("unit", "")) for c in reversed(channels)}
    return get_served_model().recording_scorer.scoring_plan(
        roles_after_derivation(rates), relative_only=relative_only_roles(units)
    )


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
    started_at: datetime | None = None,
) -> tuple[Recording, bool]:
    """Store an upload, read it (a file that cannot be scored is refused here, and nothing
    is kept), and queue its scoring. Returns (recording, created); an Idempotency-Key seen
    before returns the earlier recording for the same file.

    When it started: from the file where the file says; else `started_at` (the person's
    answer); else it ended at the upload. Never in the future."""
    stored = upload_store(
        chunks, max_bytes=settings.RECORDING_MAX_BYTES, root=settings.RECORDINGS_DIR
    )
    idempotency_key = idempotency_key[:255]

    def plan(upload: StoredUpload) -> JobPlan:
        signals = _read(upload, filename)
        channels = signals.describe()
        scoring = _scoring_plan(channels)
        baseline = (
            baseline_active_for(user=user, channel_set=scoring.calibrated_set)
            if rest is None and scoring.calibrated_set
            else None
        )
        calibrates = scoring.calibrated_set is not None and (rest is not None or baseline)
        if scoring.population_set is None and not calibrates:
            if scoring.calibrated_set is not None:
                raise RecordingRejected(
                    "This recording's channels are in other units than the data the models "
                    "learnt from, so it can be scored only against your own rest: give a "
                    "rest range of at least 3 minutes with it.",
                    "needs_rest",
                )
            raise RecordingRejected(
                "None of the recording's channels is one a model was trained for "
                f"(it has: {_role_words(signals.roles)}).",
                "no_usable_channel",
            )
        scorer = get_served_model().recording_scorer
        windows = len(window_starts(signals.duration_s, scorer.window_s, scorer.stride_s))
        if windows == 0:
            raise RecordingRejected(
                f"The recording lasts {signals.duration_s:.0f} s; the model needs at least "
                f"{scorer.window_s:.0f} s.",
                "too_short",
            )
        if rest is not None:
            rest_range_check(rest, signals.duration_s)
        now = timezone.now()
        start_time = signals.start_time
        if start_time is not None and start_time.tzinfo is None:
            # EDF and CSV clocks carry no zone: a device shows the wearer's local time.
            start_time = start_time.replace(tzinfo=zoneinfo.ZoneInfo(user.time_zone))
        starts_at, start_source = recording_start(
            file_start=start_time, given=started_at, duration_s=signals.duration_s, now=now
        )
        recording = Recording(
            user=user,
            name=(name or filename or "recording")[:255],
            original_filename=filename[:255],
            file_format=signals.format,
            input_sha256=upload.sha256,
            input_bytes=upload.size,
            idempotency_key=idempotency_key,
            channels=channels,
            ignored_channels=list(signals.ignored),
            start_time=start_time,
            starts_at=starts_at,
            start_source=start_source,
            duration_s=signals.duration_s,
            device_reports={
                name: [list(p) for p in pairs] for name, pairs in signals.extras.items()
            },
            baseline=baseline,
            rest_start_s=rest.start_s if rest else None,
            rest_end_s=rest.end_s if rest else None,
            total_rows=windows,
            chunk_count=1,
            created_at=now,
        )
        chunk = RecordingChunk(job=recording, index=0, first_window=0, window_count=windows)
        return JobPlan(recording, [chunk])

    return job_submit(
        RECORDING, user=user, upload=stored, idempotency_key=idempotency_key, plan=plan
    )


def recording_start(
    *, file_start: datetime | None, given: datetime | None, duration_s: float, now: datetime
) -> tuple[datetime, str]:
    """When a recording started, and from where we know it: the file's own clock first, then
    the time the person gave, then "it ended as it was uploaded". A recording that would end
    in the future is refused."""
    if file_start is not None:
        return file_start, "file"
    if given is None:
        return now - timedelta(seconds=duration_s), "upload"
    if given + timedelta(seconds=duration_s) > now + START_CLOCK_SLACK:
        raise InvalidRange(
            f"A recording that started at {given:%Y-%m-%d %H:%M} and lasts "
            f"{duration_s / 60:.0f} minutes would end in the future.",
            field="started_at",
        )
    return given, "given"


# Clocks of phones and servers differ by a little; a minute more is not "the future".
START_CLOCK_SLACK = timedelta(minutes=1)


def recording_calibrate(*, recording: Recording, rest: RestRange) -> Recording:
    """Use this range of the recording as the person's rest: processing makes it the active
    baseline for the recording's channel set and scores the recording against it."""
    rest_range_check(rest, recording.duration_s)
    return engine.job_restart(
        RECORDING, job=recording, rest_start_s=rest.start_s, rest_end_s=rest.end_s
    )


def recording_rescore(*, recording: Recording) -> Recording:
    """Score again with the active baseline of its channel set (or none: uncalibrated)."""
    calibrated_set = _scoring_plan(recording.channels).calibrated_set
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
    level: str,
    ends_at: datetime | None = None,
    note: str = "",
    recording: Recording | None = None,
) -> Annotation:
    """A range the person labels with how they felt, or an episode as it starts ("commuting
    in traffic", no end yet): the next one the person marks closes it, and one marked
    afterwards before a later one ends where that one starts. On a recording the range must
    lie inside it (an episode without an end runs to the recording's end)."""
    if level not in StressLevel.values:
        raise InvalidRange(f"level must be one of {', '.join(StressLevel.values)}", field="level")
    problem = note_problem(note)
    if problem:
        raise InvalidRange(problem, field="note")
    now = timezone.now()
    if recording is not None:
        recording_end = recording.starts_at + timedelta(seconds=recording.duration_s)
        ends_at = ends_at or recording_end
        if starts_at < recording.starts_at or ends_at > recording_end:
            raise InvalidRange(
                "The range is outside the recording "
                f"({recording.starts_at:%Y-%m-%d %H:%M:%S} to {recording_end:%H:%M:%S} UTC).",
                field="starts_at",
            )
    elif starts_at > now + START_CLOCK_SLACK:
        # (On a recording, the recording's own clock is the reference.)
        raise InvalidRange("An episode cannot start in the future.", field="starts_at")
    if ends_at is not None:
        if ends_at <= starts_at:
            raise InvalidRange("The end must come after the start.", field="ends_at")
        if ends_at - starts_at > ANNOTATION_MAX:
            raise InvalidRange("An annotation covers at most 2 days.", field="ends_at")
    with transaction.atomic():
        episodes = Annotation.objects.select_for_update().filter(user=user, recording=None)
        if recording is None and ends_at is None:
            # Marked afterwards, before an episode that came later: it ends where that starts.
            later = episodes.filter(starts_at__gt=starts_at).order_by("starts_at").first()
            if later is not None:
                ends_at = min(later.starts_at, starts_at + ANNOTATION_MAX)
        if recording is None:
            # The episode going on when this one starts is over now.
            for going_on in episodes.filter(ends_at=None, starts_at__lt=starts_at):
                going_on.ends_at = min(starts_at, going_on.starts_at + ANNOTATION_MAX)
                going_on.save(update_fields=["ends_at"])
        annotation = Annotation.objects.create(
            user=user,
            recording=recording,
            starts_at=starts_at,
            ends_at=ends_at,
            level=level,
            note=note,
        )
        personal_refit_request(user=user, reason="a new label")
    return annotation


def annotation_delete(*, annotation: Annotation) -> None:
    with transaction.atomic():
        annotation.delete()
        personal_refit_request(user=annotation.user, reason="a label deleted")
