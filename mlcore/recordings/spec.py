"""One trained recording model's description: its channel set, its input columns (relative to
a rest baseline or not, with or without the context of the minutes before), its temperature
and its metrics.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mlcore.recordings.baseline import Baseline, relative_columns, relative_features
from mlcore.recordings.channel_sets import CHANNEL_SETS
from mlcore.recordings.windows import FEATURE_NAMES, FEATURES, features_of_roles

CONTEXT_SUFFIX = "@context"


@dataclass
class ModelSpec:
    """One trained model: which channels, which features, relative or not, and how good."""

    key: str
    channel_set: str
    calibrated: bool
    features: tuple[str, ...]  # window features used (windows.FEATURE_NAMES subset)
    columns: tuple[str, ...]  # model input columns
    mode: str | None  # relative mode when calibrated
    estimator: Any
    absolute: str = "unit_free"  # which features a calibrated model also sees as they are
    metrics: dict[str, Any] = field(default_factory=dict)
    context_s: float = 0.0  # also the features of this many seconds up to each window's end
    # Fitted on the leave-one-drive-out probabilities (mlcore.calibration); the compiled
    # scorer divides the raw scores by it. Specs pickled before it existed read the class
    # default, 1 (their answers unchanged).
    temperature: float = 1.0
    # The bundle's (format 2) copy of the model: its trees as arrays (CompiledHGB, at T = 1),
    # which score without scikit-learn; `estimator` is then None, kept beside the bundle.
    compiled: Any = None

    def inputs(
        self,
        values: np.ndarray,
        baseline: Baseline | None,
        context: np.ndarray | None = None,
    ) -> np.ndarray:
        """Window features (all FEATURE_NAMES columns; `context`: the same for each window's
        context) -> this model's input matrix."""
        index = [FEATURE_NAMES.index(n) for n in self.features]
        parts = [values[:, index]]
        if self.context_s:
            if context is None:
                raise ValueError(f"model {self.key} needs the windows' context features")
            parts.append(context[:, index])
        if not self.calibrated:
            return np.column_stack(parts)
        if baseline is None:
            raise ValueError(f"model {self.key} needs a baseline")
        mode = self.mode or "diff"
        out = [relative_features(parts[0], self.features, baseline, mode, self.absolute)]
        if self.context_s:
            out.append(relative_features(parts[1], self.features, baseline, mode, "unit_free"))
        return np.column_stack(out)


def model_key(channel_set: str, calibrated: bool) -> str:
    return f"{channel_set}/{'calibrated' if calibrated else 'population'}"


def make_spec(
    channel_set: str,
    calibrated: bool,
    mode: str,
    absolute: str = "unit_free",
    estimator: Any = None,
    context_s: float = 0.0,
) -> ModelSpec:
    features = features_of_roles(set(CHANNEL_SETS[channel_set]))
    columns = relative_columns(features, mode, absolute) if calibrated else features
    if context_s:
        context = relative_columns(features, mode, "unit_free") if calibrated else features
        columns = columns + tuple(f"{c}{CONTEXT_SUFFIX}" for c in context)
    return ModelSpec(
        key=model_key(channel_set, calibrated),
        channel_set=channel_set,
        calibrated=calibrated,
        features=features,
        columns=columns,
        mode=mode if calibrated else None,
        estimator=estimator,
        absolute=absolute,
        context_s=context_s,
    )


def describe_column(column: str) -> str:
    column, context, _ = column.partition(CONTEXT_SUFFIX)
    name, _, mode = column.partition("__")
    text = FEATURES[name][1] if name in FEATURES else name
    if context:
        text = f"{text} over the last minutes"
    if mode == "diff":
        return f"{text}, change from your rest"
    if mode == "ratio":
        return f"{text}, relative to your rest"
    if mode == "z":
        return f"{text}, compared with your rest"
    return text
