"""What a web server process does as it starts. Apps register their part from ready() (the
served model is loaded by predictions), so this project package imports no app."""

from __future__ import annotations

import atexit
import os
from collections.abc import Callable

from prometheus_client import multiprocess

PROCESS_START_HOOKS: list[Callable[[], None]] = []


def process_start_hook_register(hook: Callable[[], None]) -> None:
    PROCESS_START_HOOKS.append(hook)


def process_started() -> None:
    for hook in PROCESS_START_HOOKS:
        hook()
    from stressapp.malloc_trim import malloc_trim_start

    malloc_trim_start(float(os.environ.get("MALLOC_TRIM_SECONDS", "60")))
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # Multi-process metrics: this process's live gauges go when it exits.
        atexit.register(multiprocess.mark_process_dead, os.getpid())
