import uuid

import pytest
from django.core.cache import cache

from predictions.tasks import ping, ping_answer_key
from stressapp.tests.support import wait_for


@pytest.mark.worker
def test_it_runs_a_task_on_a_real_worker_through_the_real_broker(celery_worker_process):
    nonce = uuid.uuid4().hex
    ping.delay(nonce)
    answer = wait_for(lambda: cache.get(ping_answer_key(nonce)), timeout=60)
    assert answer and answer.startswith("pong from ")
