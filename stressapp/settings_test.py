"""Settings for the test suite: the production settings with test-only conveniences.

Values are set through the environment before the real settings module reads it, so tests
exercise the same code path as production.
"""

import os
import tempfile
from pathlib import Path

os.environ.setdefault("DJANGO_SECRET_KEY", "test-only-secret-key-not-used-anywhere-else-0123456789")
os.environ.setdefault("DJANGO_SECURE_SSL_REDIRECT", "false")
# Outside the repository; each test gets its own folders on top (conftest, isolated_storage).
os.environ.setdefault("DATA_DIR", str(Path(tempfile.gettempdir()) / "stressapp-test-data"))
# Throttling is tested on its own with low rates; elsewhere it must not interfere.
os.environ.setdefault("API_THROTTLE_ANON", "100000/min")
os.environ.setdefault("API_THROTTLE_USER", "100000/min")

from stressapp.settings import *  # noqa: F403

# The job engine's own tests run a kind of their own (jobs/tests/fakes), with its tables.
INSTALLED_APPS = [*INSTALLED_APPS, "jobs.tests.fakes"]  # noqa: F405
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
STORAGES = {
    **STORAGES,  # noqa: F405
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
