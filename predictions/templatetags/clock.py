"""Times within a recording as the page writes them: minutes:seconds from its start, the
format its forms take (`{{ seconds|mmss }}`, `{{ moment|since:recording.starts_at }}`)."""

from datetime import datetime

from django import template

from predictions.recordings.forms import clock_text

register = template.Library()


@register.filter
def mmss(seconds: float | None) -> str:
    return "" if seconds is None else clock_text(max(float(seconds), 0.0))


@register.filter
def since(moment: datetime | None, start: datetime | None) -> str:
    if moment is None or start is None:
        return ""
    return clock_text(max((moment - start).total_seconds(), 0.0))
