"""Every page: login required, other users' data refused, htmx partials, the no-JS path."""

import csv
import html
import io
import json
from datetime import UTC, datetime, timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.template.loader import render_to_string
from django.urls import reverse

from mlcore.plain_words import EXAMPLE_READINGS
from predictions.forms import ReadingForm
from predictions.models import BatchJob, Prediction
from predictions.tests.factories import PredictionFactory, scored_prediction
from predictions.views import _result_context
from stressapp.tests.support import reading_payload

READING = {"heart_rate": "72", "ecg": "0.4", "emg": "0.2", "gsr": "0.55", "respiration": "0.3"}
PAGES = ["timeline", "history", "history-export", "jobs", "dashboard-recent"]


@pytest.fixture
def logged_in(client, user, active_model):
    client.force_login(user)
    return client


@pytest.mark.django_db
@pytest.mark.parametrize("name", PAGES)
def test_pages_require_login(client, name):
    response = client.get(reverse(name))
    assert response.status_code == 302 and reverse("login") in response["Location"]


@pytest.mark.django_db
def test_visitors_get_the_landing_page(client):
    response = client.get("/")
    assert response.status_code == 200
    assert b"Create a free account" in response.content


def test_the_dashboard_scores_a_reading_without_a_reload(logged_in, user):
    response = logged_in.post("/", READING, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    body = response.content.decode()
    assert "<html" not in body and 'id="result"' in body
    assert "What drove it" in body and body.count('class="fill ') == 3
    assert json.loads(response["HX-Trigger"]) == {"reading-saved": {}}
    assert "HX-Request" in response["Vary"]
    assert Prediction.objects.get(user=user).source == "web"


def test_the_dashboard_works_without_javascript(logged_in, user):
    response = logged_in.post("/", READING)
    assert response.status_code == 200
    assert b"<html" in response.content and b'id="result"' in response.content
    assert b"Latest results" in response.content


def test_the_dashboard_shows_errors_inline_and_stores_nothing(logged_in):
    response = logged_in.post(
        "/", {**READING, "heart_rate": "250", "gsr": "x"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200  # the fragment with the errors, swapped in
    body = response.content.decode()
    assert "Heart rate must be between 40 and 200." in body
    assert 'role="alert"' in body
    assert Prediction.objects.count() == 0


def test_history_shows_only_my_readings_with_a_fixed_query_count(
    logged_in, user, other_user, django_assert_max_num_queries
):
    PredictionFactory.create_batch(3, user=user)
    PredictionFactory(user=other_user, note="not mine")
    with django_assert_max_num_queries(12) as small:
        logged_in.get(reverse("history"))
    PredictionFactory.create_batch(40, user=user)
    with django_assert_max_num_queries(12) as large:
        response = logged_in.get(reverse("history"))
    assert len(small.captured_queries) == len(large.captured_queries)
    assert b"not mine" not in response.content
    assert b"Page 1 of 2" in response.content


def test_history_filters_and_pages_as_partials(logged_in, user):
    PredictionFactory(user=user, stress_level="high", note="high one")
    PredictionFactory(user=user, stress_level="low", note="low one")
    response = logged_in.get(reverse("history"), {"level": "high"}, HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert "<html" not in body and "high one" in body and "low one" not in body
    assert "HX-Request" in response["Vary"]


def test_history_exports_the_filtered_rows_as_streamed_csv(logged_in, user, other_user):
    PredictionFactory(user=user, stress_level="high", note="mine")
    PredictionFactory(user=user, stress_level="low", note="filtered out")
    PredictionFactory(user=other_user, stress_level="high", note="theirs")
    response = logged_in.get(reverse("history-export"), {"level": "high"})
    assert response.streaming
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][:2] == ["id", "measured_at"] and len(rows) == 2
    assert "mine" in rows[1]


def test_deleting_asks_first_and_refuses_other_users(logged_in, user, other_user):
    mine = PredictionFactory(user=user)
    theirs = PredictionFactory(user=other_user)
    assert logged_in.get(reverse("prediction-delete", args=[mine.id])).status_code == 200
    assert Prediction.objects.filter(pk=mine.id).exists()  # GET only asks
    assert logged_in.post(reverse("prediction-delete", args=[theirs.id])).status_code == 404
    response = logged_in.post(reverse("prediction-delete", args=[mine.id]), HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and response.content == b""
    assert not Prediction.objects.filter(pk=mine.id).exists()
    assert Prediction.objects.filter(pk=theirs.id).exists()


def test_the_timeline_draws_my_readings_and_has_an_empty_state(logged_in, user, other_user):
    empty = logged_in.get(reverse("timeline"))
    assert b"Record your first reading" in empty.content
    now = datetime.now(UTC)
    PredictionFactory.create_batch(3, user=user, measured_at=now - timedelta(hours=2))
    PredictionFactory(user=other_user, measured_at=now - timedelta(hours=1))
    response = logged_in.get(reverse("timeline"), {"range": "24h"})
    body = response.content.decode()
    assert body.count('<circle class="dot') == 3
    assert "Day by day" in body


def test_the_timeline_takes_a_custom_range_and_rejects_a_backwards_one(logged_in, user):
    PredictionFactory(user=user, measured_at=datetime(2026, 3, 2, 12, tzinfo=UTC))
    ok = logged_in.get(
        reverse("timeline"), {"range": "custom", "start": "2026-03-01", "end": "2026-03-03"}
    )
    assert ok.content.decode().count('<circle class="dot') == 1
    bad = logged_in.get(
        reverse("timeline"), {"range": "custom", "start": "2026-03-05", "end": "2026-03-03"}
    )
    assert b"must not be after" in bad.content


def test_batch_jobs_page_uploads_and_refuses_other_users_jobs(logged_in, user, other_user):
    content = b"heart_rate,ecg,emg,gsr,respiration\n70,0.1,0.2,0.3,0.4\n"
    response = logged_in.post(reverse("jobs"), {"file": SimpleUploadedFile("a.csv", content)})
    assert response.status_code == 302
    job = BatchJob.objects.get(user=user)
    page = logged_in.get(reverse("jobs")).content.decode()
    assert 'hx-trigger="every 1s"' in page  # polls while the job runs
    theirs = BatchJob.objects.create(
        user=other_user, input_format="csv", input_sha256="x", input_bytes=1
    )
    for name in ("job-detail", "job-progress", "job-results"):
        assert logged_in.get(reverse(name, args=[theirs.id])).status_code == 404
    assert logged_in.post(reverse("job-cancel", args=[theirs.id])).status_code == 404
    cancelled = logged_in.post(reverse("job-cancel", args=[job.id]), HTTP_HX_REQUEST="true")
    assert b"Cancelled" in cancelled.content and b"every 1s" not in cancelled.content


def test_batch_jobs_page_shows_a_bad_file_inline(logged_in):
    response = logged_in.post(reverse("jobs"), {"file": SimpleUploadedFile("a.csv", b"a,b\n1,2\n")})
    assert response.status_code == 400
    assert b"Wrong CSV header" in response.content
    assert BatchJob.objects.count() == 0


def test_pages_send_a_strict_content_security_policy(logged_in):
    policy = logged_in.get(reverse("history"))["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy


def test_the_history_page_costs_an_exact_number_of_queries(
    logged_in, user, django_assert_num_queries
):
    """Session, user, count for the pager, one page of rows with their model versions: the
    number does not depend on how many rows there are."""
    PredictionFactory.create_batch(30, user=user)
    logged_in.get(reverse("history"))  # nothing lazily cached on a first visit is counted
    with django_assert_num_queries(4):
        response = logged_in.get(reverse("history"))
    assert response.status_code == 200


def test_the_export_link_follows_the_filter_htmx_applies(logged_in, user):
    """The filter swaps the table only; the export link is inside it, so it takes the filter."""
    PredictionFactory(user=user, stress_level="high")
    response = logged_in.get("/history/?level=high", headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert 'href="/history/export.csv?level=high"' in response.content.decode()


def test_an_example_fills_the_reading_form(logged_in):
    response = logged_in.get("/?example=city", HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert response.status_code == 200 and "<html" not in body and 'id="reading"' in body
    city = EXAMPLE_READINGS["city"]
    assert f'name="heart_rate" value="{city["heart_rate"]:g}"' in body.replace("\n", " ")
    assert f'value="{city["gsr"]:g}"' in body
    # Without JavaScript the same link gives the whole page, filled.
    page = logged_in.get("/?example=rest").content.decode()
    assert "<html" in page and f'value="{EXAMPLE_READINGS["rest"]["gsr"]:g}"' in page


def test_the_form_keeps_what_was_entered_beside_the_result(logged_in):
    body = logged_in.post("/", READING, HTTP_HX_REQUEST="true").content.decode()
    assert 'id="result"' in body
    assert 'name="gsr" value="0.55"' in body.replace("\n", " ")  # the form did not clear
    assert "skin conductance 0.55" in body  # and the result says what it was given


def test_the_form_says_what_each_number_is_how_a_device_maps_to_it_and_where_to_upload(
    logged_in, active_model
):
    body = html.unescape(logged_in.get("/").content.decode())
    gsr = next(
        ch for ch in active_model.card["feature_mapping"]["channels"] if ch["feature"] == "gsr"
    )
    assert f"{gsr['low']:.2f} mV or less is 0, {gsr['high']:.2f} mV or more is 1" in body
    assert "Your heart rate in beats per minute" in body
    assert f'href="{reverse("recordings")}">Upload it</a>' in body


def test_a_coin_flip_is_shown_as_uncertain_with_its_score(user, active_model):
    prediction = PredictionFactory(
        user=user,
        stress_level="medium",
        confidence=0.36,
        probability_low=0.35,
        probability_medium=0.36,
        probability_high=0.29,
    )
    body = render_to_string(
        "predictions/dashboard.html#reading",
        {"form": ReadingForm(), "examples": {}, **_result_context(prediction)},
    )
    assert 'class="level uncertain">uncertain</strong>' in body
    assert "Stress score <strong>47</strong>" in body


def test_history_and_the_timeline_show_each_score_beside_its_level(logged_in, user):
    now = datetime.now(UTC)
    scored_prediction(user=user, at=now - timedelta(minutes=10), score=40)
    scored_prediction(user=user, at=now - timedelta(minutes=5), score=80)
    history = logged_in.get(reverse("history")).content.decode()
    assert '80 <span class="level high">high</span>' in history
    assert '40 <span class="level low">low</span>' in history  # 60% low, 40% high
    PredictionFactory(
        user=user,
        measured_at=now - timedelta(days=2),
        probability_low=0.4,
        probability_medium=0.3,
        probability_high=0.3,
    )
    history = logged_in.get(reverse("history")).content.decode()
    assert '45 <span class="level uncertain">uncertain</span>' in history  # 40/30/30
    timeline = logged_in.get(reverse("timeline") + "?range=24h").content.decode()
    assert 'data-label="Score, mostly">60 <span class="level' in timeline  # (40 + 80) / 2


def test_a_reading_scored_against_my_rest_is_explained_against_it(logged_in, token_client):
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    for i in range(4):
        moment = (start + timedelta(minutes=i)).isoformat()
        rest = reading_payload(heart_rate=60 + i, measured_at=moment)
        assert token_client.post("/api/predict", rest, format="json").status_code == 201
    window = {"from": start.isoformat(), "to": (start + timedelta(minutes=5)).isoformat()}
    assert token_client.post("/api/baselines", window, format="json").status_code == 201
    body = html.unescape(logged_in.post("/", {**READING, "heart_rate": "110"}).content.decode())
    assert Prediction.objects.order_by("-id").first().calibrated
    assert "Your heart rate was higher than at your rest" in body
    assert "than at a typical rest" not in body
