"""Calibrated confidence: one temperature per model, and how calibrated its answers are.

Every model's class probabilities are tempered by one scalar T fitted at training on its
leave-one-drive-out (out-of-fold) probabilities: p -> softmax(log(p) / T). T > 1 softens an
over-confident model, T < 1 sharpens an under-confident one; the order of the classes in
every row, and so every level, is unchanged (log and division by a positive T keep it).

For a HistGradientBoosting model log(p) is its raw score up to a per-row constant, so the
compiled scorer tempers the raw scores (softmax(raw / T), exact). A random forest's vote may
give a class 0: its probabilities are floored at PROBABILITY_FLOOR before the log, in fitting
and serving alike (the same transform both times).

Expected calibration error (ECE): windows binned by their confidence (the top probability)
into ECE_BINS equal-width bins over [0, 1]; the mean over bins, weighted by their share of the
windows, of |accuracy - mean confidence|. Defined here only; the card, training and selection
use these functions.
"""

from __future__ import annotations

from typing import Any

import numpy as np

ECE_BINS = 10
# What the card and the training command check every shipped model against (after T).
ECE_TARGET = 0.04
TEMPERATURE_BOUNDS = (0.05, 20.0)
# A forest's vote for a class no tree chose: log(0) would make that class impossible at any T.
PROBABILITY_FLOOR = 1e-3


def temper(proba: np.ndarray, temperature: float, floor: float = 0.0) -> np.ndarray:
    """softmax(log(max(p, floor)) / T) per row; T = 1 returns the probabilities as they are."""
    proba = np.asarray(proba, dtype=np.float64)
    if temperature == 1.0:
        return proba
    with np.errstate(divide="ignore"):
        logits = np.log(np.maximum(proba, floor)) / temperature
    return softmax(logits)


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=1, keepdims=True)
    out = np.exp(shifted)
    out /= out.sum(axis=1, keepdims=True)
    return out


def negative_log_likelihood(proba: np.ndarray, labels: np.ndarray) -> float:
    rows = np.arange(labels.shape[0])
    return float(-np.mean(np.log(np.maximum(proba[rows, labels], 1e-300))))


def fit_temperature(proba: np.ndarray, labels: np.ndarray, floor: float = 0.0) -> float:
    """The T in TEMPERATURE_BOUNDS minimising the negative log-likelihood of `labels` under
    temper(proba, T) (bounded scalar search on log T)."""
    from scipy.optimize import minimize_scalar

    proba = np.asarray(proba, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.int64)
    if labels.shape[0] == 0:
        return 1.0
    with np.errstate(divide="ignore"):
        logits = np.log(np.maximum(proba, floor))
    rows = np.arange(labels.shape[0])

    def nll(log_t: float) -> float:
        z = logits / np.exp(log_t)
        finite = np.where(np.isfinite(z), z, -np.inf)
        top = finite.max(axis=1, keepdims=True)
        log_norm = top[:, 0] + np.log(np.exp(finite - top).sum(axis=1))
        return float(np.mean(log_norm - finite[rows, labels]))

    low, high = np.log(TEMPERATURE_BOUNDS)
    result = minimize_scalar(nll, bounds=(low, high), method="bounded", options={"xatol": 1e-5})
    return float(np.exp(result.x))


def _bins(confidence: np.ndarray, bins: int) -> np.ndarray:
    # Bin b holds confidences in (b/bins, (b+1)/bins]; a confidence of 0 goes to the first.
    return np.clip(np.ceil(confidence * bins).astype(np.int64) - 1, 0, bins - 1)


def expected_calibration_error(
    proba: np.ndarray, labels: np.ndarray, bins: int = ECE_BINS
) -> float:
    proba = np.asarray(proba, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.int64)
    if labels.shape[0] == 0:
        return 0.0
    confidence = proba.max(axis=1)
    correct = (proba.argmax(axis=1) == labels).astype(np.float64)
    which = _bins(confidence, bins)
    total = 0.0
    for b in range(bins):
        inside = which == b
        if inside.any():
            total += inside.mean() * abs(correct[inside].mean() - confidence[inside].mean())
    return float(total)


def reliability_table(
    proba: np.ndarray, labels: np.ndarray, bins: int = ECE_BINS
) -> list[dict[str, Any]]:
    """Per confidence bin with windows in it: its range, how many windows, their mean
    confidence and how often they were right."""
    proba = np.asarray(proba, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.int64)
    confidence = proba.max(axis=1)
    correct = proba.argmax(axis=1) == labels
    which = _bins(confidence, bins)
    rows = []
    for b in range(bins):
        inside = which == b
        if not inside.any():
            continue
        rows.append(
            {
                "bin": [round(b / bins, 4), round((b + 1) / bins, 4)],
                "count": int(inside.sum()),
                "mean_confidence": round(float(confidence[inside].mean()), 4),
                "accuracy": round(float(correct[inside].mean()), 4),
            }
        )
    return rows


def calibration_metrics(
    proba: np.ndarray,
    labels: np.ndarray,
    drives: np.ndarray | None = None,
    floor: float = 0.0,
) -> dict[str, Any]:
    """What the card says about a model's confidence, from its out-of-fold probabilities: T,
    ECE before and after, the reliability table after. With `drives`, also the ECE when each
    drive's probabilities are tempered by a T fitted on the other drives only (T itself is
    fitted on the same probabilities the ECE is measured on: this says how much that flatters
    it)."""
    temperature = fit_temperature(proba, labels, floor)
    tempered = temper(proba, temperature, floor)
    out: dict[str, Any] = {
        "temperature": round(temperature, 4),
        "ece_raw": round(expected_calibration_error(proba, labels), 4),
        "ece": round(expected_calibration_error(tempered, labels), 4),
        "reliability": reliability_table(tempered, labels),
        "reliability_raw": reliability_table(proba, labels),
    }
    # Whether any temperature could meet the target: the lowest ECE over a grid of T (the
    # card says so where none can, rather than choosing T to flatter the metric).
    grid = np.exp(np.linspace(np.log(0.5), np.log(10.0), 120))
    eces = [expected_calibration_error(temper(proba, t, floor), labels) for t in grid]
    best = int(np.argmin(eces))
    out["ece_lowest_any_temperature"] = round(float(eces[best]), 4)
    out["temperature_lowest_ece"] = round(float(grid[best]), 3)
    out["ece_sampling_floor"] = sampling_floor(tempered)
    if drives is not None:
        held_out = np.empty_like(tempered)
        for drive in np.unique(drives):
            mine = drives == drive
            t = fit_temperature(proba[~mine], labels[~mine], floor)
            held_out[mine] = temper(proba[mine], t, floor)
        out["ece_temperature_held_out"] = round(expected_calibration_error(held_out, labels), 4)
    return out


# Draws of the sampling floor: enough for a stable 95th percentile, cheap at training.
FLOOR_DRAWS = 200


def sampling_floor(proba: np.ndarray, draws: int = FLOOR_DRAWS) -> dict[str, float]:
    """The ECE a perfectly calibrated model with these confidences shows from sampling
    alone: labels drawn from the probabilities themselves, `draws` times (a fixed seed, so a
    card is reproducible). Its mean and 95th percentile say how far below them no measured
    ECE on this many windows can be told apart from perfect; windows of one drive are not
    independent, so the true floor lies higher still."""
    proba = np.asarray(proba, dtype=np.float64)
    if proba.shape[0] == 0:
        return {"mean": 0.0, "p95": 0.0}
    rng = np.random.default_rng(0)
    cumulative = np.cumsum(proba, axis=1)
    values = []
    for _ in range(draws):
        u = rng.random(proba.shape[0])[:, None]
        labels = np.minimum((u > cumulative).sum(axis=1), proba.shape[1] - 1)
        values.append(expected_calibration_error(proba, labels))
    return {
        "mean": round(float(np.mean(values)), 4),
        "p95": round(float(np.quantile(values, 0.95)), 4),
    }
