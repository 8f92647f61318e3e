from django.apps import AppConfig


class JobsConfig(AppConfig):
    """The job engine. Its kinds (a batch file, a recording...) are registered by the apps that
    own them, from their own ready()."""

    name = "jobs"

    def ready(self) -> None:
        from jobs.metrics import JobsCollector
        from stressapp.metrics import scrape_collector_register

        scrape_collector_register(JobsCollector())
