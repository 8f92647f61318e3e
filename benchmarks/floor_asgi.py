"""benchmarks/floor_wsgi.py through Django's ASGI handler: the same emptied predict view, for
BENCH_OUR_SERVER=granian-asgi. Benchmarks only; the application never imports this module."""

from stressapp.asgi import application

__all__ = ["application"]  # and Django is set up, which the import below needs

import benchmarks.floor_wsgi  # noqa: F401 - empties the predict view
