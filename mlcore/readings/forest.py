"""Fast, exact inference for a scikit-learn random forest, and its path explanations.

scikit-learn spends ~3 ms on one row (input validation and a thread pool per call) and is not
the fastest on large batches either. We flatten the forest into four arrays and walk them in
compiled code (numba): microseconds for one row, parallel blocks for a million.

Exactness: scikit-learn casts inputs to float32 and compares `x <= threshold` with the float64
threshold. We store each threshold as the largest float32 not above it, which makes the float32
comparison decide every split exactly as scikit-learn does; leaf probabilities are float64 and
averaged in the same order, so answers agree to rounding (~1e-16).

Calibration: the forest's vote is tempered by the temperature fitted at training
(mlcore.calibration) in one more compiled pass over the (n, 3) probabilities; a forest with
T = 1 answers its vote exactly.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numba
import numpy as np

from mlcore.calibration import PROBABILITY_FLOOR
from mlcore.readings.features import CLASSES, FEATURE_NAMES

if TYPE_CHECKING:  # scikit-learn (and pandas, scipy) cost a serving process ~120 MB
    from sklearn.ensemble import RandomForestClassifier

# Below this many rows the thread start-up of the parallel kernel costs more than it saves.
PARALLEL_MIN_ROWS = 4096
BLOCK_ROWS = 2048


@numba.njit(cache=True, nogil=True)
def _accumulate_block(x, lo, hi, feature, threshold, right, value, roots, out):
    n_classes = value.shape[1]
    for t in range(roots.shape[0]):
        root = roots[t]
        for i in range(lo, hi):
            node = root
            while feature[node] >= 0:
                # Trees are stored depth first: the left child is always the next node.
                if x[i, feature[node]] <= threshold[node]:
                    node += 1
                else:
                    node = right[node]
            for c in range(n_classes):
                out[i, c] += value[node, c]


@numba.njit(cache=True, nogil=True)
def _proba_serial(x, feature, threshold, right, value, roots):
    out = np.zeros((x.shape[0], value.shape[1]))
    _accumulate_block(x, 0, x.shape[0], feature, threshold, right, value, roots, out)
    return out / roots.shape[0]


@numba.njit(cache=True, nogil=True, parallel=True)
def _proba_parallel(x, feature, threshold, right, value, roots, block):
    n = x.shape[0]
    out = np.zeros((n, value.shape[1]))
    n_blocks = (n + block - 1) // block
    for b in numba.prange(n_blocks):
        _accumulate_block(
            x, b * block, min(n, (b + 1) * block), feature, threshold, right, value, roots, out
        )
    return out / roots.shape[0]


@numba.njit(cache=True, nogil=True)
def _proba_and_contributions(x, feature, threshold, right, value, roots):
    """Path decomposition (Saabas): along each tree's path, the change in class probability at
    every split is credited to that split's feature. bias + sum(contributions) = probability.
    The same walk sums the leaves, tree by tree as _proba_serial does, so the probabilities
    come out identical to predict_proba's."""
    n, n_features, n_classes = x.shape[0], x.shape[1], value.shape[1]
    out = np.zeros((n, n_classes))
    contributions = np.zeros((n, n_features, n_classes))
    bias = np.zeros(n_classes)
    n_trees = roots.shape[0]
    for t in range(n_trees):
        for c in range(n_classes):
            bias[c] += value[roots[t], c]
    for i in range(n):
        for t in range(n_trees):
            node = roots[t]
            while feature[node] >= 0:
                f = feature[node]
                child = node + 1 if x[i, f] <= threshold[node] else right[node]
                for c in range(n_classes):
                    contributions[i, f, c] += value[child, c] - value[node, c]
                node = child
            for c in range(n_classes):
                out[i, c] += value[node, c]
    return out / n_trees, bias / n_trees, contributions / n_trees


@numba.njit(cache=True, nogil=True)
def _temper(proba, inverse_t, floor):
    """In place, per row: softmax(log(max(p, floor)) / T) = max(p, floor) ** (1 / T),
    normalised (mlcore.calibration.temper, in one compiled pass)."""
    n_classes = proba.shape[1]
    for i in range(proba.shape[0]):
        total = 0.0
        for c in range(n_classes):
            proba[i, c] = max(proba[i, c], floor) ** inverse_t
            total += proba[i, c]
        for c in range(n_classes):
            proba[i, c] /= total
    return proba


def _float32_floor(threshold: np.ndarray) -> np.ndarray:
    """The largest float32 <= each float64 threshold: for any float32 x,
    x <= t  <=>  x <= floor32(t)."""
    as32 = threshold.astype(np.float32)
    too_high = as32.astype(np.float64) > threshold
    as32[too_high] = np.nextafter(as32[too_high], np.float32(-np.inf))
    return as32


@dataclass(frozen=True)
class PredictorArrays:
    """The flattened forest: what `Predictor` walks, and what the served artifact stores."""

    feature: np.ndarray  # (n_nodes,) int32, -1 at a leaf
    threshold: np.ndarray  # (n_nodes,) float32
    right: np.ndarray  # (n_nodes,) int32, -1 at a leaf
    value: np.ndarray  # (n_nodes, n_classes) float64, each row sums to 1
    roots: np.ndarray  # (n_trees,) int32

    def to_dict(self) -> dict[str, np.ndarray]:
        return {name: getattr(self, name) for name in _ARRAY_DTYPES}

    @classmethod
    def from_dict(cls, data: dict[str, np.ndarray]) -> PredictorArrays:
        arrays = {
            name: np.ascontiguousarray(data[name], dtype=dtype)
            for name, dtype in _ARRAY_DTYPES.items()
        }
        feature, right, roots = arrays["feature"], arrays["right"], arrays["roots"]
        n_nodes = feature.shape[0]
        # The compiled walk does not check its indices: every one must point inside.
        if (
            any(arrays[name].shape != (n_nodes,) for name in ("threshold", "right"))
            or arrays["value"].shape != (n_nodes, len(CLASSES))
            or roots.ndim != 1
            or not ((feature >= -1) & (feature < len(FEATURE_NAMES))).all()
            or not ((right >= -1) & (right < n_nodes)).all()
            or not ((roots >= 0) & (roots < n_nodes)).all()
        ):
            raise ValueError("the forest's arrays do not fit together")
        return cls(**arrays)


_ARRAY_DTYPES = {
    "feature": np.int32,
    "threshold": np.float32,
    "right": np.int32,
    "value": np.float64,
    "roots": np.int32,
}


@dataclass(frozen=True)
class Explanation:
    """Per-row contributions of each feature to each class probability."""

    bias: np.ndarray  # (n_classes,)
    contributions: np.ndarray  # (n_rows, n_features, n_classes)


class Predictor:
    """predict_proba on an (n, 5) array of contract features, fast for 1 row and for 1M.

    `temperature` (fitted at training, mlcore.calibration): the probabilities are the
    forest's vote tempered, softmax(log(max(vote, PROBABILITY_FLOOR)) / T), the calibrated
    confidence; T = 1 gives the vote itself (scikit-learn's predict_proba). The explanation
    stays in the vote's units: bias + contributions = the vote, before tempering."""

    classes: tuple[str, ...] = CLASSES
    feature_names: tuple[str, ...] = FEATURE_NAMES

    def __init__(self, forest: RandomForestClassifier, temperature: float = 1.0) -> None:
        if list(forest.classes_) != list(range(len(CLASSES))):
            raise ValueError(f"forest classes {forest.classes_} are not 0..{len(CLASSES) - 1}")
        self._set_temperature(temperature)
        features, thresholds, rights, values, roots = [], [], [], [], []
        offset = 0
        for estimator in forest.estimators_:
            tree = estimator.tree_
            internal = tree.children_left >= 0
            if not np.array_equal(
                tree.children_left[internal], np.flatnonzero(internal) + 1
            ):  # pragma: no cover - only best-first (max_leaf_nodes) trees break this
                raise ValueError("tree is not stored depth first")
            features.append(np.where(internal, tree.feature, -1))
            thresholds.append(tree.threshold)
            rights.append(np.where(internal, tree.children_right + offset, -1))
            raw = tree.value[:, 0, :]
            values.append(raw / raw.sum(axis=1, keepdims=True))
            roots.append(offset)
            offset += tree.node_count
        self.feature = np.ascontiguousarray(np.concatenate(features), dtype=np.int32)
        self.threshold = np.ascontiguousarray(_float32_floor(np.concatenate(thresholds)))
        self.right = np.ascontiguousarray(np.concatenate(rights), dtype=np.int32)
        self.value = np.ascontiguousarray(np.concatenate(values), dtype=np.float64)
        self.roots = np.asarray(roots, dtype=np.int32)
        self.n_nodes = offset
        self._warm_up()

    @classmethod
    def from_arrays(cls, arrays: PredictorArrays, temperature: float = 1.0) -> Predictor:
        """The same predictor from its stored arrays, with no scikit-learn forest to read."""
        predictor = cls.__new__(cls)
        predictor._set_temperature(temperature)
        for name, array in arrays.to_dict().items():
            setattr(predictor, name, array)
        predictor.n_nodes = int(arrays.feature.shape[0])
        predictor._warm_up()
        return predictor

    def arrays(self) -> PredictorArrays:
        return PredictorArrays(**{name: getattr(self, name) for name in _ARRAY_DTYPES})

    def _set_temperature(self, temperature: float) -> None:
        if not temperature > 0:
            raise ValueError(f"temperature must be positive, got {temperature!r}")
        self.temperature = float(temperature)

    def _warm_up(self) -> None:
        # Compile (or load from numba's cache) the kernels now, not on the first request.
        row = np.full((1, len(FEATURE_NAMES)), 0.5, dtype=np.float32)
        _temper(np.full((1, len(CLASSES)), 0.5), 0.5, PROBABILITY_FLOOR)
        self.predict_proba(row)
        self.predict_proba(np.repeat(row, PARALLEL_MIN_ROWS, axis=0))
        self.predict_and_explain(row)

    def _as_input(self, x: np.ndarray) -> np.ndarray:
        rows = np.ascontiguousarray(x, dtype=np.float32)
        if rows.ndim != 2 or rows.shape[1] != len(FEATURE_NAMES):
            raise ValueError(f"expected an (n, {len(FEATURE_NAMES)}) array, got {rows.shape}")
        if not np.isfinite(rows).all():
            raise ValueError("inputs must be finite numbers")
        return rows

    def predict_proba(self, x: np.ndarray, *, parallel: bool = True) -> np.ndarray:
        """parallel=False for a caller that already keeps every core busy (a batch worker
        per core): threads there only add their overhead."""
        return self._tempered(self.vote(x, parallel=parallel))

    def vote(self, x: np.ndarray, *, parallel: bool = True) -> np.ndarray:
        """The forest's vote (scikit-learn's predict_proba), before calibration."""
        rows = self._as_input(x)
        args = (self.feature, self.threshold, self.right, self.value, self.roots)
        if not parallel or rows.shape[0] < PARALLEL_MIN_ROWS:
            return _proba_serial(rows, *args)
        return _proba_parallel(rows, *args, BLOCK_ROWS)

    def _tempered(self, vote: np.ndarray) -> np.ndarray:
        if self.temperature == 1.0:
            return vote
        return _temper(vote, 1.0 / self.temperature, PROBABILITY_FLOOR)

    def explain(self, x: np.ndarray) -> Explanation:
        return self.predict_and_explain(x)[1]

    def predict_and_explain(self, x: np.ndarray) -> tuple[np.ndarray, Explanation]:
        """predict_proba (serial) and explain in one pass over the trees."""
        rows = self._as_input(x)
        vote, bias, contributions = _proba_and_contributions(
            rows, self.feature, self.threshold, self.right, self.value, self.roots
        )
        return self._tempered(vote), Explanation(bias=bias, contributions=contributions)

    def fingerprint(self) -> str:
        """A hash of the flattened forest (and its temperature): equal fingerprints mean
        identical predictions."""
        digest = hashlib.sha256()
        for array in (self.feature, self.threshold, self.right, self.value, self.roots):
            digest.update(array.tobytes())
        if self.temperature != 1.0:  # as before for T = 1: the same answers, the same print
            digest.update(np.float64(self.temperature).tobytes())
        return digest.hexdigest()
