"""The history's paginator counts at most LOOKAHEAD_PAGES past the page asked for."""

import pytest

from predictions.models import Prediction
from predictions.pagination import LOOKAHEAD_PAGES, LookaheadPaginator
from predictions.tests.factories import PredictionFactory

pytestmark = pytest.mark.django_db


def test_it_counts_only_a_few_pages_ahead_and_says_there_are_more(user):
    PredictionFactory.create_batch(LOOKAHEAD_PAGES + 5, user=user)
    rows = Prediction.objects.filter(user=user).order_by("-measured_at", "-id")
    first = LookaheadPaginator(rows, 1, "1").get_page("1")
    assert not first.paginator.exact and first.paginator.count == LOOKAHEAD_PAGES + 2
    assert first.has_next()
    # Further on, the end is within reach and the count is exact again.
    late = LookaheadPaginator(rows, 1, "10").get_page("10")
    assert late.paginator.exact and late.paginator.count == LOOKAHEAD_PAGES + 5


def test_a_page_number_that_is_not_one_reads_as_the_first(user):
    PredictionFactory.create_batch(3, user=user)
    rows = Prediction.objects.filter(user=user).order_by("-measured_at", "-id")
    page = LookaheadPaginator(rows, 2, "junk").get_page("junk")
    assert page.number == 1 and page.paginator.exact and page.paginator.count == 3


def test_the_history_page_says_more_than_when_it_did_not_count_all(client, user, settings):
    import predictions.views as views

    PredictionFactory.create_batch(LOOKAHEAD_PAGES + 3, user=user)
    client.force_login(user)
    before = views.HISTORY_PAGE_SIZE
    views.HISTORY_PAGE_SIZE = 1
    try:
        text = client.get("/history/").content.decode()
    finally:
        views.HISTORY_PAGE_SIZE = before
    assert "or more" in text and f"more than {LOOKAHEAD_PAGES + 1} readings" in text
