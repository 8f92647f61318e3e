"""`{% active_baselines user %}`: the person's active baselines, for the account page (which
lives in accounts and so cannot query predictions itself)."""

from typing import Any

from django import template

from predictions.recordings.selectors import baseline_list_active_for_user

register = template.Library()


@register.inclusion_tag("predictions/baselines.html")
def active_baselines(user: Any) -> dict[str, Any]:
    return {"baselines": list(baseline_list_active_for_user(user=user))}
