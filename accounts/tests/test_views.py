import pytest
from django.core import mail
from django.urls import reverse

from accounts.models import ApiToken, User
from accounts.services import api_token_create


@pytest.mark.django_db
def test_it_signs_up_and_logs_in_a_new_person(client):
    response = client.post(
        reverse("signup"),
        {
            "username": "ann",
            "email": "ann@example.com",
            "time_zone": "Europe/Paris",
            "password1": "a-sound-passphrase",
            "password2": "a-sound-passphrase",
        },
    )
    assert response.status_code == 302
    user = User.objects.get(username="ann")
    assert user.time_zone == "Europe/Paris"
    assert client.get(reverse("account")).status_code == 200


@pytest.mark.django_db
def test_it_rejects_a_weak_password_and_an_unknown_time_zone(client):
    response = client.post(
        reverse("signup"),
        {
            "username": "ann",
            "email": "ann@example.com",
            "time_zone": "Mars/Olympus",
            "password1": "123",
            "password2": "123",
        },
    )
    assert response.status_code == 200
    assert not User.objects.filter(username="ann").exists()
    form = response.context["form"]
    assert "password2" in form.errors and "time_zone" in form.errors


def test_the_account_page_requires_login(client, db):
    response = client.get(reverse("account"))
    assert response.status_code == 302 and reverse("login") in response["Location"]


def test_it_shows_a_new_token_once(client, user):
    client.force_login(user)
    response = client.post(reverse("token-create"), {"name": "watch"})
    raw = response.context["new_token"].raw
    assert raw in response.content.decode()
    again = client.get(reverse("account")).content.decode()
    assert raw not in again and "watch" in again


def test_it_revokes_its_own_token_but_not_anothers(client, user, other_user):
    mine = api_token_create(user=user, name="mine").token
    theirs = api_token_create(user=other_user, name="theirs").token
    client.force_login(user)
    assert client.post(reverse("token-revoke", args=[theirs.pk])).status_code == 404
    assert ApiToken.objects.get(pk=theirs.pk).revoked_at is None
    assert client.post(reverse("token-revoke", args=[mine.pk])).status_code == 302
    assert ApiToken.objects.get(pk=mine.pk).revoked_at is not None


def test_it_changes_the_time_zone(client, user):
    client.force_login(user)
    client.post(reverse("account"), {"time_zone": "Asia/Tokyo"})
    user.refresh_from_db()
    assert user.time_zone == "Asia/Tokyo"
    client.post(reverse("account"), {"time_zone": "Nowhere/Else"})
    user.refresh_from_db()
    assert user.time_zone == "Asia/Tokyo"


def test_it_emails_a_password_reset_link(client, user):
    response = client.post(reverse("password_reset"), {"email": user.email})
    assert response.status_code == 302
    assert len(mail.outbox) == 1 and "/accounts/reset/" in mail.outbox[0].body


def test_it_changes_the_password(client, user):
    client.force_login(user)
    response = client.post(
        reverse("password_change"),
        {
            "old_password": "correct-horse-battery",
            "new_password1": "another-sound-passphrase",
            "new_password2": "another-sound-passphrase",
        },
    )
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password("another-sound-passphrase")


def test_deleting_the_account_needs_the_password_and_removes_the_user(client, user):
    token = api_token_create(user=user, name="watch").raw
    client.force_login(user)
    refused = client.post(reverse("account-delete"), {"password": "wrong", "confirm": "on"})
    assert refused.status_code == 400 and User.objects.filter(pk=user.pk).exists()
    response = client.post(
        reverse("account-delete"), {"password": "correct-horse-battery", "confirm": "on"}
    )
    assert response.status_code == 302
    assert not User.objects.filter(pk=user.pk).exists()
    from accounts.services import api_token_authenticate

    assert api_token_authenticate(raw_token=token) is None
