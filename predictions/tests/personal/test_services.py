"""A person's labels refit their own model (in this process, as a worker would), the model
scores their recording again, and the page says what changed; deleting it goes back."""

import json
from datetime import timedelta

import pytest

from jobs.errors import JobFailed
from predictions.models import JobStatus, PersonalModel, PersonalRefit, Prediction, Recording
from predictions.personal.services import personal_models_delete, personal_refit_request
from predictions.tests.personal.helpers import run_refit_inline
from predictions.tests.recordings.helpers import (
    drive_file,
    run_recording_inline,
    upload_recording,
)

pytestmark = pytest.mark.django_db(transaction=True)


def scored_recording(token_client, tmp_path) -> Recording:
    path = drive_file(tmp_path, seconds=900.0)
    response = upload_recording(token_client, path, rest_start_s=0, rest_end_s=180)
    assert response.status_code == 202, response.content
    recording = run_recording_inline(response.json()["id"])
    assert recording.status == JobStatus.SUCCEEDED, recording.error
    return recording


def label(client, recording: Recording, start_s: float, end_s: float, level: str):
    body = {
        "recording": str(recording.id),
        "starts_at": (recording.starts_at + timedelta(seconds=start_s)).isoformat(),
        "ends_at": (recording.starts_at + timedelta(seconds=end_s)).isoformat(),
        "level": level,
    }
    response = client.post("/api/annotations", body, format="json")
    assert response.status_code == 201, response.content


def refit_now(user) -> PersonalRefit:
    refit = PersonalRefit.objects.filter(user=user, status=JobStatus.QUEUED).get()
    refit = run_refit_inline(refit.pk)
    assert refit.status == JobStatus.SUCCEEDED, refit.error
    return refit


def test_labels_refit_the_persons_model_which_scores_their_recording_again(
    token_client, user, tmp_path, client
):
    recording = scored_recording(token_client, tmp_path)
    before = dict(
        Prediction.objects.filter(recording=recording).values_list("row_number", "stress_level")
    )
    label(token_client, recording, 180, 480, "low")
    label(token_client, recording, 480, 900, "high")
    # Both labels wait for the one queued refit: it reads the labels when it starts.
    assert PersonalRefit.objects.filter(user=user).count() == 1
    refit = refit_now(user)
    model = PersonalModel.objects.get(user=user, is_active=True)
    assert model.model_key == f"{recording.channel_set}/calibrated"
    assert model.episodes == 2 and model.labelled_windows > 10
    assert model.personal_checked == model.labelled_windows  # leave one episode out
    assert refit.summary[model.model_key]["episodes"] == 2
    assert refit.rescored == 1
    recording = run_recording_inline(recording.id)
    assert recording.status == JobStatus.SUCCEEDED, recording.error
    windows = Prediction.objects.filter(recording=recording)
    assert windows.count() == len(before)
    assert set(windows.values_list("personal_model_id", flat=True)) == {model.pk}
    assert recording.personal_model_id == model.pk
    change = recording.last_change
    assert change["personal_after"] and not change["personal_before"]
    after = dict(windows.values_list("row_number", "stress_level"))
    assert change["moved"] == sum(before[k] != after[k] for k in after)
    # Labelled high for 7 minutes: the person's model says high more often than before.
    assert change["after"].get("high", 0) >= change["before"].get("high", 0)

    client.force_login(user)
    page = client.get("/agreement/").content.decode()
    assert "With your labels, it now agrees with you" in page
    detail = client.get(f"/recordings/{recording.id}/").content.decode()
    assert "What changed when it was scored again" in detail
    assert "your own model" in detail
    account = client.get("/accounts/").content.decode()
    assert "Delete my own models" in account
    exported = json.loads(b"".join(client.get("/accounts/export.json").streaming_content))
    assert [m["model_key"] for m in exported["personal_models"]] == [model.model_key]


def test_deleting_the_persons_models_scores_their_recordings_with_the_general_one(
    token_client, user, tmp_path
):
    recording = scored_recording(token_client, tmp_path)
    label(token_client, recording, 180, 480, "low")
    label(token_client, recording, 480, 900, "high")
    refit_now(user)
    run_recording_inline(recording.id)
    assert personal_models_delete(user=user) == 1
    assert not PersonalModel.objects.filter(user=user).exists()
    assert not Prediction.objects.filter(user=user, personal_model__isnull=False).exists()
    recording = run_recording_inline(recording.id)  # queued again by the delete
    assert recording.personal_model_id is None
    assert recording.last_change["personal_before"] is False  # cleared with the models


def test_a_refit_without_labels_leaves_the_person_on_the_general_model(user, active_model):
    refit = run_refit_inline(personal_refit_request(user=user).pk)
    assert refit.status == JobStatus.SUCCEEDED
    assert refit.summary == {} and not PersonalModel.objects.filter(user=user).exists()


def test_another_persons_labels_never_reach_my_model(
    token_client, other_token_client, user, other_user, tmp_path
):
    recording = scored_recording(token_client, tmp_path)
    label(token_client, recording, 180, 480, "low")
    label(token_client, recording, 480, 900, "high")
    # The other person cannot label my recording: the recording is not theirs.
    response = other_token_client.post(
        "/api/annotations",
        {
            "recording": str(recording.id),
            "starts_at": recording.starts_at.isoformat(),
            "level": "high",
        },
        format="json",
    )
    assert response.status_code in (400, 404)
    assert not PersonalRefit.objects.filter(user=other_user).exists()
    refit_now(user)
    assert not PersonalModel.objects.filter(user=other_user).exists()


def test_a_new_model_version_relearns_each_persons_model_on_it(
    token_client, user, tmp_path, second_tiny_model, django_capture_on_commit_callbacks
):
    from predictions.services import model_version_activate, model_version_register

    recording = scored_recording(token_client, tmp_path)
    label(token_client, recording, 180, 480, "low")
    label(token_client, recording, 480, 900, "high")
    refit_now(user)
    with django_capture_on_commit_callbacks(execute=True):
        newer = model_version_register(result=second_tiny_model)
        model_version_activate(model_version=newer)
    queued = PersonalRefit.objects.get(user=user, status=JobStatus.QUEUED)
    assert queued.reason == "a new model version"


def test_a_model_without_training_rows_fails_the_refit_in_words_without_a_path(
    token_client, user, tmp_path, monkeypatch
):
    import predictions.ml as ml

    recording = scored_recording(token_client, tmp_path)

    def missing(folder):
        raise FileNotFoundError(f"no training_sets.npz in {folder}")

    monkeypatch.setattr(ml, "training_sets_read", missing)
    ml.reset_served_model()
    label(token_client, recording, 180, 480, "low")
    # The worker's task records what JobFailed says as the job's error (jobs.tasks).
    with pytest.raises(JobFailed) as failed:
        run_refit_inline(PersonalRefit.objects.get(user=user, status=JobStatus.QUEUED).pk)
    assert failed.value.message == (
        "The model in use keeps no training data to learn from your labels; a newer model does."
    )
    assert not PersonalModel.objects.filter(user=user).exists()
