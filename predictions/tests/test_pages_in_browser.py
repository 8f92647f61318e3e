"""Every page in a real Chromium at a phone's width (375 px) and a laptop's (1280 px), with a
week of readings, a scored recording, a batch job and labels: no console error, nothing wider
than the screen, no table cell cut off, no chart text under 11 px. `make screenshots` walks
the same pages (test_screenshots.py)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.services import api_token_create
from predictions.tests.batch.helpers import run_job_inline
from predictions.tests.factories import PredictionFactory
from predictions.tests.test_browser import browser_page  # noqa: F401 - fixture

pytestmark = pytest.mark.browser

WIDTHS = (375, 1280)
PASSWORD = "correct-horse-battery"  # UserFactory's
SMALLEST_CHART_TEXT_PX = 11.0


def demo_account(user, tmp_path) -> dict[str, Any]:
    """A week of readings with a day left out, a scored 15-minute drive with its rest and a
    label, and a batch job with a rejected row. Returns the ids the pages need."""
    from rest_framework.test import APIClient

    from mlcore import drivedb
    from mlcore.tests.recording_files import drive_slice, write_edf
    from predictions.recordings import services as recording_services
    from predictions.tests.recordings.helpers import run_recording_inline

    rng = random.Random(3)
    now = datetime.now(UTC)
    for hours in range(0, 24 * 7, 3):
        if 48 <= hours < 76:
            continue  # a day without readings: the chart must leave it empty
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
            note=rng.choice(["", "", "commute", "after lunch", "a long meeting with the team"]),
        )
    api_token_create(user=user, name="Garmin bridge")

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

    edf = write_edf(tmp_path / "drive06.edf", drive_slice(drivedb.load_drive("drive06"), 0, 900))
    recording, _ = recording_services.recording_submit(
        user=user,
        chunks=[edf.read_bytes()],
        filename=edf.name,
        name="Morning drive",
        rest=recording_services.RestRange(0.0, 180.0),
    )
    recording = run_recording_inline(recording.id)
    assert recording.status == "succeeded", recording.error
    recording_services.annotation_create(
        user=user,
        recording=recording,
        starts_at=recording.starts_at + timedelta(minutes=5),
        ends_at=recording.starts_at + timedelta(minutes=10),
        level="high",
        note="merging onto the highway",
    )
    prediction_id = user.predictions.order_by("-measured_at").values_list("id", flat=True)[0]
    return {"job": job_id, "recording": recording.id, "prediction": prediction_id}


def signed_in_pages(ids: dict[str, Any]) -> dict[str, str]:
    return {
        "history": "/history/",
        "timeline": "/timeline/?range=7d",
        "recordings": "/recordings/",
        "recording": f"/recordings/{ids['recording']}/",
        "agreement": "/agreement/",
        "jobs": "/jobs/",
        "job-detail": f"/jobs/{ids['job']}/",
        "account": "/accounts/",  # the rest baselines are listed here
        "integrations": "/accounts/integrations/",
        "delete-reading": f"/history/{ids['prediction']}/delete",
        "delete-account": "/accounts/delete/",
        "password-change": "/accounts/password_change/",
        "docs": "/docs",
    }


# What a person would call broken at this width; each entry names the element.
_PROBLEMS_JS = """(minimum) => {
  const problems = [];
  const width = window.innerWidth;
  if (document.documentElement.scrollWidth > width) {
    problems.push(`page is ${document.documentElement.scrollWidth}px wide in a ${width}px window`);
  }
  const name = (el) => `${el.tagName.toLowerCase()} "${el.textContent.trim().slice(0, 40)}"`;
  // Ours only: Swagger UI (/docs) styles its own elements from script, which the CSP allows.
  if (!location.pathname.startsWith("/docs")) {
    for (const el of document.querySelectorAll("[style], style, script:not([src])")) {
      problems.push(`inline style or script (the CSP blocks it): ${el.outerHTML.slice(0, 80)}`);
    }
  }
  for (const cell of document.querySelectorAll("td, th")) {
    const box = cell.getBoundingClientRect();
    if (box.width === 0 || cell.closest(".visually-hidden")) continue;
    if (box.left < -0.5 || box.right > width + 0.5) {
      const at = `${Math.round(box.left)}-${Math.round(box.right)}px`;
      problems.push(`table cell off screen (${at}): ${name(cell)}`);
    } else if (cell.scrollWidth > cell.clientWidth + 1) {
      problems.push(`table cell overflows its box: ${name(cell)}`);
    }
  }
  // Every chart's text: inside a .chart figure, and any text drawn in an SVG anywhere.
  const charts = new Set([...document.querySelectorAll(".chart")]);
  for (const svg of document.querySelectorAll("svg")) {
    if (svg.querySelector("text") && !svg.closest(".chart")) charts.add(svg);
  }
  for (const chart of charts) {
    const walker = document.createTreeWalker(chart, NodeFilter.SHOW_TEXT);
    while (walker.nextNode()) {
      const el = walker.currentNode.parentElement;
      if (!walker.currentNode.textContent.trim()) continue;
      if (el.closest("title, desc, .visually-hidden, [hidden]")) continue;
      const style = getComputedStyle(el);
      if (style.display === "none" || style.visibility === "hidden") continue;
      const box = el.getBoundingClientRect();
      if (box.width === 0 && box.height === 0) continue;
      let size = parseFloat(style.fontSize);
      if (el instanceof SVGElement) {
        const m = el.getScreenCTM();
        size *= Math.sqrt(Math.abs(m.a * m.d - m.b * m.c));
      }
      if (size < minimum - 0.05) {
        problems.push(`chart text ${size.toFixed(1)}px: ${name(el)}`);
      }
    }
  }
  return problems;
}"""


def page_problems(page) -> list[str]:
    return page.evaluate(_PROBLEMS_JS, SMALLEST_CHART_TEXT_PX)


def sign_in(page, user) -> None:
    page.goto(page.base + "/accounts/login/")
    page.locator("#id_username").fill(user.username)
    page.locator("#id_password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("heading", name=f"Hello, {user.username}").wait_for()


def record_a_reading(page) -> None:
    for field, value in {
        "heart_rate": "91",
        "ecg": "0.7",
        "emg": "0.3",
        "gsr": "0.85",
        "respiration": "0.5",
    }.items():
        page.locator(f"#id_{field}").fill(value)
    page.get_by_role("button", name="See my stress level").click()
    page.locator("#result").wait_for()
    page.wait_for_load_state("networkidle")


def tour(page, user, ids: dict[str, Any], width: int, visit) -> dict[str, int]:
    """Every page at `width`, in the order a person meets them; `visit(name)` runs on each
    (checks, a screenshot). Returns each page's HTTP status."""
    page.set_viewport_size({"width": width, "height": 900})
    page.context.clear_cookies()
    statuses: dict[str, int] = {}
    for name, path in {
        "landing": "/",
        "signup": "/accounts/signup/",
        "login": "/accounts/login/",
    }.items():
        statuses[name] = page.goto(page.base + path).status
        visit(name)
    sign_in(page, user)
    record_a_reading(page)
    statuses["dashboard"] = 200
    visit("dashboard")
    page.locator("#id_heart_rate").fill("300")
    page.get_by_role("button", name="See my stress level").click()
    page.locator(".error").first.wait_for()
    visit("dashboard-errors")
    for name, path in signed_in_pages(ids).items():
        statuses[name] = page.goto(page.base + path).status
        page.wait_for_load_state("networkidle")
        visit(name)
    page.goto(page.base + signed_in_pages(ids)["recording"])
    pick_and_zoom(page, 0.3, 0.6)
    visit("recording-zoomed")
    return statuses


def pick_and_zoom(page, start: float, end: float) -> None:
    """Drag across the recording chart from `start` to `end` (fractions of its width), then
    zoom in on that range."""
    chart = page.locator("svg.chart-svg")
    chart.scroll_into_view_if_needed()
    box = chart.bounding_box()
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + box["width"] * start, y)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * end, y, steps=5)
    page.mouse.up()
    page.get_by_role("button", name="Zoom in on the picked range").click()
    page.locator("text.zoom-tick").first.wait_for()


@pytest.mark.parametrize("width", WIDTHS)
def test_every_page_fits_the_screen_and_its_charts_are_readable(
    browser_page,  # noqa: F811
    user,
    tmp_path,
    width,
):
    page = browser_page
    ids = demo_account(user, tmp_path)
    problems: dict[str, list[str]] = {}

    seen_errors = 0

    def check(name: str) -> None:
        nonlocal seen_errors
        found = page_problems(page)
        found += [error[:160] for error in page.console_errors[seen_errors:]]
        seen_errors = len(page.console_errors)
        if found:
            problems[name] = found

    statuses = tour(page, user, ids, width, check)
    assert {name: status for name, status in statuses.items() if status != 200} == {}
    assert problems == {}, "\n".join(f"{k}: {v}" for k, v in problems.items())
    # The fixture fails the test on any console error (a CSP violation included).


def test_on_a_touch_screen_a_tap_reads_a_chart_and_a_drag_picks_a_range(
    browser_page,  # noqa: F811
    user,
    tmp_path,
):
    """A phone has no hover: a tap shows what is under the finger, on both charts, and a finger
    dragged sideways across the recording fills the range forms."""
    from predictions.recordings.forms import clock_seconds

    ids = demo_account(user, tmp_path)
    context = browser_page.context.browser.new_context(
        viewport={"width": 375, "height": 800}, has_touch=True, is_mobile=True
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.base = browser_page.base
    try:
        sign_in(page, user)
        page.goto(page.base + signed_in_pages(ids)["recording"])
        chart = page.locator("svg.chart-svg")
        chart.scroll_into_view_if_needed()
        box = chart.bounding_box()
        page.touchscreen.tap(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        readout = page.locator("[data-chart-readout]").inner_text()
        assert readout.startswith("07:30 from the start: ") and "score" in readout, readout
        # A finger dragged across (sideways: the page still scrolls up and down) picks a range.
        touch = context.new_cdp_session(page)
        y = box["y"] + box["height"] / 2
        for kind, x in [
            ("touchStart", 0.0),
            *(("touchMove", box["width"] * k / 20) for k in range(1, 6)),
            ("touchEnd", None),
        ]:
            points = [] if x is None else [{"x": box["x"] + x, "y": y}]
            touch.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": points})
        rest = page.locator("#calibrate")
        assert rest.get_by_label("From", exact=True).input_value() == "00:00"
        # A quarter of 15 minutes, give or take the pixel a finger lands on (about 3 s here).
        assert abs(clock_seconds(rest.get_by_label("To", exact=True).input_value()) - 225) <= 3
        page.goto(page.base + signed_in_pages(ids)["timeline"])
        chart = page.locator("svg.chart-svg")
        chart.scroll_into_view_if_needed()
        box = chart.bounding_box()
        page.touchscreen.tap(box["x"] + box["width"] * 0.1, box["y"] + box["height"] / 2)
        assert ": score " in page.locator("[data-chart-readout]").inner_text()
    finally:
        context.close()
    assert errors == []
