"""Is there enough good signal in a window to score it, and is the person moving?

A sample is good when it is there (not missing), plausible (heart rate 30-220 bpm: the rest
is already missing at the model rate) and not part of a flat stretch: a signal that does not
change for FLAT_RUN_S is a sensor off the skin or at its rail, not a person. A window is
scored only when every channel its model uses has at least MIN_GOOD_SHARE good samples;
otherwise it is "not enough signal". The features themselves are computed as in training
(where these rules were not applied), so a scored window means what it meant there.

Movement comes from an accelerometer where the recording has one: a window whose mean
movement (the magnitude's excess over gravity, as a share of it) reaches ACTIVE_MOVEMENT is
"active", and is not scored as stress: exercise reads as stress to every model of this kind.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Heart rate from a device may repeat a value for a while (a watch writes one every few
# seconds); waveforms change from one sample to the next.
FLAT_RUN_S = {"hr": 60.0, "ecg": 2.0, "emg": 2.0, "gsr": 20.0, "resp": 10.0}
# Three quarters: a 2-minute window needs 90 s of good signal in each channel it uses.
MIN_GOOD_SHARE = 0.75
# Mean movement per window (~g): below 0.03 still (sitting, standing), up to 0.1 light (slow
# walking), from 0.1 active (brisk walking and more). Activity-count thresholds of this kind
# are the usual ones for wrist and hip accelerometers (ENMO, in g).
LIGHT_MOVEMENT = 0.03
ACTIVE_MOVEMENT = 0.1
NOT_ENOUGH_SIGNAL = "not_enough_signal"
ACTIVE = "active"


def flat_runs(values: np.ndarray, rate_hz: float, seconds: float) -> np.ndarray:
    """True for every sample in a run of identical values lasting at least `seconds`."""
    n = values.shape[0]
    out = np.zeros(n, dtype=bool)
    if n < 2:
        return out
    change = np.flatnonzero(np.diff(values) != 0) + 1  # NaN != NaN: a NaN always breaks a run
    starts = np.concatenate(([0], change))
    ends = np.concatenate((change, [n]))
    long = (ends - starts) >= max(2, int(seconds * rate_hz))
    for start, end in zip(starts[long], ends[long], strict=True):
        out[start:end] = True
    return out


def good_samples(series: dict[str, np.ndarray], rate_hz: float) -> dict[str, np.ndarray]:
    """Per role, which samples are good (see the module's rules)."""
    return {
        role: np.isfinite(values) & ~flat_runs(values, rate_hz, FLAT_RUN_S.get(role, 10.0))
        for role, values in series.items()
    }


@dataclass(frozen=True)
class WindowQuality:
    good_share: dict[str, float]  # per role the model uses
    movement: float | None  # mean movement, None without an accelerometer

    @property
    def activity(self) -> str | None:
        if self.movement is None or not np.isfinite(self.movement):
            return None
        if self.movement >= ACTIVE_MOVEMENT:
            return "active"
        return "light" if self.movement >= LIGHT_MOVEMENT else "still"

    @property
    def unscored_reason(self) -> str | None:
        """Why the window is not scored, or None when it is."""
        if any(share < MIN_GOOD_SHARE for share in self.good_share.values()):
            return NOT_ENOUGH_SIGNAL
        if self.activity == "active":
            return ACTIVE
        return None


def window_quality(
    good: dict[str, np.ndarray],
    movement: np.ndarray | None,
    roles: tuple[str, ...],
    starts: np.ndarray,
    ends: np.ndarray,
    rate_hz: float,
) -> list[WindowQuality]:
    """The quality of each window [start, end) (seconds) for a model using these roles."""
    counts = {role: np.concatenate(([0], np.cumsum(good[role]))) for role in roles if role in good}
    if movement is not None:
        moving = np.nan_to_num(movement)
        known = np.concatenate(([0], np.cumsum(np.isfinite(movement))))
        total = np.concatenate(([0.0], np.cumsum(moving)))
    out = []
    n = next(iter(good.values())).shape[0] if good else 0
    for start_s, end_s in zip(starts, ends, strict=True):
        i = min(n, max(0, round(float(start_s) * rate_hz)))
        j = min(n, max(i, round(float(end_s) * rate_hz)))
        size = max(1, j - i)
        share = {role: float(counts[role][j] - counts[role][i]) / size for role in counts}
        for role in roles:
            share.setdefault(role, 0.0)
        mean_movement = None
        if movement is not None and known[j] > known[i]:
            mean_movement = float(total[j] - total[i]) / float(known[j] - known[i])
        out.append(WindowQuality(share, mean_movement))
    return out
