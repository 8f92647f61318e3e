"""Compare channel statistics and window lengths by leave-one-drive-out accuracy.

    python -m mlcore.readings.select

Writes `mlcore/data/selection.json`, which the model card quotes to explain the defaults.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime

from mlcore import drivedb
from mlcore.evaluation import ForestParams, leave_one_drive_out
from mlcore.readings.preprocessing import DEFAULT_MARGIN_SECONDS, DEFAULT_STATISTICS, window_table
from mlcore.readings.train import SELECTION_FILE

CANDIDATES: dict[str, dict[str, str]] = {
    "all window means (reference)": {
        "heart_rate": "hr_mean_bpm",
        "ecg": "ecg_mean_mv",
        "emg": "emg_mean_mv",
        "gsr": "hand_gsr_mean_mv",
        "respiration": "resp_mean_mv",
    },
    "ECG std + breathing std (default)": DEFAULT_STATISTICS,
    "default + EMG std": {**DEFAULT_STATISTICS, "emg": "emg_std_mv"},
    "default + foot GSR": {**DEFAULT_STATISTICS, "gsr": "foot_gsr_mean_mv"},
}
WINDOWS_SECONDS = (30.0, 60.0, 120.0)


def main() -> int:
    drives = [drivedb.load_drive(name) for name in drivedb.drive_names()]
    params = ForestParams()
    results = []
    for window in WINDOWS_SECONDS:
        table = window_table(drives, window, DEFAULT_MARGIN_SECONDS)
        for name, statistics in CANDIDATES.items():
            metrics = leave_one_drive_out(table, params, statistics, window)
            row = {
                "window_seconds": window,
                "name": name,
                "windows": len(table),
                "accuracy": metrics["accuracy"],
                "macro_f1": metrics["macro_f1"],
            }
            print(json.dumps(row), flush=True)
            results.append(row)
    SELECTION_FILE.write_text(
        json.dumps(
            {"measured_at": datetime.now(UTC).isoformat(timespec="seconds"), "results": results},
            indent=2,
        )
        + "\n"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
