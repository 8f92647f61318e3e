import zoneinfo

from django import forms
from django.contrib.auth.forms import UserCreationForm

from accounts.models import User


def time_zone_choices() -> list[tuple[str, str]]:
    return [(name, name.replace("_", " ")) for name in sorted(zoneinfo.available_timezones())]


class SignUpForm(UserCreationForm):
    email = forms.EmailField(required=True, help_text="For password resets only.")
    time_zone = forms.ChoiceField(
        choices=time_zone_choices,
        initial="UTC",
        help_text="Your days and summaries are cut at midnight here (your browser's, unless "
        "you choose another).",
        # app.js preselects the browser's zone; without JavaScript, UTC stays.
        widget=forms.Select(attrs={"data-browser-time-zone": ""}),
    )

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        if self.is_bound:  # a form sent back with errors keeps the zone the person sent
            self.fields["time_zone"].widget.attrs["data-chosen"] = "1"

    class Meta(UserCreationForm.Meta):
        model = User
        fields = ("username", "email", "time_zone")


class TimeZoneForm(forms.Form):
    time_zone = forms.ChoiceField(choices=time_zone_choices)


class TokenCreateForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="What will use it, e.g. 'Garmin bridge'.")
    expires_in_days = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=3650,
        help_text="Leave empty for a token that does not expire.",
    )


class DeleteAccountForm(forms.Form):
    password = forms.CharField(
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        help_text="Type your password to confirm.",
    )
    confirm = forms.BooleanField(
        label="I understand this deletes all my readings, jobs and tokens for good."
    )

    def __init__(self, *args: object, user: User, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_password(self) -> str:
        password = self.cleaned_data["password"]
        if not self.user.check_password(password):
            raise forms.ValidationError("That is not your password.")
        return password
