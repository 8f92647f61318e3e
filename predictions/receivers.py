"""Where predictions answers other apps' signals (connected in PredictionsConfig.ready()).
Each receiver only calls a service."""

from typing import Any

from predictions.batch.jobs import batch_job_files_delete_for_user
from predictions.recordings.services import recording_files_delete_for_user


def user_files_delete(sender: Any, user: Any, **kwargs: Any) -> None:
    batch_job_files_delete_for_user(user=user)
    recording_files_delete_for_user(user=user)
