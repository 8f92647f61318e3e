"""A driver the model has never seen, end to end: read a held-out drive from a file, calibrate
with its first minutes, score it, and compare with the segments and with the card.

    python -m mlcore.train --out /tmp/models --hold-out drive06
    python -m mlcore.holdout_check /tmp/models/<version> drive06 [--file drive06.edf]
        [--card <a version trained on all drives>] [--channel-set all]

Without --file the drive's CSV is written (and an EDF next to it) and both are scored, by the
best channel set (or --channel-set). With --card, the leave-one-drive-out figure for that
drive and set from a version trained on all drives is printed beside it: it comes from the
same pipeline (same windows, same baseline rule, same training drives), so they should agree.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mlcore import drivedb
from mlcore.readers import read_recording
from mlcore.recordings.bundle import read_card
from mlcore.recordings.dataset import MARGIN_S, baseline_range, window_labels
from mlcore.recordings.scorer import RecordingScorer


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
    channel_set: str | None = None,
) -> HoldoutResult:
    """Score `path` (a recording of `drive`) with a baseline over `baseline_s` (default: the
    first 3 minutes of Rest1, the rule the card's figures use); accuracy over the windows the
    evaluation scores (inside a segment, not overlapping the baseline)."""
    prepared = scorer.prepare(read_recording(path))
    start, end = baseline_s or baseline_range(drive)
    baseline = scorer.baseline_from_recording(prepared, start, end)
    result = scorer.score(prepared, baseline=baseline, channel_set=channel_set)
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
    from mlcore.drive_files import drive_slice, write_csv, write_edf

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bundle", type=Path)
    parser.add_argument("drive")
    parser.add_argument("--file", type=Path, action="append")
    parser.add_argument("--card", type=Path, help="a version trained on all drives")
    parser.add_argument("--channel-set")
    args = parser.parse_args(argv)
    full = read_card(args.card)["recording_models"]["models"] if args.card else None
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
            r = agreement(scorer, path, drive, channel_set=args.channel_set)
            line = (
                f"{r.file}: {r.channel_set} calibrated, {r.windows} windows, agreement with "
                f"the segments {r.accuracy:.3f}"
            )
            if full:
                lodo = full[f"{r.channel_set}/calibrated"]["metrics"]["leave_one_drive_out"]
                figure = lodo["per_drive"][drive.name]
                line += (
                    f"; card (leave-one-drive-out): {figure['accuracy']:.3f} on "
                    f"{figure['windows']} windows"
                )
            print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
