from django.db import migrations


class Migration(migrations.Migration):
    """Recording.files_deleted_at was never read or written (a recording's file is kept while
    the recording exists and deleted with it). The field leaves the models' state only: its
    column stays, nullable and unused, so no table changes."""

    dependencies = [("predictions", "0007_recordings")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.RemoveField(model_name="recording", name="files_deleted_at")],
            database_operations=[],
        )
    ]
