"""The web server: granian serving stressapp.wsgi, configured from the environment.

    python -m stressapp.serve [module:application]      (Procfile, Dockerfile, compose)

Why granian rather than gunicorn (issue 14, measured with benchmarks/api.py on two shared
cores, the same app in the same rounds): gunicorn's sync worker parses HTTP in Python and
closes the connection after every answer; its gthread worker keeps connections but lengthens
the tail. granian parses HTTP in Rust, keeps connections alive and runs Django in a small pool
of threads per process. The view with its body emptied went from about 2,100 to 3,850 req/s,
a real prediction from about 640 to 1,220 req/s, p99 from 44 to about 25 ms.

Environment:
- HOST, PORT: where to listen (default all interfaces, 8000).
- WEB_CONCURRENCY: worker processes (default: one per core).
- WEB_THREADS: threads per process running Django (default 2: while one waits on PostgreSQL
  or Redis, the other runs; more only lengthens the tail under the GIL).
- WEB_MAX_RSS_MB: a worker above this much memory is replaced after its requests finish
  (default 1024), which bounds slow growth as gunicorn's max_requests did.
- LOG_LEVEL: granian's own lines, as JSON like every other log line. There is no separate
  access log: RequestLogMiddleware writes one JSON line per request, with its request id.
- PROMETHEUS_MULTIPROC_DIR: emptied at start, so no stale worker's counts are added.
"""

from __future__ import annotations

import os
import shutil
import sys

from granian import Granian
from granian.constants import Interfaces, RuntimeModes

from stressapp.logging import logging_config

APPLICATION = "stressapp.wsgi:application"
# A container listens on all its interfaces; HOST narrows it outside containers.
ALL_INTERFACES = "0.0.0.0"  # noqa: S104  # nosec B104


def _positive_int(name: str, default: int) -> int:
    raw = os.environ.get(name) or str(default)
    try:
        value = int(raw)
    except ValueError:
        raise SystemExit(f"{name}={raw!r} is not a whole number") from None
    if value < 1:
        raise SystemExit(f"{name}={raw!r} must be at least 1")
    return value


def server(target: str = APPLICATION) -> Granian:
    return Granian(
        target,
        interface=Interfaces.WSGI,
        address=os.environ.get("HOST", ALL_INTERFACES),
        port=_positive_int("PORT", 8000),
        workers=_positive_int("WEB_CONCURRENCY", os.cpu_count() or 1),
        blocking_threads=_positive_int("WEB_THREADS", 2),
        # One event-loop thread per worker is plenty in front of a pool of two.
        runtime_mode=RuntimeModes.st,
        websockets=False,
        log_dictconfig=logging_config(os.environ.get("LOG_LEVEL", "INFO").upper()),
        log_access=False,
        respawn_failed_workers=True,
        workers_max_rss=_positive_int("WEB_MAX_RSS_MB", 1024),
        workers_kill_timeout=30,
    )


def main(argv: list[str]) -> None:
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        shutil.rmtree(directory, ignore_errors=True)
        os.makedirs(directory, exist_ok=True)
    server(argv[0] if argv else APPLICATION).serve()


if __name__ == "__main__":
    main(sys.argv[1:])
