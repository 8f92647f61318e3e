"""How a person's own models are put in words on the pages."""

from __future__ import annotations

from dataclasses import dataclass

from mlcore.plain_words import channel_set_words
from predictions.models import PersonalModel


def in_ten(share: float) -> int:
    return round(share * 10)


@dataclass(frozen=True)
class PersonalModelView:
    model: PersonalModel
    sensors: str
    sentence: str


def agreement_sentence(model: PersonalModel) -> str:
    """ "With your labels, it now agrees with you 8 times in 10, up from 6." Both figures
    are on labels the model did not learn from."""
    before = model.population_share
    after = model.personal_share
    if after is None or before is None:
        return (
            "It has learnt from your one labelled episode. Label another one to see how well "
            "it does on labels it has not learnt from."
        )
    now, was = in_ten(after), in_ten(before)
    if now > was:
        trend = f"up from {was}"
    elif now < was:
        trend = f"down from {was}: keep labelling, or delete it on your account page"
    else:
        trend = "as often as before"
    return f"With your labels, it now agrees with you {now} times in 10, {trend}."


def personal_model_views(models: list[PersonalModel]) -> list[PersonalModelView]:
    return [
        PersonalModelView(m, channel_set_words(m.channel_set), agreement_sentence(m))
        for m in models
    ]


@dataclass(frozen=True)
class ChangeView:
    """What scoring a recording again changed, for its page."""

    rows: list[tuple[str, int, int]]  # level, minutes before, minutes after
    moved: int
    compared: int
    moves: list[dict]
    why: str


def change_summary(change: dict) -> ChangeView | None:
    if not change:
        return None
    rows = [
        (
            level,
            round(change["before"].get(level, 0) / 60),
            round(change["after"].get(level, 0) / 60),
        )
        for level in ("low", "medium", "high")
    ]
    if change.get("personal_after") and not change.get("personal_before"):
        why = "scored by your own model this time, learnt from your labels"
    elif change.get("personal_before") and not change.get("personal_after"):
        why = "scored by the general model this time, not your own"
    elif change.get("model_version_before") != change.get("model_version_after"):
        why = "scored by a newer model this time"
    else:
        why = "scored again with the same kind of model"
    return ChangeView(rows, change["moved"], change["compared"], change.get("moves", []), why)
