import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _run(args: list[str], **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "stressapp.settings", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_it_refuses_to_start_without_a_secret_key_when_debug_is_off():
    result = _run(["manage.py", "check"], DJANGO_DEBUG="false")
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is required" in result.stderr


def test_it_starts_without_a_secret_key_in_debug():
    result = _run(["manage.py", "check"], DJANGO_DEBUG="true")
    assert result.returncode == 0, result.stderr


def test_it_passes_the_deployment_checklist_with_production_values():
    result = _run(
        ["manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        DJANGO_DEBUG="false",
        DJANGO_SECRET_KEY="a-production-like-secret-" + "x7Qm9" * 10,
        DJANGO_ALLOWED_HOSTS="stress.example.com",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


SECRET = "a-production-like-secret-" + "x7Qm9" * 10


def test_it_rejects_a_malformed_boolean():
    """Everything else is valid (a secret key is set), so only the boolean can stop it."""
    assert (
        _run(["manage.py", "check"], DJANGO_DEBUG="false", DJANGO_SECRET_KEY=SECRET).returncode == 0
    )
    result = _run(["manage.py", "check"], DJANGO_DEBUG="maybe", DJANGO_SECRET_KEY=SECRET)
    assert result.returncode != 0
    assert "DJANGO_DEBUG='maybe' is not a boolean" in result.stderr


def test_it_rejects_a_malformed_integer():
    result = _run(["manage.py", "check"], DJANGO_DEBUG="true", BATCH_MAX_ROWS="a million")
    assert result.returncode != 0
    assert "BATCH_MAX_ROWS='a million' is not a whole number" in result.stderr


def test_blank_values_mean_the_default():
    result = _run(
        ["-c", "from django.conf import settings as s; print(s.DEBUG, s.BATCH_MAX_ROWS)"],
        DJANGO_DEBUG="",
        DJANGO_SECRET_KEY=SECRET,
        BATCH_MAX_ROWS=" ",
        DJANGO_SETTINGS_MODULE="stressapp.settings",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "1000000"]


def test_importing_the_settings_creates_no_folder(tmp_path):
    data = tmp_path / "nowhere-yet"
    result = _run(
        ["-c", "import stressapp.settings"],
        DJANGO_DEBUG="true",
        DATA_DIR=str(data),
    )
    assert result.returncode == 0, result.stderr
    assert not data.exists()
    # A process that starts Django makes them.
    started = _run(["-c", "import django; django.setup()"], DJANGO_DEBUG="true", DATA_DIR=str(data))
    assert started.returncode == 0, started.stderr
    assert (data / "models").is_dir() and (data / "media").is_dir()
