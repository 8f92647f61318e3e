"""Idempotency-Key under concurrency, against the live server and the real PostgreSQL: twenty
simultaneous uploads with one key make one job, and nobody gets a server error."""

import json
import threading
import urllib.error
import urllib.request
import uuid

import pytest

from accounts.services import api_token_create
from predictions.models import BatchJob
from predictions.tests.batch.helpers import csv_bytes

pytestmark = pytest.mark.django_db(transaction=True)


def _post(url: str, token: str, key: str, body: bytes) -> int:
    request = urllib.request.Request(  # noqa: S310 - the live test server
        url,
        data=body,
        method="POST",
        headers={
            "Authorization": f"Bearer {token}",
            "Content-Type": "text/csv",
            "Idempotency-Key": key,
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
            json.loads(response.read())
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def _storm(url: str, token: str, key: str, bodies: list[bytes]) -> list[int]:
    statuses: list[int] = []
    lock = threading.Lock()
    start = threading.Barrier(len(bodies))

    def send(body: bytes) -> None:
        start.wait()
        status = _post(url, token, key, body)
        with lock:
            statuses.append(status)

    threads = [threading.Thread(target=send, args=(b,)) for b in bodies]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


def test_twenty_simultaneous_uploads_with_one_key_make_one_job(live_server, user, other_user):
    url = live_server.url + "/api/batch-jobs"
    token = api_token_create(user=user, name="storm").raw
    key = f"storm-{uuid.uuid4()}"
    statuses = _storm(url, token, key, [csv_bytes(5)] * 20)
    assert sorted(set(statuses)) <= [200, 202], statuses
    assert statuses.count(202) == 1
    assert BatchJob.objects.filter(user=user).count() == 1
    # The same key from someone else is their own job.
    other_token = api_token_create(user=other_user, name="storm").raw
    assert _post(url, other_token, key, csv_bytes(5)) == 202
    assert BatchJob.objects.filter(user=other_user).count() == 1


def test_simultaneous_uploads_of_different_files_with_one_key_get_one_job_or_409(live_server, user):
    url = live_server.url + "/api/batch-jobs"
    token = api_token_create(user=user, name="storm").raw
    bodies = [csv_bytes(3 + i) for i in range(20)]  # twenty different files
    statuses = _storm(url, token, f"storm-{uuid.uuid4()}", bodies)
    assert all(status in (200, 202, 409) for status in statuses), statuses
    assert statuses.count(202) == 1 and statuses.count(409) >= 1
    assert BatchJob.objects.filter(user=user).count() == 1
