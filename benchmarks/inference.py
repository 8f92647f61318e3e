"""Inference benchmark: µs/row and rows/s per engine at batch sizes 1, 100, 10k and 1M, the
explanation cost, the artifact's size and its load time.

    make bench            (or: python -m benchmarks.inference)

Uses a model trained with the production parameters on the bundled data (no evaluation).
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from mlcore.artifacts import load_artifact
from mlcore.readings.features import FEATURES
from mlcore.readings.forest import Predictor
from mlcore.train import train_and_save

BATCH_SIZES = (1, 100, 10_000, 1_000_000)


def valid_rows(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    low = np.array([f.minimum for f in FEATURES])
    high = np.array([f.maximum for f in FEATURES])
    return low + rng.random((n, len(FEATURES))) * (high - low)


def per_call_seconds(fn: Callable[[], object], min_seconds: float = 1.0, max_calls: int = 20000):
    """Median seconds per call over repeated calls (at least 3, about min_seconds in all)."""
    fn()  # warm
    timings: list[float] = []
    started = time.perf_counter()
    while len(timings) < 3 or (
        time.perf_counter() - started < min_seconds and len(timings) < max_calls
    ):
        t0 = time.perf_counter()
        fn()
        timings.append(time.perf_counter() - t0)
    return statistics.median(timings)


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        print("training a model with the production parameters (no evaluation)...", flush=True)
        result = train_and_save(Path(tmp), evaluate=False, recording=False)
        size = result.model_path.stat().st_size
        load_times = []
        for _ in range(5):
            t0 = time.perf_counter()
            artifact = load_artifact(result.model_path, expected_sha256=result.sha256)
            predictor = Predictor(artifact.forest)
            load_times.append(time.perf_counter() - t0)
        forest = artifact.forest
        print(
            f"artifact: {size / 1e6:.2f} MB, {predictor.n_nodes} nodes in "
            f"{predictor.roots.shape[0]} trees; load (verify sha256 + unpickle + build + warm): "
            f"median {statistics.median(load_times) * 1000:.0f} ms"
        )
        # A served model carries the temperature fitted at training (mlcore.calibration);
        # evaluate=False fits none, so the tempered engine uses a typical one.
        tempered = Predictor(forest, temperature=1.35)
        engines: dict[str, Callable[[np.ndarray], np.ndarray]] = {
            "sklearn": forest.predict_proba,
            "compiled (ours)": predictor.predict_proba,
            "compiled, T=1.35": tempered.predict_proba,
        }
        print(f"\n{'engine':<16} {'batch':>9} {'us/row':>10} {'rows/s':>14}")
        for size_rows in BATCH_SIZES:
            rows = valid_rows(size_rows)
            for name, engine in engines.items():
                budget = 3.0 if size_rows == 1_000_000 else 1.0
                seconds = per_call_seconds(lambda e=engine, r=rows: e(r), min_seconds=budget)
                print(
                    f"{name:<16} {size_rows:>9} {seconds / size_rows * 1e6:>10.2f} "
                    f"{size_rows / seconds:>14,.0f}",
                    flush=True,
                )
        rows = valid_rows(100_000, seed=1)
        diff = np.abs(predictor.predict_proba(rows) - forest.predict_proba(rows)).max()
        print(f"\nmax |ours - sklearn| on 100k random valid rows: {diff:.2e}")
        for size_rows in (1, 100):
            rows = valid_rows(size_rows, seed=2)
            seconds = per_call_seconds(lambda r=rows: predictor.explain(r))
            print(
                f"explanation (path contributions), batch {size_rows}: "
                f"{seconds / size_rows * 1e6:.1f} us/row"
            )
        # What the API pays per reading: probabilities alone, or with the explanation from
        # the same walk of the trees (predict_and_explain, the API's path).
        one = valid_rows(1, seed=3)
        alone = per_call_seconds(lambda: predictor.predict_proba(one))
        both = per_call_seconds(lambda: predictor.predict_and_explain(one))
        print(
            f"one reading: probabilities {alone * 1e6:.1f} us, probabilities + explanation in "
            f"one pass {both * 1e6:.1f} us (the explanation adds {(both - alone) * 1e6:.1f} us)"
        )
        calibrated = per_call_seconds(lambda: tempered.predict_and_explain(one))
        print(
            f"one reading with a temperature (calibrated, as served): probabilities + "
            f"explanation {calibrated * 1e6:.1f} us (the temperature adds "
            f"{(calibrated - both) * 1e6:.1f} us)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
