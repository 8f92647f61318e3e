"""What predictions' kinds of job share: each scores an uploaded file with the served model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jobs.kinds import JobKind
from predictions.selectors import model_version_active_id


class ScoringKind(JobKind):
    """A job scored from the file it was made from, by the version active when it starts."""

    def input_file(self, job: Any) -> Path:
        raise NotImplementedError

    def claim_fields(self) -> dict[str, Any]:
        return {"model_version_id": model_version_active_id()}

    def unavailable_reason(self, job: Any) -> str | None:
        if not self.input_file(job).is_file():
            return "The uploaded file is no longer in storage."
        return None
