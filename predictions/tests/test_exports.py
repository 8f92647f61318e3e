import json

from django.urls import reverse

from predictions.tests.factories import PredictionFactory


def _download(client, url: str) -> bytes:
    return b"".join(client.get(url).streaming_content)


def test_the_account_export_holds_all_and_only_my_data(client, user, other_user, active_model):
    PredictionFactory(user=user, note="mine")
    PredictionFactory(user=other_user, note="theirs")
    client.force_login(user)
    data = json.loads(_download(client, reverse("account-export", args=["json"])))
    assert data["profile"]["username"] == user.username
    assert [r["note"] for r in data["readings"]] == ["mine"]
    text = _download(client, reverse("account-export", args=["csv"])).decode()
    assert "mine" in text and "theirs" not in text


def test_the_account_export_needs_a_login(client, db):
    response = client.get(reverse("account-export", args=["csv"]))
    assert response.status_code == 302 and "/login/" in response["Location"]
