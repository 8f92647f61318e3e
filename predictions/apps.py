from django.apps import AppConfig


class PredictionsConfig(AppConfig):
    name = "predictions"

    def ready(self) -> None:
        # Imported here, not at the top: an AppConfig module is imported before the models
        # are ready. Everything this app adds to the engine and to stressapp's registries is
        # registered here, in one place.
        from accounts.signals import user_deleting
        from jobs.kinds import kind_register
        from predictions import receivers
        from predictions.batch.kind import BATCH
        from predictions.metrics import ModelVersionCollector
        from predictions.ml import predictor_status, served_model_preload
        from predictions.personal.kind import PERSONAL_REFIT
        from predictions.recordings.kind import RECORDING
        from stressapp.health import health_check_register
        from stressapp.lifecycle import process_start_hook_register
        from stressapp.metrics import scrape_collector_register

        kind_register(BATCH)
        kind_register(RECORDING)
        kind_register(PERSONAL_REFIT)
        health_check_register("model", predictor_status)
        scrape_collector_register(ModelVersionCollector())
        process_start_hook_register(served_model_preload)
        user_deleting.connect(receivers.user_files_delete, dispatch_uid="predictions-user-files")
