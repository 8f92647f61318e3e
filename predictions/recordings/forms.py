"""HTML forms for recordings: upload, calibrate, annotate. Times within a recording are typed
as a clock from its start (mm:ss or h:mm:ss), as people read them off the chart."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from django import forms
from django.conf import settings

from predictions.models import StressLevel
from predictions.recordings.services import FORMATS_WE_READ, RestRange
from predictions.validation import NOTE_MAX_LENGTH

_CLOCK = re.compile(r"^\s*(?:(\d{1,2}):)?(\d{1,4}):(\d{2})\s*$")
ACCEPTED_FILES = ".edf,.bdf,.zip,.csv,.txt,.hea,.dat,.fit,.xml,.avro,.h5"


def clock_seconds(text: str) -> float:
    """'03:00' -> 180, '1:02:03' -> 3723; ValueError for anything else."""
    match = _CLOCK.match(text or "")
    if not match:
        raise ValueError("Use minutes:seconds or hours:minutes:seconds, e.g. 03:00.")
    hours, minutes, seconds = (int(part or 0) for part in match.groups())
    if seconds >= 60 or (match.group(1) is not None and minutes >= 60):
        raise ValueError("Seconds (and minutes after hours) go up to 59.")
    return float(hours * 3600 + minutes * 60 + seconds)


def clock_text(seconds: float) -> str:
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


class ClockField(forms.CharField):
    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 12)
        kwargs.setdefault("widget", forms.TextInput(attrs={"inputmode": "numeric"}))
        super().__init__(**kwargs)

    def clean(self, value: Any) -> float | None:
        text = super().clean(value)
        if not text:
            return None
        try:
            return clock_seconds(text)
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from None


class RangeForm(forms.Form):
    start = ClockField(label="From", initial="00:00")
    end = ClockField(label="To", initial="03:00")

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if start is not None and end is not None and end <= start:
            raise forms.ValidationError("The end must come after the start.")
        return data


class CalibrateForm(RangeForm):
    prefix = "rest"  # the page holds two range forms: their fields need distinct ids

    def rest(self) -> RestRange:
        return RestRange(self.cleaned_data["start"], self.cleaned_data["end"])


class AnnotateForm(RangeForm):
    prefix = "label"
    start = ClockField(label="From")
    end = ClockField(label="To")
    level = forms.ChoiceField(choices=StressLevel.choices, label="I felt")
    note = forms.CharField(required=False, max_length=NOTE_MAX_LENGTH, label="Note")

    def moments(self, starts_at: datetime) -> tuple[datetime, datetime]:
        data = self.cleaned_data
        return (
            starts_at + timedelta(seconds=data["start"]),
            starts_at + timedelta(seconds=data["end"]),
        )


class RecordingUploadForm(forms.Form):
    file = forms.FileField(
        label="Recording file",
        allow_empty_file=True,
        help_text=f"What your device exports: {FORMATS_WE_READ}.",
        widget=forms.ClearableFileInput(attrs={"accept": ACCEPTED_FILES}),
    )
    name = forms.CharField(required=False, max_length=255, label="Name (optional)")
    started_at = forms.DateTimeField(
        required=False,
        label="Started at (optional)",
        help_text="Only for a file without a clock of its own (elapsed seconds): when you "
        "started recording. Left empty, it is taken to have ended now.",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )
    rest_start = ClockField(required=False, label="Rest from (optional)")
    rest_end = ClockField(required=False, label="Rest to")

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if (data.get("rest_start") is None) != (data.get("rest_end") is None):
            raise forms.ValidationError("Give both ends of the rest, or neither.")
        return data

    def rest(self) -> RestRange | None:
        data = self.cleaned_data
        if data.get("rest_start") is None:
            return None
        return RestRange(data["rest_start"], data["rest_end"])

    @staticmethod
    def limits() -> dict[str, int]:
        return {
            "max_mb": settings.RECORDING_MAX_BYTES // (1024 * 1024),
            "max_hours": settings.RECORDING_MAX_SECONDS // 3600,
        }


class FiveNumberBaselineForm(forms.Form):
    """When the typed rest readings were taken, in the person's time zone (the page's)."""

    start = forms.DateTimeField(widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    end = forms.DateTimeField(widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("start") and data.get("end") and data["end"] <= data["start"]:
            raise forms.ValidationError("The end must come after the start.")
        return data


class MomentAnnotateForm(forms.Form):
    """A label on the timeline: a range of wall-clock times in the person's zone."""

    prefix = "felt"
    starts_at = forms.DateTimeField(
        label="From", widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    ends_at = forms.DateTimeField(
        required=False,
        label="To (empty: it goes on)",
        help_text="Leave it empty as an episode starts; the next one you mark ends it.",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )
    level = forms.ChoiceField(choices=StressLevel.choices, label="I felt")
    note = forms.CharField(
        required=False,
        max_length=NOTE_MAX_LENGTH,
        label="What it was",
        help_text="Resting, commuting in traffic, a hard meeting...",
    )
