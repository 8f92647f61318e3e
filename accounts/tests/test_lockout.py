from django.urls import reverse


def test_a_burst_of_failed_logins_is_locked_out(client, user, settings):
    statuses = [
        client.post(reverse("login"), {"username": user.username, "password": "wrong"}).status_code
        for _ in range(settings.AXES_FAILURE_LIMIT)
    ]
    # The form again with an error, until the limit is reached.
    assert statuses == [200] * (settings.AXES_FAILURE_LIMIT - 1) + [429]
    locked = client.post(
        reverse("login"), {"username": user.username, "password": "correct-horse-battery"}
    )
    assert locked.status_code == 429
    assert b"Too many failed log-ins" in locked.content
    assert "_auth_user_id" not in client.session


def test_a_successful_login_still_works_below_the_limit(client, user):
    client.post(reverse("login"), {"username": user.username, "password": "wrong"})
    response = client.post(
        reverse("login"), {"username": user.username, "password": "correct-horse-battery"}
    )
    assert response.status_code == 302
