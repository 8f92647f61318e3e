"""`{% load timeline %}`: the timeline chart's dots.

- `{% timeline_dots chart.points %}`: one `<circle>` per reading, with its words as label and
  title. Built in one pass here rather than by a template loop: a range holds up to
  TIMELINE_MAX_POINTS (2,000) readings, and the loop's per-variable lookups and number
  formatting cost most of the page (benchmarks/history.py: the timeline of the person with a
  million rows).
"""

from __future__ import annotations

from collections.abc import Iterable

from django import template
from django.utils.html import format_html_join
from django.utils.safestring import SafeString

from predictions.charts import ChartPoint

register = template.Library()

_DOT = '<circle class="dot {}" cx="{}%" cy="{}" r="4" data-label="{}"><title>{}</title></circle>'


@register.simple_tag
def timeline_dots(points: Iterable[ChartPoint]) -> SafeString:
    return format_html_join("", _DOT, ((p.level, p.percent, p.y, p.label, p.label) for p in points))
