import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "stressapp.settings")
application = get_wsgi_application()


def _prepare_process() -> None:
    """Each server process loads the model as it starts, not on its first request, and
    takes its live gauges with it when it exits (multi-process metrics)."""
    import atexit

    from predictions.ml import served_model_preload

    served_model_preload()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        atexit.register(multiprocess.mark_process_dead, os.getpid())


_prepare_process()
