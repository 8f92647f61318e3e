"""`{% load timeline %}`: the timeline chart's dots.

- `{% timeline_dots chart.points %}`: one `<circle>` per reading, with its words as label and
  title. Built in one pass here rather than by a template loop: a range holds up to
  TIMELINE_MAX_POINTS (2,000) readings, and the loop's per-variable lookups and number
  formatting cost most of the page (benchmarks/history.py: the timeline of the person with a
  million rows).
"""

from __future__ import annotations

import html
from collections.abc import Iterable

from django import template
from django.utils.safestring import SafeString, mark_safe

from predictions.charts import ChartPoint

register = template.Library()

_DOT = '<circle class="dot {}" cx="{}%" cy="{}" r="4" data-label="{}"><title>{}</title></circle>'


@register.simple_tag
def timeline_dots(points: Iterable[ChartPoint]) -> SafeString:
    """The same markup as the template loop (Django's escape is html.escape), without its
    per-value machinery (format_html_join costs most of what the loop did)."""
    parts = []
    for p in points:
        label = html.escape(p.label)
        parts.append(_DOT.format(html.escape(p.level), p.percent, p.y, label, label))
    return mark_safe("".join(parts))  # noqa: S308  # nosec B308 B703: every value escaped above
