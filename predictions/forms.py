"""HTML forms. Ranges and messages come from mlcore.readings.features, the same source as the
API's."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any

from django import forms
from django.utils import timezone

from mlcore.plain_words import FieldGuide
from mlcore.readings.features import FEATURES, out_of_range_message
from predictions.models import Source, StressLevel
from predictions.selectors import HistoryFilters
from predictions.services import Reading
from predictions.validation import (
    NOTE_MAX_LENGTH,
    latest_allowed_measured_at,
    measured_at_problem,
    note_problem,
)


def day_range(
    start: date | None, end: date | None, tz: tzinfo
) -> tuple[datetime | None, datetime | None]:
    """Dates chosen on a page (end inclusive) as [start, end) moments in the person's zone."""
    return (
        datetime.combine(start, time.min, tzinfo=tz) if start else None,
        datetime.combine(end, time.min, tzinfo=tz) + timedelta(days=1) if end else None,
    )


class ReadingForm(forms.Form):
    measured_at = forms.DateTimeField(
        required=False,
        label="Measured at",
        help_text="Leave empty for now.",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )
    note = forms.CharField(required=False, max_length=NOTE_MAX_LENGTH, label="Note")

    def __init__(
        self, *args: Any, guide: dict[str, FieldGuide] | None = None, **kwargs: Any
    ) -> None:
        """`guide` (mlcore.plain_words.reading_guide): what each number is and how a device's
        value maps to it, shown under its field."""
        super().__init__(*args, **kwargs)
        features = {}
        for feature in FEATURES:
            field_guide = (guide or {}).get(feature.name)
            # The API names the field by its code; the page by the words beside the field.
            message = out_of_range_message(feature)
            if field_guide is not None:
                message = message.replace(feature.name, field_guide.label, 1)
            help_text = f"{feature.minimum:g} to {feature.maximum:g}. {feature.description}"
            if field_guide is not None:
                help_text = f"{field_guide.what} {field_guide.from_device}"
            features[feature.name] = forms.FloatField(
                label=f"{field_guide.label if field_guide else feature.label} "
                f"({feature.minimum:g} to {feature.maximum:g})",
                min_value=feature.minimum,
                max_value=feature.maximum,
                help_text=help_text,
                error_messages={"min_value": message, "max_value": message},
                widget=forms.NumberInput(
                    attrs={
                        "step": "any",
                        "min": f"{feature.minimum:g}",
                        "max": f"{feature.maximum:g}",
                        "inputmode": "decimal",
                    }
                ),
            )
        # Features first, in contract order.
        self.fields = {**features, **self.fields}

    def clean_measured_at(self) -> Any:
        value = self.cleaned_data.get("measured_at")
        problem = value and measured_at_problem(value, latest_allowed_measured_at())
        if problem:
            raise forms.ValidationError(problem)
        return value

    def clean_note(self) -> str:
        note = self.cleaned_data.get("note") or ""
        problem = note_problem(note)
        if problem:
            raise forms.ValidationError(problem)
        return note

    def to_reading(self) -> Reading:
        data = self.cleaned_data
        return Reading(
            **{f.name: data[f.name] for f in FEATURES},
            measured_at=data.get("measured_at") or timezone.now(),
            note=data.get("note") or "",
        )


class HistoryFilterForm(forms.Form):
    start = forms.DateField(
        required=False, label="From", widget=forms.DateInput(attrs={"type": "date"})
    )
    end = forms.DateField(
        required=False, label="To (inclusive)", widget=forms.DateInput(attrs={"type": "date"})
    )
    level = forms.ChoiceField(
        required=False, choices=[("", "Any level"), *StressLevel.choices], label="Level"
    )
    source = forms.ChoiceField(
        required=False, choices=[("", "Any source"), *Source.choices], label="Source"
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("start") and data.get("end") and data["start"] > data["end"]:
            raise forms.ValidationError("'From' must not be after 'To'.")
        return data

    def to_filters(self, tz: tzinfo) -> HistoryFilters:
        """The filters to query with; none when the form is invalid (the page says why)."""
        if not self.is_valid():
            return HistoryFilters()
        data = self.cleaned_data
        start, end = day_range(data.get("start"), data.get("end"), tz)
        return HistoryFilters(
            start=start, end=end, level=data.get("level") or None, source=data.get("source") or None
        )


TIMELINE_RANGES = {"24h": timedelta(hours=24), "7d": timedelta(days=7), "30d": timedelta(days=30)}


class TimelineForm(forms.Form):
    range = forms.ChoiceField(
        required=False,
        choices=[
            ("24h", "Last 24 hours"),
            ("7d", "Last 7 days"),
            ("30d", "Last 30 days"),
            ("custom", "Chosen dates"),
        ],
        initial="7d",
    )
    start = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("range") == "custom":
            if not data.get("start") or not data.get("end"):
                raise forms.ValidationError("Choose both dates for a custom range.")
            if data["start"] > data["end"]:
                raise forms.ValidationError("The first date must not be after the second.")
            if (data["end"] - data["start"]).days > 366:
                raise forms.ValidationError("Choose at most a year.")
        return data

    def to_window(self, tz: tzinfo, now: datetime) -> tuple[datetime, datetime, str]:
        """[start, end) to chart and the range chosen; the last 7 days when none (or invalid)."""
        choice = (self.cleaned_data.get("range") if self.is_valid() else None) or "7d"
        if choice == "custom" and self.is_valid():
            start, end = day_range(self.cleaned_data["start"], self.cleaned_data["end"], tz)
            return start, end, choice  # type: ignore[return-value]  # both dates required
        return now - TIMELINE_RANGES.get(choice, TIMELINE_RANGES["7d"]), now, choice


class BatchUploadForm(forms.Form):
    file = forms.FileField(
        label="CSV file",
        # The header itself is shown as code beside it (jobs.html): column names to type.
        help_text="Its first line names the columns:",
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.jsonl,text/csv"}),
    )
