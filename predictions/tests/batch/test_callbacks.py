"""The webhook at the end of a job: URL rules, the pinned address, Standard Webhooks signing."""

import socket
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from predictions.batch import callbacks
from predictions.models import BatchJob
from predictions.tests.batch.helpers import csv_bytes, run_job_inline, upload
from stressapp.tests.support import assert_error


@pytest.mark.parametrize(
    "url", ["https://[::1", "https://example.com:99999/x", "ftp://example.com/x", "x" * 2001]
)
def test_it_rejects_malformed_callback_urls(token_client, url):
    response = upload(token_client, csv_bytes(2), data={"callback_url": url})
    assert "callback_url" in assert_error(response, 400, "validation_error")["details"]
    assert BatchJob.objects.count() == 0


def test_it_refuses_plain_http_callbacks_in_production(token_client, settings):
    settings.BATCH_CALLBACK_ALLOW_HTTP = False
    response = upload(token_client, csv_bytes(2), data={"callback_url": "http://example.com/x"})
    body = assert_error(response, 400, "validation_error")
    assert "callback_url" in body["details"]


class _Receiver(BaseHTTPRequestHandler):
    received: list = []
    status = 204

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Receiver.received.append((dict(self.headers), body))
        self.send_response(self.status)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def receiver():
    """A real HTTP server on this machine that records what it is sent."""
    server = HTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Receiver.received = []
    yield server
    server.shutdown()
    server.server_close()


def _resolving_to(monkeypatch, *addresses: str) -> list:
    """Make every host name resolve to these addresses; returns the list of names looked up."""
    looked_up = []

    def fake_getaddrinfo(host, port, *args, **kwargs):
        looked_up.append(host)
        return [
            (socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port))
            for a in addresses
        ]

    monkeypatch.setattr(callbacks.socket, "getaddrinfo", fake_getaddrinfo)
    return looked_up


@pytest.mark.parametrize(
    "addresses",
    [("127.0.0.1",), ("::1",), ("10.1.2.3",), ("169.254.169.254",), ("93.184.216.34", "10.0.0.1")],
)
def test_it_never_calls_back_into_private_networks(token_client, settings, monkeypatch, addresses):
    """A public-looking name that resolves (even partly) to a private address is refused and
    nothing is sent."""
    settings.BATCH_CALLBACK_ALLOW_PRIVATE = False
    job_id = upload(
        token_client, csv_bytes(2), data={"callback_url": "https://hooks.example.com/x"}
    ).json()["id"]
    run_job_inline(job_id)
    _resolving_to(monkeypatch, *addresses)
    connections = []
    monkeypatch.setattr(callbacks.socket, "create_connection", connections.append)
    assert callbacks.batch_job_notify(job_id=job_id) is None
    assert connections == []
    assert BatchJob.objects.get(pk=job_id).callback_status.startswith("refused")


def test_it_connects_to_the_address_it_checked_not_a_second_lookup(
    token_client, user, settings, monkeypatch, receiver
):
    """DNS rebinding: the name is resolved once; the connection goes to that address with the
    URL's host in the Host header."""
    settings.BATCH_CALLBACK_ALLOW_HTTP = True
    settings.BATCH_CALLBACK_ALLOW_PRIVATE = True  # the receiver is on this machine
    url = f"http://hooks.example.com:{receiver.server_port}/hook"
    job_id = upload(token_client, csv_bytes(3), data={"callback_url": url}).json()["id"]
    run_job_inline(job_id)
    looked_up = _resolving_to(monkeypatch, "127.0.0.1")
    assert callbacks.batch_job_notify(job_id=job_id) == 204
    assert looked_up.count("hooks.example.com") == 1  # the connection itself used the address
    headers, _ = _Receiver.received[0]
    assert headers["Host"] == f"hooks.example.com:{receiver.server_port}"


def test_it_posts_a_callback_a_standard_webhooks_library_verifies(
    token_client, user, settings, receiver
):
    settings.BATCH_CALLBACK_ALLOW_HTTP = True
    settings.BATCH_CALLBACK_ALLOW_PRIVATE = True
    url = f"http://127.0.0.1:{receiver.server_port}/hook"
    job_id = upload(token_client, csv_bytes(3), data={"callback_url": url}).json()["id"]
    run_job_inline(job_id)
    assert callbacks.batch_job_notify(job_id=job_id) == 204
    headers, body = _Receiver.received[0]
    verifier = Webhook(user.webhook_signing_secret)
    payload = verifier.verify(body, headers)
    assert payload["id"] == job_id and payload["status"] == "succeeded"
    assert payload["type"] == "batch_job.succeeded"
    assert BatchJob.objects.get(pk=job_id).callback_status == "delivered: HTTP 204"

    changed = bytearray(body)
    changed[-2] ^= 1  # one byte of the body
    with pytest.raises(WebhookVerificationError):
        verifier.verify(bytes(changed), headers)
    stale = datetime.now(UTC) - timedelta(minutes=10)
    old_headers = callbacks.signed_headers(
        user.webhook_signing_secret, headers["webhook-id"], stale, body.decode()
    )
    with pytest.raises(WebhookVerificationError, match="too old"):
        verifier.verify(body, {**headers, **old_headers})
    other_secret = Webhook("whsec_" + "A" * 43)
    with pytest.raises(WebhookVerificationError):
        other_secret.verify(body, headers)


def test_a_receiver_error_is_recorded_and_raised_for_a_retry(
    token_client, settings, receiver, monkeypatch
):
    settings.BATCH_CALLBACK_ALLOW_HTTP = True
    settings.BATCH_CALLBACK_ALLOW_PRIVATE = True
    monkeypatch.setattr(_Receiver, "status", 503)
    url = f"http://127.0.0.1:{receiver.server_port}/hook"
    job_id = upload(token_client, csv_bytes(2), data={"callback_url": url}).json()["id"]
    run_job_inline(job_id)
    with pytest.raises(callbacks.CallbackFailed):
        callbacks.batch_job_notify(job_id=job_id)
    assert BatchJob.objects.get(pk=job_id).callback_status == "failed: HTTP 503"
