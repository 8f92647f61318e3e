import pytest

from predictions import ml
from predictions.ml import (
    ModelUnavailable,
    get_served_model,
    reset_served_model,
    served_model_preload,
)
from predictions.models import ModelVersion
from predictions.services import model_version_activate, model_version_register
from stressapp.tests.support import wait_for


@pytest.fixture
def fast_reload(settings):
    settings.MODEL_RELOAD_SECONDS = 0.2
    return settings


def test_it_serves_the_active_version_and_loads_it_once(active_model, django_assert_num_queries):
    first = get_served_model()
    assert first.version == active_model.version
    with django_assert_num_queries(0):  # cached between reload checks
        assert get_served_model() is first


def test_it_switches_to_a_newly_activated_version_without_a_restart(
    active_model, second_tiny_model, fast_reload
):
    assert get_served_model().version == active_model.version
    newer = model_version_register(result=second_tiny_model, activate=True)
    served = wait_for(lambda: (m := get_served_model()).version == newer.version and m, timeout=5)
    assert served and served.version == newer.version
    assert served.predictor.roots.shape[0] == 6  # the second model's forest

    model_version_activate(model_version=active_model)  # roll back
    assert wait_for(lambda: get_served_model().version == active_model.version, timeout=5)


def test_it_refuses_to_serve_a_tampered_artifact(active_model, settings):
    ModelVersion.objects.filter(pk=active_model.pk).update(sha256="0" * 64)
    reset_served_model()
    with pytest.raises(ModelUnavailable, match="checksum mismatch"):
        get_served_model()


@pytest.mark.django_db
def test_it_says_how_to_get_a_model_when_none_is_active():
    reset_served_model()
    with pytest.raises(ModelUnavailable, match="train_model"):
        get_served_model()


def test_it_keeps_serving_the_old_version_when_a_new_one_cannot_load(
    active_model, second_tiny_model, fast_reload
):
    assert get_served_model().version == active_model.version
    broken = model_version_register(result=second_tiny_model)
    ModelVersion.objects.filter(pk=broken.pk).update(sha256="0" * 64)
    broken.refresh_from_db()
    model_version_activate(model_version=broken)
    # Past a reload check (0.2 s) the process has tried the broken one and kept the old.
    checked_at = ml._checked_at
    assert wait_for(lambda: get_served_model() and ml._checked_at > checked_at, timeout=5)
    assert get_served_model().version == active_model.version


def test_preloading_at_process_start_loads_the_active_model(transactional_db, active_model):
    reset_served_model()
    served_model_preload()
    assert ml._served is not None and ml._served.version == active_model.version


def test_preloading_without_an_active_model_only_warns(transactional_db, caplog):
    reset_served_model()
    served_model_preload()  # a worker must still start; its first task says what is missing
    assert ml._served is None
    assert "model not loaded at process start" in caplog.text


# A web or worker process that scores typed readings: Django, every task module, the served
# model loaded and a reading scored, and none of what only training needs.
_SERVING_PROCESS = """
import sys, django
django.setup()
from stressapp.celery import app
app.loader.import_default_modules()
import numpy as np
from predictions.services import readings_score
scores = readings_score(features=np.array([[80.0, 0.4, 0.3, 0.5, 0.4]]))
assert scores.probabilities.shape == (1, 3), scores.probabilities
heavy = sorted({m.split(".")[0] for m in sys.modules} & {"sklearn", "pandas"})
print(",".join(heavy) or "none")
"""


def test_a_serving_process_never_imports_scikit_learn_or_pandas(
    transactional_db, active_model, settings
):
    import os
    import subprocess
    import sys
    from pathlib import Path

    database = settings.DATABASES["default"]
    env = {
        **os.environ,
        "DATABASE_URL": (
            f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/"
            f"{database['NAME']}"
        ),
        "MODEL_DIR": str(settings.MODEL_DIR),
        "DJANGO_SETTINGS_MODULE": "stressapp.settings",
        "DJANGO_DEBUG": "true",
    }
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run(
        [sys.executable, "-c", _SERVING_PROCESS], cwd=root, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1] == "none"
