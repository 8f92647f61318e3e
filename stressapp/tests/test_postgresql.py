"""Our PostgreSQL backend: a health check without a round trip that still notices a
connection the server has closed, and the reading INSERT prepared on the server."""

import psycopg
import pytest
from django.db import connection, connections

from stressapp.tests.support import reading_payload, wait_for

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL backend only")


@pytest.fixture
def own_connection(db):
    """A second connection of the default database, outside the test's transaction."""
    wrapper = connections.create_connection("default")
    wrapper.ensure_connection()
    yield wrapper
    wrapper.close()


def test_an_idle_healthy_connection_is_usable_without_asking_the_server(
    own_connection, monkeypatch
):
    def no_round_trip(self):
        raise AssertionError("asked the server")

    monkeypatch.setattr(
        "django.db.backends.postgresql.base.DatabaseWrapper.is_usable", no_round_trip
    )
    assert own_connection.is_usable()


def test_a_connection_the_server_closed_is_not_usable_and_is_replaced(own_connection):
    pid = own_connection.connection.info.backend_pid
    with psycopg.connect(_dsn(), autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [pid])
    assert wait_for(lambda: not own_connection.is_usable(), 5)
    own_connection.health_check_enabled, own_connection.health_check_done = True, False
    own_connection.close_if_health_check_failed()
    with own_connection.cursor() as cursor:  # a new connection, no error
        cursor.execute("SELECT pg_backend_pid()")
        assert cursor.fetchone()[0] != pid


def test_a_closed_connection_is_not_usable(own_connection):
    own_connection.connection.close()
    assert not own_connection.is_usable()


def test_the_reading_insert_is_prepared_once_per_connection(token_client, active_model):
    for _ in range(3):
        response = token_client.post(
            "/api/predict", data=reading_payload(), content_type="application/json"
        )
        assert response.status_code == 201
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        prepared = [row[0] for row in cursor.fetchall()]
    assert len([s for s in prepared if s.startswith('INSERT INTO "predictions_prediction"')]) == 1


def test_each_session_asks_the_server_to_end_it_once_its_client_has_vanished(own_connection):
    """A host cut off mid-transaction would otherwise hold its locks for the operating
    system's two hours (benchmarks/hosts.py): the server probes after DB_KEEPALIVE_SECONDS
    (5) and gives up after three probes, or 20 s with data unacknowledged."""
    with own_connection.cursor() as cursor:
        shown = {}
        for name in ("tcp_keepalives_idle", "tcp_keepalives_interval", "tcp_keepalives_count"):
            cursor.execute(f"SHOW {name}")
            shown[name] = cursor.fetchone()[0]
        cursor.execute("SHOW tcp_user_timeout")
        shown["tcp_user_timeout"] = cursor.fetchone()[0]
    assert shown == {
        "tcp_keepalives_idle": "5",
        "tcp_keepalives_interval": "5",
        "tcp_keepalives_count": "3",
        "tcp_user_timeout": "20000",  # ms
    }


def _dsn() -> str:
    params = connection.get_connection_params()
    keys = ("host", "port", "user", "password")
    return " ".join(f"{k}={params[k]}" for k in keys if params.get(k)) + " dbname=postgres"
