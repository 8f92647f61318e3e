"""What file-upload endpoints share: refusing a body whose announced size is over the limit
before a byte of it is read."""

from __future__ import annotations

from rest_framework.request import Request

from jobs.errors import UploadTooLarge

# Multipart framing adds a little to the file's own size.
MULTIPART_OVERHEAD_BYTES = 64 * 1024


def upload_size_check(request: Request, max_bytes: int) -> None:
    raw = str(request.META.get("CONTENT_LENGTH") or "0")
    length = int(raw) if raw.isdigit() else 0
    if length > max_bytes + MULTIPART_OVERHEAD_BYTES:
        raise UploadTooLarge(f"The file is larger than {max_bytes:,} bytes.")
