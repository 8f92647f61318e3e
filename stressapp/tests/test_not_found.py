"""A mistyped address: our own page for people, the error shape for the API."""

import pytest

from stressapp.tests.support import assert_error


@pytest.mark.django_db
def test_a_mistyped_page_gets_our_own_page_with_a_way_back(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    body = response.content.decode()
    assert "There is nothing here" in body and 'href="/"' in body
    assert "URLconf" not in body and "urlpatterns" not in body  # never the debug page


@pytest.mark.django_db
def test_a_mistyped_api_address_gets_the_error_shape(client):
    assert_error(client.get("/api/no-such-endpoint"), 404, "not_found")
