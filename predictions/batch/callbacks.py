"""The webhook a batch job calls when it ends.

Safety (SSRF): the host is resolved once, every address it resolves to must be public, and
the request goes to that very address (Host header and TLS name still the URL's host). A name
that answers with a public address at check time and a private one at connect time (DNS
rebinding) cannot slip through, because there is no second lookup. Redirects are answers, not
invitations: http.client does not follow them.

Signing follows Standard Webhooks (webhook-id, webhook-timestamp, webhook-signature), so a
receiver verifies with the `standardwebhooks` library of its own language and the secret shown
on the account page (`whsec_...`).
"""

from __future__ import annotations

import http.client
import ipaddress
import json
import socket
import ssl
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from celery import current_app
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from predictions.batch.errors import InvalidCallbackUrl
from predictions.models import BatchJob

NOTIFY_TASK = "predictions.batch_job_notify"

CALLBACK_URL_MAX_LENGTH = 2000
USER_AGENT = "stress-tracker-callbacks/2"


def callback_url_validate(url: str) -> str:
    """Scheme, form and length at submit time; where it points is checked when we call it."""
    if not url:
        return ""
    allowed = ["https", "http"] if settings.BATCH_CALLBACK_ALLOW_HTTP else ["https"]
    message = "callback_url must be an absolute https URL" + (
        "" if settings.BATCH_CALLBACK_ALLOW_HTTP else " (http is refused in production)"
    )
    if len(url) > CALLBACK_URL_MAX_LENGTH:
        raise InvalidCallbackUrl(
            f"callback_url is longer than {CALLBACK_URL_MAX_LENGTH} characters"
        )
    try:
        URLValidator(schemes=allowed)(url)
        urlsplit(url).port  # noqa: B018 - raises on a malformed port
    except (ValidationError, ValueError):
        raise InvalidCallbackUrl(message) from None
    return url


def signed_headers(secret: str, message_id: str, sent_at: datetime, body: str) -> dict:
    """Standard Webhooks headers for this body; `secret` is whsec_... (see User)."""
    signature = Webhook(secret).sign(message_id, sent_at, body)
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(sent_at.timestamp())),
        "webhook-signature": signature,
    }


class CallbackRefused(Exception):
    """The callback's host is not a public address (or cannot be resolved)."""


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    path: str
    address: str  # the one address we checked and will connect to


def _address_allowed(address: str) -> bool:
    return settings.BATCH_CALLBACK_ALLOW_PRIVATE or ipaddress.ip_address(address).is_global


def callback_target(url: str) -> Target:
    """Resolve the URL's host once and pick the address to connect to; refuse it unless
    every address the name has is public."""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        infos = socket.getaddrinfo(parts.hostname, port, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError, OSError):
        raise CallbackRefused("the host cannot be resolved") from None
    addresses = [str(info[4][0]).split("%")[0] for info in infos]
    if not addresses or not all(_address_allowed(address) for address in addresses):
        raise CallbackRefused("the host is not a public address")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(parts.scheme, parts.hostname or "", port, path, addresses[0])


class _PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, target: Target, timeout: float) -> None:
        super().__init__(target.host, target.port, timeout=timeout)
        self._address = target.address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, target: Target, timeout: float) -> None:
        super().__init__(
            target.host, target.port, timeout=timeout, context=ssl.create_default_context()
        )
        self._address = target.address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        # Certificate and SNI are checked against the URL's host, not the address.
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def callback_post(target: Target, body: bytes, headers: dict[str, str], timeout: float) -> int:
    """POST to the pinned address; returns the status. Raises OSError when unreachable."""
    connection_class = _PinnedHTTPSConnection if target.scheme == "https" else _PinnedHTTPConnection
    connection = connection_class(target, timeout)
    try:
        connection.request("POST", target.path, body=body, headers=headers)
        return connection.getresponse().status
    finally:
        connection.close()


def callback_payload(job: BatchJob) -> dict[str, Any]:
    return {
        "type": f"batch_job.{job.status}",
        "id": str(job.id),
        "status": job.status,
        "total_rows": job.total_rows,
        "processed_rows": job.processed_rows,
        "failed_rows": job.failed_rows,
        "finished_at": job.finished_at.isoformat() if job.finished_at else None,
        "error": job.error,
    }


def batch_job_notify_on_commit(job: BatchJob) -> None:
    if not job.callback_url:
        return
    job_id = str(job.id)
    # Sent by name (predictions.tasks calls this module, not the other way round).
    transaction.on_commit(lambda: current_app.signature(NOTIFY_TASK, args=(job_id,)).apply_async())


def _record(job: BatchJob, outcome: str) -> None:
    BatchJob.objects.filter(pk=job.pk).update(callback_status=outcome[:200])


def batch_job_notify(*, job_id: Any) -> int | None:
    """POST the job's outcome to its callback URL, signed; raises on failure so the task
    retries with backoff. Returns the HTTP status (None when the job or URL is gone, or the
    host is refused)."""
    job = BatchJob.objects.select_related("user").filter(pk=job_id).first()
    if job is None or not job.callback_url:
        return None
    try:
        target = callback_target(callback_url_validate(job.callback_url))
    except (CallbackRefused, InvalidCallbackUrl) as exc:
        # Refused for good: retrying cannot help.
        _record(job, f"refused: {exc}")
        return None
    body = json.dumps(callback_payload(job))
    # One id per job and outcome: a retried delivery carries the same id, so a receiver
    # can drop duplicates.
    message_id = f"msg_{job.id.hex}_{job.status}"
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        **signed_headers(
            job.user.webhook_signing_secret, message_id, timezone.now().astimezone(UTC), body
        ),
    }
    try:
        status = callback_post(
            target, body.encode(), headers, settings.BATCH_CALLBACK_TIMEOUT_SECONDS
        )
    except OSError:
        # Only the fact is kept: error text could describe the receiver's network.
        _record(job, "failed: no connection")
        raise
    if status >= 300:
        _record(job, f"failed: HTTP {status}")
        raise CallbackFailed(status)
    _record(job, f"delivered: HTTP {status}")
    return status


class CallbackFailed(Exception):
    def __init__(self, status: int) -> None:
        super().__init__(f"the receiver answered HTTP {status}")
        self.status = status
