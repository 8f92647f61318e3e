"""Personal models: the population model refitted with a person's own labelled windows.

A person's labels are few (one per episode, perhaps) and the population's windows many, so the
person's windows are weighted: each counts `weight` times the average population window. The
weight is chosen at training by `personalisation_simulation`, leave-one-drive-out: for each
held-out drive, the first window of each of its segments plays the person's labels, and the
rest of that drive is where the population model and the personal one are compared. A model
fitted on the person's windows alone was worse than the population's in that study, so the
population's data always stays in.

The population's data is what the shipped model was trained on: each spec's input matrix and
labels, kept in the bundle (`TrainingSet`), so a refit needs no drivedb and no feature
extraction of the population, only of the person's recordings.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from mlcore import drivedb
from mlcore.drivedb import sha256_file
from mlcore.evaluation import classification_metrics
from mlcore.recordings.dataset import DriveWindows
from mlcore.recordings.hgb_compiled import CompiledHGB
from mlcore.recordings.spec import ModelSpec

# The weights the simulation compares (times the average population window).
PERSONAL_WEIGHTS = (5.0, 10.0, 20.0, 50.0)
LABELS_SIMULATED = "first window of each segment"


@dataclass(frozen=True)
class TrainingSet:
    """One spec's training inputs (spec.inputs over every training drive) and labels."""

    x: np.ndarray  # float32 to keep the bundle small; models fit on float64 of it
    y: np.ndarray
    drives: np.ndarray  # the drive of each row (the simulation holds one out)

    @classmethod
    def of(cls, spec: ModelSpec, windows: Sequence[DriveWindows]) -> TrainingSet:
        x = np.vstack([spec.inputs(w.values, w.baseline, w.context) for w in windows])
        y = np.concatenate([w.labels for w in windows])
        drives = np.concatenate([np.full(w.labels.shape[0], w.drive) for w in windows])
        return cls(x.astype(np.float32), y.astype(np.int8), drives)


def episode_weights(sizes: Sequence[int], weight: float) -> np.ndarray:
    """Each episode (a label the person gave) weighs `weight` population windows in all,
    shared by its windows, and none of its windows less than one population window: the
    simulation labels one window per episode, where the two rules agree."""
    return np.concatenate([np.full(n, max(weight / n, 1.0)) for n in sizes] or [np.zeros(0)])


def personal_weights(population_weights: np.ndarray, person: np.ndarray) -> np.ndarray:
    """`person`: each person row's weight in mean population rows."""
    mean = float(population_weights.mean()) if population_weights.size else 1.0
    return np.concatenate([population_weights, person * mean])


def personal_fit(
    population_x: np.ndarray,
    population_y: np.ndarray,
    person_x: np.ndarray,
    person_y: np.ndarray,
    *,
    weight: float | np.ndarray,
    config: Any = None,
    template: Any = None,
) -> Any:
    """The population's rows plus the person's, the person's weighted; the same estimator and
    class weights as the population model: built from the recording models' `config`
    (mlcore.recordings.train), or, for a model built otherwise (the five-number one), a clone
    of `template`'s settings, which carries its own class weights."""
    from sklearn.base import clone

    from mlcore.recordings.train import build_estimator, sample_weights

    x = np.vstack([population_x.astype(np.float64), person_x.astype(np.float64)])
    y = np.concatenate([population_y.astype(np.int64), person_y.astype(np.int64)])
    if template is not None:
        base = np.ones(population_y.shape[0])
        model = clone(template)
    else:
        base = (
            sample_weights(population_y.astype(np.int64), config.medium_weight)
            if config.class_weights
            else np.ones(population_y.shape[0])
        )
        model = build_estimator(config)
    person = np.broadcast_to(np.asarray(weight, dtype=np.float64), person_y.shape)
    with threadpool_limits(limits=1, user_api="openmp"):
        return model.fit(x, y, sample_weight=personal_weights(base, person))


def first_window_of_each_segment(
    windows: DriveWindows, segments: Sequence[drivedb.Segment]
) -> np.ndarray:
    """A mask of the windows a person would label by tagging each episode as it starts."""
    chosen = np.zeros(windows.labels.shape[0], dtype=bool)
    for segment in segments:
        inside = np.flatnonzero(
            (windows.start_s >= segment.start_s) & (windows.start_s < segment.end_s)
        )
        if inside.size:
            chosen[inside[np.argmin(windows.start_s[inside])]] = True
    return chosen


def _recall(truth: np.ndarray, predicted: np.ndarray, level: int) -> float:
    mask = truth == level
    return float((predicted[mask] == level).mean()) if mask.any() else float("nan")


def personalisation_simulation(
    spec: ModelSpec,
    windows: Sequence[DriveWindows],
    segments: Sequence[Sequence[drivedb.Segment]],
    config: Any,
    weights: Sequence[float] = PERSONAL_WEIGHTS,
) -> dict[str, Any]:
    """Leave-one-drive-out: the held-out drive's first window of each segment are its
    person's labels; both models are scored on the rest of that drive. Figures are over all
    drives' remaining windows pooled (accuracy, medium recall) and per drive; the weight with
    the highest pooled accuracy (ties: medium recall) is chosen, on these same folds."""
    from mlcore.recordings.train import fit

    truth: list[np.ndarray] = []
    population: list[np.ndarray] = []
    personal: dict[float, list[np.ndarray]] = {w: [] for w in weights}
    per_drive: dict[str, dict[str, Any]] = {}
    for held, held_segments in zip(windows, segments, strict=True):
        train = [w for w in windows if w.drive != held.drive]
        train_x = np.vstack([spec.inputs(w.values, w.baseline, w.context) for w in train])
        train_y = np.concatenate([w.labels for w in train])
        x = spec.inputs(held.values, held.baseline, held.context)
        labelled = first_window_of_each_segment(held, held_segments)
        rest = ~labelled
        with threadpool_limits(limits=1, user_api="openmp"):
            before = fit(spec, train, config).predict(x[rest])
        truth.append(held.labels[rest])
        population.append(before)
        row: dict[str, Any] = {
            "labelled": int(labelled.sum()),
            "scored": int(rest.sum()),
            "population": round(float((before == held.labels[rest]).mean()), 4),
        }
        for w in weights:
            model = personal_fit(
                train_x,
                train_y,
                x[labelled],
                held.labels[labelled],
                weight=episode_weights([1] * int(labelled.sum()), w),
                config=config,
            )
            with threadpool_limits(limits=1, user_api="openmp"):
                after = model.predict(x[rest])
            personal[w].append(after)
            row[f"personal_x{w:g}"] = round(float((after == held.labels[rest]).mean()), 4)
        per_drive[held.drive] = row
    y = np.concatenate(truth)

    def figures(predicted: list[np.ndarray]) -> dict[str, float]:
        p = np.concatenate(predicted)
        metrics = classification_metrics(y, p)
        return {
            "accuracy": round(float(metrics["accuracy"]), 4),
            "macro_f1": round(float(metrics["macro_f1"]), 4),
            "medium_recall": round(_recall(y, p, 1), 4),
        }

    by_weight = {f"{w:g}": figures(personal[w]) for w in weights}
    chosen = max(
        weights,
        key=lambda w: (by_weight[f"{w:g}"]["accuracy"], by_weight[f"{w:g}"]["medium_recall"]),
    )
    return {
        "labels": LABELS_SIMULATED,
        "weight": float(chosen),
        "population": figures(population),
        "personal": by_weight[f"{chosen:g}"],
        "by_weight": by_weight,
        "windows_scored": int(y.shape[0]),
        "per_drive": per_drive,
    }


# -- the population's training data, kept beside the bundle ---------------------------------
TRAINING_SETS_FILE = "training_sets.npz"


def training_sets_write(folder: Path, sets: Mapping[str, TrainingSet]) -> str:
    """numpy's own format (no pickle); returns its sha256, which the card records."""
    arrays: dict[str, np.ndarray] = {}
    for key, training in sets.items():
        arrays[f"{key}|x"] = training.x
        arrays[f"{key}|y"] = training.y
        arrays[f"{key}|drives"] = training.drives.astype(str)
    path = Path(folder) / TRAINING_SETS_FILE
    with path.open("wb") as handle:
        np.savez_compressed(handle, **arrays)
    return sha256_file(path)


def training_sets_read(folder: Path) -> dict[str, TrainingSet]:
    path = Path(folder) / TRAINING_SETS_FILE
    if not path.is_file():
        raise FileNotFoundError(f"no {TRAINING_SETS_FILE} in {folder}")
    sets: dict[str, TrainingSet] = {}
    with np.load(path, allow_pickle=False) as arrays:
        for name in arrays.files:
            key, _, part = name.rpartition("|")
            if part == "x":
                sets[key] = TrainingSet(arrays[name], arrays[f"{key}|y"], arrays[f"{key}|drives"])
    return sets


# -- a person's refit --------------------------------------------------------------------
# Folds of the leave-one-episode-out check: more episodes than this are grouped (every
# FOLDS-th episode together), so a refit costs at most FOLDS + 1 fits.
FOLDS = 8


@dataclass(frozen=True)
class Episode:
    """The windows one of the person's labels covers, as model input rows."""

    x: np.ndarray
    label: int


@dataclass(frozen=True)
class Agreement:
    """How often a model's level matched the person's, on windows it was not trained on."""

    agreed: int
    windows: int

    @property
    def share(self) -> float:
        return self.agreed / self.windows if self.windows else float("nan")

    def to_dict(self) -> dict[str, Any]:
        return {"agreed": self.agreed, "windows": self.windows}


@dataclass(frozen=True)
class PersonalRefit:
    model: CompiledHGB
    population: Agreement  # the population model on every labelled window
    personal: Agreement  # leave one episode out
    episodes: int
    windows: int
    weight: float


def _fit_compiled(
    training: TrainingSet,
    episodes: Sequence[Episode],
    weight: float,
    config: Any,
    temperature: float,
    template: Any = None,
) -> CompiledHGB:
    x = np.vstack([e.x for e in episodes])
    y = np.concatenate([np.full(e.x.shape[0], e.label) for e in episodes])
    person = episode_weights([e.x.shape[0] for e in episodes], weight)
    model = personal_fit(
        training.x, training.y, x, y, weight=person, config=config, template=template
    )
    return CompiledHGB(model, temperature)


def personal_refit(
    training: TrainingSet,
    episodes: Sequence[Episode],
    *,
    population: CompiledHGB,
    weight: float,
    config: Any = None,
    template: Any = None,
) -> PersonalRefit:
    """The person's model for one spec: the population's rows plus every episode's windows;
    and how it and the population model agree with the person, each on labels it did not
    learn from (the personal model: leave one episode out, in at most FOLDS folds). The
    estimator's settings come from `config` or `template` (personal_fit)."""
    episodes = [e for e in episodes if e.x.shape[0]]
    if not episodes:
        raise ValueError("no labelled windows")
    temperature = population.temperature
    truth = np.concatenate([np.full(e.x.shape[0], e.label) for e in episodes])
    before = population.predict_proba(np.vstack([e.x for e in episodes])).argmax(axis=1)
    agreed = 0
    if len(episodes) > 1:
        folds = [list(range(i, len(episodes), FOLDS)) for i in range(min(FOLDS, len(episodes)))]
        for held in folds:
            others = [e for j, e in enumerate(episodes) if j not in held]
            model = _fit_compiled(training, others, weight, config, temperature, template)
            for j in held:
                predicted = model.predict_proba(episodes[j].x).argmax(axis=1)
                agreed += int((predicted == episodes[j].label).sum())
    return PersonalRefit(
        model=_fit_compiled(training, episodes, weight, config, temperature, template),
        population=Agreement(int((before == truth).sum()), int(truth.shape[0])),
        # One episode alone has nothing to be checked against.
        personal=Agreement(agreed, int(truth.shape[0]) if len(episodes) > 1 else 0),
        episodes=len(episodes),
        windows=int(truth.shape[0]),
        weight=weight,
    )


# -- the simulation's command ----------------------------------------------------------------
PERSONALISATION_FILE = drivedb.DATA_DIR.parent / "personalisation.json"


def personalisation_read() -> dict[str, Any] | None:
    """What `python -m mlcore.recordings.personal` measured (None before it ran)."""
    if not PERSONALISATION_FILE.is_file():
        return None
    return json.loads(PERSONALISATION_FILE.read_text())


def personal_weight(channel_set: str, default: float = 10.0) -> float:
    """The weight the simulation chose for this channel set (its population model uses the
    same: the simulation measures the calibrated one, which a person with labels has)."""
    measured = personalisation_read() or {}
    entry = measured.get("channel_sets", {}).get(channel_set)
    return float(entry["weight"]) if entry else default


def _five_number_simulation(drives: Sequence[drivedb.Drive]) -> dict[str, Any]:
    """The simulation for typed readings, on the windows the five-number models train on."""
    from mlcore.readings.five_number import five_number_personalisation
    from mlcore.readings.preprocessing import (
        DEFAULT_MARGIN_SECONDS,
        DEFAULT_WINDOW_SECONDS,
        window_table,
    )

    table = window_table(drives, DEFAULT_WINDOW_SECONDS, DEFAULT_MARGIN_SECONDS)
    rest1 = {d.name: d.segments[0].start_s for d in drives}
    result = five_number_personalisation(table, rest1, DEFAULT_WINDOW_SECONDS, PERSONAL_WEIGHTS)
    return {"labels": "first reading of each segment", **result}


def main(argv: list[str] | None = None) -> int:
    """Run the simulation for every channel set's calibrated model on the shipped
    configuration; print it and write PERSONALISATION_FILE (the card quotes it)."""
    from mlcore.readings.five_number import FIVE_NUMBER_SET
    from mlcore.recordings.channel_sets import CHANNEL_SETS
    from mlcore.recordings.spec import make_spec
    from mlcore.recordings.train import RecordingConfig, load_windows

    parser = argparse.ArgumentParser(description=main.__doc__.splitlines()[0])
    parser.add_argument("channel_sets", nargs="*", default=[*CHANNEL_SETS, FIVE_NUMBER_SET])
    args = parser.parse_args(argv)
    started = time.perf_counter()
    config = RecordingConfig()
    drives = [drivedb.load_drive(name) for name in drivedb.drive_names()]
    datas, windows = load_windows(drives, config)
    results: dict[str, Any] = {}
    for name in args.channel_sets:
        if name == FIVE_NUMBER_SET:
            t0 = time.perf_counter()
            results[name] = result = _five_number_simulation(drives)
            print(
                f"{name:<12} weight x{result['weight']:g}: accuracy "
                f"{result['population']['accuracy']:.3f} -> "
                f"{result['personal']['accuracy']:.3f}, medium recall "
                f"{result['population']['medium_recall']:.3f} -> "
                f"{result['personal']['medium_recall']:.3f} on {result['windows_scored']} "
                f"readings ({time.perf_counter() - t0:.0f} s)",
                flush=True,
            )
            continue
        t0 = time.perf_counter()
        spec = make_spec(name, True, config.mode, config.absolute, context_s=config.context_s)
        result = personalisation_simulation(spec, windows, [d.segments for d in datas], config)
        results[name] = result
        print(
            f"{name:<12} weight x{result['weight']:g}: accuracy "
            f"{result['population']['accuracy']:.3f} -> {result['personal']['accuracy']:.3f}, "
            f"medium recall {result['population']['medium_recall']:.3f} -> "
            f"{result['personal']['medium_recall']:.3f} on {result['windows_scored']} windows "
            f"({time.perf_counter() - t0:.0f} s)",
            flush=True,
        )
    measured_at = datetime.now(UTC).isoformat(timespec="seconds")
    for result in results.values():
        result["measured_at"] = measured_at
    # A run over some of the sets replaces their entries and keeps the others'.
    results = {**(personalisation_read() or {}).get("channel_sets", {}), **results}
    PERSONALISATION_FILE.write_text(
        json.dumps(
            {
                "measured_at": measured_at,
                "seconds": round(time.perf_counter() - started),
                "config": asdict(config),
                "labels": LABELS_SIMULATED,
                "weights_tried": list(PERSONAL_WEIGHTS),
                "chosen_on": "the same leave-one-drive-out folds that report the figures",
                "channel_sets": results,
            },
            indent=1,
        )
        + "\n"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
