"""Bring every recording to the model's rate, the same way for training and for uploads.

The training data is drivedb at 15.5 Hz (WFDB frames), so the model's rate is 15.5 Hz. A
channel at another rate is low-pass filtered below the new Nyquist frequency when it is
downsampled (a zero-phase Butterworth, so nothing shifts in time) and then linearly
interpolated onto the model's time grid; a slower channel (an E4's 1 Hz HR or 4 Hz skin
conductance) is interpolated up. drivedb itself passes through unchanged.

A recording with raw ECG (>= 128 Hz) and no HR channel gets its HR from the ECG's R-peaks
(NeuroKit2), as beat-to-beat rate held until the next beat, which is how drivedb's HR channel
looks.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from scipy import signal as sps

from mlcore.recordings.recording import ECG_RPEAK_MIN_HZ, ROLES, Recording

MODEL_HZ = 15.5
HR_VALID_BPM = (30.0, 220.0)


@dataclass
class ModelSignals:
    """Each available role as one float64 series on a common grid at MODEL_HZ, NaN where
    missing. `derived` names roles computed from another channel (HR from ECG)."""

    rate_hz: float
    n: int
    series: dict[str, np.ndarray]
    derived: dict[str, str]

    @property
    def duration_s(self) -> float:
        return self.n / self.rate_hz

    @property
    def roles(self) -> frozenset[str]:
        return frozenset(self.series)


def _fill_nan(samples: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Linear fill of interior NaNs (validated to be short); returns the filled copy and the
    mask of what was missing so it can be put back."""
    missing = np.isnan(samples)
    if not missing.any():
        return samples, missing
    filled = samples.copy()
    idx = np.flatnonzero(~missing)
    filled[missing] = np.interp(np.flatnonzero(missing), idx, samples[idx])
    return filled, missing


def resample(
    samples: np.ndarray,
    rate_hz: float,
    n_out: int,
    out_hz: float = MODEL_HZ,
    offset_s: float = 0.0,
) -> np.ndarray:
    """`samples` at `rate_hz`, the first at `offset_s` -> `n_out` samples at `out_hz` (sample
    i at time i / out_hz); NaN outside the channel's span."""
    if abs(rate_hz - out_hz) < 1e-9 and offset_s == 0.0:
        if samples.shape[0] >= n_out:
            return samples[:n_out]  # a view: nothing to copy (callers never write into it)
        out = np.full(n_out, np.nan)
        out[: samples.shape[0]] = samples
        return out
    filled, missing = _fill_nan(samples)
    if rate_hz > out_hz * 1.01:
        sos = sps.butter(4, 0.45 * out_hz, fs=rate_hz, output="sos")
        filled = sps.sosfiltfilt(sos, filled)
    t_in = offset_s + np.arange(samples.shape[0]) / rate_hz
    t_out = np.arange(n_out) / out_hz
    out = np.interp(t_out, t_in, filled, left=np.nan, right=np.nan)
    if missing.any():
        # A model-rate sample is missing if the input sample nearest to it was.
        nearest = np.rint((t_out - offset_s) * rate_hz).astype(np.int64)
        nearest = np.clip(nearest, 0, samples.shape[0] - 1)
        out[missing[nearest]] = np.nan
    return out


def hr_from_ecg(
    ecg: np.ndarray, rate_hz: float, n_out: int, out_hz: float = MODEL_HZ, offset_s: float = 0.0
) -> np.ndarray:
    """Beat-to-beat heart rate (bpm) from raw ECG, held from each beat to the next."""
    import neurokit2 as nk  # heavy import, only needed for raw ECG

    filled, _ = _fill_nan(ecg)
    cleaned = nk.ecg_clean(filled, sampling_rate=round(rate_hz))
    _, info = nk.ecg_peaks(cleaned, sampling_rate=round(rate_hz))
    peaks = np.asarray(info["ECG_R_Peaks"], dtype=np.int64)
    out = np.full(n_out, np.nan)
    if peaks.size < 2:
        return out
    beat_t = offset_s + peaks / rate_hz
    bpm = 60.0 / np.diff(beat_t)
    bpm[(bpm < HR_VALID_BPM[0]) | (bpm > HR_VALID_BPM[1])] = np.nan
    t_out = np.arange(n_out) / out_hz
    which = np.searchsorted(beat_t[1:], t_out, side="right") - 1
    valid = (which >= 0) & (t_out < beat_t[-1] + 2.0)
    out[valid] = bpm[np.clip(which[valid], 0, bpm.size - 1)]
    return out


# A rate this close to the model's is the model's rate, its time column rounded (drivedb's CSV
# writes times to the millisecond: 15.500047 Hz).
SAME_RATE = 1e-4


def effective_rate(rate_hz: float, out_hz: float = MODEL_HZ) -> float:
    return out_hz if abs(rate_hz / out_hz - 1.0) < SAME_RATE else rate_hz


def hr_from_ecg_applies(rates: Mapping[str, float]) -> bool:
    """HR comes from the ECG's R-peaks when a recording has no HR channel and its ECG
    (role -> rate in Hz) is fast enough to find them."""
    return "hr" not in rates and rates.get("ecg", 0.0) >= ECG_RPEAK_MIN_HZ


def roles_after_derivation(rates: Mapping[str, float]) -> frozenset[str]:
    """The roles a recording with these channels (role -> rate in Hz) has at the model's
    rate: its own, and HR where it comes from the ECG. What decides which models apply."""
    return frozenset(rates) | ({"hr"} if hr_from_ecg_applies(rates) else set())


def to_model_rate(recording: Recording, out_hz: float = MODEL_HZ) -> ModelSignals:
    ends = [
        c.offset_s + c.samples.shape[0] / effective_rate(c.rate_hz, out_hz)
        for c in recording.channels
    ]
    n_out = int(np.floor(max(ends, default=0.0) * out_hz + 1e-6))
    series: dict[str, np.ndarray] = {}
    derived: dict[str, str] = {}
    for role in ROLES:
        channel = recording.channel(role)
        if channel is not None:
            rate = effective_rate(channel.rate_hz, out_hz)
            series[role] = resample(channel.samples, rate, n_out, out_hz, channel.offset_s)
    ecg = recording.channel("ecg")
    if ecg is not None and hr_from_ecg_applies(recording.rates):
        series["hr"] = hr_from_ecg(ecg.samples, ecg.rate_hz, n_out, out_hz, ecg.offset_s)
        derived["hr"] = f"R-peaks of {ecg.name}"
    if "hr" in series:
        hr = series["hr"]
        series["hr"] = np.where((hr < HR_VALID_BPM[0]) | (hr > HR_VALID_BPM[1]), np.nan, hr)
    return ModelSignals(rate_hz=out_hz, n=n_out, series=series, derived=derived)
