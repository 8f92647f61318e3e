"""Our server as stressapp.serve runs it, but through Django's ASGI handler (granian's ASGI
interface, one thread per process, as granian allows there): the async lever issue 22 asked to
try, for benchmarks/api.py's BENCH_OUR_SERVER=granian-asgi. Benchmarks only.

    python -m benchmarks.serve_asgi module:application
"""

import sys

from granian.constants import Interfaces

from stressapp.serve import server

if __name__ == "__main__":
    granian = server(sys.argv[1])
    granian.interface = Interfaces.ASGI
    granian.blocking_threads = 1
    granian.serve()
