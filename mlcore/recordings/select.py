"""Choose the recording models' window, relative mode, estimator, class weight and context by
leave-one-drive-out, on all channels with a baseline.

Two stages: the grid below without context; then, on the configuration the rule picks among
the unit-free ones (highest macro-F1, ties: medium recall), each context length.

    python -m mlcore.recordings.select

Writes `mlcore/data/recording_selection.json`; the card quotes it. The figures come from the
same folds the card reports, so the chosen row is slightly optimistic (said in the card).
"""

from __future__ import annotations

import itertools
import json
import sys
import time
from dataclasses import asdict, replace
from datetime import UTC, datetime

from mlcore import drivedb
from mlcore.recordings.dataset import drive_windows, load_drive_data
from mlcore.recordings.spec import make_spec
from mlcore.recordings.train import RecordingConfig, leave_one_drive_out

SELECTION_FILE = drivedb.DATA_DIR.parent / "recording_selection.json"
WINDOWS_S = (60.0, 90.0, 120.0)
MODES = ("diff", "ratio", "z")
ABSOLUTE = ("unit_free", "all")
MEDIUM_WEIGHTS = (1.0, 2.0, 3.0, 4.0)
CONTEXTS_S = (0.0, 180.0, 240.0, 300.0, 420.0, 600.0)


def rule_key(row: dict) -> tuple[float, float]:
    return (row["macro_f1"], row["medium_recall"])


def main() -> int:
    started = time.perf_counter()
    datas = [load_drive_data(name) for name in drivedb.drive_names()]
    base = RecordingConfig()
    candidates = [
        replace(base, window_s=w, mode=m, absolute=a, medium_weight=mw, context_s=0.0)
        for w, m, a, mw in itertools.product(WINDOWS_S, MODES, ABSOLUTE, MEDIUM_WEIGHTS)
    ]
    candidates += [
        replace(base, estimator="rf", window_s=w, medium_weight=mw, context_s=0.0)
        for w, mw in itertools.product(WINDOWS_S, (1.0, 3.0))
    ]
    cache: dict[tuple[float, float], list] = {}

    def measure(config: RecordingConfig) -> dict:
        key = (config.window_s, config.context_s)
        if key not in cache:
            cache[key] = [
                drive_windows(d, config.window_s, config.stride_s, context_s=config.context_s)
                for d in datas
            ]
        spec = make_spec("all", True, config.mode, config.absolute, context_s=config.context_s)
        metrics = leave_one_drive_out(spec, cache[key], config)
        row = {
            "config": asdict(config),
            "accuracy": metrics["accuracy"],
            "macro_f1": metrics["macro_f1"],
            "medium_recall": metrics["per_class"]["medium"]["recall"],
            "per_drive_min": metrics["per_drive_min"],
        }
        print(
            f"{config.estimator} {config.window_s:.0f}s {config.mode:<5} {config.absolute:<9} "
            f"medium x{config.medium_weight:g} context {config.context_s:.0f}s: accuracy "
            f"{row['accuracy']:.3f} macro-F1 {row['macro_f1']:.3f} medium recall "
            f"{row['medium_recall']:.3f} worst drive {row['per_drive_min']:.3f}",
            flush=True,
        )
        return row

    rows = [measure(config) for config in candidates]
    unit_free = [r for r in rows if r["config"]["absolute"] == "unit_free"]
    stage1 = RecordingConfig(**max(unit_free, key=rule_key)["config"])
    rows += [measure(replace(stage1, context_s=c)) for c in CONTEXTS_S if c]
    SELECTION_FILE.write_text(
        json.dumps(
            {
                "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "seconds": round(time.perf_counter() - started),
                "results": rows,
            },
            indent=1,
        )
        + "\n"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
