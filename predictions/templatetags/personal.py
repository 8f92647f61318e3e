"""`{% personal_models_list user %}`: the person's own models, for the account page (which
lives in accounts and so cannot query predictions itself)."""

from typing import Any

from django import template

from predictions.personal.presenters import personal_model_views
from predictions.personal.selectors import personal_model_list_for_user

register = template.Library()


@register.inclusion_tag("predictions/personal_models_account.html")
def personal_models_list(user: Any) -> dict[str, Any]:
    return {"personal_models": personal_model_views(list(personal_model_list_for_user(user=user)))}
