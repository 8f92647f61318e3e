"""Plain language everywhere: every page a person with a recording, readings, a baseline,
labels and batch jobs can open is rendered, and the text they read (text nodes, not
attributes: the model id may sit in a title, on hover) holds no feature code, channel-set
code, raw model id, channel rate or arrow. Each rule's check is also shown to catch a page
that breaks it, so none of these tests can pass by looking at nothing."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from jobs.models import JobStatus
from mlcore.plain_words import channel_set_words
from mlcore.recordings.channel_sets import CHANNEL_SETS
from mlcore.recordings.windows import FEATURE_NAMES as WINDOW_FEATURES
from predictions.models import ModelVersion, PersonalRefit, Prediction, Recording
from predictions.tests.factories import BatchJobFactory
from predictions.tests.personal.helpers import run_refit_inline
from predictions.tests.recordings.helpers import drive_file, run_recording_inline

READING = {"heart_rate": "92", "ecg": "0.3", "emg": "0.2", "gsr": "0.45", "respiration": "0.3"}


class _VisibleText(HTMLParser):
    """The text a page shows (and reads aloud): its text nodes, without scripts, styles and
    code (a CSV header or an API field is what a person types, shown as code)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag in ("script", "style", "code"):
            self._skip += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "code") and self._skip:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def visible_text(body: str) -> str:
    parser = _VisibleText()
    parser.feed(body)
    return " ".join(" ".join(parser.parts).split())


FEATURE_CODE = re.compile(
    r"(?<![a-z_])(?:"
    + "|".join(sorted(set(WINDOW_FEATURES) | {"heart_rate"}, key=len, reverse=True))
    + r")(?![a-z])|__(?:diff|ratio|z)\b|@context"
)
CHANNEL_SET_CODE = re.compile(
    r"\b(?:" + "|".join(name for name in CHANNEL_SETS if "_" in name) + r")\b"
    # The short codes and the role codes are English-less lower-case words; "all" is English,
    # so the old "Channel set all" wording is what is looked for.
    r"|\b(?:hr|gsr|resp|ecg|emg|ppg|acc)\b|[Cc]hannel set\b|\bfive_number\b"
)
# "HR → hr (15.50 Hz)": a channel mapped to a role code, and rates (a pager's "Older →" is fine).
RATE_OR_ARROW = re.compile(r"→ [a-z_]+ \(|\d\s*Hz\b")


@pytest.fixture
def pages(client, user, active_model, tmp_path) -> dict[str, str]:
    """Every page of a person with a calibrated recording, labels, typed readings and jobs,
    as the text they read (name -> text); 'raw' -> name -> HTML."""
    visitor = Client()
    raw = {}
    for name in ("landing", "signup", "login", "password_reset"):
        response = visitor.get("/" if name == "landing" else reverse(name))
        assert response.status_code == 200, name
        raw[name] = response.content.decode()
    client.force_login(user)
    data = {"file": SimpleUploadedFile("drive.edf", drive_file(tmp_path).read_bytes())}
    client.post(reverse("recordings"), {**data, "name": "Drive to work"})
    recording = run_recording_inline(Recording.objects.get().id)
    client.post(
        reverse("recording-calibrate", args=[recording.id]),
        {"rest-start": "00:00", "rest-end": "03:00"},
    )
    recording = run_recording_inline(recording.id)
    client.post(
        reverse("recording-annotate", args=[recording.id]),
        {"label-start": "04:00", "label-end": "09:00", "label-level": "high", "label-note": "x"},
    )
    # The label refits the person's own model; it scores the recording again (the pages then
    # show the model of their own and what changed).
    refit = run_refit_inline(PersonalRefit.objects.get(user=user, status=JobStatus.QUEUED).pk)
    assert refit.rescored == 1
    recording = run_recording_inline(recording.id)
    assert recording.personal_model_id is not None
    for _ in range(3):
        client.post("/", READING)
    now = datetime.now(UTC)
    client.post(
        reverse("timeline-annotate"),
        {
            "felt-starts_at": (now - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"),
            "felt-ends_at": (now - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
            "felt-level": "low",
        },
    )
    finished = BatchJobFactory(
        user=user,
        status=JobStatus.SUCCEEDED,
        processed_rows=9,
        failed_rows=1,
        row_errors=[{"row": 3, "error": "heart_rate must be between 40 and 200."}],
    )
    BatchJobFactory(user=user, status=JobStatus.RUNNING)
    prediction = Prediction.objects.filter(user=user, recording__isnull=True).first()
    urls = {
        "dashboard": "/",
        "dashboard with an example": "/?example=city",
        "dashboard recent": reverse("dashboard-recent"),
        "timeline 24h": reverse("timeline") + "?range=24h",
        "timeline 7d": reverse("timeline"),
        "timeline 30d": reverse("timeline") + "?range=30d",
        "history": reverse("history"),
        "delete a reading": reverse("prediction-delete", args=[prediction.id]),
        "jobs": reverse("jobs"),
        "job": reverse("job-detail", args=[finished.id]),
        "recordings": reverse("recordings"),
        "recording": reverse("recording-detail", args=[recording.id]),
        "agreement": reverse("agreement"),
        "account": reverse("account"),
        "integrations": reverse("integrations"),
        "delete account": reverse("account-delete"),
        "password": reverse("password_change"),
    }
    for name, url in urls.items():
        response = client.get(url)
        assert response.status_code == 200, name
        raw[name] = response.content.decode()
    posted = client.post("/", READING)
    assert posted.status_code == 200
    raw["dashboard after a reading"] = posted.content.decode()
    refused = client.post("/", {**READING, "heart_rate": "250", "gsr": "2"})
    assert refused.status_code == 400
    raw["dashboard with errors"] = refused.content.decode()
    texts = {name: visible_text(body) for name, body in raw.items()}
    # The pages show what the rules are about, so the checks below have something to catch.
    assert "What drove it" in texts["dashboard after a reading"]
    assert "What drove its highest moment" in texts["recording"]
    assert channel_set_words(recording.channel_set) in texts["recording"]
    assert "What changed when it was scored again" in texts["recording"]
    assert "What it learnt from your labels" in texts["agreement"]
    assert "Your own models" in texts["account"]
    return {"text": texts, "raw": raw}


def _offenders(texts: dict[str, str], pattern: re.Pattern) -> dict[str, list[str]]:
    found = {name: sorted(set(pattern.findall(text))) for name, text in texts.items()}
    return {name: hits for name, hits in found.items() if hits}


def test_the_checks_catch_what_the_pages_used_to_say():
    old = visible_text(
        "<dl><dt>Model</dt><dd>rf-20261201-174925-9cb2d0f4, channel set <strong>hr_gsr_resp"
        "</strong></dd><dt>Channels</dt><dd>HR → hr (15.50 Hz)</dd></dl>"
        "<li>resp_std__diff@context pushed this towards high (+24%).</li><h2>Channel set all</h2>"
        "<script>var hr_mean = 1;</script>"
    )
    assert FEATURE_CODE.findall(old) == ["resp_std", "__diff", "@context"]
    assert set(CHANNEL_SET_CODE.findall(old)) == {"hr_gsr_resp", "hr", "channel set", "Channel set"}
    assert RATE_OR_ARROW.findall(old) == ["→ hr (", "0 Hz"]
    assert RATE_OR_ARROW.findall(visible_text("<a>Older →</a> <p>Estimates</p>")) == []


def test_no_feature_code_on_any_page(pages):
    assert _offenders(pages["text"], FEATURE_CODE) == {}


def test_no_channel_set_code_on_any_page(pages):
    assert _offenders(pages["text"], CHANNEL_SET_CODE) == {}


def test_no_raw_model_id_on_any_page_only_on_hover(pages):
    versions = list(ModelVersion.objects.values_list("version", flat=True))
    assert versions
    for name, text in pages["text"].items():
        assert not [v for v in versions if v in text], name
    # The id is still there for who needs it: in the title of the model's plain name.
    recording = pages["raw"]["recording"]
    assert any(f'title="{v}"' in recording for v in versions)
    assert re.search(r"model of \d{1,2} [A-Z][a-z]{2} \d{4}", pages["text"]["recording"])


def test_no_channel_rate_or_arrow_on_any_page(pages):
    assert _offenders(pages["text"], RATE_OR_ARROW) == {}


def test_the_webhook_secret_is_only_on_the_integrations_page(pages, user):
    secret = user.webhook_signing_secret
    assert [name for name, body in pages["raw"].items() if secret in body] == ["integrations"]
