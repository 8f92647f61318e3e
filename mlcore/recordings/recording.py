"""A recording in memory: named channels with a role, a unit, a rate and their samples.

Readers (`mlcore.readers`) build a `Recording` from a file; `validate_recording` checks that
it can be scored and raises `RecordingError` naming the problem otherwise. Everything here is
plain data: nothing depends on the file format it came from.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

# The roles the models see, then the roles that only feed them: a pulse waveform (PPG/BVP)
# gives heart rate, an accelerometer (its magnitude) says how much the person moved.
MODEL_ROLES = ("hr", "ecg", "gsr", "resp", "emg")
ROLES = (*MODEL_ROLES, "ppg", "acc")
ROLE_NAMES = {
    "hr": "heart rate",
    "ecg": "ECG",
    "gsr": "skin conductance",
    "resp": "breathing",
    "emg": "muscle activity (EMG)",
    "ppg": "pulse (PPG)",
    "acc": "movement (accelerometer)",
}

# Lowest sampling rate each role is usable at. HR is a slow series (E4 writes it at 1 Hz);
# skin conductance changes over seconds (E4: 4 Hz); breathing needs a few samples per breath;
# ECG and EMG statistics need at least drivedb's frame rate.
MIN_RATE_HZ = {
    "hr": 0.9,
    "gsr": 3.5,
    "resp": 4.0,
    "ecg": 15.0,
    "emg": 15.0,
    "ppg": 20.0,
    "acc": 1.0,
}
# Raw ECG from this rate up holds heartbeats: HR can be derived from its R-peaks.
ECG_RPEAK_MIN_HZ = 128.0

# The units of the training data (drivedb): a channel stated in another unit (skin
# conductance in µS, ECG in µV) is used only relative to the person's own rest, where the
# unit cancels; a channel with no stated unit is taken as it comes.
TRAINING_UNITS = {"hr": "bpm", "ecg": "mv", "emg": "mv", "gsr": "mv", "resp": "mv"}
SAME_UNITS = {"bpm": {"bpm", "beats/min", "count/min", "/min", "1/min", "beats per minute"}}


def unit_differs(role: str, unit: str) -> bool:
    """Whether a channel of this role, stated in this unit, is in another unit than the
    training data's."""
    stated = unit.strip().lower().replace("µ", "u").replace("μ", "u")
    trained = TRAINING_UNITS.get(role)
    if not stated or trained is None:
        return False
    return stated != trained and stated not in SAME_UNITS.get(trained, set())


def relative_only_roles(units: dict[str, str]) -> frozenset[str]:
    """The roles (role -> stated unit) that can be scored only against a rest baseline."""
    return frozenset(role for role, unit in units.items() if unit_differs(role, unit))


# A heart-rate channel whose median lies outside this range is not heart rate.
PLAUSIBLE_HR_BPM = (30.0, 220.0)

# Longest run of missing samples a channel may hold, and the shortest recording worth reading.
MAX_NAN_RUN_S = 10.0
MIN_DURATION_S = 60.0
DEFAULT_MAX_DURATION_S = 24 * 3600.0

# Channel names (lower-cased, units in brackets and punctuation dropped) -> role. The order
# within a role is the preference when a recording has more than one such channel: hand skin
# conductance is what wrist bands and the training data's main GSR measure.
ALIASES: dict[str, tuple[str, ...]] = {
    "hr": ("hr", "heart rate", "heartrate", "bpm", "pulse", "pulse rate", "heart_rate"),
    "ecg": ("ecg", "ekg", "ecg i", "ecg ii", "lead i", "lead ii", "ii", "mlii", "ecg1"),
    "gsr": (
        "hand gsr",
        "gsr",
        "eda",
        "sc",
        "skin conductance",
        "electrodermal activity",
        "gsr hand",
        "hand eda",
        "foot gsr",
    ),
    "resp": ("resp", "respiration", "rsp", "breathing", "resp belt", "thorax", "chest"),
    "emg": ("emg", "emg trapezius", "trapezius emg", "muscle"),
    "ppg": ("ppg", "bvp", "pleth", "pulse wave", "photoplethysmogram", "blood volume pulse"),
    # Readers give one channel: the magnitude of a 3-axis accelerometer, in the file's unit.
    "acc": ("acc", "acc magnitude", "accelerometer", "accel", "movement", "motion"),
}
_ALIAS_ROLE = {alias: role for role, aliases in ALIASES.items() for alias in aliases}
_ALIAS_RANK = {alias: rank for aliases in ALIASES.values() for rank, alias in enumerate(aliases)}


class RecordingError(Exception):
    """A file that cannot be scored. `code` is stable (for APIs and tests); `message` says
    what is wrong in words a person can act on."""

    CODES = (
        "empty",
        "truncated",
        "unsupported_format",
        "no_usable_channel",
        "irregular_time",
        "rate_too_low",
        "nan_run",
        "flat_signal",
        "too_short",
        "too_long",
        "too_large",
        "bad_value",
        "implausible_channel",
        "looks_like_milliseconds",
    )

    def __init__(self, code: str, message: str) -> None:
        if code not in self.CODES:  # pragma: no cover - programming error
            raise ValueError(f"unknown RecordingError code {code!r}")
        super().__init__(message)
        self.code = code
        self.message = message

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


def normalise_name(name: str) -> str:
    """'Hand GSR (mV)' -> 'hand gsr'; 'EDA_uS' -> 'eda us'."""
    text = re.sub(r"[\(\[].*?[\)\]]", " ", name.lower())
    text = re.sub(r"[^a-z0-9]+", " ", text)
    return " ".join(text.split())


def role_for_name(name: str) -> str | None:
    """The role a channel name stands for, or None for channels we do not use."""
    key = normalise_name(name)
    if key in _ALIAS_ROLE:
        return _ALIAS_ROLE[key]
    # 'EDA uS', 'HR bpm', 'RESP mV': a known name followed by a unit word.
    head = " ".join(key.split()[:-1])
    return _ALIAS_ROLE.get(head)


def alias_rank(name: str) -> int:
    key = normalise_name(name)
    if key not in _ALIAS_RANK:
        key = " ".join(key.split()[:-1])
    return _ALIAS_RANK.get(key, 99)


@dataclass
class Channel:
    role: str
    name: str
    unit: str
    rate_hz: float
    samples: np.ndarray  # float64, NaN where missing
    offset_s: float = 0.0  # first sample's time after the recording's start

    def __post_init__(self) -> None:
        if self.role not in ROLES:  # pragma: no cover - programming error
            raise ValueError(f"unknown role {self.role!r}")
        self.samples = np.ascontiguousarray(self.samples, dtype=np.float64)

    @property
    def duration_s(self) -> float:
        """Time from the recording's start to this channel's end."""
        return self.offset_s + self.samples.shape[0] / self.rate_hz


@dataclass
class Recording:
    channels: list[Channel]
    start_time: datetime | None = None
    format: str = ""
    ignored: list[str] = field(default_factory=list)
    # What the device itself reported beside the signals, none of it a model input: name ->
    # (seconds from the start, value) pairs, e.g. "device_stress" (a watch's own 0-100
    # score), "sdnn_ms" (heart rate variability as the device measured it).
    extras: dict[str, list[tuple[float, float]]] = field(default_factory=dict)

    @property
    def duration_s(self) -> float:
        return max((c.duration_s for c in self.channels), default=0.0)

    @property
    def roles(self) -> frozenset[str]:
        return frozenset(c.role for c in self.channels)

    @property
    def units(self) -> dict[str, str]:
        """Role -> the unit its channel states (as `channel` finds it)."""
        units: dict[str, str] = {}
        for c in self.channels:
            units.setdefault(c.role, c.unit)
        return units

    @property
    def rates(self) -> dict[str, float]:
        """Role -> sampling rate (Hz) of the channel that serves it (as `channel` finds it)."""
        rates: dict[str, float] = {}
        for c in self.channels:
            rates.setdefault(c.role, c.rate_hz)
        return rates

    def channel(self, role: str) -> Channel | None:
        for channel in self.channels:
            if channel.role == role:
                return channel
        return None

    def describe(self) -> list[dict[str, object]]:
        return [
            {"role": c.role, "name": c.name, "unit": c.unit, "rate_hz": c.rate_hz}
            for c in self.channels
        ]


def select_channels(names: list[str]) -> tuple[dict[str, int], list[str]]:
    """Which channel serves each role (the best-ranked alias, the first on a tie), by index,
    and the names of every other channel (unknown, or a second channel of a role)."""
    chosen: dict[str, int] = {}
    for i, name in enumerate(names):
        role = role_for_name(name)
        if role is None:
            continue
        if role not in chosen or alias_rank(name) < alias_rank(names[chosen[role]]):
            chosen[role] = i
    kept = set(chosen.values())
    return chosen, [name for i, name in enumerate(names) if i not in kept]


def build_recording(
    named: list[tuple[str, str, float, np.ndarray]]
    | list[tuple[str, str, float, np.ndarray, float]],
    *,
    start_time: datetime | None,
    format: str,
    max_duration_s: float = DEFAULT_MAX_DURATION_S,
    ignored: list[str] | None = None,
) -> Recording:
    """From (name, unit, rate, samples[, offset_s]) as a reader found them to a validated
    Recording: names mapped to roles, one channel kept per role, the others ignored (and
    reported, with `ignored`: channels the reader did not even load)."""
    chosen, skipped = select_channels([item[0] for item in named])
    channels = []
    for role in ROLES:
        if role not in chosen:
            continue
        name, unit, rate, samples, *offset = named[chosen[role]]
        channels.append(
            Channel(
                role=role,
                name=name,
                unit=unit,
                rate_hz=float(rate),
                samples=samples,
                offset_s=float(offset[0]) if offset else 0.0,
            )
        )
    recording = Recording(
        channels,
        start_time=start_time,
        format=format,
        ignored=[*(ignored or []), *skipped],
    )
    validate_recording(recording, max_duration_s=max_duration_s)
    return recording


def longest_nan_run(samples: np.ndarray) -> int:
    missing = np.isnan(samples)
    if not missing.any():
        return 0
    edges = np.diff(np.concatenate(([0], missing.view(np.int8), [0])))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    return int((ends - starts).max())


def validate_recording(
    recording: Recording, *, max_duration_s: float = DEFAULT_MAX_DURATION_S
) -> None:
    if not recording.channels:
        names = ", ".join(recording.ignored) or "none"
        raise RecordingError(
            "no_usable_channel",
            "No channel we can use (heart rate, ECG, pulse, skin conductance, breathing, "
            "EMG). "
            f"Channels found: {names}.",
        )
    for channel in recording.channels:
        label = f"{channel.name} ({ROLE_NAMES[channel.role]})"
        if not np.isfinite(channel.rate_hz) or channel.rate_hz <= 0:
            raise RecordingError("bad_value", f"{label} has no valid sampling rate.")
        if channel.rate_hz < MIN_RATE_HZ[channel.role]:
            raise RecordingError(
                "rate_too_low",
                f"{label} is sampled at {channel.rate_hz:g} Hz; at least "
                f"{MIN_RATE_HZ[channel.role]:g} Hz is needed.",
            )
        if np.isinf(channel.samples).any():
            raise RecordingError("bad_value", f"{label} holds infinite values.")
        run = longest_nan_run(channel.samples) / channel.rate_hz
        if run > MAX_NAN_RUN_S:
            raise RecordingError(
                "nan_run",
                f"{label} has {run:.0f} s of missing samples in a row (at most "
                f"{MAX_NAN_RUN_S:.0f} s allowed).",
            )
        # nanmin/nanmax, not a copy of the finite samples: a day of 130 Hz ECG is 90 MB.
        present = bool(np.isfinite(channel.samples).any())
        if not present or np.nanmin(channel.samples) == np.nanmax(channel.samples):
            raise RecordingError(
                "flat_signal",
                f"{label} never changes: the sensor was probably not connected.",
            )
        if channel.role == "hr":
            median = float(np.nanmedian(channel.samples))
            low, high = PLAUSIBLE_HR_BPM
            if not low <= median <= high:
                # A pulse waveform or ADC counts under an "HR" name: scoring it would give
                # every window the same confident answer from no valid feature.
                raise RecordingError(
                    "implausible_channel",
                    f"The column '{channel.name}' does not look like heart rate: median "
                    f"{median:.0f} beats per minute (a heart rate lies between {low:.0f} and "
                    f"{high:.0f}). If it is a pulse waveform, name it PPG or BVP.",
                )
    duration = recording.duration_s
    if duration > max_duration_s:
        raise RecordingError(
            "too_long",
            f"The recording lasts {duration / 3600:.1f} h; at most "
            f"{max_duration_s / 3600:g} h can be scored.",
        )
    if duration < MIN_DURATION_S:
        raise RecordingError(
            "too_short",
            f"The recording lasts {duration:.0f} s; at least {MIN_DURATION_S:.0f} s are needed.",
        )
