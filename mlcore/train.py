"""Train, evaluate and write a versioned model artifact.

    python -m mlcore.train --out data/models

Pure Python (no Django): `python manage.py train_model` wraps `train_and_save` and registers
the result.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import joblib
import numba
import numpy as np
import sklearn

from mlcore import card as model_card
from mlcore import drivedb
from mlcore.artifacts import save_artifact
from mlcore.evaluation import ForestParams, leave_one_drive_out, stratified_cv_optimistic
from mlcore.features import CLASSES
from mlcore.model import Predictor
from mlcore.preprocessing import (
    DEFAULT_MARGIN_SECONDS,
    DEFAULT_STATISTICS,
    DEFAULT_WINDOW_SECONDS,
    FeatureMapping,
    window_table,
)

SELECTION_FILE = drivedb.DATA_DIR.parent / "selection.json"


@dataclass(frozen=True)
class TrainingResult:
    version: str
    model_path: Path
    sha256: str
    card: dict[str, Any]

    @property
    def metrics(self) -> dict[str, Any]:
        return self.card["metrics"]


def _choices_text() -> str:
    text = (
        "Channel statistics and window length were chosen by leave-one-drive-out accuracy "
        "(`python -m mlcore.select`). Choosing among several combinations on the same folds "
        "makes the chosen figure slightly optimistic. The 0-1 map is a fixed population-wide "
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


def train(
    *,
    params: ForestParams | None = None,
    window_seconds: float = DEFAULT_WINDOW_SECONDS,
    margin_seconds: float = DEFAULT_MARGIN_SECONDS,
    evaluate: bool = True,
    data_dir: Path = drivedb.DATA_DIR,
) -> tuple[Any, FeatureMapping, dict[str, Any]]:
    """Fit the forest on every window; return it, its mapping, and a card without version."""
    params = params or ForestParams()
    started = time.perf_counter()
    drives = [drivedb.load_drive(name, data_dir) for name in drivedb.drive_names(data_dir)]
    table = window_table(drives, window_seconds, margin_seconds)
    metrics: dict[str, Any] = {}
    if evaluate:
        metrics["leave_one_drive_out"] = leave_one_drive_out(
            table, params, DEFAULT_STATISTICS, window_seconds
        )
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


def train_and_save(out_dir: Path, **kwargs: Any) -> TrainingResult:
    forest, mapping, card = train(**kwargs)
    fingerprint = Predictor(forest).fingerprint()
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    version = f"rf-{stamp}-{fingerprint[:8]}"
    card = {"version": version, "fingerprint": fingerprint, **card}
    model_path, digest = save_artifact(
        Path(out_dir) / version,
        version=version,
        forest=forest,
        mapping=mapping,
        card=card,
        card_markdown=model_card.render_markdown(card) if card["metrics"] else "",
    )
    card["artifact"] = {"file": model_path.name, "sha256": digest}
    return TrainingResult(version=version, model_path=model_path, sha256=digest, card=card)


def format_metrics(metrics: dict[str, Any]) -> str:
    lodo = metrics["leave_one_drive_out"]
    base = lodo["majority_baseline"]
    ref = metrics["reference"]
    optimistic = metrics["stratified_cv_optimistic"]
    lines = [
        "Leave-one-drive-out (honest):",
        f"  accuracy {lodo['accuracy']:.3f}   macro-F1 {lodo['macro_f1']:.3f}",
        f"  majority baseline: accuracy {base['accuracy']:.3f}   macro-F1 {base['macro_f1']:.3f}",
        f"  reference (SOURCE.md): accuracy {ref['accuracy']:.2f}   macro-F1 {ref['macro_f1']:.2f}",
        f"  this model vs reference: accuracy {lodo['accuracy'] - ref['accuracy']:+.3f}, "
        f"macro-F1 {lodo['macro_f1'] - ref['macro_f1']:+.3f}",
        "  per class (precision / recall):",
    ]
    lines += [
        f"    {name:<7} {m['precision']:.3f} / {m['recall']:.3f}  (n={m['support']})"
        for name, m in lodo["per_class"].items()
    ]
    lines.append(f"  confusion matrix (rows true {'/'.join(CLASSES)}):")
    lines += [f"    {row}" for row in lodo["confusion_matrix"]["matrix"]]
    lines.append(
        "  per drive: "
        + ", ".join(f"{name} {d['accuracy']:.2f}" for name, d in lodo["per_drive"].items())
    )
    lines.append(
        f"Random stratified CV (optimistic, leaks neighbouring windows): accuracy "
        f"{optimistic['accuracy']:.3f}   macro-F1 {optimistic['macro_f1']:.3f}"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("data/models"), help="artifact folder")
    parser.add_argument("--window-seconds", type=float, default=DEFAULT_WINDOW_SECONDS)
    parser.add_argument("--no-eval", action="store_true", help="skip the evaluation")
    args = parser.parse_args(argv)
    result = train_and_save(args.out, window_seconds=args.window_seconds, evaluate=not args.no_eval)
    if result.metrics:
        print(format_metrics(result.metrics))
    print(f"Wrote {result.model_path} (sha256 {result.sha256})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
