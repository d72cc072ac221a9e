#!/usr/bin/env bash
# Debian packages the test suite needs; installed only when missing. One line per need:
# "command:package".
set -euo pipefail
want=(
  make:make
  git:git
  # media pipeline
  ffmpeg:ffmpeg
  ffprobe:ffmpeg

  # cdn
  nginx:nginx

  # deploy (container image: make image, deploy/smoke.sh)
  podman:podman
  runc:runc
  mmdebstrap:mmdebstrap

  # playback (browser tests)
  npm:npm
  chromium:chromium

)
needed=()
for pair in "${want[@]}"; do
  cmd=${pair%%:*}; pkg=${pair#*:}
  command -v "$cmd" >/dev/null 2>&1 || needed+=("$pkg")
done
if [ ${#needed[@]} -gt 0 ]; then
  echo "installing: ${needed[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${needed[@]}"
else
  echo "all present"
fi
