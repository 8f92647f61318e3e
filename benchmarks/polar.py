"""Polar benchmark: an hour of Polar Sensor Logger ECG (H10, 130 Hz) read and scored.

    python -m benchmarks.polar

Writes, in a temporary folder, 1 h of a Polar H10 ECG file exactly as the app writes it
(';'-separated, phone and sensor timestamps, 73-sample packets). The ECG is synthetic, since
drivedb holds ECG at 15.5 Hz only: its beats follow drive06's beat-to-beat HR channel, with
one PQRST complex from NeuroKit2's ecg_simulate (ECGSYN) at each beat (the writer of
mlcore/tests/readers/test_polar_reader.py). Then a fresh subprocess reads it with
read_recording and scores it with the quick recording models (mlcore.train.train_and_save
(quick=True) on three drives, as the tests train them): preparing includes HR from the ECG's
R-peaks (NeuroKit2), scoring the windows and the model. Its peak memory is the child's own
VmHWM (see benchmarks/recordings.py for why not ru_maxrss).

Targets (<= 5 s, <= 500 MB peak) are stated for 24 h; the figures printed are 1 h's.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

from threadpoolctl import threadpool_limits

from benchmarks.recordings import measured_in_a_child
from mlcore import drivedb

ROOT = Path(__file__).resolve().parents[1]
# BENCH_POLAR_HOURS=24 measures a day (a 700 MB file); make bench measures the hour.
SECONDS = float(os.environ.get("BENCH_POLAR_HOURS", "1")) * 3600.0
BUNDLE_DRIVES = ["drive05", "drive07", "drive08"]

CHILD = """
import json, time
t0 = time.perf_counter()
from mlcore.readers import read_recording
from mlcore.recordings.scorer import RecordingScorer
scorer = RecordingScorer.load({bundle!r})
loaded = time.perf_counter() - t0
t0 = time.perf_counter()
recording = read_recording({path!r}, {name!r})
read = time.perf_counter() - t0
t0 = time.perf_counter()
prepared = scorer.prepare(recording)
prepare = time.perf_counter() - t0
t0 = time.perf_counter()
result = scorer.score(prepared)
score = time.perf_counter() - t0
hwm = [line for line in open('/proc/self/status') if line.startswith('VmHWM')]
ecg = recording.channel('ecg')
print(json.dumps({{
    'loaded': loaded, 'read': read, 'prepare': prepare, 'score': score,
    'rate': ecg.rate_hz, 'samples': int(ecg.samples.shape[0]),
    'duration': recording.duration_s, 'start': str(recording.start_time),
    'derived': dict(prepared.signals.derived), 'channel_set': result.channel_set,
    'windows': len(result.windows), 'unscored': len(result.unscored),
    'hwm_kb': int(hwm[0].split()[1]) if hwm else None,
}}))
"""


def write_hour(folder: Path) -> Path:
    from mlcore.tests.readers.test_polar_reader import drive_beats, synthetic_ecg, write_ecg

    drive = drivedb.load_drive("drive06")
    beats = drive_beats(drive, 0.0, SECONDS)
    ecg = synthetic_ecg(beats, SECONDS)
    return write_ecg(folder / "Polar_H10_ABCD1234_20260314_093000_ECG.txt", ecg)


def main() -> int:
    from mlcore.train import train_and_save

    with tempfile.TemporaryDirectory(prefix="polar-bench-") as tmp:
        folder = Path(tmp)
        started = time.perf_counter()
        path = write_hour(folder)
        written = time.perf_counter() - started
        print(
            f"wrote {SECONDS / 3600:g} h of Polar Sensor Logger ECG at 130 Hz "
            f"({path.stat().st_size / 1e6:.1f} MB) "
            f"in {written:.1f} s: a SYNTHETIC ECG (drivedb has ECG at 15.5 Hz only), its beats "
            "following drive06's HR, one NeuroKit2 ECGSYN complex per beat",
            flush=True,
        )
        with threadpool_limits(limits=1, user_api="openmp"):
            bundle = train_and_save(folder / "bundle", quick=True, drive_names=BUNDLE_DRIVES)
        code = CHILD.format(bundle=str(bundle.model_path.parent), path=str(path), name=path.name)
        figures = measured_in_a_child(code)
    peak = figures["hwm_kb"] / 1024 if figures["hwm_kb"] else float("nan")
    scoring = figures["prepare"] + figures["score"]
    print(
        f"read: {figures['read']:.2f} s ({figures['samples']:,} samples at "
        f"{figures['rate']:.4f} Hz, {figures['duration'] / 3600:.2f} h, start "
        f"{figures['start']} local)",
        flush=True,
    )
    print(
        f"scoring: {scoring:.2f} s = prepare {figures['prepare']:.2f} s (HR from "
        f"{figures['derived'].get('hr', '?')}, model-rate signals, window features) + score "
        f"{figures['score']:.2f} s ({figures['channel_set']}, {figures['windows']} windows scored, "
        f"{figures['unscored']} unscored); loading the models {figures['loaded']:.1f} s",
        flush=True,
    )
    print(
        f"peak resident memory of the reading and scoring process: {peak:.0f} MB (VmHWM)",
        flush=True,
    )
    print(
        f"targets (<= 5 s, <= 500 MB peak) are for 24 h; these are {SECONDS / 3600:g} h's "
        "figures: read "
        f"{figures['read']:.2f} s, read and scored {figures['read'] + scoring:.2f} s, peak "
        f"{peak:.0f} MB",
        flush=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
