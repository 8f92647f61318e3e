"""`make screenshots`: every page at 1280 and 375 px wide, with realistic data, into
screenshots/ (ignored by git). Not part of `make test`."""

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.services import api_token_create
from predictions.tests.batch.helpers import run_job_inline
from predictions.tests.factories import PredictionFactory
from predictions.tests.test_browser import browser_page  # noqa: F401 - fixture

pytestmark = pytest.mark.screenshots
OUT = Path(__file__).resolve().parents[2] / "screenshots"
WIDTHS = (1280, 375)


def _demo_data(user) -> None:
    rng = random.Random(3)
    now = datetime.now(UTC)
    for hours in range(0, 24 * 7, 3):
        level = rng.choice(["low", "low", "medium", "high"])
        confidence = rng.uniform(0.45, 0.95)
        rest = (1 - confidence) / 2
        PredictionFactory(
            user=user,
            measured_at=now - timedelta(hours=hours, minutes=rng.randint(0, 50)),
            stress_level=level,
            confidence=confidence,
            probability_low=confidence if level == "low" else rest,
            probability_medium=confidence if level == "medium" else rest,
            probability_high=confidence if level == "high" else rest,
            heart_rate=rng.uniform(58, 110),
            source=rng.choice(["web", "api"]),
            note=rng.choice(["", "", "commute", "after lunch", "meeting"]),
        )
    api_token_create(user=user, name="Garmin bridge")


def test_screenshots(browser_page, user, client, settings):  # noqa: F811
    from rest_framework.test import APIClient

    page = browser_page
    OUT.mkdir(exist_ok=True)
    _demo_data(user)
    api = APIClient()
    api.force_authenticate(user)
    content = (
        b"heart_rate,ecg,emg,gsr,respiration\n"
        + b"".join(f"{60 + i % 70},0.3,0.2,{(i % 10) / 10},0.4\n".encode() for i in range(500))
        + b"70,3,0.2,0.3,0.4\n"
    )
    job_id = api.post(
        "/api/batch-jobs", {"file": SimpleUploadedFile("week-12.csv", content)}, format="multipart"
    ).json()["id"]
    run_job_inline(job_id)

    answers: dict[str, int] = {}
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        page.context.clear_cookies()
        page.goto(page.base + "/")
        page.screenshot(path=OUT / f"landing-{width}.png", full_page=True)
        page.goto(page.base + "/accounts/signup/")
        page.screenshot(path=OUT / f"signup-{width}.png", full_page=True)
        page.goto(page.base + "/accounts/login/")
        page.screenshot(path=OUT / f"login-{width}.png", full_page=True)
        page.locator("#id_username").fill(user.username)
        page.locator("#id_password").fill("correct-horse-battery")
        page.get_by_role("button", name="Log in").click()
        page.get_by_role("heading", name=f"Hello, {user.username}").wait_for()
        page.locator("#id_heart_rate").fill("91")
        page.locator("#id_ecg").fill("0.7")
        page.locator("#id_emg").fill("0.3")
        page.locator("#id_gsr").fill("0.85")
        page.locator("#id_respiration").fill("0.5")
        page.get_by_role("button", name="See my stress level").click()
        page.locator("#result").wait_for()
        page.screenshot(path=OUT / f"dashboard-{width}.png", full_page=True)
        page.locator("#id_heart_rate").fill("300")
        page.get_by_role("button", name="See my stress level").click()
        page.locator(".error").first.wait_for()
        page.screenshot(path=OUT / f"dashboard-errors-{width}.png", full_page=True)
        for name, path in {
            "timeline": "/timeline/?range=7d",
            "history": "/history/",
            "jobs": "/jobs/",
            "job-detail": f"/jobs/{job_id}/",
            "account": "/accounts/",
            "delete-account": "/accounts/delete/",
            "password-change": "/accounts/password_change/",
            "docs": "/docs",
        }.items():
            answers[f"{name}-{width}"] = page.goto(page.base + path).status
            page.wait_for_load_state("networkidle")
            page.screenshot(path=OUT / f"{name}-{width}.png", full_page=True)
    # Every page shot answered as a page (the fixture also fails on any console error).
    assert {name: status for name, status in answers.items() if status != 200} == {}
