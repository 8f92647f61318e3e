"""What predictions does when accounts deletes a user: their rows go with the user (the
database cascades), their job files go through the user_deleting receiver."""

from django.urls import reverse

from predictions.batch import files
from predictions.models import BatchJob, Prediction
from predictions.tests.batch.helpers import csv_bytes, run_job_inline, upload
from predictions.tests.factories import PredictionFactory


def test_deleting_an_account_removes_its_history_and_job_files(
    client, user, other_user, token_client, other_token_client
):
    mine = run_job_inline(upload(token_client, csv_bytes(3)).json()["id"])
    theirs = run_job_inline(upload(other_token_client, csv_bytes(2)).json()["id"])
    PredictionFactory(user=user)
    assert files.job_dir(mine.id).is_dir()
    client.force_login(user)
    response = client.post(
        reverse("account-delete"), {"password": "correct-horse-battery", "confirm": "on"}
    )
    assert response.status_code == 302
    assert not files.job_dir(mine.id).exists()
    assert files.job_dir(theirs.id).is_dir()
    assert list(BatchJob.objects.values_list("id", flat=True)) == [theirs.id]
    assert Prediction.objects.filter(user_id=user.pk).count() == 0
    assert Prediction.objects.filter(user=other_user).count() == 2
