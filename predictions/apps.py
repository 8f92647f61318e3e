from django.apps import AppConfig


class PredictionsConfig(AppConfig):
    name = "predictions"

    def ready(self) -> None:
        from predictions import receivers  # noqa: F401 - connects the signal receivers
