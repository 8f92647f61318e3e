# syntax=docker/dockerfile:1
# Stage 1: build wheels for every dependency (compilers stay in this stage).
FROM python:3.11-slim-bookworm AS builder
WORKDIR /build
RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential=12.9 \
    && rm -rf /var/lib/apt/lists/*
COPY requirements.txt .
RUN pip wheel --no-cache-dir --wheel-dir /wheels -r requirements.txt

# Stage 2: slim runtime, non-root, same image for web and worker.
FROM python:3.11-slim-bookworm AS runtime
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DATA_DIR=/data \
    NUMBA_CACHE_DIR=/tmp/numba \
    PROMETHEUS_MULTIPROC_DIR=/tmp/prometheus \
    PORT=8000
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --home-dir /app app \
    && mkdir -p /data /tmp/prometheus && chown app:app /data /tmp/prometheus
WORKDIR /app
COPY --from=builder /wheels /wheels
RUN pip install --no-cache-dir --no-index --find-links=/wheels /wheels/* && rm -rf /wheels
# The code belongs to root: the app user reads it and cannot change it (it also runs from a
# read-only root file system, as scripts/image_proof.py proves).
COPY . .
# collectstatic needs settings; a throwaway build-time key is used and not kept.
RUN PROMETHEUS_MULTIPROC_DIR='' DJANGO_SECRET_KEY=collectstatic-only DJANGO_DEBUG=false \
    python manage.py collectstatic --no-input
USER 10001
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/health' % os.environ.get('PORT', '8000'), timeout=4)"]
# Every command (web, worker, migrate, ensure_model) writes its metrics to
# PROMETHEUS_MULTIPROC_DIR, and only the web server made it: a fresh /tmp (docker run --tmpfs,
# a Kubernetes emptyDir) stopped the others. It is made before any command runs.
ENTRYPOINT ["/bin/sh", "-c", "${PROMETHEUS_MULTIPROC_DIR:+mkdir -p \"$PROMETHEUS_MULTIPROC_DIR\"}; exec \"$@\"", "--"]
# The web server (granian) reads PORT, WEB_CONCURRENCY, WEB_THREADS... (stressapp/serve.py).
# The worker runs the same image with: celery -A stressapp worker
CMD ["python", "-m", "stressapp.serve"]
