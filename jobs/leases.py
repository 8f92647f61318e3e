"""Chunk leases: how a dead worker's chunk is found and done again within a minute.

A worker takes a chunk by writing a lease (lease_until, JOB_LEASE_SECONDS ahead) with a
conditional UPDATE, and a heartbeat thread pushes it forward every JOB_HEARTBEAT_SECONDS while
the chunk runs. A worker killed mid-chunk stops renewing it; the periodic check (beat, every
JOB_CHECK_SECONDS, and once when a worker starts) queues any chunk whose lease has run out.
A chunk whose worker died JOB_CHUNK_MAX_ATTEMPTS times fails its job instead of killing
workers for ever. State lives in PostgreSQL; Redis only carries the messages.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import F
from django.utils import timezone

logger = logging.getLogger(__name__)


def lease_take(chunk_model: type, chunk_pk: Any) -> int | None:
    """Take the chunk's lease. Returns how many times a worker has died holding it before
    (0 for a fresh chunk), or None when a live worker holds it or it is done. (The recovery
    check frees a dead worker's chunk and counts the death; a redelivered message that gets
    there first counts it here.)"""
    now = timezone.now()
    until = now + timedelta(seconds=settings.JOB_LEASE_SECONDS)
    waiting = chunk_model.objects.filter(pk=chunk_pk, done_at__isnull=True)
    if waiting.filter(lease_until__isnull=True).update(lease_until=until):
        return chunk_model.objects.filter(pk=chunk_pk).values_list("abandoned", flat=True)[0]
    if waiting.filter(lease_until__lt=now).update(lease_until=until, abandoned=F("abandoned") + 1):
        abandoned = chunk_model.objects.filter(pk=chunk_pk).values_list("abandoned", flat=True)[0]
        logger.warning("chunk %s was abandoned by a dead worker (%d time(s))", chunk_pk, abandoned)
        return abandoned
    return None


def lease_release(chunk_model: type, chunk_pk: Any) -> None:
    """The worker is done with it (finished, or failed in a way it could report)."""
    chunk_model.objects.filter(pk=chunk_pk).update(lease_until=None)


@contextmanager
def lease_heartbeat(chunk_model: type, chunk_pk: Any) -> Iterator[None]:
    """Renew the lease from a thread of its own (and its own database connection) while the
    block runs: heavy work (reading and preparing a recording) never lets it lapse."""
    stop = threading.Event()

    def beat() -> None:
        try:
            while not stop.wait(settings.JOB_HEARTBEAT_SECONDS):
                until = timezone.now() + timedelta(seconds=settings.JOB_LEASE_SECONDS)
                chunk_model.objects.filter(pk=chunk_pk, done_at__isnull=True).update(
                    lease_until=until
                )
        except Exception:  # a heartbeat must never take the worker down
            logger.warning("lease heartbeat of chunk %s stopped", chunk_pk, exc_info=True)
        finally:
            connection.close()

    thread = threading.Thread(target=beat, name=f"lease-{chunk_pk}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=settings.JOB_HEARTBEAT_SECONDS + 5)
