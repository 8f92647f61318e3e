"""Celery tasks: thin doors that take ids or plain values and call services."""

import socket

from celery import shared_task
from django.core.cache import cache

PING_ANSWER_TTL_SECONDS = 300


def ping_answer_key(nonce: str) -> str:
    return f"celery-ping:{nonce}"


@shared_task(name="predictions.ping")
def ping(nonce: str) -> str:
    """Proves the broker -> worker wiring: the answer goes to the shared cache because there
    is deliberately no result backend."""
    answer = f"pong from {socket.gethostname()}"
    cache.set(ping_answer_key(nonce), answer, PING_ANSWER_TTL_SECONDS)
    return answer
