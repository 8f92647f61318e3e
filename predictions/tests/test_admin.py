import pytest
from django.urls import reverse

from accounts.tests.factories import UserFactory
from predictions.models import ModelVersion
from predictions.services import model_version_register


@pytest.fixture
def admin_client(client, db):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


def test_it_lists_versions_with_their_metrics(admin_client, active_model):
    response = admin_client.get(reverse("admin:predictions_modelversion_changelist"))
    assert response.status_code == 200
    assert active_model.version in response.content.decode()


def test_it_activates_a_version_from_the_admin(admin_client, active_model, second_tiny_model):
    other = model_version_register(result=second_tiny_model)
    response = admin_client.post(
        reverse("admin:predictions_modelversion_changelist"),
        {"action": "activate_selected", "_selected_action": [other.pk]},
        follow=True,
    )
    assert response.status_code == 200
    assert ModelVersion.objects.get(is_active=True) == other


def test_it_refuses_to_activate_two_at_once(admin_client, active_model, second_tiny_model):
    other = model_version_register(result=second_tiny_model)
    admin_client.post(
        reverse("admin:predictions_modelversion_changelist"),
        {"action": "activate_selected", "_selected_action": [other.pk, active_model.pk]},
    )
    assert ModelVersion.objects.get(is_active=True) == active_model


def test_non_staff_cannot_reach_the_admin(client, user):
    client.force_login(user)
    response = client.get(reverse("admin:predictions_modelversion_changelist"))
    assert response.status_code == 302


def test_it_lists_cancels_and_retries_batch_jobs(admin_client, active_model, user, settings):
    from django.core.files.uploadedfile import SimpleUploadedFile
    from rest_framework.test import APIClient

    from accounts.services import api_token_create

    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {api_token_create(user=user, name='t').raw}")
    content = b"heart_rate,ecg,emg,gsr,respiration\n70,0.1,0.2,0.3,0.4\n"
    job_id = api.post(
        "/api/batch-jobs",
        {"file": SimpleUploadedFile("r.csv", content)},
        format="multipart",
    ).json()["id"]
    url = reverse("admin:predictions_batchjob_changelist")
    assert job_id in admin_client.get(url).content.decode()
    admin_client.post(url, {"action": "cancel_selected", "_selected_action": [job_id]})
    from predictions.models import BatchJob

    assert BatchJob.objects.get(pk=job_id).status == "cancelled"
    admin_client.post(url, {"action": "retry_selected", "_selected_action": [job_id]})
    assert BatchJob.objects.get(pk=job_id).status == "queued"


def test_predictions_are_listed_read_only_with_filters(admin_client, active_model, user):
    from predictions.tests.factories import PredictionFactory

    prediction = PredictionFactory(user=user, stress_level="high")
    url = reverse("admin:predictions_prediction_changelist")
    response = admin_client.get(url, {"stress_level__exact": "high", "q": user.username})
    assert response.status_code == 200 and str(prediction.id) in response.content.decode()
    detail = admin_client.get(reverse("admin:predictions_prediction_change", args=[prediction.id]))
    assert detail.status_code == 200 and b'name="_save"' not in detail.content
    assert admin_client.get(reverse("admin:predictions_prediction_add")).status_code == 403


def test_users_show_their_readings_count_and_tokens(admin_client, active_model, user):
    from accounts.services import api_token_create
    from predictions.tests.factories import PredictionFactory

    PredictionFactory.create_batch(3, user=user)
    api_token_create(user=user, name="bridge")
    listing = admin_client.get(reverse("admin:accounts_user_changelist")).content.decode()
    assert user.username in listing
    change = admin_client.get(reverse("admin:accounts_user_change", args=[user.pk]))
    assert b"bridge" in change.content


def test_predictions_show_their_confidence_as_a_percentage(admin_client, active_model, user):
    from predictions.tests.factories import PredictionFactory

    PredictionFactory(user=user, confidence=0.9582396426082715)
    body = admin_client.get("/admin/predictions/prediction/").content.decode()
    assert ">96%<" in body and "0.958" not in body


def test_personal_models_show_their_figures_and_never_their_arrays(
    admin_client, active_model, user
):
    from predictions.models import PersonalModel

    model = PersonalModel.objects.create(
        user=user,
        population_version=active_model,
        model_key="all/calibrated",
        channel_set="all",
        calibrated=True,
        compiled=b"SECRET-ARRAYS",
        weight=50.0,
        episodes=7,
        labelled_windows=100,
        population_agreed=60,
        personal_agreed=80,
        personal_checked=100,
    )
    listing = admin_client.get("/admin/predictions/personalmodel/").content.decode()
    assert "60% → 80%" in listing
    page = admin_client.get(f"/admin/predictions/personalmodel/{model.pk}/change/")
    assert page.status_code == 200
    assert "SECRET-ARRAYS" not in page.content.decode()
    assert admin_client.get("/admin/predictions/personalrefit/").status_code == 200
