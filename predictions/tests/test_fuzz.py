"""Property-based run of the whole API against its own OpenAPI schema (Schemathesis):
no input may produce a 5xx, and every response must match the schema."""

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, settings

from accounts.services import api_token_create
from predictions.tests.factories import PredictionFactory

pytestmark = pytest.mark.fuzz


def _load_schema() -> schemathesis.schemas.BaseSchema:
    loaded = schemathesis.openapi.from_dict(SchemaGenerator().get_schema(request=None, public=True))
    loaded.app = get_wsgi_application()
    return loaded


schema = _load_schema()


@pytest.fixture
def wsgi_in_test_transaction(db, settings):
    settings.ALLOWED_HOSTS = ["localhost", "testserver"]
    # Like Django's test client: keep the test's connection (and its transaction) open
    # across requests instead of closing it at the end of each one.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def bearer(user, active_model, wsgi_in_test_transaction) -> dict[str, str]:
    PredictionFactory.create_batch(3, user=user)
    return {"Authorization": f"Bearer {api_token_create(user=user, name='fuzz').raw}"}


@schema.parametrize()
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_the_api_never_fails_and_always_matches_its_schema(case, bearer):
    from schemathesis.checks import (
        content_type_conformance,
        not_a_server_error,
        response_schema_conformance,
        status_code_conformance,
    )

    case.call_and_validate(
        headers=bearer,
        checks=[
            not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_schema_conformance,
        ],
    )
