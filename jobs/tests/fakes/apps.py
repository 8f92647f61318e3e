from django.apps import AppConfig


class FakesConfig(AppConfig):
    """A kind of job made for the engine's own tests (installed by the test settings only)."""

    name = "jobs.tests.fakes"
    label = "jobs_fakes"

    def ready(self) -> None:
        from jobs.kinds import kind_register
        from jobs.tests.fakes.kind import FAKE

        kind_register(FAKE)
