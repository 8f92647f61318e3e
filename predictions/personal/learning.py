"""What a person's labels teach: their labelled windows, read from their recordings through
the same path as scoring, and their models refitted on them (mlcore.recordings.personal).
The heavy part of the refit job; it writes nothing but its stage."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from django.utils import timezone

from accounts.models import User
from mlcore.readings.features import CLASSES, FEATURE_NAMES
from mlcore.readings.five_number import FIVE_NUMBER_KEY, FIVE_NUMBER_SET, calibrated_inputs
from mlcore.recordings.baseline import Baseline as RestStatistics
from mlcore.recordings.personal import Episode, PersonalRefit, personal_refit, personal_weight
from mlcore.recordings.recording import RecordingError
from mlcore.recordings.spec import model_key
from predictions.ml import get_served_model
from predictions.models import Annotation, JobStatus, Prediction, Recording
from predictions.recordings.files import recording_file_read, recording_input_path


@dataclass(frozen=True)
class FittedPersonal:
    key: str
    channel_set: str
    calibrated: bool
    refit: PersonalRefit


def _recording_key(recording: Recording) -> tuple[str, RestStatistics | None] | None:
    """The model the recording was scored by, and its baseline; None if it cannot be read
    again the same way (its baseline is gone)."""
    if not recording.channel_set:
        return None
    baseline = None
    if recording.calibrated:
        if recording.baseline is None:
            return None
        baseline = RestStatistics.from_dict(recording.baseline.statistics)
    return model_key(recording.channel_set, recording.calibrated), baseline


def labelled_episodes_for(
    *, user: User, stage: Callable[[str], None] = lambda _: None
) -> dict[str, dict[int, Episode]]:
    """Per model key, per label: the windows of the person's recordings that lie wholly
    inside the label's range and carry enough signal to be scored."""
    now = timezone.now()
    labels = list(Annotation.objects.filter(user=user))
    if not labels:
        return {}
    scorer = get_served_model().recording_scorer
    # Scored at least once (one being scored again keeps its set and baseline until then).
    recordings = [
        r
        for r in Recording.objects.filter(user=user)
        .exclude(channel_set="")
        .exclude(status=JobStatus.FAILED)
        .select_related("baseline")
        if recording_input_path(r.id).is_file()
    ]
    rows: dict[str, dict[int, list[np.ndarray]]] = {}
    levels = {label.pk: CLASSES.index(label.level) for label in labels}
    for number, recording in enumerate(recordings, start=1):
        end = recording.starts_at + timedelta(seconds=recording.duration_s)
        overlapping = [
            label
            for label in labels
            if label.starts_at < end and label.effective_end(now) > recording.starts_at
        ]
        found = _recording_key(recording)
        if not overlapping or found is None:
            continue
        key, baseline = found
        if key not in scorer.models:
            continue
        stage(f"reading your recordings ({number} of {len(recordings)})")
        try:
            signals = recording_file_read(
                recording_input_path(recording.id), recording.original_filename
            )
        except RecordingError:
            continue  # it was scored once, so this is a stored file gone bad: skip it
        inputs = scorer.window_inputs(scorer.prepare(signals), key, baseline)
        starts = np.array(
            [recording.starts_at + timedelta(seconds=float(s)) for s in inputs.table.start_s]
        )
        ends = np.array(
            [recording.starts_at + timedelta(seconds=float(s)) for s in inputs.table.end_s]
        )
        scorable = np.array([inputs.unscored_reason(i) is None for i in range(len(starts))])
        for label in overlapping:
            inside = scorable & (starts >= label.starts_at) & (ends <= label.effective_end(now))
            if inside.any():
                rows.setdefault(key, {}).setdefault(label.pk, []).append(inputs.x[inside])
    typed = _typed_reading_rows(user=user, labels=labels, now=now)
    if typed:
        rows[FIVE_NUMBER_KEY] = typed
    return {
        key: {pk: Episode(np.vstack(parts), levels[pk]) for pk, parts in by_label.items()}
        for key, by_label in rows.items()
    }


# A label over weeks of batch uploads could cover a million readings; each label weighs the
# same in the refit however many it covers, so the first of them are plenty.
TYPED_READINGS_PER_LABEL = 2_000


def _typed_reading_rows(
    *, user: User, labels: list[Annotation], now: datetime
) -> dict[int, list[np.ndarray]]:
    """Per label, the person's typed readings (the API's, the form's, a batch's) measured
    inside it, as the five-number calibrated model's inputs against their rest baseline.
    Without a baseline that model does not score their readings, so nothing is learnt."""
    from predictions.services import five_number_baseline_for

    baseline = five_number_baseline_for(user_id=user.pk)
    if baseline is None:
        return {}
    rows: dict[int, list[np.ndarray]] = {}
    readings = Prediction.objects.filter(
        user=user,
        recording__isnull=True,
        **{f"{name}__isnull": False for name in FEATURE_NAMES},
    )
    for label in labels:
        values = list(
            readings.filter(
                measured_at__gte=label.starts_at, measured_at__lt=label.effective_end(now)
            )
            .order_by("measured_at")
            .values_list(*FEATURE_NAMES)[:TYPED_READINGS_PER_LABEL]
        )
        if values:
            x = calibrated_inputs(np.array(values, dtype=np.float64), baseline)
            rows[label.pk] = [x]
    return rows


def personal_models_fit(
    *, user: User, stage: Callable[[str], None] = lambda _: None
) -> list[FittedPersonal]:
    """Refit every model the person has labelled windows for."""
    served = get_served_model()
    scorer = served.recording_scorer
    episodes = labelled_episodes_for(user=user, stage=stage)
    if not episodes:
        return []
    training = served.training_sets
    # Here, not at import: every worker imports this module, few refit (scikit-learn, ~120 MB).
    from mlcore.recordings.train import RecordingConfig

    config = RecordingConfig(**scorer.config)
    fitted = []
    for key, by_label in sorted(episodes.items()):
        if key not in training:
            continue  # a version trained before it kept this model's rows
        stage(f"learning from your labels ({len(by_label)} episodes)")
        if key == FIVE_NUMBER_KEY:
            five = scorer.five_number_model()
            if five is None:
                continue
            refit = personal_refit(
                training[key],
                list(by_label.values()),
                population=five.compiled,
                weight=personal_weight(FIVE_NUMBER_SET),
                template=five.estimator,
            )
            fitted.append(FittedPersonal(key, FIVE_NUMBER_SET, True, refit))
            continue
        spec = scorer.models[key]
        refit = personal_refit(
            training[key],
            list(by_label.values()),
            population=scorer.compiled(key),
            weight=personal_weight(spec.channel_set),
            config=config,
        )
        fitted.append(FittedPersonal(key, spec.channel_set, spec.calibrated, refit))
    return fitted
