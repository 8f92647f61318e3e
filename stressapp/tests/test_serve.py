"""The web server's settings come from the environment, with clear refusals."""

import pytest

from stressapp import serve


def test_it_reads_its_settings_from_the_environment(monkeypatch):
    for name, value in {
        "HOST": "127.0.0.1",
        "PORT": "8123",
        "WEB_CONCURRENCY": "3",
        "WEB_THREADS": "4",
        "WEB_MAX_RSS_MB": "700",
    }.items():
        monkeypatch.setenv(name, value)
    server = serve.server()
    assert (server.bind_addr, server.bind_port) == ("127.0.0.1", 8123)
    assert (server.workers, server.blocking_threads) == (3, 4)
    assert server.workers_rss == 700 * 1024 * 1024  # granian keeps it in bytes
    assert server.target == serve.APPLICATION


def test_it_defaults_to_one_process_per_core_with_two_threads(monkeypatch):
    for name in ("WEB_CONCURRENCY", "WEB_THREADS", "PORT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(serve.os, "cpu_count", lambda: 2)
    server = serve.server("benchmarks.floor_wsgi:application")
    assert (server.workers, server.blocking_threads, server.bind_port) == (2, 2, 8000)
    assert server.target == "benchmarks.floor_wsgi:application"


@pytest.mark.parametrize(("value", "message"), [("two", "not a whole number"), ("0", "at least 1")])
def test_it_refuses_a_bad_number_by_name(monkeypatch, value, message):
    monkeypatch.setenv("WEB_THREADS", value)
    with pytest.raises(SystemExit, match=f"WEB_THREADS='{value}'.*{message}"):
        serve.server()
