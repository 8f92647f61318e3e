"""Property-based run of the whole API against its own OpenAPI schema (Schemathesis):
no input may produce a 5xx, and every response must match the schema, with all of
Schemathesis's checks on."""

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
    """Every check Schemathesis has: no server error, documented status codes and content
    types, responses and headers as the schema says, invalid data refused, required
    headers, methods, Allow headers, authentication honoured. All but one: "schema-valid data
    is accepted" cannot hold for rules a schema does not express (an annotation ending after
    it starts, a file that is a real recording, a reading not in the future)."""
    from schemathesis.checks import CHECKS, load_all_checks

    load_all_checks()
    checks = [c for c in CHECKS.get_all() if c.__name__ != "positive_data_acceptance"]
    case.call_and_validate(headers=bearer, checks=checks)
