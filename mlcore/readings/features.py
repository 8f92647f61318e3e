"""The input contract: five features, their order, units and valid ranges; the three classes.

This module is the single definition; the API, the forms and training all read it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Feature:
    name: str
    unit: str
    minimum: float
    maximum: float
    description: str
    label: str  # for a form field: "GSR (skin conductance)"
    plain_name: str  # inside a sentence: "skin conductance (GSR)"
    short_unit: str  # beside a number: "bpm", "0-1"

    def to_dict(self) -> dict[str, object]:
        """The public contract (GET /api/features)."""
        public = ("name", "unit", "minimum", "maximum", "description", "label")
        return {key: value for key, value in asdict(self).items() if key in public}


FEATURES: tuple[Feature, ...] = (
    Feature(
        "heart_rate",
        "beats per minute",
        40.0,
        200.0,
        "Mean heart rate over the window.",
        "Heart rate",
        "heart rate",
        "bpm",
    ),
    Feature(
        "ecg",
        "normalised 0-1",
        0.0,
        1.0,
        "Electrical cardiac activity: the ECG signal's variability over the window, mapped to 0-1.",
        "ECG (cardiac signal)",
        "cardiac signal (ECG)",
        "0-1",
    ),
    Feature(
        "emg",
        "normalised 0-1",
        0.0,
        1.0,
        "Muscle activity: mean EMG level over the window, mapped to 0-1.",
        "EMG (muscle activity)",
        "muscle activity (EMG)",
        "0-1",
    ),
    Feature(
        "gsr",
        "normalised 0-1",
        0.0,
        1.0,
        "Galvanic skin response (skin conductance): mean hand GSR level, mapped to 0-1.",
        "GSR (skin conductance)",
        "skin conductance (GSR)",
        "0-1",
    ),
    Feature(
        "respiration",
        "normalised 0-1",
        0.0,
        1.0,
        "Breathing signal: breathing amplitude (variability of the chest belt) mapped to 0-1.",
        "Respiration (breathing)",
        "breathing",
        "0-1",
    ),
)
FEATURE_NAMES: tuple[str, ...] = tuple(f.name for f in FEATURES)
FEATURES_BY_NAME: dict[str, Feature] = {f.name: f for f in FEATURES}

CLASSES: tuple[str, ...] = ("low", "medium", "high")
CLASS_DESCRIPTIONS: dict[str, str] = {
    "low": "Resting level (drivedb: rest segments).",
    "medium": "Moderate load (drivedb: highway driving).",
    "high": "High load (drivedb: city driving).",
}


def out_of_range_message(feature: Feature) -> str:
    return f"{feature.name} must be between {feature.minimum:g} and {feature.maximum:g}."
