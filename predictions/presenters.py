"""Turning predictions into what pages show: plain-word explanations and one number per
reading (the timeline's SVG is shaped in predictions.charts).
No queries here; selectors fetch, these shape."""

from __future__ import annotations

from mlcore.readings.features import FEATURES_BY_NAME

# Contributions below this (in probability) are noise, not a reason.
MEANINGFUL_CONTRIBUTION = 0.01


def explanation_sentences(
    contributions: dict[str, float] | None, level: str, limit: int = 3
) -> list[str]:
    """'Skin conductance (GSR) pushed this towards high', strongest first."""
    if not contributions:
        return []
    ranked = sorted(contributions.items(), key=lambda item: abs(item[1]), reverse=True)
    sentences = []
    for name, value in ranked[:limit]:
        if abs(value) < MEANINGFUL_CONTRIBUTION:
            continue
        direction = "pushed this towards" if value > 0 else "pulled this away from"
        feature = FEATURES_BY_NAME.get(name)
        sentence = f"{feature.plain_name if feature else name} {direction} {level}"
        sentences.append(sentence[0].upper() + sentence[1:] + f" ({value:+.0%}).")
    return sentences


def stress_score(probabilities: dict[str, float]) -> float:
    """Expected level on a 0 (low) to 2 (high) scale: one number per reading to plot."""
    return probabilities["medium"] + 2 * probabilities["high"]
