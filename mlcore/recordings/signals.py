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

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from mlcore.recordings.recording import ECG_RPEAK_MIN_HZ, MODEL_ROLES, Recording

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
    # How much the person moved (see `movement`), where the recording has an accelerometer.
    movement: np.ndarray | None = None

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
        # Here, not at import: scipy.signal (with stats and optimize) is ~50 MB a process, and
        # the processes that score typed readings import this module without resampling.
        from scipy import signal as sps

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


# Beats are found block by block (with an overlap, so a beat at a border is seen whole): a day
# of 130 Hz ECG in one go made NeuroKit2 hold several copies of 11 million samples (over 1 GB,
# benchmarks/polar.py); ten minutes at a time it holds a few MB.
PEAK_BLOCK_S = 600.0
PEAK_OVERLAP_S = 5.0


def _peaks_in_blocks(
    signal: np.ndarray, rate_hz: float, find: Callable[[np.ndarray], np.ndarray]
) -> np.ndarray:
    """The sample indices `find(block)` returns (peaks of a block, and for each a quality of
    0-1 as a second row), over the whole signal, block by block."""
    n = signal.shape[0]
    block, overlap = int(PEAK_BLOCK_S * rate_hz), int(PEAK_OVERLAP_S * rate_hz)
    found = []
    for start in range(0, n, block):
        lo, hi = max(0, start - overlap), min(n, start + block + overlap)
        if hi - lo < 4 * rate_hz:  # a sliver at the end: too short to find beats in
            continue
        peaks, quality = find(signal[lo:hi])
        peaks = peaks + lo
        keep = (peaks >= start) & (peaks < start + block)
        found.append(np.vstack([peaks[keep], quality[keep]]))
    if not found:
        return np.empty((2, 0))
    return np.concatenate(found, axis=1)


def _held_rate(
    peaks: np.ndarray, good: np.ndarray, rate_hz: float, n_out: int, out_hz: float, offset_s: float
) -> np.ndarray:
    """Beat-to-beat heart rate (bpm) on the model's grid, each beat's rate held until the next
    beat; beats not `good`, or outside HR_VALID_BPM, count as missing."""
    out = np.full(n_out, np.nan)
    if peaks.size < 2:
        return out
    beat_t = offset_s + peaks / rate_hz
    bpm = 60.0 / np.diff(beat_t)
    bpm[~good[1:] | (bpm < HR_VALID_BPM[0]) | (bpm > HR_VALID_BPM[1])] = np.nan
    t_out = np.arange(n_out) / out_hz
    which = np.searchsorted(beat_t[1:], t_out, side="right") - 1
    valid = (which >= 0) & (t_out < beat_t[-1] + 2.0)
    out[valid] = bpm[np.clip(which[valid], 0, bpm.size - 1)]
    return out


def hr_from_ecg(
    ecg: np.ndarray, rate_hz: float, n_out: int, out_hz: float = MODEL_HZ, offset_s: float = 0.0
) -> np.ndarray:
    """Beat-to-beat heart rate (bpm) from raw ECG (NeuroKit2's R-peaks)."""
    import neurokit2 as nk  # heavy import, only needed for raw ECG

    filled, _ = _fill_nan(ecg)
    fs = round(rate_hz)

    def find(block: np.ndarray) -> np.ndarray:
        _, info = nk.ecg_peaks(nk.ecg_clean(block, sampling_rate=fs), sampling_rate=fs)
        peaks = np.asarray(info["ECG_R_Peaks"], dtype=np.int64)
        return np.vstack([peaks, np.ones(peaks.size)])

    peaks, _ = _peaks_in_blocks(filled, rate_hz, find)
    peaks = peaks.astype(np.int64)
    return _held_rate(peaks, np.ones(peaks.size, bool), rate_hz, n_out, out_hz, offset_s)


# A rate this close to the model's is the model's rate, its time column rounded (drivedb's CSV
# writes times to the millisecond: 15.500047 Hz).
SAME_RATE = 1e-4


def effective_rate(rate_hz: float, out_hz: float = MODEL_HZ) -> float:
    return out_hz if abs(rate_hz / out_hz - 1.0) < SAME_RATE else rate_hz


# Raw PPG from this rate up shows each pulse: HR can be derived from its peaks.
PPG_PEAK_MIN_HZ = 20.0


def hr_source(rates: Mapping[str, float]) -> str | None:
    """Where HR comes from when a recording (role -> rate in Hz) has no HR channel: the ECG's
    R-peaks when it is fast enough to find them, else the pulse waveform's peaks; None when it
    has an HR channel or neither."""
    if "hr" in rates:
        return None
    if rates.get("ecg", 0.0) >= ECG_RPEAK_MIN_HZ:
        return "ecg"
    if rates.get("ppg", 0.0) >= PPG_PEAK_MIN_HZ:
        return "ppg"
    return None


def roles_after_derivation(rates: Mapping[str, float]) -> frozenset[str]:
    """The roles a recording with these channels (role -> rate in Hz) has at the model's
    rate: its own model roles, and HR where it comes from the ECG or the pulse. What decides
    which models apply."""
    roles = {role for role in rates if role in MODEL_ROLES}
    if hr_source(rates):
        roles.add("hr")
    return frozenset(roles)


def hr_from_ppg(
    ppg: np.ndarray, rate_hz: float, n_out: int, out_hz: float = MODEL_HZ, offset_s: float = 0.0
) -> np.ndarray:
    """Beat-to-beat heart rate (bpm) from a pulse waveform; beats whose pulse shape NeuroKit2
    rates poorly (template match below PPG_MIN_QUALITY), or that fall in a stretch the sensor
    lost, count as missing."""
    import neurokit2 as nk

    filled, missing = _fill_nan(ppg)
    fs = round(rate_hz)

    def find(block: np.ndarray) -> np.ndarray:
        cleaned = nk.ppg_clean(block, sampling_rate=fs)
        peaks = np.asarray(nk.ppg_findpeaks(cleaned, sampling_rate=fs)["PPG_Peaks"], np.int64)
        if peaks.size < 3:
            return np.vstack([peaks, np.zeros(peaks.size)])
        quality = np.asarray(
            nk.ppg_quality(cleaned, peaks=peaks, sampling_rate=fs, method="templatematch"),
            dtype=np.float64,
        )
        return np.vstack([peaks, quality[peaks]])

    peaks, quality = _peaks_in_blocks(filled, rate_hz, find)
    peaks = peaks.astype(np.int64)
    good = (quality >= PPG_MIN_QUALITY) & ~missing[peaks]
    return _held_rate(peaks, good, rate_hz, n_out, out_hz, offset_s)


# Template-match correlation of a pulse with the recording's average pulse (0-1).
PPG_MIN_QUALITY = 0.5


def movement(
    acc: np.ndarray, rate_hz: float, n_out: int, out_hz: float, offset_s: float
) -> np.ndarray:
    """How much the person moved, per model-rate sample: the accelerometer magnitude's excess
    over its median (gravity, when the sensor is still), as a share of that median, so units
    cancel (g, m/s², milli-g or raw counts alike). About 0.1 is brisk walking (0.1 g)."""
    finite = acc[np.isfinite(acc)]
    gravity = float(np.median(finite)) if finite.size else 0.0
    if gravity <= 0:
        return np.full(n_out, np.nan)
    excess = np.abs(acc / gravity - 1.0)
    if rate_hz > out_hz * 1.01:
        # The average over each model-rate sample, not a filtered waveform: motion is energy.
        width = max(1, round(rate_hz / out_hz))
        kernel = np.ones(width) / width
        excess = np.convolve(np.nan_to_num(excess), kernel, mode="same")
    return resample(excess, effective_rate(rate_hz, out_hz), n_out, out_hz, offset_s)


def to_model_rate(recording: Recording, out_hz: float = MODEL_HZ) -> ModelSignals:
    ends = [
        c.offset_s + c.samples.shape[0] / effective_rate(c.rate_hz, out_hz)
        for c in recording.channels
    ]
    n_out = int(np.floor(max(ends, default=0.0) * out_hz + 1e-6))
    series: dict[str, np.ndarray] = {}
    derived: dict[str, str] = {}
    for role in MODEL_ROLES:
        channel = recording.channel(role)
        if channel is not None:
            rate = effective_rate(channel.rate_hz, out_hz)
            series[role] = resample(channel.samples, rate, n_out, out_hz, channel.offset_s)
    source = hr_source(recording.rates)
    if source is not None:
        channel = recording.channel(source)
        derive = hr_from_ecg if source == "ecg" else hr_from_ppg
        series["hr"] = derive(channel.samples, channel.rate_hz, n_out, out_hz, channel.offset_s)
        derived["hr"] = f"{'R-peaks' if source == 'ecg' else 'pulse peaks'} of {channel.name}"
    if "hr" in series:
        hr = series["hr"]
        series["hr"] = np.where((hr < HR_VALID_BPM[0]) | (hr > HR_VALID_BPM[1]), np.nan, hr)
    acc = recording.channel("acc")
    motion = None
    if acc is not None:
        motion = movement(acc.samples, acc.rate_hz, n_out, out_hz, acc.offset_s)
    return ModelSignals(rate_hz=out_hz, n=n_out, series=series, derived=derived, movement=motion)
