"""A recording's progress moves through its stages while it runs (it stores every window at
the end, so rows done alone would say 0% until then)."""

import pytest

from jobs import engine
from predictions.models import JobStatus, Recording
from predictions.models.recordings import STAGE_PERCENT
from predictions.recordings.kind import RECORDING
from predictions.tests.recordings.helpers import drive_file, upload_recording

pytestmark = pytest.mark.django_db


def test_the_percentage_follows_the_stage_and_ends_at_100(token_client, tmp_path):
    recording_id = upload_recording(token_client, drive_file(tmp_path)).json()["id"]
    assert token_client.get(f"/api/recordings/{recording_id}").json()["percent"] == 0
    engine.job_claim(RECORDING, job_id=recording_id)
    seen = []
    for stage in ("reading the file", "computing features", "scoring windows"):
        Recording.objects.filter(pk=recording_id).update(stage=stage)
        seen.append(token_client.get(f"/api/recordings/{recording_id}").json()["percent"])
    assert seen == [
        STAGE_PERCENT[s] for s in ("reading the file", "computing features", "scoring windows")
    ]
    assert seen == sorted(seen) and seen[0] > 0
    engine.job_chunk_run(RECORDING, job_id=recording_id, index=0)
    done = token_client.get(f"/api/recordings/{recording_id}").json()
    assert done["status"] == JobStatus.SUCCEEDED and done["percent"] == 100
