"""Train the five-number forest: every window of the drives, the fixed 0-1 feature mapping,
and the card's figures (leave-one-drive-out, and the optimistic random split beside it).
`mlcore.train` calls this with the recording models and writes the version folder."""

from __future__ import annotations

import json
import platform
import time
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import joblib
import numba
import numpy as np
import sklearn

from mlcore import card as model_card
from mlcore import drivedb
from mlcore.evaluation import ForestParams, leave_one_drive_out, stratified_cv_optimistic
from mlcore.readings.features import CLASSES
from mlcore.readings.preprocessing import (
    DEFAULT_MARGIN_SECONDS,
    DEFAULT_STATISTICS,
    DEFAULT_WINDOW_SECONDS,
    FeatureMapping,
    window_table,
)

SELECTION_FILE = drivedb.DATA_DIR.parent / "selection.json"


def _choices_text() -> str:
    text = (
        "Channel statistics and window length were chosen by leave-one-drive-out accuracy "
        "(`python -m mlcore.readings.select`). Choosing among several combinations on the same "
        "folds makes the chosen figure slightly optimistic. The 0-1 map is a fixed population-wide "
        "linear map: trees are unaffected by order-keeping maps, so it costs no accuracy, and "
        "it uses nothing person-specific, so the service computes exactly what was evaluated."
    )
    if SELECTION_FILE.is_file():
        rows = json.loads(SELECTION_FILE.read_text())["results"]
        lines = ["| window (s) | statistics | accuracy | macro-F1 |", "|---|---|---|---|"]
        lines += [
            f"| {r['window_seconds']:.0f} | {r['name']} | {r['accuracy']:.3f} | "
            f"{r['macro_f1']:.3f} |"
            for r in rows
        ]
        text += "\n\n" + "\n".join(lines)
    return text


def forest_train(
    *,
    params: ForestParams | None = None,
    window_seconds: float = DEFAULT_WINDOW_SECONDS,
    margin_seconds: float = DEFAULT_MARGIN_SECONDS,
    evaluate: bool = True,
    data_dir: Path = drivedb.DATA_DIR,
    hold_out: str | None = None,
    drives: list[drivedb.Drive] | None = None,
) -> tuple[Any, FeatureMapping, dict[str, Any]]:
    """Fit the forest on every window; return it, its mapping, and a card without version.
    `hold_out` names a drive left out of everything (an end-to-end check on an unseen
    driver)."""
    params = params or ForestParams()
    started = time.perf_counter()
    if drives is None:
        drives = load_drives(data_dir, hold_out)
    table = window_table(drives, window_seconds, margin_seconds)
    metrics: dict[str, Any] = {}
    temperature = 1.0
    if evaluate:
        reordered = {
            name: window_table(
                [drivedb.splice_drive(d, order) for d in drives], window_seconds, margin_seconds
            )
            for name, order in drivedb.ORDERS.items()
        }
        lodo = leave_one_drive_out(table, params, DEFAULT_STATISTICS, window_seconds, reordered)
        metrics["leave_one_drive_out"] = {k: v for k, v in lodo.items() if k != "reordered"}
        metrics["reordered"] = lodo["reordered"]
        temperature = float(lodo["temperature"])
        metrics["stratified_cv_optimistic"] = stratified_cv_optimistic(
            table, params, DEFAULT_STATISTICS, window_seconds
        )
        metrics["reference"] = model_card.REFERENCE
    mapping = FeatureMapping.fit(table, DEFAULT_STATISTICS, window_seconds)
    # n_jobs=1: with a fixed random_state the result is identical whatever the core count.
    forest = params.build(n_jobs=1).fit(mapping.transform(table), table.labels)
    counts = np.bincount(table.labels, minlength=len(CLASSES))
    card: dict[str, Any] = {
        "model": "RandomForestClassifier",
        "task": "stress level (low / medium / high) from five physiological features",
        "classes": list(CLASSES),
        "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "training_seconds": round(time.perf_counter() - started, 1),
        "parameters": asdict(params),
        # The forest's vote is tempered by this (mlcore.calibration); 1 without evaluation.
        "temperature": temperature,
        "feature_mapping": mapping.to_dict(),
        "metrics": metrics,
        "data": {
            "source": "PhysioNet drivedb 1.0.0 (Healey & Picard 2005), labelled subset",
            "licence": model_card.LICENCE,
            "files": drivedb.data_files(data_dir),
            "drives": {
                d.name: {"offset_min": d.offset_min, "marker_spikes_matched": d.spikes_matched}
                for d in drives
            },
            "held_out": hold_out,
            "windows": len(table),
            "window_seconds": window_seconds,
            "margin_seconds": margin_seconds,
            "class_counts": {name: int(counts[i]) for i, name in enumerate(CLASSES)},
            "labels": "Rest -> low, Highway -> medium, City -> high",
        },
        "libraries": {
            "python": platform.python_version(),
            "scikit-learn": sklearn.__version__,
            "numpy": np.__version__,
            "joblib": joblib.__version__,
            "numba": numba.__version__,
        },
        "choices": _choices_text(),
        "limitations": model_card.LIMITATIONS,
    }
    return forest, mapping, card


def load_drives(
    data_dir: Path = drivedb.DATA_DIR,
    hold_out: str | None = None,
    only: list[str] | None = None,
) -> list[drivedb.Drive]:
    names = drivedb.drive_names(data_dir)
    for name in [hold_out, *(only or [])]:
        if name is not None and name not in names:
            raise ValueError(f"unknown drive {name!r}; drives: {', '.join(names)}")
    chosen = [n for n in names if n != hold_out and (only is None or n in only)]
    return [drivedb.load_drive(name, data_dir) for name in chosen]
