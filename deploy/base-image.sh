#!/usr/bin/env bash
# The base image without a registry: a minimal Debian bookworm root filesystem made by
# mmdebstrap from Debian's own mirror, imported into podman. Skipped when the image exists
# (it takes 3-4 minutes). With a registry, build on python:3.11-slim instead (see Containerfile).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
image=${BASE_IMAGE:-localhost/debian:bookworm}
case "$image" in localhost/*) ;; *) echo "base $image comes from a registry"; exit 0 ;; esac
if "$here/podman.sh" image exists "$image"; then
  echo "base image $image present"
  exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# python3-venv: the image builds its own virtualenv; ca-certificates: pip over TLS.
mmdebstrap --variant=minbase --include=python3,python3-venv,ca-certificates \
  bookworm "$tmp/rootfs.tar"
"$here/podman.sh" import --change 'CMD ["/bin/bash"]' "$tmp/rootfs.tar" "$image"
