"""Compiled inference for scikit-learn's HistGradientBoostingClassifier (the recording models).

The same idea as `mlcore.readings.forest` for the forest: flatten every tree into arrays and
walk them in numba. scikit-learn's HistGradientBoosting predicts on float64 inputs, sends a
missing value (NaN) down the side each split learnt (`missing_go_to_left`), compares `x <=
threshold` in float64, and sums, per class, the baseline and then each iteration's leaf value
in order; the probabilities are the softmax of those sums. We do the same in the same order, so
the answers agree to the last bit or two (the test allows 1e-12). Categorical splits are not
used by our models and are refused.

Explanations: along each tree's path the change in the node value at every split is credited
to the split's feature (Saabas). Per class, the baseline plus every feature's credit adds up
to the raw score (log-odds) of that class.

Calibration: a model may carry a temperature T (mlcore.calibration, fitted at training); its
probabilities are then softmax(raw / T), applied in the same compiled softmax (no extra pass),
and its credits are divided by T, so they add up to the tempered scores.
"""

from __future__ import annotations

import copy
import hashlib
import io
from typing import TYPE_CHECKING

import numba
import numpy as np

if TYPE_CHECKING:  # only the type: loading a compiled model needs no scikit-learn
    from sklearn.ensemble import HistGradientBoostingClassifier


@numba.njit(cache=True, nogil=True)
def _leaf(x, i, node, feature, threshold, missing_left, right):
    while feature[node] >= 0:
        value = x[i, feature[node]]
        go_left = missing_left[node] == 1 if np.isnan(value) else value <= threshold[node]
        node = node + 1 if go_left else right[node]
    return node


@numba.njit(cache=True, nogil=True)
def _raw(x, feature, threshold, missing_left, right, value, roots, baseline):
    n, n_classes = x.shape[0], baseline.shape[0]
    n_iter = roots.shape[0] // n_classes
    out = np.empty((n, n_classes))
    for i in range(n):
        for k in range(n_classes):
            out[i, k] = baseline[k]
        for it in range(n_iter):
            for k in range(n_classes):
                leaf = _leaf(
                    x, i, roots[it * n_classes + k], feature, threshold, missing_left, right
                )
                out[i, k] += value[leaf]
    return out


@numba.njit(cache=True, nogil=True)
def _softmax(raw, scale):
    """softmax(raw * scale) per row; scale = 1 / T (1.0: exactly scikit-learn's softmax)."""
    out = np.empty_like(raw)
    for i in range(raw.shape[0]):
        top = raw[i].max()
        total = 0.0
        for k in range(raw.shape[1]):
            out[i, k] = np.exp((raw[i, k] - top) * scale)
            total += out[i, k]
        for k in range(raw.shape[1]):
            out[i, k] /= total
    return out


@numba.njit(cache=True, nogil=True)
def _contributions(x, feature, threshold, missing_left, right, value, roots, n_classes):
    n, n_features = x.shape[0], x.shape[1]
    n_iter = roots.shape[0] // n_classes
    contributions = np.zeros((n, n_features, n_classes))
    for i in range(n):
        for it in range(n_iter):
            for k in range(n_classes):
                node = roots[it * n_classes + k]
                while feature[node] >= 0:
                    f = feature[node]
                    v = x[i, f]
                    go_left = missing_left[node] == 1 if np.isnan(v) else v <= threshold[node]
                    child = node + 1 if go_left else right[node]
                    contributions[i, f, k] += value[child] - value[node]
                    node = child
    return contributions


class CompiledHGB:
    """predict_proba for an (n, n_features) float64 array (NaN = missing), exact against
    scikit-learn, in microseconds per row.

    `temperature` (fitted at training, mlcore.calibration): the probabilities are
    softmax(raw / T), the calibrated confidence; T = 1 gives scikit-learn's exactly. Every
    level is the same whatever T."""

    def __init__(self, model: HistGradientBoostingClassifier, temperature: float = 1.0) -> None:
        if not temperature > 0:
            raise ValueError(f"temperature must be positive, got {temperature!r}")
        self.temperature = float(temperature)
        if model.n_trees_per_iteration_ < 2:  # pragma: no cover - we always have 3 classes
            raise ValueError("only multiclass models are supported")
        if getattr(model, "is_categorical_", None) is not None and model.is_categorical_.any():
            raise ValueError("categorical splits are not supported")
        self.n_classes = int(model.n_trees_per_iteration_)
        self.n_features = int(model.n_features_in_)
        self.classes_ = np.asarray(model.classes_)
        features, thresholds, missing, rights, values, roots = [], [], [], [], [], []
        offset = 0
        for iteration in model._predictors:
            for predictor in iteration:
                nodes = predictor.nodes
                internal = nodes["is_leaf"] == 0
                # Re-lay each tree depth first, so the left child is always the next node.
                order = _depth_first(nodes)
                position = np.empty(len(nodes), dtype=np.int64)
                position[order] = np.arange(len(nodes))
                laid = nodes[order]
                laid_internal = internal[order]
                features.append(np.where(laid_internal, laid["feature_idx"], -1))
                thresholds.append(laid["num_threshold"])
                missing.append(laid["missing_go_to_left"])
                rights.append(
                    np.where(laid_internal, position[laid["right"].astype(np.int64)] + offset, -1)
                )
                values.append(laid["value"])
                roots.append(offset)
                offset += len(nodes)
        self.feature = np.ascontiguousarray(np.concatenate(features), dtype=np.int32)
        self.threshold = np.ascontiguousarray(np.concatenate(thresholds), dtype=np.float64)
        self.missing_left = np.ascontiguousarray(np.concatenate(missing), dtype=np.uint8)
        self.right = np.ascontiguousarray(np.concatenate(rights), dtype=np.int32)
        self.value = np.ascontiguousarray(np.concatenate(values), dtype=np.float64)
        self.roots = np.asarray(roots, dtype=np.int32)
        self.baseline = np.ascontiguousarray(
            np.asarray(model._baseline_prediction, dtype=np.float64).reshape(-1)
        )
        self.warm_up()

    def warm_up(self) -> None:
        """Compile (or load from numba's cache) the kernels now, not on the first window."""
        self.predict_proba(np.zeros((1, self.n_features)))
        self.explain(np.zeros((1, self.n_features)))

    def tempered(self, temperature: float) -> CompiledHGB:
        """The same trees answering with another temperature (the arrays are shared)."""
        if not temperature > 0:
            raise ValueError(f"temperature must be positive, got {temperature!r}")
        other = copy.copy(self)
        other.temperature = float(temperature)
        return other

    # A personal model is stored in the database as these arrays (numpy's own format, no
    # pickle: loading it runs no code), not as a fitted scikit-learn object.
    _ARRAYS = ("feature", "threshold", "missing_left", "right", "value", "roots", "baseline")

    def to_bytes(self) -> bytes:
        buffer = io.BytesIO()
        np.savez_compressed(
            buffer,
            temperature=np.float64(self.temperature),
            classes=np.asarray(self.classes_, dtype=np.int64),
            n_features=np.int64(self.n_features),
            **{name: getattr(self, name) for name in self._ARRAYS},
        )
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> CompiledHGB:
        with np.load(io.BytesIO(data), allow_pickle=False) as arrays:
            self = cls.__new__(cls)
            for name in cls._ARRAYS:
                setattr(self, name, np.ascontiguousarray(arrays[name]))
            self.temperature = float(arrays["temperature"])
            self.classes_ = arrays["classes"]
            self.n_features = int(arrays["n_features"])
        self.n_classes = int(self.baseline.shape[0])
        return self

    def _args(self):
        return (self.feature, self.threshold, self.missing_left, self.right, self.value)

    def _as_input(self, x: np.ndarray) -> np.ndarray:
        rows = np.ascontiguousarray(x, dtype=np.float64)
        if rows.ndim != 2 or rows.shape[1] != self.n_features:
            raise ValueError(f"expected an (n, {self.n_features}) array, got {rows.shape}")
        return rows

    def raw(self, x: np.ndarray) -> np.ndarray:
        return _raw(self._as_input(x), *self._args(), self.roots, self.baseline)

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        """Calibrated probabilities: softmax(raw / temperature)."""
        return _softmax(self.raw(x), 1.0 / self.temperature)

    def predict_proba_uncalibrated(self, x: np.ndarray) -> np.ndarray:
        """scikit-learn's predict_proba (T = 1), for comparison."""
        return _softmax(self.raw(x), 1.0)

    def explain(self, x: np.ndarray) -> np.ndarray:
        """(n, n_features, n_classes) credits in the calibrated log-odds' units: per class,
        baseline / T plus the credits add up to raw / T, the score the probabilities come
        from (T = 1: the raw score)."""
        credits = _contributions(self._as_input(x), *self._args(), self.roots, self.n_classes)
        if self.temperature != 1.0:
            credits /= self.temperature
        return credits

    def fingerprint(self) -> str:
        digest = hashlib.sha256()
        for array in (*self._args(), self.roots, self.baseline):
            digest.update(np.ascontiguousarray(array).tobytes())
        if self.temperature != 1.0:  # as before for T = 1: the same answers, the same print
            digest.update(np.float64(self.temperature).tobytes())
        return digest.hexdigest()


def _depth_first(nodes: np.ndarray) -> np.ndarray:
    order: list[int] = []
    stack = [0]
    while stack:
        node = stack.pop()
        order.append(node)
        if not nodes["is_leaf"][node]:
            stack.append(int(nodes["right"][node]))
            stack.append(int(nodes["left"][node]))
    return np.asarray(order, dtype=np.int64)
