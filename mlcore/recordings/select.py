"""Choose the recording models' window, relative mode, estimator, class weight and context by
leave-one-drive-out, on all channels with a baseline.

Two stages: the grid below without context; then, on the configuration the rule picks among
the unit-free ones (highest macro-F1, ties: medium recall), each context length; the rule
over that configuration's context rows (no context included) gives the choice.

The order check: every candidate is also scored, by the same fold models, on each held-out
drive spliced into the orders of drivedb.ORDERS (mlcore.recordings.dataset.splice). A
candidate losing more than ORDER_TOLERANCE accuracy on either order is rejected: printed,
marked in the JSON (`order_check`), and never chosen.

    python -m mlcore.recordings.select

Writes `mlcore/data/recording_selection.json`; the card quotes it. The figures come from the
same folds the card reports, so the chosen row is slightly optimistic (said in the card).
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, replace
from datetime import UTC, datetime

from mlcore import drivedb
from mlcore.recordings.dataset import DriveWindows, drive_windows, load_drive_data
from mlcore.recordings.spec import make_spec
from mlcore.recordings.train import (
    ORDER_TOLERANCE,
    RecordingConfig,
    leave_one_drive_out,
    order_check,
    reordered_windows,
)

SELECTION_FILE = drivedb.DATA_DIR.parent / "recording_selection.json"
WINDOWS_S = (60.0, 90.0, 120.0)
MODES = ("diff", "ratio", "z")
ABSOLUTE = ("unit_free", "all")
MEDIUM_WEIGHTS = (1.0, 2.0, 3.0, 4.0)
CONTEXTS_S = (0.0, 180.0, 240.0, 300.0, 420.0, 600.0)


def rule_key(row: dict) -> tuple[float, float]:
    return (row["macro_f1"], row["medium_recall"])


def passes(row: dict) -> bool:
    return row.get("order_check", "passed") == "passed"


def choose(rows: list[dict]) -> dict | None:
    """The rule among the candidates that pass the order check (None if none does)."""
    kept = [r for r in rows if passes(r)]
    return max(kept, key=rule_key) if kept else None


def measure(
    config: RecordingConfig, windows: Sequence[DriveWindows], reordered: dict[str, list]
) -> dict:
    """One candidate's row: leave-one-drive-out on all channels with a baseline, and the
    order check on the same folds."""
    spec = make_spec("all", True, config.mode, config.absolute, context_s=config.context_s)
    metrics = leave_one_drive_out(spec, windows, config, reordered)
    failed = order_check(metrics)
    return {
        "config": asdict(config),
        "accuracy": metrics["accuracy"],
        "macro_f1": metrics["macro_f1"],
        "medium_recall": metrics["per_class"]["medium"]["recall"],
        "per_drive_min": metrics["per_drive_min"],
        "reordered": metrics["reordered"],
        "order_check": "passed" if failed is None else f"rejected: {failed}",
    }


def describe(row: dict) -> str:
    config = row["config"]
    return (
        f"{config['estimator']} {config['window_s']:.0f}s {config['mode']:<5} "
        f"{config['absolute']:<9} medium x{config['medium_weight']:g} context "
        f"{config['context_s']:.0f}s: accuracy {row['accuracy']:.3f} macro-F1 "
        f"{row['macro_f1']:.3f} medium recall {row['medium_recall']:.3f} worst drive "
        f"{row['per_drive_min']:.3f} reordered A {row['reordered']['A']:.3f} B "
        f"{row['reordered']['B']:.3f}"
        + ("" if passes(row) else f"  REJECTED ({row['order_check'].removeprefix('rejected: ')})")
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--contexts-only",
        action="store_true",
        help="only the second stage, on the shipped configuration (RecordingConfig); "
        "prints, writes nothing",
    )
    args = parser.parse_args(argv)
    started = time.perf_counter()
    datas = [load_drive_data(name) for name in drivedb.drive_names()]
    base = RecordingConfig()
    cache: dict[tuple[float, float], tuple[list, dict]] = {}

    def run(config: RecordingConfig) -> dict:
        key = (config.window_s, config.context_s)
        if key not in cache:
            cache[key] = (
                [
                    drive_windows(d, config.window_s, config.stride_s, context_s=config.context_s)
                    for d in datas
                ],
                reordered_windows(datas, config),
            )
        row = measure(config, *cache[key])
        print(describe(row), flush=True)
        return row

    rows: list[dict] = []
    if args.contexts_only:
        stage1 = replace(base, context_s=0.0)
    else:
        candidates = [
            replace(base, window_s=w, mode=m, absolute=a, medium_weight=mw, context_s=0.0)
            for w, m, a, mw in itertools.product(WINDOWS_S, MODES, ABSOLUTE, MEDIUM_WEIGHTS)
        ]
        candidates += [
            replace(base, estimator="rf", window_s=w, medium_weight=mw, context_s=0.0)
            for w, mw in itertools.product(WINDOWS_S, (1.0, 3.0))
        ]
        rows = [run(config) for config in candidates]
        best = choose([r for r in rows if r["config"]["absolute"] == "unit_free"])
        if best is None:  # pragma: no cover - every unit-free candidate rejected
            print("every unit-free candidate failed the order check", flush=True)
            return 1
        stage1 = RecordingConfig(**best["config"])
    stage2 = [run(replace(stage1, context_s=c)) for c in CONTEXTS_S if c]
    stage1_row = next((r for r in rows if r["config"] == asdict(stage1)), None) or run(stage1)
    if stage1_row not in rows:
        rows.append(stage1_row)
    rows += stage2
    chosen = choose([stage1_row, *stage2])
    rejected = [r for r in rows if not passes(r)]
    print(
        f"{len(rejected)} of {len(rows)} candidates rejected by the order check (reordered "
        f"accuracy more than {ORDER_TOLERANCE:g} below leave-one-drive-out)",
        flush=True,
    )
    if chosen is not None:
        print(f"chosen: {describe(chosen)}", flush=True)
        shipped = asdict(base)
        if chosen["config"] != shipped:
            print(
                "the chosen configuration is not the shipped one (RecordingConfig): "
                + ", ".join(
                    f"{k} {shipped[k]} -> {v}"
                    for k, v in chosen["config"].items()
                    if shipped[k] != v
                ),
                flush=True,
            )
    if args.contexts_only:
        return 0
    SELECTION_FILE.write_text(
        json.dumps(
            {
                "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "seconds": round(time.perf_counter() - started),
                "order_check": {"orders": drivedb.ORDERS, "tolerance": ORDER_TOLERANCE},
                "chosen": chosen["config"] if chosen else None,
                "rejected": len(rejected),
                "results": rows,
            },
            indent=1,
        )
        + "\n"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
