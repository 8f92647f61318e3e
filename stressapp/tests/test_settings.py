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


def test_it_rejects_a_malformed_boolean():
    result = _run(["manage.py", "check"], DJANGO_DEBUG="maybe")
    assert result.returncode != 0
