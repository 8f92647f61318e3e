"""Where people look for the API docs, and the way back to the app."""

import pytest


@pytest.mark.django_db
def test_api_docs_sends_people_to_the_docs(client):
    response = client.get("/api/docs")
    assert response.status_code == 302 and response["Location"] == "/docs"


@pytest.mark.django_db
def test_the_docs_link_back_to_the_app(client):
    schema = client.get("/api/schema", HTTP_ACCEPT="application/json").json()
    assert "[Back to the stress tracker](/)" in schema["info"]["description"]
