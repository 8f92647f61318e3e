"""Every write goes through here, and every reading is scored here.

Doors (API views, pages, Celery tasks, management commands, the admin) call these functions;
nothing else writes and nothing else calls the model. `readings_score` is the one scoring path
for readings (API, pages, batch chunks), `recording_signals_score` the one for recordings (the
recording job's chunk).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from mlcore.readings.features import CLASSES, FEATURE_NAMES
from mlcore.readings.five_number import FiveNumberBaseline, calibrated_inputs
from mlcore.readings.forest import PARALLEL_MIN_ROWS
from mlcore.recordings.baseline import Baseline as RestStatistics
from mlcore.recordings.drift import DriftFinding
from mlcore.recordings.recording import Recording as RecordingSignals
from mlcore.recordings.results import RecordingScore
from predictions.ml import ModelUnavailable, ServedModel, get_served_model
from predictions.models import FIVE_NUMBER_SET, Baseline, ModelVersion, Prediction, Source
from predictions.personal.selectors import (
    LoadedPersonalModel,
    personal_models_for,
    personal_typed_model_for,
)
from predictions.recordings.charts import signal_traces
from stressapp.metrics import INFERENCE_SECONDS, PREDICTIONS
from stressapp.postgresql.inserts import PreparedInsert

if TYPE_CHECKING:  # training (and scikit-learn with it) is imported by the service that trains
    from mlcore.train import TrainingResult


@dataclass(frozen=True)
class Reading:
    """One validated reading: the five contract features and when they were measured."""

    heart_rate: float
    ecg: float
    emg: float
    gsr: float
    respiration: float
    measured_at: datetime
    note: str = ""

    def features(self) -> tuple[float, ...]:
        return tuple(getattr(self, name) for name in FEATURE_NAMES)


@dataclass(frozen=True)
class Scores:
    model: ServedModel
    probabilities: np.ndarray  # (n, 3) in CLASSES order
    predicted: np.ndarray  # (n,) class index
    contributions: np.ndarray | None  # (n, 5): each feature's push on the predicted class
    calibrated: bool = False  # scored against the person's five-number baseline
    personal_model_id: int | None = None  # the person's own model scored them

    def level(self, i: int) -> str:
        return CLASSES[int(self.predicted[i])]


def readings_score(
    *,
    features: np.ndarray,
    explain: bool = True,
    parallel: bool = True,
    baseline: FiveNumberBaseline | None = None,
    user_id: int | None = None,
) -> Scores:
    """Score an (n, 5) array of contract features with the active model (parallel: see
    Predictor.predict_proba). With the person's five-number baseline, the calibrated model
    of the same version scores them, if the version has one; with `user_id`, the person's
    own refit of it (predictions.personal) instead, where they have one."""
    served = get_served_model()
    started = time.perf_counter()
    calibrated_model = None
    if baseline is not None:
        try:
            calibrated_model = served.recording_scorer.five_number_model()
        except ModelUnavailable:
            calibrated_model = None  # a version without it: the population model answers
    explanation = None
    personal: LoadedPersonalModel | None = None
    if calibrated_model is not None:
        if user_id is not None:
            personal = personal_typed_model_for(user_id=user_id, population_version_id=served.id)
        compiled = personal.compiled if personal is not None else calibrated_model.compiled
        inputs = calibrated_inputs(features, baseline)
        probabilities = compiled.predict_proba(inputs)
    elif explain and (not parallel or features.shape[0] < PARALLEL_MIN_ROWS):
        # Both from one walk of the trees (the API's single reading).
        probabilities, explanation = served.predictor.predict_and_explain(features)
    else:
        probabilities = served.predictor.predict_proba(features, parallel=parallel)
    # argmax takes the first of equal maxima: the lower level wins an exact tie.
    predicted = probabilities.argmax(axis=1)
    contributions = None
    if explain:
        rows = np.arange(predicted.shape[0])
        if calibrated_model is not None:
            # Each input counts as itself and as its difference from rest: one push per input.
            pushes = compiled.explain(inputs)[rows, :, predicted]
            width = features.shape[1]
            contributions = pushes[:, :width] + pushes[:, width:]
        else:
            explanation = explanation or served.predictor.explain(features)
            contributions = explanation.contributions[rows, :, predicted]
    INFERENCE_SECONDS.observe(time.perf_counter() - started)
    return Scores(
        served,
        probabilities,
        predicted,
        contributions,
        calibrated_model is not None,
        personal.id if personal is not None else None,
    )


@dataclass
class RecordingScores:
    """A whole recording scored, as the recording job stores it: mlcore's result (its
    windows), the drift check, the signals drawn for the page, and the rest statistics when
    this scoring learnt them from a rest range of the recording itself."""

    score: RecordingScore
    drift: list[DriftFinding]
    model_version_id: int
    traces: dict[str, Any]
    new_baseline: RestStatistics | None = None
    new_baseline_set: str = ""
    personal_model_id: int | None = None  # the person's own model scored it


def recording_signals_score(
    *,
    signals: RecordingSignals,
    rest: tuple[float, float] | None = None,
    baseline_statistics: dict[str, Any] | None = None,
    stage: Callable[[str], None] = lambda _: None,
    user_id: int | None = None,
) -> RecordingScores:
    """Score a recording's signals with the active version's recording models: the one
    scoring path for recordings, as readings_score is for readings. With `rest`, a baseline is
    learnt from that range of the recording and used; else `baseline_statistics` (the person's
    active baseline) when given; else the population model answers, and says so. With
    `user_id`, that person's own model scores instead where they have one for the chosen
    channel set (predictions.personal)."""
    served = get_served_model()
    scorer = served.recording_scorer
    stage("computing features")
    prepared = scorer.prepare(signals)
    new_baseline, new_set = None, ""
    if rest is not None:
        stage("learning your rest")
        new_set = scorer.scoring_plan(prepared.roles).calibrated_set or ""
        if new_set:
            new_baseline = scorer.baseline_from_recording(prepared, *rest)
    baseline = new_baseline
    if baseline is None and baseline_statistics:
        baseline = RestStatistics.from_dict(baseline_statistics)
    stage("scoring windows")
    started = time.perf_counter()
    personal = (
        personal_models_for(user_id=user_id, population_version_id=served.id)
        if user_id is not None
        else {}
    )
    score = scorer.score(
        prepared, baseline=baseline, personal={k: m.compiled for k, m in personal.items()}
    )
    INFERENCE_SECONDS.observe(time.perf_counter() - started)
    at_model_rate = prepared.signals
    return RecordingScores(
        score=score,
        drift=scorer.drift(prepared),
        model_version_id=served.id,
        traces=signal_traces(at_model_rate.series, at_model_rate.rate_hz),
        new_baseline=new_baseline,
        new_baseline_set=new_set,
        personal_model_id=personal[score.model_key].id if score.personal else None,
    )


def _baseline_cache_key(user_id: int) -> str:
    return f"five-number-baseline:{user_id}"


# A person's five-number baseline is read on every typed reading: cached in the shared cache
# (no query on the hot path) and, for FIVE_NUMBER_BASELINE_LOCAL_SECONDS, in this process (no
# Redis round trip either). Setting or switching one off clears both here and the shared one
# everywhere; another process notices within the local TTL.
FIVE_NUMBER_BASELINE_CACHE_SECONDS = 300
FIVE_NUMBER_BASELINE_LOCAL_SECONDS = 5.0
_local_baselines: dict[int, tuple[float, dict]] = {}


def five_number_baseline_for(*, user_id: int) -> FiveNumberBaseline | None:
    now = time.monotonic()
    local = _local_baselines.get(user_id)
    if local is not None and now - local[0] < FIVE_NUMBER_BASELINE_LOCAL_SECONDS:
        statistics = local[1]
        return FiveNumberBaseline.from_dict(statistics) if statistics else None
    key = _baseline_cache_key(user_id)
    statistics = cache.get(key)
    if statistics is None:
        row = (
            Baseline.objects.filter(user_id=user_id, channel_set=FIVE_NUMBER_SET, is_active=True)
            .values_list("statistics", flat=True)
            .first()
        )
        statistics = row or {}
        cache.set(key, statistics, FIVE_NUMBER_BASELINE_CACHE_SECONDS)
    if len(_local_baselines) > 10_000:  # bounded: a process serves many people over time
        _local_baselines.clear()
    _local_baselines[user_id] = (now, statistics)
    return FiveNumberBaseline.from_dict(statistics) if statistics else None


def five_number_baseline_forget(*, user_id: int) -> None:
    _local_baselines.pop(user_id, None)
    cache.delete(_baseline_cache_key(user_id))


def _prediction_from_scores(
    *, user: User, reading: Reading, scores: Scores, i: int, source: str, now: datetime
) -> Prediction:
    probabilities = scores.probabilities[i]
    contributions = None
    if scores.contributions is not None:
        contributions = {
            name: round(float(value), 6)
            for name, value in zip(FEATURE_NAMES, scores.contributions[i], strict=True)
        }
    return Prediction(
        user=user,
        measured_at=reading.measured_at,
        created_at=now,
        heart_rate=reading.heart_rate,
        ecg=reading.ecg,
        emg=reading.emg,
        gsr=reading.gsr,
        respiration=reading.respiration,
        stress_level=scores.level(i),
        confidence=float(probabilities[scores.predicted[i]]),
        probability_low=float(probabilities[0]),
        probability_medium=float(probabilities[1]),
        probability_high=float(probabilities[2]),
        contributions=contributions,
        calibrated=scores.calibrated,
        model_version_id=scores.model.id,
        personal_model_id=scores.personal_model_id,
        source=source,
        note=reading.note,
    )


def prediction_create_many(
    *, user: User, readings: Sequence[Reading], source: str = Source.API
) -> list[Prediction]:
    """Score and store readings all-or-nothing, in one transaction."""
    if not readings:
        return []
    features = np.array([reading.features() for reading in readings], dtype=np.float64)
    scores = readings_score(
        features=features,
        explain=True,
        baseline=five_number_baseline_for(user_id=user.pk),
        user_id=user.pk,
    )
    now = timezone.now()
    predictions = [
        _prediction_from_scores(user=user, reading=r, scores=scores, i=i, source=source, now=now)
        for i, r in enumerate(readings)
    ]
    if len(predictions) == 1:
        # A single INSERT is atomic by itself; without BEGIN and COMMIT it is one round trip
        # instead of three, on the API's hottest path.
        _PREDICTION_INSERT.insert(predictions[0])
        created = predictions
    else:
        # bulk_create wraps its INSERTs in one transaction: all rows or none.
        created = Prediction.objects.bulk_create(predictions)
    for level, count in Counter(p.stress_level for p in created).items():
        PREDICTIONS.labels(level=level, source=source).inc(count)
    # Callers render model_version.version; attach it instead of querying it back per row.
    version = ModelVersion(id=scores.model.id, version=scores.model.version)
    for prediction in created:
        prediction.model_version = version
    return created


# One reading is the API's hottest path: stored by a statement built once per process and
# prepared once per connection (stressapp.postgresql.inserts).
_PREDICTION_INSERT = PreparedInsert(Prediction)


def prediction_create(*, user: User, reading: Reading, source: str = Source.API) -> Prediction:
    return prediction_create_many(user=user, readings=[reading], source=source)[0]


def prediction_delete(*, prediction: Prediction) -> None:
    prediction.delete()


def model_version_register(*, result: TrainingResult, activate: bool = False) -> ModelVersion:
    model_dir = Path(settings.MODEL_DIR)
    try:
        relative = result.model_path.relative_to(model_dir)
    except ValueError:
        relative = result.model_path
    with transaction.atomic():
        version = ModelVersion.objects.create(
            version=result.version,
            path=str(relative),
            sha256=result.sha256,
            metrics=result.metrics,
            card=result.card,
        )
        if activate:
            version = model_version_activate(model_version=version)
    return version


def model_version_activate(*, model_version: ModelVersion) -> ModelVersion:
    """Make this version the one every process serves (they pick it up within
    MODEL_RELOAD_SECONDS). Promotion and rollback are the same operation."""
    with transaction.atomic():
        # Lock the active row (if any) so two activations cannot interleave.
        list(ModelVersion.objects.select_for_update().filter(is_active=True))
        ModelVersion.objects.filter(is_active=True).exclude(pk=model_version.pk).update(
            is_active=False
        )
        ModelVersion.objects.filter(pk=model_version.pk).update(
            is_active=True, activated_at=timezone.now()
        )
        # People's own models are refitted from the version that serves: relearn each
        # labelled person's on the new one (the refit then scores their recordings again).
        transaction.on_commit(personal_models_relearn)
    model_version.refresh_from_db()
    return model_version


def personal_models_relearn() -> int:
    """Queue a refit for everyone whose own models were made from another version."""
    from predictions.personal.services import personal_refit_request
    from predictions.selectors import model_version_active_id

    active_id = model_version_active_id()
    users = (
        User.objects.filter(personal_models__is_active=True)
        .exclude(personal_models__population_version_id=active_id)
        .distinct()
    )
    count = 0
    for user in users:
        personal_refit_request(user=user, reason="a new model version")
        count += 1
    return count


def model_version_train(*, activate: bool = True, **train_kwargs: Any) -> ModelVersion:
    from mlcore.train import train_and_save

    result = train_and_save(Path(settings.MODEL_DIR), **train_kwargs)
    return model_version_register(result=result, activate=activate)


# --- Each person's days (PredictionDay) ---------------------------------------------------

_DAY_SUMS = ("total", *CLASSES, "confidence_sum", "seconds", *(f"{c}_seconds" for c in CLASSES))
_DAY_COLUMNS = ", ".join(("user_id", "day", *_DAY_SUMS))
_DAY_SUMMED = ", ".join(
    f"sum({c})::int AS {c}" if c in ("total", *CLASSES) else f"sum({c}) AS {c}" for c in _DAY_SUMS
)
# A day whose rows cancel out (its results all deleted) goes; its float sums may keep a
# rounding's dust, never more than this.
_DUST = 1e-6
_DAY_EMPTY = " AND ".join(
    f"{c} = 0" if c in ("total", *CLASSES) else f"abs({c}) < {_DUST}" for c in _DAY_SUMS
)
# One person's days with several rows, each folded into one: the rows deleted are summed
# into the row inserted, in one statement of one transaction. A row written by a writer that
# commits after this statement began is neither deleted nor summed, so it stays as it is; of
# two compactions at once, the later one waits for the rows the first deletes and then skips
# them (READ COMMITTED), so each row is summed exactly once. Built from constants; the person
# is a parameter.
_COMPACT = f"""
WITH gone AS (
    DELETE FROM predictions_predictionday AS d
    WHERE d.user_id = %(user)s AND d.day IN (
        SELECT day FROM predictions_predictionday WHERE user_id = %(user)s
        GROUP BY day HAVING count(*) > 1
    )
    RETURNING d.*
), summed AS (
    SELECT user_id, day, {_DAY_SUMMED} FROM gone GROUP BY user_id, day
), kept AS (
    INSERT INTO predictions_predictionday ({_DAY_COLUMNS})
    SELECT * FROM summed WHERE NOT ({_DAY_EMPTY})
    RETURNING 1
)
SELECT (SELECT count(*) FROM gone), (SELECT count(*) FROM kept)
"""  # nosec B608  # noqa: S608 (only the constant names above)
_PEOPLE_TO_COMPACT = """
SELECT DISTINCT user_id FROM (
    SELECT user_id FROM predictions_predictionday GROUP BY user_id, day HAVING count(*) > 1
) AS many
"""


def prediction_days_compact() -> tuple[int, int]:
    """Fold each person's days of several rows (the triggers add one per writing statement)
    into one row a day, so a day stays a handful of rows to sum. Returns (rows deleted, rows
    written). One transaction per person; safe beside writers and another compaction."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return 0, 0
    with connection.cursor() as cursor:
        cursor.execute(_PEOPLE_TO_COMPACT)
        people = [row[0] for row in cursor.fetchall()]
    deleted = written = 0
    for user_id in people:
        with transaction.atomic(), connection.cursor() as cursor:
            # Taken shared, as the writers do: a change of the person's time zone (which
            # deletes and counts their days again) takes it alone, so it never runs between
            # this statement's delete and its commit. A statement of its own, so that the
            # compaction's snapshot is taken once the lock is held.
            cursor.execute(
                "SELECT pg_advisory_xact_lock_shared(22003, (%s %% 2147483647)::int)", [user_id]
            )
            cursor.execute(_COMPACT, {"user": user_id})
            gone, kept = cursor.fetchone()
        deleted += gone
        written += kept
    return deleted, written
