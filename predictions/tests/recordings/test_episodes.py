"""Episodes marked as they start (POST /api/annotations with no end): the next one a person
marks closes it; one marked afterwards, before a later one, ends where that one starts."""

from datetime import timedelta

import pytest
from django.utils import timezone

from predictions.models import Annotation
from stressapp.tests.support import assert_error

pytestmark = pytest.mark.django_db


def mark(client, starts_at, level="medium", note="", **extra):
    body = {"starts_at": starts_at.isoformat(), "level": level, "note": note, **extra}
    return client.post("/api/annotations", body, format="json")


def test_an_episode_marked_as_it_starts_is_closed_by_the_next(token_client, user):
    now = timezone.now().replace(microsecond=0)
    first = mark(token_client, now - timedelta(hours=2), "high", "commuting in traffic")
    assert first.status_code == 201 and first.json()["ends_at"] is None
    second = mark(token_client, now - timedelta(minutes=30), "low", "resting").json()
    closed = Annotation.objects.get(pk=first.json()["id"])
    assert closed.ends_at == now - timedelta(minutes=30)
    assert Annotation.objects.get(pk=second["id"]).ends_at is None  # still going on


def test_an_episode_marked_afterwards_ends_where_the_next_one_starts(token_client, user):
    now = timezone.now().replace(microsecond=0)
    later = mark(token_client, now - timedelta(hours=1), "low", "resting").json()
    earlier = mark(token_client, now - timedelta(hours=3), "high", "a hard meeting").json()
    assert earlier["ends_at"] == (now - timedelta(hours=1)).isoformat().replace("+00:00", "Z")
    assert Annotation.objects.get(pk=later["id"]).ends_at is None


def test_a_closed_range_also_ends_the_episode_going_on(token_client, user):
    now = timezone.now().replace(microsecond=0)
    going_on = mark(token_client, now - timedelta(hours=2)).json()
    mark(
        token_client,
        now - timedelta(hours=1),
        "low",
        ends_at=(now - timedelta(minutes=50)).isoformat(),
    )
    assert Annotation.objects.get(pk=going_on["id"]).ends_at == now - timedelta(hours=1)


def test_another_persons_episode_is_left_alone(token_client, other_user):
    now = timezone.now()
    theirs = Annotation.objects.create(
        user=other_user, starts_at=now - timedelta(hours=3), ends_at=None, level="high"
    )
    mark(token_client, now - timedelta(hours=1))
    theirs.refresh_from_db()
    assert theirs.ends_at is None


def test_an_episode_cannot_start_in_the_future(token_client):
    response = mark(token_client, timezone.now() + timedelta(hours=1))
    body = assert_error(response, 400, "validation_error")
    assert "future" in body["message"]
    assert Annotation.objects.count() == 0


def test_an_episode_going_on_counts_until_now_for_at_most_two_days(user):
    now = timezone.now()
    recent = Annotation.objects.create(user=user, starts_at=now - timedelta(hours=1), level="high")
    old = Annotation.objects.create(user=user, starts_at=now - timedelta(days=5), level="low")
    assert recent.effective_end(now) == now
    assert old.effective_end(now) == old.starts_at + timedelta(days=2)


def test_episodes_are_marked_on_the_timeline_page(client, user):
    client.force_login(user)
    start = (timezone.localtime(timezone.now()) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    response = client.post(
        "/timeline/annotate",
        {"felt-starts_at": start, "felt-level": "medium", "felt-note": "commuting"},
        follow=True,
    )
    assert b"Episode started" in response.content
    episode = Annotation.objects.get(user=user)
    assert episode.ends_at is None and episode.note == "commuting"
