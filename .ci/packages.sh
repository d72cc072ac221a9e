#!/usr/bin/env bash
# The system packages Streamsite needs, in one list that CI, `make system-deps` and the check
# `make demo` / `make test` run first all read.
#
#   bash .ci/packages.sh                    install what is missing (CI: every scope)
#   bash .ci/packages.sh install SCOPE...   install what is missing for those scopes
#   bash .ci/packages.sh check SCOPE...     one line naming what is missing, exit 1; else quiet
#
# One line per need: "command:package[:scope]". Scopes: demo (make demo, and so every target),
# test (the whole suite; the default), pg (make pg: the suite on a local PostgreSQL and Redis),
# ci (what .ci/run needs besides), bench (make bench-http; not CI).
# PYTHON names the interpreter to check (python3 3.11 or newer, with venv).
set -euo pipefail
want=(
  make:make:demo
  npm:npm:demo
  git:git:ci
  # media pipeline
  ffmpeg:ffmpeg
  ffprobe:ffmpeg

  # cdn (curl: the edges' agent fetches their lists with it, cdn_nginx_config --lists-url)
  nginx:nginx
  curl:curl

  # deploy (container image: make image, deploy/smoke.sh)
  podman:podman:ci
  runc:runc:ci
  mmdebstrap:mmdebstrap:ci

  # playback (browser tests)
  chromium:chromium

  # i18n: extracting messages (make messages, and the test that the catalogue is up to date);
  # compiling them needs no system package (Babel, in make install)
  xgettext:gettext

  # make pg
  pg_ctlcluster:postgresql:pg
  psql:postgresql-client:pg
  redis-server:redis-server:pg

  # make bench-http: the load generator (the bench also needs pg's and test's nginx)
  wrk:wrk:bench
)

mode=install
case "${1:-}" in
  check | install) mode=$1; shift ;;
esac
scopes=("$@")
[ ${#scopes[@]} -gt 0 ] || scopes=(demo test pg ci)  # bench only when named
python=${PYTHON:-python3}

# On PATH and executable (bash's command -v also answers with a file it cannot run).
have() {
  local path
  path=$(command -v "$1" 2>/dev/null) && [ -x "$path" ]
}

in_scopes() {
  local scope
  for scope in "${scopes[@]}"; do [ "$scope" = "$1" ] && return 0; done
  return 1
}

missing=()   # what to name
packages=()  # what apt-get installs
own_python=""  # a python3 apt-get cannot provide: how to get one
add_package() {
  local pkg
  for pkg in "${packages[@]}"; do [ "$pkg" = "$1" ] && return 0; done
  packages+=("$1")
}
scan() {
  missing=() packages=() own_python=""
  if ! have "$python"; then
    missing+=("python3 (3.11 or newer)")
    add_package python3
    add_package python3-venv
  elif ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    missing+=("python3 3.11 or newer (found $("$python" -V 2>&1))")
    own_python="Install a python3 of 3.11 or newer (your distribution's, pyenv or uv), then run make PYTHON=/path/to/python3.11"
  elif [ ! -x .venv/bin/python ] && ! "$python" -c 'import ensurepip, venv' 2>/dev/null; then
    missing+=("python3-venv")
    add_package python3-venv
  fi
  local line cmd pkg scope
  for line in "${want[@]}"; do
    IFS=: read -r cmd pkg scope <<<"$line"
    in_scopes "${scope:-test}" || continue
    if ! have "$cmd"; then
      missing+=("$cmd")
      add_package "$pkg"
    fi
  done
}

sudo=""
[ "$EUID" -eq 0 ] || sudo="sudo "

# "missing: a, b. <how to get them>" on one line.
report() {
  local names how=() target="make system-deps"
  names=$(printf ', %s' "${missing[@]}")
  in_scopes pg && target="make system-deps WITH=pg"
  [ ${#packages[@]} -eq 0 ] || how+=("Install with: $target (runs: ${sudo}apt-get install -y ${packages[*]})")
  if [ -n "$own_python" ]; then
    if [ ${#how[@]} -gt 0 ]; then how+=("and ${own_python,}"); else how+=("$own_python"); fi
  fi
  echo "missing: ${names#, }. ${how[*]}" >&2
}

scan
if [ "$mode" = check ]; then
  [ ${#missing[@]} -eq 0 ] || { report; exit 1; }
  exit 0
fi
if [ ${#missing[@]} -eq 0 ]; then
  echo "all present"
  exit 0
fi
if [ ${#packages[@]} -gt 0 ]; then
  if ! have apt-get; then
    echo "no apt-get here: install ${packages[*]} (Debian's names) with your system's package" \
      "manager, e.g. brew install ffmpeg nginx chromium node" >&2
    exit 1
  fi
  if [ -n "$sudo" ] && ! have sudo; then
    echo "neither root nor sudo: as root, run: apt-get install -y ${packages[*]}" >&2
    exit 1
  fi
  echo "installing: ${packages[*]}"
  ${sudo}apt-get update -qq
  ${sudo}env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${packages[@]}"
  scan
fi
[ ${#missing[@]} -eq 0 ] || { report; exit 1; }
echo "all present"
