"""Channel sets: one model per set of signals a device may have.

A chest strap gives heart rate (and maybe breathing), a wrist band heart rate and skin
conductance, a lab recorder everything. Each set gets its own model trained on those channels
only, and a recording is scored by the best set it has: the one with the highest
leave-one-drive-out accuracy among the sets whose channels it holds.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

CHANNEL_SETS: dict[str, tuple[str, ...]] = {
    "all": ("hr", "ecg", "gsr", "resp", "emg"),
    "hr_gsr_resp": ("hr", "gsr", "resp"),
    "hr_gsr": ("hr", "gsr"),
    "hr_resp": ("hr", "resp"),
    "gsr": ("gsr",),
    "hr": ("hr",),
}
# Without measured accuracies: more channels first.
DEFAULT_PREFERENCE = tuple(CHANNEL_SETS)


def usable_sets(roles: Iterable[str]) -> list[str]:
    have = set(roles)
    return [name for name, needed in CHANNEL_SETS.items() if set(needed) <= have]


def best_channel_set(
    roles: Iterable[str], accuracies: Mapping[str, float] | None = None
) -> str | None:
    """The set to score a recording with these roles by, or None if it has none of them.
    `accuracies` (set -> LODO accuracy, from the model card) ranks the usable sets."""
    usable = usable_sets(roles)
    if not usable:
        return None
    if accuracies:
        ranked = [name for name in usable if name in accuracies]
        if ranked:
            return max(ranked, key=lambda name: (accuracies[name], len(CHANNEL_SETS[name])))
    return next(name for name in DEFAULT_PREFERENCE if name in usable)
