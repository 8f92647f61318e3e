"""Issue 20's must-show, on a real worker over the real broker: a drive the model never saw
is uploaded, the person labels each of its episodes through the API, their model is refitted
by the job, their recording is scored again by it, and the agreement page shows both
figures."""

from datetime import timedelta

import pytest

from mlcore import drivedb
from mlcore.evaluation import ForestParams
from mlcore.tests.recording_files import drive_slice, write_edf
from mlcore.train import train_and_save
from predictions.models import JobStatus, PersonalModel, PersonalRefit, Prediction, Recording
from predictions.tests.recordings.helpers import upload_recording
from stressapp.tests.support import wait_for

pytestmark = pytest.mark.worker

HELD_OUT = "drive06"


@pytest.fixture(scope="session")
def held_out_model(tmp_path_factory):
    folder = tmp_path_factory.mktemp("held-out-models")
    result = train_and_save(
        folder, hold_out=HELD_OUT, params=ForestParams(n_estimators=12, max_depth=8), quick=True
    )
    return folder, result


@pytest.fixture
def held_out_active(db, settings, held_out_model):
    from predictions.ml import reset_served_model
    from predictions.services import model_version_register

    folder, result = held_out_model
    settings.MODEL_DIR = folder
    reset_served_model()
    yield model_version_register(result=result, activate=True)
    reset_served_model()


@pytest.fixture
def client_with_token(user, held_out_active):
    from rest_framework.test import APIClient

    from accounts.services import api_token_create

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_token_create(user=user, name='t').raw}")
    return client


def test_labels_on_a_held_out_drive_train_a_personal_model_that_scores_it_again(
    celery_workers, client_with_token, user, tmp_path, client
):
    celery_workers.start(concurrency=1)
    drive = drivedb.load_drive(HELD_OUT)
    rest1 = drive.segments[0]
    path = write_edf(tmp_path / "drive.edf", drive_slice(drive, 0, 24 * 3600))
    response = upload_recording(
        client_with_token, path, rest_start_s=rest1.start_s, rest_end_s=rest1.start_s + 180
    )
    assert response.status_code == 202, response.content
    recording_id = response.json()["id"]
    assert wait_for(lambda: Recording.objects.get(pk=recording_id).is_finished, timeout=180)
    recording = Recording.objects.get(pk=recording_id)
    assert recording.status == JobStatus.SUCCEEDED, recording.error
    assert HELD_OUT not in recording.model_version.card["recording_models"]["drives"]

    # One label per episode, as the person lived them: each protocol segment with its level.
    for segment in drive.segments:
        body = {
            "recording": recording_id,
            "starts_at": (recording.starts_at + timedelta(seconds=segment.start_s)).isoformat(),
            "ends_at": (recording.starts_at + timedelta(seconds=segment.end_s)).isoformat(),
            "level": ("low", "medium", "high")[segment.label],
            "note": segment.name,
        }
        answer = client_with_token.post("/api/annotations", body, format="json")
        assert answer.status_code == 201, answer.content

    def refitted_and_rescored() -> bool:
        refits = PersonalRefit.objects.filter(user=user)
        if refits.exclude(status__in=[JobStatus.SUCCEEDED, JobStatus.FAILED]).exists():
            return False
        model = PersonalModel.objects.filter(user=user, is_active=True).first()
        if model is None or model.episodes != len(drive.segments):
            return False
        rescored = Recording.objects.get(pk=recording_id)
        return rescored.is_finished and rescored.personal_model_id == model.pk

    assert wait_for(refitted_and_rescored, timeout=240, interval=0.5), (
        list(PersonalRefit.objects.filter(user=user).values("status", "error", "stage", "summary")),
        list(PersonalModel.objects.filter(user=user).values("model_key", "episodes", "is_active")),
        Recording.objects.filter(pk=recording_id).values("status", "personal_model_id").get(),
    )
    assert not PersonalRefit.objects.filter(user=user, status=JobStatus.FAILED).exists()
    model = PersonalModel.objects.get(user=user, is_active=True)
    recording = Recording.objects.get(pk=recording_id)
    assert recording.status == JobStatus.SUCCEEDED, recording.error
    windows = Prediction.objects.filter(recording=recording)
    assert windows.count() == recording.total_rows
    assert set(windows.values_list("personal_model_id", flat=True)) == {model.pk}
    assert set(windows.values_list("model_version_id", flat=True)) == {recording.model_version_id}
    assert recording.last_change["personal_after"] and recording.last_change["compared"] > 0
    # Both figures, each on labels that model did not learn from.
    assert model.personal_checked == model.labelled_windows > 100
    print(
        f"\n{model.labelled_windows} labelled windows in {model.episodes} episodes: population "
        f"{model.population_share:.3f}, personal (leave one episode out) "
        f"{model.personal_share:.3f}; {recording.last_change['moved']} windows moved"
    )
    client.force_login(user)
    page = client.get("/agreement/").content.decode()
    assert "With your labels, it now agrees with you" in page
    assert f"of your {model.labelled_windows} labelled windows" in page
