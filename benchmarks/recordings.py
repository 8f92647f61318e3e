"""Recording benchmarks: window-feature speed, inference per window, memory for 24 h.

    python -m benchmarks.recordings

Prints figures only (targets from issue 11: 1 h of drivedb-rate signals in <= 6 s on one core,
<= 20 us per window, <= 500 MB peak for a 24 h recording). The 24 h run happens in a fresh
subprocess; its own peak is VmHWM (ru_maxrss is printed too, but on Linux a child's ru_maxrss
starts at the parent's resident size when it was forked).
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from mlcore import drivedb
from mlcore.recordings.dataset import CSV_COLUMNS
from mlcore.recordings.recording import build_recording

ROOT = Path(__file__).resolve().parents[1]


def drive_recording_of(seconds: float, drive_name: str = "drive05"):
    """`seconds` of drivedb signals (drive05 repeated as needed), as a Recording."""
    signals = drivedb.load_drive(drive_name).signals
    frames = int(seconds * drivedb.FRAME_HZ)
    # One column at a time, as a reader holds them: no second copy of the whole file.
    named = [
        (name, unit, drivedb.FRAME_HZ, np.resize(signals[:, 1 + i], frames))
        for i, (name, unit) in enumerate(CSV_COLUMNS)
    ]
    del signals
    return build_recording(named, start_time=None, format="bench", max_duration_s=25 * 3600)


def feature_speed() -> None:
    from mlcore.recordings.signals import to_model_rate
    from mlcore.recordings.windows import context_features, derived_series, window_features

    derived_series(to_model_rate(drive_recording_of(600)))  # imports and first calls
    recording = drive_recording_of(3600)
    timings = []
    for _ in range(3):
        t0 = time.perf_counter()
        derived = derived_series(to_model_rate(recording))
        table = window_features(derived, 120.0, 30.0)
        context_features(derived, table.start_s, 120.0, 300.0)
        timings.append(time.perf_counter() - t0)
    best = min(timings)
    print(
        f"window features (and their 5 min context), 1 h of drivedb-rate signals (5 channels, "
        f"{len(table)} windows): "
        f"{best:.2f} s on one core = {3600 / best:,.0f}x real time (target <= 6 s, >= 600x)",
        flush=True,
    )


def inference_speed(bundle: Path) -> None:
    from mlcore.recordings.scorer import RecordingScorer

    scorer = RecordingScorer.load(bundle)
    prepared = scorer.prepare(drive_recording_of(3600))
    baseline = scorer.baseline_from_recording(prepared, 60.0, 240.0)
    spec = scorer.models["all/calibrated"]
    compiled = scorer.compiled(spec.key)
    table = prepared.windows(scorer.window_s, scorer.stride_s)
    context = prepared.context(scorer.window_s, scorer.stride_s, spec.context_s)
    x = spec.inputs(table.values, baseline, context)
    model = scorer.estimator(spec.key)
    one = x[:1]
    n = 2000
    t0 = time.perf_counter()
    for _ in range(n):
        compiled.predict_proba(one)
    ours = (time.perf_counter() - t0) / n * 1e6
    t0 = time.perf_counter()
    for _ in range(50):
        model.predict_proba(one)
    theirs = (time.perf_counter() - t0) / 50 * 1e6
    t0 = time.perf_counter()
    compiled.predict_proba(x)
    batch = (time.perf_counter() - t0) / len(x) * 1e6
    prepared = scorer.prepare(drive_recording_of(3600))
    t0 = time.perf_counter()
    result = scorer.score(prepared, baseline=baseline)
    whole = time.perf_counter() - t0
    print(
        f"inference per window ({spec.key}, {model.n_iter_} iterations x 3 trees): "
        f"{ours:.1f} us one window (scikit-learn {theirs:,.0f} us), {batch:.1f} us per window "
        f"in a batch of {len(x)}; score() of 1 h (features sliced, context, model, "
        f"explanations) {whole * 1e3:.0f} ms for {len(result.windows)} windows",
        flush=True,
    )


def write_24h_edf(path: Path) -> Path:
    """24 h of drivedb signals (drive05 repeated) as an EDF file, every channel of the CSV."""
    from pyedflib import highlevel

    signals = drivedb.load_drive("drive05").signals
    frames = int(24 * 3600 * drivedb.FRAME_HZ)
    columns, headers = [], []
    for i, (name, unit) in enumerate(CSV_COLUMNS):
        column = signals[:, 1 + i]
        low, high = float(column.min()) - 1.0, float(column.max()) + 1.0
        headers.append(
            highlevel.make_signal_header(
                name,
                dimension=unit,
                sample_frequency=drivedb.FRAME_HZ,
                physical_min=round(low, 2),
                physical_max=round(high, 2),
            )
        )
        columns.append(np.resize(column, frames))
    highlevel.write_edf(str(path), columns, headers)
    return path


def write_24h_csv(path: Path) -> Path:
    """The same 24 h as drivedb's own CSV layout (time column, 7 channels)."""
    from mlcore.drive_files import write_csv

    signals = drivedb.load_drive("drive05").signals
    frames = int(24 * 3600 * drivedb.FRAME_HZ)
    columns = [np.arange(frames) / drivedb.FRAME_HZ]
    columns += [np.resize(signals[:, i], frames) for i in range(1, signals.shape[1])]
    return write_csv(path, np.column_stack(columns))


def measured_in_a_child(code: str) -> dict:
    """Run `code` in a fresh Python process (one OpenMP thread, the project importable) and
    return the JSON object its last line prints: its own figures, its own peak memory."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def memory_24h(bundle: Path, edf: Path) -> None:
    code = (
        "import json, resource, time\n"
        "from mlcore.readers import read_recording\n"
        "from mlcore.recordings.scorer import RecordingScorer\n"
        f"scorer = RecordingScorer.load({str(bundle)!r})\n"
        "t0 = time.perf_counter()\n"
        f"recording = read_recording({str(edf)!r})\n"
        "read = time.perf_counter() - t0\n"
        "prepared = scorer.prepare(recording)\n"
        "baseline = scorer.baseline_from_recording(prepared, 60.0, 240.0)\n"
        "result = scorer.score(prepared, baseline=baseline)\n"
        "findings = scorer.drift(prepared)\n"
        "hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM')]\n"
        "print(json.dumps({'seconds': time.perf_counter() - t0, 'read': read,"
        " 'windows': len(result.windows),"
        " 'hwm_kb': int(hwm[0].split()[1]) if hwm else None,"
        " 'maxrss_kb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))\n"
    )
    figures = measured_in_a_child(code)
    # Linux carries the parent's resident size at fork into the child's ru_maxrss (the
    # high-water mark of the address space it replaced at exec), so ru_maxrss of a child of
    # this large process overstates it; VmHWM is the child's own peak.
    peak_kb = figures["hwm_kb"] or figures["maxrss_kb"]
    print(
        f"24 h {edf.suffix[1:].upper()} ({edf.stat().st_size / 1e6:.0f} MB, 7 channels at 15.5 Hz, "
        f"{figures['windows']} windows): read in {figures['read']:.1f} s, read to scored with "
        f"a baseline and the drift check in {figures['seconds']:.1f} s, peak resident memory of "
        f"the whole process {peak_kb / 1024:.0f} MB (VmHWM; ru_maxrss "
        f"{figures['maxrss_kb'] / 1024:.0f} MB, which includes this parent's size at fork) "
        "(target <= 500 MB)",
        flush=True,
    )


def main() -> int:
    from mlcore.train import train_and_save

    feature_speed()
    with tempfile.TemporaryDirectory() as tmp:
        # The production models (every drive), without their evaluation.
        result = train_and_save(Path(tmp), evaluate=False)
        bundle = result.model_path.parent
        inference_speed(bundle)
        edf = write_24h_edf(Path(tmp) / "day.edf")
        memory_24h(bundle, edf)
        memory_24h(bundle, write_24h_csv(Path(tmp) / "day.csv"))
    usage = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"(this process peaked at {usage:.0f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
