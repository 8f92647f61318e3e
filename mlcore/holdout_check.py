"""A driver the model has never seen, end to end: read a held-out drive from a file, calibrate
with its first minutes, score it, and compare with the segments and with the card.

    python -m mlcore.train --out /tmp/models --hold-out drive06
    python -m mlcore.holdout_check /tmp/models/<version> drive06 [--file drive06.edf]

Without --file the drive's CSV is written (and an EDF next to it) and both are scored. The
card's leave-one-drive-out figure for the drive comes from the same pipeline (same windows,
same baseline rule), so the two should agree closely.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mlcore import drivedb
from mlcore.dataset import MARGIN_S, baseline_range, window_labels
from mlcore.readers import read_recording
from mlcore.recording_model import RecordingScorer, read_card


@dataclass(frozen=True)
class HoldoutResult:
    file: str
    channel_set: str
    windows: int
    accuracy: float


def agreement(
    scorer: RecordingScorer,
    path: Path,
    drive: drivedb.Drive,
    baseline_s: tuple[float, float] | None = None,
) -> HoldoutResult:
    """Score `path` (a recording of `drive`) with a baseline over `baseline_s` (default: the
    first 3 minutes of Rest1, the rule the card's figures use); accuracy over the windows the
    evaluation scores (inside a segment, not overlapping the baseline)."""
    prepared = scorer.prepare(read_recording(path))
    start, end = baseline_s or baseline_range(drive)
    baseline = scorer.baseline_from_recording(prepared, start, end)
    result = scorer.score(prepared, baseline=baseline)
    starts = np.array([w.start_s for w in result.windows])
    labels = window_labels(drive.segments, starts, scorer.window_s, MARGIN_S)
    levels = np.array([["low", "medium", "high"].index(w.level) for w in result.windows])
    scored = (labels >= 0) & ~np.array([w.in_baseline for w in result.windows])
    return HoldoutResult(
        file=path.name,
        channel_set=result.channel_set,
        windows=int(scored.sum()),
        accuracy=float((levels[scored] == labels[scored]).mean()),
    )


def main(argv: list[str] | None = None) -> int:
    from mlcore.export import drive_slice, write_csv, write_edf

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bundle", type=Path)
    parser.add_argument("drive")
    parser.add_argument("--file", type=Path, action="append")
    args = parser.parse_args(argv)
    card = read_card(args.bundle)
    if card["data"].get("held_out") != args.drive:
        print(f"warning: this bundle was not trained without {args.drive}", file=sys.stderr)
    drive = drivedb.load_drive(args.drive)
    scorer = RecordingScorer.load(args.bundle)
    with tempfile.TemporaryDirectory() as tmp:
        files = args.file
        if not files:
            rows = drive_slice(drive, 0.0, 1e9)
            files = [write_csv(Path(tmp) / f"{drive.name}.csv", rows)]
            files.append(write_edf(Path(tmp) / f"{drive.name}.edf", rows))
        for path in files:
            r = agreement(scorer, path, drive)
            print(
                f"{r.file}: {r.channel_set} calibrated, {r.windows} windows, agreement with "
                f"the segments {r.accuracy:.3f}"
            )
    print(
        "the card's leave-one-drive-out figure for this drive comes from a model trained "
        "with it held out: see `metrics.leave_one_drive_out.per_drive` of the model trained on "
        "all drives"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
