#!/usr/bin/env bash
# The image, proven without an engine: builds the Dockerfile's image in a debootstrapped
# Debian root file system and runs it read-only as its non-root user against the local
# PostgreSQL and Redis (scripts/image_proof.py says how; DEPLOYMENT.md, "The image").
# Needs root (debootstrap, chroot, mount) and Debian's package mirror; takes a few minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" != 0 ]; then
    echo "image-proof needs root (debootstrap, chroot and mount)" >&2
    exit 1
fi
if ! command -v debootstrap >/dev/null; then
    apt-get update -qq && apt-get install -y -qq debootstrap >/dev/null
fi
exec python3 scripts/image_proof.py "$@"
