"""`make screenshots`: every page at 375 and 1280 px wide, with realistic data, into
screenshots/ (ignored by git; SCREENSHOTS_DIR picks another folder). Not part of `make test`;
the same pages are checked by test_pages_in_browser.py."""

import os
from pathlib import Path

import pytest

from predictions.tests.test_browser import browser_page  # noqa: F401 - fixture
from predictions.tests.test_pages_in_browser import WIDTHS, demo_account, tour

pytestmark = pytest.mark.screenshots
OUT = Path(os.environ.get("SCREENSHOTS_DIR") or Path(__file__).resolve().parents[2] / "screenshots")


def test_screenshots(browser_page, user, tmp_path):  # noqa: F811
    page = browser_page
    OUT.mkdir(parents=True, exist_ok=True)
    ids = demo_account(user, tmp_path)
    for width in WIDTHS:
        statuses = tour(
            page,
            user,
            ids,
            width,
            lambda name, width=width: page.screenshot(
                path=OUT / f"{name}-{width}.png", full_page=True, caret="initial"
            ),
        )
        # Every page shot answered as a page (the fixture also fails on any console error).
        assert {name: status for name, status in statuses.items() if status != 200} == {}
