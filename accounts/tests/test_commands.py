from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from accounts.services import api_token_authenticate


def test_it_prints_a_working_token(user):
    out = StringIO()
    call_command("create_api_token", user.username, "--name", "ci", stdout=out)
    token = api_token_authenticate(raw_token=out.getvalue().strip())
    assert token is not None and token.user == user and token.name == "ci"


@pytest.mark.django_db
def test_it_refuses_an_unknown_user():
    with pytest.raises(CommandError, match="No user"):
        call_command("create_api_token", "nobody", "--name", "ci")
