"""Choose the recording models' window, relative mode, estimator and class weight by
leave-one-drive-out, on all channels with a baseline.

    python -m mlcore.recording_select

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
from mlcore.dataset import drive_windows, load_drive_data
from mlcore.recording_model import make_spec
from mlcore.recording_train import RecordingConfig, leave_one_drive_out

SELECTION_FILE = drivedb.DATA_DIR.parent / "recording_selection.json"
WINDOWS_S = (60.0, 90.0, 120.0)
MODES = ("diff", "ratio", "z")
ABSOLUTE = ("unit_free", "all")
MEDIUM_WEIGHTS = (1.0, 2.0, 3.0, 4.0)


def main() -> int:
    started = time.perf_counter()
    datas = [load_drive_data(name) for name in drivedb.drive_names()]
    base = RecordingConfig()
    rows = []
    candidates = [
        replace(base, window_s=w, mode=m, absolute=a, medium_weight=mw)
        for w, m, a, mw in itertools.product(WINDOWS_S, MODES, ABSOLUTE, MEDIUM_WEIGHTS)
    ]
    candidates += [
        replace(base, estimator="rf", window_s=w, medium_weight=mw)
        for w, mw in itertools.product(WINDOWS_S, (1.0, 3.0))
    ]
    cache = {}
    for config in candidates:
        if config.window_s not in cache:
            cache[config.window_s] = [
                drive_windows(d, config.window_s, config.stride_s) for d in datas
            ]
        spec = make_spec("all", True, config.mode, config.absolute)
        metrics = leave_one_drive_out(spec, cache[config.window_s], config)
        row = {
            "config": asdict(config),
            "accuracy": metrics["accuracy"],
            "macro_f1": metrics["macro_f1"],
            "medium_recall": metrics["per_class"]["medium"]["recall"],
            "per_drive_min": metrics["per_drive_min"],
        }
        print(
            f"{config.estimator} {config.window_s:.0f}s {config.mode:<5} {config.absolute:<9} "
            f"medium x{config.medium_weight:g}: accuracy {row['accuracy']:.3f} macro-F1 "
            f"{row['macro_f1']:.3f} medium recall {row['medium_recall']:.3f} worst drive "
            f"{row['per_drive_min']:.3f}",
            flush=True,
        )
        rows.append(row)
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
