"""Window features: computed over the whole recording once (NeuroKit2), then sliced.

Step 1, `derived_series`: per role, the series that window statistics are taken from, at the
model's rate: heart rate; skin conductance cleaned and split into tonic level and phasic part,
with its responses (SCRs: onset, peak, amplitude) detected over the whole signal, relative to
the signal handed in; breathing rate and amplitude from breath-by-breath detection; EMG and ECG
as they are. Doing this once per recording makes detection see each response in full and costs
one pass, whatever the window length.

Step 2, `window_features`: statistics of those series over windows [start, start + length),
`stride` apart, from running sums (O(samples + windows)). A window with too little valid signal
gets NaN for that channel's features: missing, never zero.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from mlcore.recordings.signals import ModelSignals

# Feature name -> (role, what it measures). Order is the column order of every table.
FEATURES: dict[str, tuple[str, str]] = {
    "hr_mean": ("hr", "heart rate level (bpm)"),
    "hr_std": ("hr", "heart rate spread (bpm)"),
    "hr_slope": ("hr", "heart rate trend (bpm per minute)"),
    "hr_tv": ("hr", "heart rate change per second (bpm/s), a variability measure"),
    "scl_mean": ("gsr", "skin conductance tonic level"),
    "scl_slope": ("gsr", "skin conductance trend (per minute)"),
    "gsr_std": ("gsr", "skin conductance spread"),
    "phasic_std": ("gsr", "skin conductance response activity (phasic spread)"),
    "scr_rate": ("gsr", "skin conductance responses per minute"),
    "scr_amp": ("gsr", "mean skin conductance response amplitude"),
    "resp_rate": ("resp", "breathing rate (breaths per minute)"),
    "resp_rate_std": ("resp", "breathing rate variability"),
    "resp_amp": ("resp", "breathing amplitude"),
    "resp_amp_std": ("resp", "breathing amplitude variability"),
    "resp_std": ("resp", "breathing signal spread"),
    "emg_mean": ("emg", "muscle activity level"),
    "emg_std": ("emg", "muscle activity spread"),
    "ecg_std": ("ecg", "ECG signal spread"),
}
FEATURE_NAMES: tuple[str, ...] = tuple(FEATURES)
# Features whose value does not depend on the sensor's units or gain.
UNIT_FREE = frozenset(
    {"hr_mean", "hr_std", "hr_slope", "hr_tv", "resp_rate", "resp_rate_std", "scr_rate"}
)
# Signed features (trends): relative to a baseline only as a difference, never a ratio.
SIGNED = frozenset({"hr_slope", "scl_slope"})

MIN_VALID_FRACTION = 0.5


def features_of_roles(roles: frozenset[str] | set[str]) -> tuple[str, ...]:
    return tuple(name for name, (role, _) in FEATURES.items() if role in roles)


@dataclass
class Derived:
    """Per-sample series at the model rate, plus SCR events (sample index, amplitude)."""

    rate_hz: float
    n: int
    series: dict[str, np.ndarray]
    scr_peaks: np.ndarray | None = None
    scr_amplitudes: np.ndarray | None = None


def _filled(x: np.ndarray) -> np.ndarray:
    missing = np.isnan(x)
    if not missing.any():
        return x
    if missing.all():
        return np.zeros_like(x)
    idx = np.flatnonzero(~missing)
    out = x.copy()
    out[missing] = np.interp(np.flatnonzero(missing), idx, x[idx])
    return out


def _eda(gsr: np.ndarray, rate: float, out: Derived) -> None:
    import neurokit2 as nk

    missing = np.isnan(gsr)
    clean = np.asarray(nk.eda_clean(_filled(gsr), sampling_rate=rate), dtype=np.float64)
    frame = nk.eda_phasic(clean, sampling_rate=rate, method="highpass")
    # Read-only views of the frame's columns (no copies: memory on 24 h recordings).
    tonic = frame["EDA_Tonic"].to_numpy(dtype=np.float64)
    phasic = frame["EDA_Phasic"].to_numpy(dtype=np.float64)
    peaks, amplitudes = _scr_events(phasic, rate)
    keep = np.isfinite(amplitudes)
    peaks, amplitudes = peaks[keep], amplitudes[keep]
    keep = ~missing[peaks]
    out.scr_peaks, out.scr_amplitudes = peaks[keep], amplitudes[keep]
    for name, values in (("gsr", clean), ("scl", tonic), ("phasic", phasic)):
        out.series[name] = np.where(missing, np.nan, values) if missing.any() else values


def _scr_events(phasic: np.ndarray, rate: float) -> tuple[np.ndarray, np.ndarray]:
    """SCR peaks and amplitudes as `nk.eda_peaks` finds them (method "neurokit": responses of
    at least 10% of the largest one), without the per-sample frame it also builds (75 MB for a
    24 h recording). Amplitude = height at the peak - phasic level at the onset."""
    import neurokit2 as nk

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        info = nk.eda_fixpeaks(
            nk.eda_findpeaks(phasic, sampling_rate=rate, method="neurokit", amplitude_min=0.1)
        )
    peaks = np.asarray(info["SCR_Peaks"], dtype=np.float64)
    onsets = np.asarray(info["SCR_Onsets"], dtype=np.float64)
    heights = np.asarray(info["SCR_Height"], dtype=np.float64)
    amplitudes = np.full(peaks.shape[0], np.nan)
    if peaks.size and np.isfinite(onsets).any():
        valid = (peaks > np.nanmin(onsets)) & np.isfinite(onsets)
        amplitudes[valid] = heights[valid] - phasic[onsets[valid].astype(np.int64)]
    return peaks.astype(np.int64), amplitudes


def _rsp(resp: np.ndarray, rate: float, out: Derived) -> None:
    import neurokit2 as nk

    missing = np.isnan(resp)
    out.series["resp"] = resp
    clean = np.asarray(nk.rsp_clean(_filled(resp), sampling_rate=rate), dtype=np.float64)
    rate_s = np.full(resp.shape[0], np.nan)
    amp_s = np.full(resp.shape[0], np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # nk.rsp_peaks without the per-sample frame it also builds (memory on 24 h).
        info = nk.rsp_fixpeaks(nk.rsp_findpeaks(clean, sampling_rate=rate, amplitude_min=0.3))
        peaks = np.asarray(info["RSP_Peaks"], dtype=np.int64)
        troughs = np.asarray(info["RSP_Troughs"], dtype=np.int64)
        if troughs.size > 3:
            # As nk.signal_rate and nk.rsp_amplitude compute them (rate from trough to
            # trough; amplitude of each peak above the trough before it), interpolated
            # (monotone cubic) onto the samples a block at a time.
            # NeuroKit interpolates the period between breaths, then takes the rate.
            per_breath = np.asarray(nk.signal_rate(troughs, sampling_rate=rate), dtype=float)
            _interpolate_into(rate_s, troughs, 60.0 / per_breath)
            np.divide(60.0, rate_s, out=rate_s)
            if peaks.size == troughs.size and peaks.size > 1 and peaks[0] > troughs[0]:
                _interpolate_into(amp_s, peaks, clean[peaks] - clean[troughs])
    rate_s[missing] = np.nan
    amp_s[missing] = np.nan
    out.series["resp_rate"] = rate_s
    out.series["resp_amp"] = amp_s


INTERPOLATION_BLOCK = 1 << 18


def _interpolate_into(out: np.ndarray, x: np.ndarray, y: np.ndarray) -> None:
    """nk.signal_interpolate(x, y, x_new=arange(len(out)), method="monotone_cubic"), written
    into `out` block by block (same values, a fraction of the memory on 24 h)."""
    import neurokit2 as nk

    for start in range(0, out.shape[0], INTERPOLATION_BLOCK):
        grid = np.arange(start, min(start + INTERPOLATION_BLOCK, out.shape[0]))
        out[grid[0] : grid[-1] + 1] = nk.signal_interpolate(
            x, y, x_new=grid, method="monotone_cubic"
        )


def derived_series(signals: ModelSignals) -> Derived:
    rate = signals.rate_hz
    out = Derived(rate_hz=rate, n=signals.n, series={})
    if "hr" in signals.series:
        out.series["hr"] = signals.series["hr"]
    if "gsr" in signals.series:
        _eda(signals.series["gsr"], rate, out)
    if "resp" in signals.series:
        _rsp(signals.series["resp"], rate, out)
    for role in ("emg", "ecg"):
        if role in signals.series:
            out.series[role] = signals.series[role]
    return out


def _cumsum0(x: np.ndarray) -> np.ndarray:
    out = np.empty(x.shape[0] + 1)
    out[0] = 0.0
    np.cumsum(x, out=out[1:])
    return out


class _Sums:
    """Running sums of a series with NaNs, for mean / std (/ slope) over any index range.
    Built lean (a 24 h recording has 1.3M samples per series): the sums for a slope only
    when asked, and few temporaries."""

    def __init__(self, x: np.ndarray, slope: bool = False) -> None:
        valid = np.isfinite(x)
        v = np.where(valid, x, 0.0)
        self.count = _cumsum0(valid)
        self.s = _cumsum0(v)
        self.slope = slope
        if slope:
            t = np.arange(x.shape[0], dtype=np.float64)
            t[~valid] = 0.0
            self.st = _cumsum0(t)
            self.stx = _cumsum0(v * t)
            t *= t
            self.stt = _cumsum0(t)
            del t
        v *= v
        self.ss = _cumsum0(v)

    def stats(self, lo: np.ndarray, hi: np.ndarray, rate: float):
        n = self.count[hi] - self.count[lo]
        enough = n >= MIN_VALID_FRACTION * (hi - lo)
        nan = np.full(lo.shape, np.nan)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = (self.s[hi] - self.s[lo]) / n
            var = (self.ss[hi] - self.ss[lo]) / n - mean * mean
            std = np.sqrt(np.maximum(var, 0.0))
            slope = nan
            if self.slope:
                mt = (self.st[hi] - self.st[lo]) / n
                vt = (self.stt[hi] - self.stt[lo]) / n - mt * mt
                cov = (self.stx[hi] - self.stx[lo]) / n - mt * mean
                slope = cov / vt * rate * 60.0  # per minute
        return (
            np.where(enough, mean, nan),
            np.where(enough, std, nan),
            np.where(enough, slope, nan),
        )


@dataclass
class WindowFeatures:
    start_s: np.ndarray
    end_s: np.ndarray
    names: tuple[str, ...]
    values: np.ndarray  # (n_windows, n_features), NaN where missing

    def __len__(self) -> int:
        return int(self.start_s.shape[0])

    def column(self, name: str) -> np.ndarray:
        return self.values[:, self.names.index(name)]


def window_starts(duration_s: float, window_s: float, stride_s: float) -> np.ndarray:
    if duration_s < window_s:
        return np.zeros(0)
    count = int(np.floor((duration_s - window_s) / stride_s + 1e-9)) + 1
    return np.arange(count) * stride_s


# Windows are computed this many at a time, so running sums span at most ~2 h of signal
# whatever the recording's length (memory stays flat on 24 h).
BLOCK_WINDOWS = 256


def window_features(
    derived: Derived,
    window_s: float,
    stride_s: float,
    starts_s: np.ndarray | None = None,
) -> WindowFeatures:
    rate = derived.rate_hz
    starts = window_starts(derived.n / rate, window_s, stride_s) if starts_s is None else starts_s
    if starts.shape[0] == 0:
        empty = np.zeros(0)
        return WindowFeatures(empty, empty, FEATURE_NAMES, np.zeros((0, len(FEATURE_NAMES))))
    blocks = [
        _window_block(derived, window_s, starts[i : i + BLOCK_WINDOWS])
        for i in range(0, starts.shape[0], BLOCK_WINDOWS)
    ]
    return WindowFeatures(
        start_s=np.concatenate([b.start_s for b in blocks]),
        end_s=np.concatenate([b.end_s for b in blocks]),
        names=FEATURE_NAMES,
        values=np.vstack([b.values for b in blocks]),
    )


def _window_block(derived: Derived, window_s: float, starts: np.ndarray) -> WindowFeatures:
    rate = derived.rate_hz
    lo = np.clip(np.rint(starts * rate).astype(np.int64), 0, derived.n)
    hi = np.clip(lo + round(window_s * rate), 0, derived.n)
    values = np.full((starts.shape[0], len(FEATURE_NAMES)), np.nan)
    col = {name: i for i, name in enumerate(FEATURE_NAMES)}
    # Running sums only over the span the windows cover (a baseline's 3 minutes, not 24 h).
    first = int(lo.min()) if lo.size else 0
    last = int(hi.max()) if hi.size else 0
    s = {name: series[first:last] for name, series in derived.series.items()}
    lo_all, hi_all = lo, hi
    lo, hi = lo - first, hi - first

    def put(prefix: str, series_name: str, *, std=True, slope=False, mean=True) -> None:
        m, sd, sl = _Sums(s[series_name], slope=slope).stats(lo, hi, rate)
        if mean:
            values[:, col[prefix + "_mean" if prefix + "_mean" in col else prefix]] = m
        if std and prefix + "_std" in col:
            values[:, col[prefix + "_std"]] = sd
        if slope:
            values[:, col[prefix + "_slope"]] = sl

    if "hr" in s:
        put("hr", "hr", slope=True)
        hr = derived.series["hr"][max(first - 1, 0) : last]
        step = np.abs(np.diff(hr, prepend=hr[0])) if first == 0 else np.abs(np.diff(hr))
        tv, _, _ = _Sums(step).stats(lo, hi, rate)
        values[:, col["hr_tv"]] = tv * rate
    if "gsr" in s:
        put("scl", "scl", std=False, slope=True)
        _, values[:, col["gsr_std"]], _ = _Sums(s["gsr"]).stats(lo, hi, rate)
        _, values[:, col["phasic_std"]], _ = _Sums(s["phasic"]).stats(lo, hi, rate)
        valid_gsr = np.isfinite(values[:, col["scl_mean"]])
        peaks = derived.scr_peaks
        amps = derived.scr_amplitudes
        a = np.searchsorted(peaks, lo_all)
        b = np.searchsorted(peaks, hi_all)
        count = (b - a).astype(np.float64)
        csum = np.concatenate(([0.0], np.cumsum(amps)))
        with np.errstate(invalid="ignore", divide="ignore"):
            amp = (csum[b] - csum[a]) / count
        minutes = (hi - lo) / rate / 60.0
        values[:, col["scr_rate"]] = np.where(valid_gsr, count / minutes, np.nan)
        # No response in the window: its amplitude is undefined (missing), not zero.
        values[:, col["scr_amp"]] = np.where(valid_gsr & (count > 0), amp, np.nan)
    if "resp" in s:
        _, values[:, col["resp_std"]], _ = _Sums(s["resp"]).stats(lo, hi, rate)
        m, sd, _ = _Sums(s["resp_rate"]).stats(lo, hi, rate)
        values[:, col["resp_rate"]], values[:, col["resp_rate_std"]] = m, sd
        m, sd, _ = _Sums(s["resp_amp"]).stats(lo, hi, rate)
        values[:, col["resp_amp"]], values[:, col["resp_amp_std"]] = m, sd
    if "emg" in s:
        put("emg", "emg")
    if "ecg" in s:
        _, values[:, col["ecg_std"]], _ = _Sums(s["ecg"]).stats(lo, hi, rate)
    # A window cut short by the end of the recording is not a full window.
    short = (hi - lo) < 0.9 * window_s * rate
    values[short] = np.nan
    return WindowFeatures(
        start_s=lo_all / rate, end_s=hi_all / rate, names=FEATURE_NAMES, values=values
    )


def context_features(
    derived: Derived, start_s: np.ndarray, window_s: float, context_s: float
) -> np.ndarray:
    """Features of the `context_s` seconds ending where each window ends: the state the
    window sits in (a steady highway drive, a stop-and-go city). The first windows of a
    recording, with less than `context_s` before their end, get its first `context_s`."""
    end = np.asarray(start_s) + window_s
    starts = np.maximum(end - context_s, 0.0)
    return window_features(derived, context_s, context_s, starts_s=starts).values
