#!/usr/bin/env bash
# podman as it runs on these hosts: runc and cgroupfs (no systemd in the build host), no default
# ulimits (the host refuses to raise them). Creates the one config line podman needs when absent.
set -euo pipefail
if [ ! -f /etc/containers/containers.conf ]; then
  mkdir -p /etc/containers
  printf '[containers]\ndefault_ulimits = []\n' > /etc/containers/containers.conf
fi
exec podman --runtime /usr/sbin/runc --cgroup-manager=cgroupfs "$@"
