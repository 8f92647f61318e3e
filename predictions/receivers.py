"""Where predictions answers other apps' signals. Each receiver only calls a service."""

from typing import Any

from django.dispatch import receiver

from accounts.signals import user_deleting
from predictions.batch.jobs import batch_job_files_delete_for_user
from predictions.recordings.services import recording_files_delete_for_user


@receiver(user_deleting, dispatch_uid="predictions-user-files")
def _delete_user_files(sender: Any, user: Any, **kwargs: Any) -> None:
    batch_job_files_delete_for_user(user=user)
    recording_files_delete_for_user(user=user)
