"""Personal refit benchmark: the work of the refit job for one person with one labelled
drive, in a process of its own, timed and its peak memory read.

A model is trained without drive06 (full-size recording models, no evaluation); the child
process loads the scorer and the population's training rows, reads drive06 as an EDF
(1.5 h), learns its rest (3 minutes of Rest1), computes its windows' inputs as scoring does,
takes one label per protocol segment (each segment's windows), and refits the all-channels
calibrated model leaving one episode out, as the job does
(mlcore.recordings.personal.personal_refit). The reference, measured in the same run, is one
fit of the population model on its own rows: the refit costs FOLDS + 1 such fits, plus the
reading of the file.

    make bench      (or: python -m benchmarks.personal)

Targets (issue 20): a refit <= 10 s and <= 500 MB.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HELD_OUT = "drive06"


def child(folder: Path, edf: Path) -> dict:
    import numpy as np

    from mlcore.drivedb import load_drive
    from mlcore.readers import read_recording
    from mlcore.recordings.personal import (
        Episode,
        personal_refit,
        personal_weight,
        training_sets_read,
    )
    from mlcore.recordings.scorer import RecordingScorer
    from mlcore.recordings.train import RecordingConfig, build_estimator, sample_weights

    started = time.perf_counter()
    scorer = RecordingScorer.load(folder)
    training = training_sets_read(folder)
    loaded_s = time.perf_counter() - started
    key = "all/calibrated"
    drive = load_drive(HELD_OUT)
    rest = drive.segments[0].start_s
    t0 = time.perf_counter()
    prepared = scorer.prepare(read_recording(edf))
    baseline = scorer.baseline_from_recording(prepared, rest, rest + 180)
    inputs = scorer.window_inputs(prepared, key, baseline)
    read_s = time.perf_counter() - t0
    starts, ends = inputs.table.start_s, inputs.table.end_s
    scorable = np.array([inputs.unscored_reason(i) is None for i in range(len(starts))])
    episodes = []
    for segment in drive.segments:
        inside = scorable & (starts >= segment.start_s) & (ends <= segment.end_s)
        if inside.any():
            episodes.append(Episode(inputs.x[inside], segment.label))
    config = RecordingConfig(**scorer.config)
    t0 = time.perf_counter()
    refit = personal_refit(
        training[key],
        episodes,
        population=scorer.compiled(key),
        weight=personal_weight("all"),
        config=config,
    )
    refit_s = time.perf_counter() - t0
    # The reference: one fit of the population model on its own rows, same settings.
    rows = training[key]
    t0 = time.perf_counter()
    build_estimator(config).fit(
        rows.x.astype(np.float64),
        rows.y.astype(np.int64),
        sample_weight=sample_weights(rows.y.astype(np.int64), config.medium_weight),
    )
    fit_s = time.perf_counter() - t0
    return {
        "load_s": loaded_s,
        "read_s": read_s,
        "refit_s": refit_s,
        "one_fit_s": fit_s,
        "episodes": refit.episodes,
        "windows": refit.windows,
        "population_rows": int(rows.y.shape[0]),
        "population": refit.population.share,
        "personal": refit.personal.share,
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def main() -> int:
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        print(json.dumps(child(Path(sys.argv[2]), Path(sys.argv[3]))))
        return 0
    from mlcore.drive_files import drive_slice, write_edf
    from mlcore.drivedb import load_drive
    from mlcore.train import train_and_save

    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        result = train_and_save(Path(tmp), hold_out=HELD_OUT, evaluate=False)
        print(f"model without {HELD_OUT} trained in {time.perf_counter() - t0:.1f} s")
        edf = write_edf(Path(tmp) / "drive06.edf", drive_slice(load_drive(HELD_OUT), 0, 24 * 3600))
        t0 = time.perf_counter()
        out = subprocess.run(
            [
                sys.executable,
                "-m",
                "benchmarks.personal",
                "--child",
                str(result.model_path.parent),
                str(edf),
            ],
            cwd=ROOT,
            check=True,
            capture_output=True,
            text=True,
        )
        wall = time.perf_counter() - t0
    r = json.loads(out.stdout.strip().splitlines()[-1])
    job_s = r["read_s"] + r["refit_s"]
    print(
        f"personal refit ({r['episodes']} episodes, {r['windows']} labelled windows, "
        f"{r['population_rows']} population rows):\n"
        f"  read the file and compute inputs {r['read_s']:.2f} s, refit with leave-one-"
        f"episode-out {r['refit_s']:.2f} s: the job's work {job_s:.2f} s (target <= 10 s)\n"
        f"  reference, one population fit in the same process: {r['one_fit_s']:.2f} s; the "
        f"refit is {r['refit_s'] / r['one_fit_s']:.1f}x one fit\n"
        f"  model and training rows loaded in {r['load_s']:.2f} s; whole child {wall:.1f} s\n"
        f"  peak resident memory of the process {r['peak_mb']:.0f} MB (target <= 500 MB)\n"
        f"  agreement with the labels: population {r['population']:.3f}, personal (leave "
        f"one episode out) {r['personal']:.3f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
