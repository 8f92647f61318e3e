"""The words a person reads for what the models use: channel sets, signals, the features behind
an explanation, model versions, what each typed number is and how a device's value maps to it,
and example readings. One table per thing, here, so every page says it the same way and no
code (`hr_gsr_resp`, `resp_std__diff@context`, a model id) reaches the text people read.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from mlcore.readings.features import FEATURE_NAMES as READING_FEATURES
from mlcore.recordings.channel_sets import CHANNEL_SETS
from mlcore.recordings.windows import FEATURES as WINDOW_FEATURES

# What each signal is, inside a sentence.
ROLE_WORDS: dict[str, str] = {
    "hr": "heart rate",
    "gsr": "skin conductance",
    "resp": "breathing",
    "emg": "muscle activity",
    "ecg": "the heart's electrical signal",
    "ppg": "pulse",
    "acc": "movement",
}
# The order a list of signals is read in (what most devices have first).
_ROLE_ORDER = ("hr", "gsr", "resp", "emg", "ecg", "ppg", "acc")


def join_words(items: list[str]) -> str:
    """ "a", "a and b", "a, b and c"."""
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} and {items[-1]}"


def roles_words(roles: Any) -> str:
    """A set of signal roles in words: "heart rate, skin conductance and breathing"."""
    known = [role for role in _ROLE_ORDER if role in set(roles)]
    return join_words([ROLE_WORDS[role] for role in known])


# Each channel set named by what it is.
CHANNEL_SET_WORDS: dict[str, str] = {
    **{name: roles_words(roles) for name, roles in CHANNEL_SETS.items()},
    # The baseline of typed readings (the service's FIVE_NUMBER_SET).
    "five_number": "typed readings",
}


def channel_set_words(code: str | None) -> str:
    """ "heart rate, skin conductance and breathing" for "hr_gsr_resp"; unknown codes (a model
    from before a set was renamed) as "the signals it had", never the code."""
    if not code:
        return "the signals it had"
    return CHANNEL_SET_WORDS.get(code, "the signals it had")


def model_words(trained: date | datetime | None) -> str:
    """A model version as a person reads it: "model of 1 Dec 2026" (its id goes on hover)."""
    if trained is None:
        return "current model"
    return f"model of {trained.day} {trained:%b %Y}"


@dataclass(frozen=True)
class FeatureWords:
    subject: str  # "your breathing"
    higher: str  # "was faster"
    lower: str  # "was slower"
    noun: str  # "your breathing rate": when the direction is not known

    def sentence(self, direction: int, reference: str) -> str:
        """ "your breathing was faster than at rest"; without a direction, the noun and the
        reference: "your breathing rate, compared with your rest"."""
        if direction > 0:
            return f"{self.subject} {self.higher} {reference}"
        if direction < 0:
            return f"{self.subject} {self.lower} {reference}"
        return self.noun


# The recording models' window features (mlcore.recordings.windows.FEATURES).
WINDOW_FEATURE_WORDS: dict[str, FeatureWords] = {
    "hr_mean": FeatureWords("your heart rate", "was higher", "was lower", "your heart rate"),
    "hr_std": FeatureWords(
        "your heart rate", "varied more", "varied less", "how much your heart rate varied"
    ),
    "hr_slope": FeatureWords(
        "your heart rate", "was rising more", "was rising less", "the trend of your heart rate"
    ),
    "hr_tv": FeatureWords(
        "your heart rate",
        "changed more from second to second",
        "changed less from second to second",
        "how quickly your heart rate changed",
    ),
    "scl_mean": FeatureWords(
        "your skin conductance", "was higher", "was lower", "your skin conductance level"
    ),
    "scl_slope": FeatureWords(
        "your skin conductance",
        "was rising more",
        "was rising less",
        "the trend of your skin conductance",
    ),
    "gsr_std": FeatureWords(
        "your skin conductance",
        "varied more",
        "varied less",
        "how much your skin conductance varied",
    ),
    "phasic_std": FeatureWords(
        "your skin conductance",
        "rose and fell more",
        "rose and fell less",
        "the quick rises of your skin conductance",
    ),
    "scr_rate": FeatureWords(
        "skin conductance",
        "rose more often",
        "rose less often",
        "how often your skin conductance rose",
    ),
    "scr_amp": FeatureWords(
        "skin conductance",
        "rose in bigger steps",
        "rose in smaller steps",
        "the size of your skin conductance rises",
    ),
    "resp_rate": FeatureWords("your breathing", "was faster", "was slower", "your breathing rate"),
    "resp_rate_std": FeatureWords(
        "your breathing pace",
        "was more irregular",
        "was steadier",
        "how steady your breathing was",
    ),
    "resp_amp": FeatureWords(
        "your breaths", "were deeper", "were shallower", "how deep your breaths were"
    ),
    "resp_amp_std": FeatureWords(
        "the depth of your breaths",
        "varied more",
        "varied less",
        "how much the depth of your breaths varied",
    ),
    "resp_std": FeatureWords(
        "your breathing movement",
        "was larger",
        "was smaller",
        "how much your chest moved as you breathed",
    ),
    "emg_mean": FeatureWords(
        "your muscle activity", "was higher", "was lower", "your muscle activity"
    ),
    "emg_std": FeatureWords(
        "your muscle activity",
        "varied more",
        "varied less",
        "how much your muscle activity varied",
    ),
    "ecg_std": FeatureWords(
        "the heart's electrical signal",
        "was larger",
        "was smaller",
        "the size of the heart's electrical signal",
    ),
}

# The five typed numbers (mlcore.readings.features.FEATURES).
READING_FEATURE_WORDS: dict[str, FeatureWords] = {
    "heart_rate": FeatureWords("your heart rate", "was higher", "was lower", "your heart rate"),
    "ecg": FeatureWords(
        "the heart's electrical signal",
        "varied more",
        "varied less",
        "the heart's electrical signal",
    ),
    "emg": FeatureWords("your muscle activity", "was higher", "was lower", "your muscle activity"),
    "gsr": FeatureWords(
        "your skin conductance", "was higher", "was lower", "your skin conductance"
    ),
    "respiration": FeatureWords("your breathing", "was deeper", "was shallower", "your breathing"),
}

# How a recording model's input column is named (mlcore.recordings.spec / baseline):
# "<feature>" as measured, "<feature>__<mode>" relative to rest, "...@context" over the
# minutes before the window.
_CONTEXT = "@context"
_RELATIVE_MODES = ("diff", "ratio", "z")


@dataclass(frozen=True)
class Reason:
    """One thing that drove a result, in words, and its share of what moved the result."""

    text: str  # "Your breathing was faster than at rest"
    share: float  # 0-1
    towards: bool  # True: it pushed towards the level shown; False: away from it


def _column_parts(column: str) -> tuple[str, str | None, bool]:
    """(feature, relative mode or None, over the minutes before)."""
    column, context, _ = column.partition(_CONTEXT)
    name, _, mode = column.partition("__")
    return name, (mode if mode in _RELATIVE_MODES else None), bool(context)


def column_direction(column: str, value: float | None) -> int:
    """+1 / -1 when a model input says the feature was above / below the person's rest, 0
    when it does not say (a feature as measured, a missing value)."""
    _, mode, _ = _column_parts(column)
    if mode is None or value is None or not math.isfinite(value):
        return 0
    centre = 1.0 if mode == "ratio" else 0.0
    return 1 if value > centre else -1 if value < centre else 0


def column_words(column: str, direction: int = 0) -> str:
    """A recording model's input column in words. Known direction: "your breathing was
    faster than at rest"; unknown: "your breathing rate, compared with your rest"."""
    name, mode, context = _column_parts(column)
    words = WINDOW_FEATURE_WORDS.get(name)
    if words is None:
        # A feature added to windows.FEATURES without words here: its description, not its code.
        text = WINDOW_FEATURES[name][1] if name in WINDOW_FEATURES else "another signal"
        words = FeatureWords(text, "was higher", "was lower", text)
    if mode is not None and direction:
        text = words.sentence(direction, "than at rest")
    elif mode is not None:
        text = f"{words.noun}, compared with your rest"
    else:
        text = words.noun
    if context:
        text = f"{text} over the minutes before"
    return text


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _shares(effects: Mapping[str, float]) -> dict[str, float]:
    whole = sum(abs(v) for v in effects.values())
    if whole <= 0:
        return dict.fromkeys(effects, 0.0)
    return {key: abs(value) / whole for key, value in effects.items()}


# Below this share a feature is noise, not a reason.
MIN_SHARE = 0.05


def recording_reasons(
    contributions: Mapping[str, float] | None,
    directions: Mapping[str, int] | None = None,
    shares: Mapping[str, float] | None = None,
    limit: int = 3,
) -> list[Reason]:
    """A recording window's explanation: each input column's push on the level shown ->
    sentences, strongest first, with its share of the window's whole push (`shares`, as the
    scorer measured them over every column; without them, the share among the columns
    given)."""
    if not contributions:
        return []
    shares = {**_shares(contributions), **(shares or {})}
    ranked = sorted(contributions, key=lambda key: abs(contributions[key]), reverse=True)
    reasons = []
    for column in ranked[:limit]:
        if shares[column] < MIN_SHARE:
            continue
        direction = (directions or {}).get(column, 0)
        reasons.append(
            Reason(
                _capital(column_words(column, direction)),
                shares[column],
                contributions[column] > 0,
            )
        )
    return reasons


def reading_reasons(
    contributions: Mapping[str, float] | None,
    values: Mapping[str, float | None],
    reference: Mapping[str, float],
    reference_words: str = "than at a typical rest",
    limit: int = 3,
) -> list[Reason]:
    """A typed reading's explanation: the five numbers' pushes -> sentences comparing each
    number with `reference` (a rest: the person's own, or EXAMPLE_READINGS["rest"])."""
    if not contributions:
        return []
    known = {k: v for k, v in contributions.items() if k in READING_FEATURE_WORDS}
    shares = _shares(known)
    ranked = sorted(known, key=lambda key: abs(known[key]), reverse=True)
    reasons = []
    for name in ranked[:limit]:
        if shares[name] < MIN_SHARE:
            continue
        value, rest = values.get(name), reference.get(name)
        direction = 0
        if value is not None and rest is not None:
            direction = 1 if value > rest else -1 if value < rest else 0
        words = READING_FEATURE_WORDS[name]
        text = words.sentence(direction, reference_words) if direction else words.noun
        reasons.append(Reason(_capital(text), shares[name], known[name] > 0))
    return reasons


# Example readings a person can try: the median of drivedb's 30 s windows in each segment
# kind, under the shipped mapping (mlcore.readings.preprocessing.FeatureMapping.fit on all
# ten drives). Reproduce with example_readings_from_drivedb(); a test checks they agree.
EXAMPLE_READINGS: dict[str, dict[str, float]] = {
    "rest": {"heart_rate": 69, "ecg": 0.16, "emg": 0.05, "gsr": 0.10, "respiration": 0.18},
    "highway": {"heart_rate": 74, "ecg": 0.18, "emg": 0.08, "gsr": 0.22, "respiration": 0.20},
    "city": {"heart_rate": 78, "ecg": 0.20, "emg": 0.12, "gsr": 0.30, "respiration": 0.36},
}
EXAMPLE_WORDS: dict[str, str] = {
    "rest": "Sitting at rest",
    "highway": "Driving on a highway",
    "city": "Driving in city traffic",
}


def example_readings_from_drivedb() -> dict[str, dict[str, float]]:
    """EXAMPLE_READINGS measured again from the bundled drivedb data (about a second)."""
    import numpy as np

    from mlcore import drivedb
    from mlcore.readings.preprocessing import FeatureMapping, window_table

    table = window_table([drivedb.load_drive(name) for name in drivedb.drive_names()])
    rows = FeatureMapping.fit(table).transform(table)
    out = {}
    for label, kind in enumerate(("rest", "highway", "city")):
        medians = np.median(rows[table.labels == label], axis=0)
        out[kind] = {
            name: round(float(v), 0 if name == "heart_rate" else 2)
            for name, v in zip(READING_FEATURES, medians, strict=True)
        }
    return out


@dataclass(frozen=True)
class FieldGuide:
    name: str
    label: str  # the field's name on the form
    what: str  # what the number is
    from_device: str  # how a device's value becomes it


# What each raw statistic of the mapping is (mlcore.readings.preprocessing.RAW_STATISTICS).
_STATISTIC_WORDS = {
    "hr_mean_bpm": "the mean heart rate",
    "ecg_mean_mv": "the mean level of the ECG",
    "ecg_std_mv": "how much the ECG signal varies (its standard deviation)",
    "emg_mean_mv": "the mean level of the EMG (muscle) sensor",
    "emg_std_mv": "how much the EMG (muscle) signal varies (its standard deviation)",
    "hand_gsr_mean_mv": "the mean level of a skin conductance (GSR) sensor on the hand",
    "foot_gsr_mean_mv": "the mean level of a skin conductance (GSR) sensor on the foot",
    "resp_mean_mv": "the mean level of a chest breathing belt",
    "resp_std_mv": "how much a chest breathing belt's signal varies (its standard deviation)",
}
_LABELS = {
    "heart_rate": "Heart rate",
    "ecg": "Heart's electrical signal (ECG)",
    "emg": "Muscle activity (EMG)",
    "gsr": "Skin conductance (GSR)",
    "respiration": "Breathing depth (respiration)",
}
_WHAT = {
    "heart_rate": "Your heart rate in beats per minute, as a watch or chest strap shows it.",
    "ecg": "How much your heart's electrical signal (ECG) varied, on a 0 to 1 scale.",
    "emg": "How active your muscles were (EMG), on a 0 to 1 scale.",
    "gsr": "Your skin conductance (GSR, sweat on the skin), on a 0 to 1 scale.",
    "respiration": "How deeply you were breathing, on a 0 to 1 scale.",
}


# Said once above the fields, not under each one.
READING_SCALE_NOTE = (
    "The 0 to 1 scales are those of the driving study the model learnt from: another "
    "device's values compare only if it is scaled alike. Heart rate compares across devices."
)


def reading_guide(mapping: Mapping[str, Any] | None) -> dict[str, FieldGuide]:
    """Per typed number: what it is and how a device's value maps to it, from a model card's
    `feature_mapping` (FeatureMapping.to_dict). Without a card, what each number is."""
    channels = {ch["feature"]: ch for ch in (mapping or {}).get("channels", [])}
    seconds = float((mapping or {}).get("window_seconds", 30.0))
    guide = {}
    for name in READING_FEATURES:
        ch = channels.get(name)
        if name == "heart_rate":
            how = (
                f"Type {_STATISTIC_WORDS['hr_mean_bpm']} over about {seconds:.0f} seconds as "
                "it is (40 to 200)."
            )
        elif ch is None:
            how = "0 is the lowest a sensor reads, 1 the highest."
        else:
            statistic = _STATISTIC_WORDS.get(ch["statistic"], "the sensor's reading")
            how = (
                f"From {statistic} over {seconds:.0f} seconds, in millivolts: "
                f"{ch['low']:.2f} mV or less is 0, {ch['high']:.2f} mV or more is 1, in "
                "between in proportion."
            )
        guide[name] = FieldGuide(name, _LABELS[name], _WHAT[name], how)
    return guide
