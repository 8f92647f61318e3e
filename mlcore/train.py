"""Train, evaluate and write a versioned model bundle.

    python -m mlcore.train --out data/models [--hold-out drive06] [--quick]

One folder per version holds the five-number model (`model.joblib`, the flattened trees
`Predictor` serves, and `forest.joblib`, scikit-learn's forest they came from),
the recording models of every channel set, calibrated and not, with the calibrated
five-number model (`recording_models.joblib`, compiled; their scikit-learn estimators in
`recording_estimators.joblib`), and the card (`card.json`, `card.md`).
`--quick` skips every evaluation and trains small models (tests, first start).
Pure Python (no Django): `python manage.py train_model` wraps `train_and_save` and registers
the result.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from mlcore import card as model_card
from mlcore import drivedb
from mlcore.artifacts import save_artifact
from mlcore.evaluation import ForestParams
from mlcore.readings.features import CLASSES
from mlcore.readings.five_number import (
    FIVE_NUMBER_KEY,
    five_number_training_rows,
    train_five_number,
)
from mlcore.readings.forest import Predictor
from mlcore.readings.preprocessing import (
    DEFAULT_WINDOW_SECONDS,
    window_table,
)
from mlcore.readings.train import forest_train, load_drives
from mlcore.recordings.bundle import write_bundle
from mlcore.recordings.personal import TRAINING_SETS_FILE, TrainingSet, training_sets_write
from mlcore.recordings.train import QUICK, RecordingConfig, order_check, train_recording_models


@dataclass(frozen=True)
class TrainingResult:
    version: str
    model_path: Path
    sha256: str
    card: dict[str, Any]

    @property
    def metrics(self) -> dict[str, Any]:
        return self.card["metrics"]


def train_and_save(
    out_dir: Path,
    *,
    hold_out: str | None = None,
    quick: bool = False,
    recording: bool = True,
    recording_config: RecordingConfig | None = None,
    data_dir: Path = drivedb.DATA_DIR,
    drive_names: list[str] | None = None,
    log: Any = None,
    **kwargs: Any,
) -> TrainingResult:
    """Train the five-number model and (with `recording`) every recording model; write them
    as one version folder under `out_dir`. `quick`: no evaluation, small models.
    `drive_names` trains on those drives only (tests)."""
    log = log or (lambda _: None)
    started = time.perf_counter()
    drives = load_drives(data_dir, hold_out, drive_names)
    if quick:
        kwargs["evaluate"] = False
        kwargs.setdefault("params", ForestParams(n_estimators=12, max_depth=8))
    evaluate = kwargs.get("evaluate", True)
    forest, mapping, card = forest_train(
        data_dir=data_dir, hold_out=hold_out, drives=drives, **kwargs
    )
    payload: dict[str, Any] | None = None
    if recording:
        config = recording_config or (QUICK if quick else RecordingConfig())
        payload = train_recording_models(drives, config=config, evaluate=evaluate, log=log)
        window_s = float(card["data"]["window_seconds"])
        margin_s = float(card["data"]["margin_seconds"])
        table = window_table(drives, window_s, margin_s)
        rest1 = {d.name: d.segments[0].start_s for d in drives}
        reordered = None
        if evaluate:
            reordered = {}
            for name, order in drivedb.ORDERS.items():
                spliced = [drivedb.splice_drive(d, order) for d in drives]
                reordered[name] = (
                    window_table(spliced, window_s, margin_s),
                    {d.name: d.segments[0].start_s for d in spliced},
                )
        five, five_mapping, five_metrics = train_five_number(
            table, rest1, window_s, evaluate=evaluate, reordered=reordered
        )
        payload["five_number_calibrated"] = {
            "estimator": five,
            "mapping": five_mapping.to_dict(),
            "temperature": float(five_metrics.get("temperature", 1.0)),
        }
        five_x, five_y, five_drives = five_number_training_rows(
            table, rest1, window_s, five_mapping
        )
        payload["training_sets"][FIVE_NUMBER_KEY] = TrainingSet(
            five_x.astype(np.float32), five_y.astype(np.int8), five_drives
        )
        if five_metrics:
            card["metrics"]["five_number_calibrated"] = five_metrics
        card["recording_models"] = model_card.recording_section(payload)
    if evaluate:
        card["checks"] = model_card.shipped_checks(card)
    card["training_seconds"] = round(time.perf_counter() - started, 1)
    fingerprint = Predictor(forest, card["temperature"]).fingerprint()
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
        temperature=card["temperature"],
    )
    card["artifact"] = {"file": model_path.name, "sha256": digest}
    if payload is not None:
        training_digest = training_sets_write(model_path.parent, payload.pop("training_sets"))
        bundle_digest = write_bundle(model_path.parent, {"version": version, **payload})
        card["recording_models"]["training_sets"] = {
            "name": TRAINING_SETS_FILE,
            "sha256": training_digest,
            "why": "the population's training rows, which a personal model is refitted on",
        }
        card["recording_models"]["file"] = {
            "name": "recording_models.joblib",
            "sha256": bundle_digest,
        }
        (model_path.parent / "card.json").write_text(json.dumps(card, indent=2) + "\n")
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
    lines.append("  " + confidence_line(lodo, metrics.get("reordered")))
    lines.append(
        f"Random stratified CV (optimistic, leaks neighbouring windows): accuracy "
        f"{optimistic['accuracy']:.3f}   macro-F1 {optimistic['macro_f1']:.3f}"
    )
    five = metrics.get("five_number_calibrated")
    if five:
        lines.append(
            f"Five numbers with a personal baseline (leave-one-drive-out): accuracy "
            f"{five['accuracy']:.3f}   macro-F1 {five['macro_f1']:.3f}   medium recall "
            f"{five['per_class']['medium']['recall']:.3f}   worst drive {five['per_drive_min']:.2f}"
        )
        lines.append("  " + confidence_line(five, five.get("reordered")))
    return "\n".join(lines)


def confidence_line(lodo: dict[str, Any], reordered: dict[str, float] | None) -> str:
    text = (
        f"ECE {lodo['ece_raw']:.3f} -> {lodo['ece']:.3f} (temperature {lodo['temperature']:.2f};"
        f" {lodo['ece_temperature_held_out']:.3f} with T fitted on the other drives)"
    )
    if reordered:
        text += "   reordered " + ", ".join(f"{n} {a:.3f}" for n, a in reordered.items())
        failed = order_check({"accuracy": lodo["accuracy"], "reordered": reordered})
        if failed:
            text += f"   ORDER CHECK FAILED: {failed}"
    return text


def format_recording_metrics(card: dict[str, Any]) -> str:
    section = card.get("recording_models")
    if not section:
        return ""
    rows = model_card.recording_table(section)
    if len(rows) == 1:
        return "Recording models trained (not evaluated)."
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["Recording models, leave-one-drive-out:"]
    lines += [
        "  " + "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in rows
    ]
    failed = section.get("order_check", {}).get("failed")
    lines.append(
        "Order check (reordered accuracy >= leave-one-drive-out accuracy - "
        f"{section['order_check']['tolerance']:g}): "
        + (
            "every model passes"
            if not failed
            else "FAILED: " + "; ".join(f"{k} {v}" for k, v in failed.items())
        )
    )
    # Every shipped model (the five-number ones too) against the two targets.
    lines += model_card.checks_text(card.get("checks", {"models": {}}))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("data/models"), help="artifact folder")
    parser.add_argument("--window-seconds", type=float, default=DEFAULT_WINDOW_SECONDS)
    parser.add_argument("--no-eval", action="store_true", help="skip the evaluation")
    parser.add_argument("--hold-out", metavar="DRIVE", help="leave this drive out of training")
    parser.add_argument(
        "--quick", action="store_true", help="small models, no evaluation (tests, first start)"
    )
    args = parser.parse_args(argv)
    result = train_and_save(
        args.out,
        window_seconds=args.window_seconds,
        evaluate=not args.no_eval,
        hold_out=args.hold_out,
        quick=args.quick,
        log=lambda line: print(line, flush=True),
    )
    if result.metrics:
        print(format_metrics(result.metrics))
    print(format_recording_metrics(result.card))
    print(f"Training took {result.card['training_seconds']:.0f} s")
    print(f"Wrote {result.model_path} (sha256 {result.sha256})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
