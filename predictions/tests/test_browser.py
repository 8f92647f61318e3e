"""End-to-end in a real Chromium (Playwright), against the live server, a real Celery worker,
PostgreSQL and Redis: what a person does, click by click."""

import json
import os
import shutil
import urllib.error
import urllib.request

import pytest

from stressapp.tests.support import IN_CI, reading_payload, require_service

pytestmark = pytest.mark.browser

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@pytest.fixture
def browser_page(live_server, settings, active_model):
    require_service(f"Chromium ({CHROMIUM})", shutil.which(CHROMIUM) is not None)
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover
        require_service("playwright", False)
    # Playwright's sync API keeps an event loop in this thread; the ORM calls made by the
    # test itself are still synchronous.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    settings.ALLOWED_HOSTS = ["localhost", "127.0.0.1", "testserver"]
    settings.SESSION_COOKIE_SECURE = False  # the live server speaks plain http
    settings.CSRF_COOKIE_SECURE = False
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(
            viewport={"width": 1280, "height": 900}, accept_downloads=True
        )
        page = context.new_page()
        page.set_default_timeout(15_000)
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on(
            "response",
            lambda r: errors.append(f"HTTP {r.status} {r.url}") if r.status >= 400 else None,
        )
        page.base = live_server.url
        page.console_errors = errors
        yield page
        browser.close()
    # Every journey fails on any console error or failed request (CSP violations included).
    assert not errors, errors
    os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


def sign_up(page, username: str = "ann") -> None:
    page.goto(page.base + "/")
    page.get_by_role("link", name="Create a free account").click()
    page.get_by_label("Username").fill(username)
    page.get_by_label("Email").fill(f"{username}@example.com")
    page.locator("#id_password1").fill("a-sound-passphrase")
    page.locator("#id_password2").fill("a-sound-passphrase")
    page.get_by_role("button", name="Sign up").click()
    page.get_by_role("heading", name=f"Hello, {username}").wait_for()


def test_sign_up_record_a_reading_and_find_it_in_history_and_timeline(browser_page):
    page = browser_page
    sign_up(page)
    for label, value in {
        "Heart rate": "88",
        "ECG": "0.62",
        "EMG": "0.31",
        "GSR": "0.81",
        "Respiration": "0.45",
    }.items():
        page.get_by_label(label, exact=False).first.fill(value)
    page.get_by_label("Note").fill("after the meeting")
    url_before = page.url
    page.get_by_role("button", name="See my stress level").click()
    result = page.locator("#result")
    result.wait_for()
    assert page.url == url_before  # swapped in, no reload
    level = result.locator("strong.level").inner_text()
    assert level in {"low", "medium", "high", "uncertain"}
    assert result.locator("svg.bar").count() == 3
    page.locator("#recent").get_by_text(level).first.wait_for()

    # A bad value is explained next to its field, still without a reload.
    page.get_by_label("Heart rate", exact=False).first.fill("300")
    page.get_by_role("button", name="See my stress level").click()
    page.get_by_text("Heart rate must be between 40 and 200.").wait_for()
    assert page.url == url_before

    page.get_by_role("link", name="History", exact=True).click()
    row = page.locator("tbody tr").first
    assert "after the meeting" in row.inner_text() and level in row.inner_text()

    page.get_by_role("link", name="Timeline", exact=True).click()
    page.get_by_label("Last 24 hours").check()
    page.locator("circle.dot").first.wait_for()
    assert page.locator("circle.dot").count() == 1
    # The cursor reads the reading nearest the pointer: its time, level and score.
    page.locator("svg.chart-svg").hover()
    readout = page.locator("[data-chart-readout]").inner_text()
    assert ": score " in readout and readout.endswith(f", {level}"), readout
    assert not page.console_errors, page.console_errors


def test_upload_a_csv_watch_it_finish_and_download_the_results(
    browser_page, celery_workers, tmp_path
):
    page = browser_page
    celery_workers.start(concurrency=1)
    sign_up(page, "bea")
    csv_file = tmp_path / "week.csv"
    rows = "".join(f"{60 + i % 80},0.3,0.2,{(i % 10) / 10},0.4\n" for i in range(300))
    csv_file.write_text("heart_rate,ecg,emg,gsr,respiration\n" + rows + "70,9,0.2,0.3,0.4\n")
    page.get_by_role("link", name="Batch jobs").click()
    page.get_by_label("CSV file").set_input_files(str(csv_file))
    page.get_by_role("button", name="Upload and score").click()
    page.locator(".status.succeeded").wait_for(timeout=60_000)
    assert page.locator(".progress-value").first.inner_text() == "100%"
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download results").click()
    path = download_info.value.path()
    lines = path.read_text().splitlines()
    assert len(lines) == 302 and lines[0].startswith("row,heart_rate")
    assert "ecg must be between 0 and 1" in lines[-1]


def test_upload_a_recording_calibrate_annotate_and_see_the_agreement(
    browser_page, celery_workers, tmp_path
):
    """Upload a drivedb recording as EDF -> live progress -> the band -> calibrate with its
    first 3 minutes -> scored again -> annotate a range -> the agreement page shows it."""
    from mlcore import drivedb
    from mlcore.tests.recording_files import drive_slice, write_edf

    page = browser_page
    celery_workers.start(concurrency=1)
    edf = write_edf(tmp_path / "drive06.edf", drive_slice(drivedb.load_drive("drive06"), 0, 900))
    sign_up(page, "dee")
    page.get_by_role("link", name="Recordings").click()
    page.get_by_label("Recording file").set_input_files(str(edf))
    page.get_by_label("Name (optional)").fill("Morning drive")
    page.get_by_role("button", name="Upload and score").click()
    page.get_by_role("heading", name="Morning drive").wait_for()
    page.locator("#recording-status").wait_for()
    page.locator(".band .cell").first.wait_for(timeout=60_000)
    cells = page.locator(".band .cell").count()
    assert cells > 10
    assert "uncalibrated" in page.locator("#model-heading + dl").inner_text()
    # Point at the chart: the readout says the time from the start and that window's level.
    chart = page.locator("svg.chart-svg")
    chart.scroll_into_view_if_needed()
    box = chart.bounding_box()
    middle_y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + box["width"] / 2, middle_y)
    readout = page.locator("[data-chart-readout]").inner_text()
    assert readout.startswith("07:30 from the start: ") and "score" in readout, readout
    # By keyboard: one tab stop, the arrow keys step through the windows in time order.
    chart.focus()
    for key, start in (("Home", "00:00-02:00: "), ("ArrowRight", "00:30-02:30: ")):
        page.keyboard.press(key)
        assert page.locator("[data-chart-readout]").inner_text().startswith(start), key
    page.keyboard.press("End")
    assert page.locator("[data-chart-readout]").inner_text().startswith("13:00-15:00: ")
    # Drag across the first quarter (of 15 minutes): both range forms take it.
    page.mouse.move(box["x"] + 0.5, middle_y)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] / 4, middle_y, steps=5)
    page.mouse.up()
    calibrate = page.locator("#calibrate")
    annotate = page.locator("#annotate")
    for form in (calibrate, annotate):
        assert form.get_by_label("From", exact=True).input_value() == "00:00"
        assert form.get_by_label("To", exact=True).input_value() in {"03:44", "03:45", "03:46"}
    # Zoom in on the picked range: the axis now counts within it; then back to the whole.
    whole = page.locator("text.tick").all_text_contents()
    page.get_by_role("button", name="Zoom in on the picked range").click()
    zoomed = page.locator("text.zoom-tick").all_text_contents()
    assert zoomed[-2:] == ["02:00", "03:00"], zoomed  # a minute apart, within 00:00-03:45
    assert page.locator("text.tick").first.is_hidden()
    box = chart.bounding_box()  # clicking may have scrolled the page
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    assert page.locator("[data-chart-readout]").inner_text().startswith("01:5")
    page.get_by_role("button", name="Show the whole recording").click()
    assert page.locator("text.zoom-tick").count() == 0
    assert page.locator("text.tick").all_text_contents() == whole
    with page.expect_navigation():
        calibrate.get_by_role("button", name="Use as my rest").click()
    page.get_by_text("calibrated to your rest").wait_for(timeout=60_000)
    assert page.locator(".band .cell").count() == cells
    with page.expect_navigation():
        page.get_by_role("button", name="Score again with my active baseline").click()
    page.get_by_text("calibrated to your rest").wait_for(timeout=60_000)
    annotate = page.locator("#annotate")
    annotate.get_by_label("From", exact=True).fill("05:00")
    annotate.get_by_label("To", exact=True).fill("10:00")
    annotate.get_by_label("I felt").select_option("high")
    annotate.get_by_label("Note").fill("merging onto the highway")
    annotate.get_by_role("button", name="Save").click()
    page.locator("#annotate li").get_by_text("merging onto the highway").wait_for()
    page.get_by_role("link", name="How well it knows you").click()
    page.get_by_text("labelled window").wait_for()
    assert page.locator("table.confusion").count() == 1
    assert not page.console_errors, page.console_errors


def _api(url: str, token: str, body: dict) -> int:
    request = urllib.request.Request(  # noqa: S310 - the live test server
        url,
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def test_create_a_token_use_it_then_revoke_it(browser_page):
    page = browser_page
    sign_up(page, "cat")
    page.get_by_role("link", name="Account").click()
    page.get_by_label("Name").fill("my watch")
    page.get_by_role("button", name="Create token").click()
    token = page.locator("#new-token").inner_text().strip()
    assert token.startswith("st_")
    assert _api(page.base + "/api/predict", token, reading_payload()) == 201
    page.get_by_role("button", name="Revoke").click()
    page.get_by_text("revoked").first.wait_for()
    assert _api(page.base + "/api/predict", token, reading_payload()) == 401


def test_in_ci_the_browser_is_installed():
    if IN_CI:
        assert shutil.which(CHROMIUM)


def test_sign_up_takes_the_browsers_time_zone(browser_page):
    from accounts.models import User

    context = browser_page.context.browser.new_context(timezone_id="Asia/Tokyo")
    page = context.new_page()
    page.base = browser_page.base
    try:
        sign_up(page, "kenji")
    finally:
        context.close()
    assert User.objects.get(username="kenji").time_zone == "Asia/Tokyo"
