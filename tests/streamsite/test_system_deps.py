"""The prerequisite check (.ci/packages.sh, run first by make demo and make test) on a machine
simulated by PATH: what it names when ffmpeg, nginx, curl or Chromium are missing, and what
`make system-deps` runs to install them (a recording apt-get stands in for the real one). Also
the guard in tests/conftest.py that keeps the markers honest."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests import conftest

ROOT = Path(__file__).resolve().parents[2]
SUDO = "" if os.geteuid() == 0 else "sudo "
INSTALL = "Install with: make system-deps (runs: " + SUDO + "apt-get install -y {})"
STUB = "#!/bin/sh\n{}\n"


@pytest.fixture
def machine(tmp_path):
    """A bin directory that is the whole PATH: python, make, npm and git; nothing else."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "python3").symlink_to(os.path.realpath(sys.executable))
    for tool in ("bash", "env", "make"):
        (bin_dir / tool).symlink_to(shutil.which(tool))
    for tool in ("npm", "git"):
        add(bin_dir, tool)
    return bin_dir


def add(bin_dir: Path, name: str, body: str = "exit 0") -> None:
    path = bin_dir / name
    path.write_text(STUB.format(body))
    path.chmod(0o755)


def packages_sh(bin_dir: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(bin_dir / "bash"), ".ci/packages.sh", *args],
        cwd=ROOT,
        env={"PATH": str(bin_dir), "HOME": str(bin_dir.parent), **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_check_names_ffmpeg_nginx_chromium_and_gettext_on_one_line(machine):
    result = packages_sh(machine, "check", "demo", "test")
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr == (
        "missing: ffmpeg, ffprobe, nginx, curl, chromium, xgettext. "
        + INSTALL.format("ffmpeg nginx curl chromium gettext")
        + "\n"
    )


def test_check_for_make_demo_asks_only_for_python_make_and_npm(machine):
    assert packages_sh(machine, "check", "demo").returncode == 0
    (machine / "npm").unlink()
    result = packages_sh(machine, "check", "demo")
    assert result.returncode == 1
    assert result.stderr == "missing: npm. " + INSTALL.format("npm") + "\n"


def test_check_is_quiet_when_everything_is_there(machine):
    for tool in ("ffmpeg", "ffprobe", "nginx", "curl", "chromium", "xgettext"):
        add(machine, tool)
    result = packages_sh(machine, "check", "demo", "test")
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def test_check_names_a_python_older_than_3_11_and_how_to_get_one(machine):
    add(machine, "python3.9", '[ "$1" = -V ] && echo "Python 3.9.2" || exit 1')
    result = packages_sh(machine, "check", "demo", PYTHON="python3.9")
    assert result.returncode == 1
    assert result.stderr == (
        "missing: python3 3.11 or newer (found Python 3.9.2). Install a python3 of 3.11 or newer"
        " (your distribution's, pyenv or uv), then run make PYTHON=/path/to/python3.11\n"
    )


def test_system_deps_installs_the_missing_packages_with_apt_get_then_checks_again(machine):
    log = machine.parent / "apt.log"
    # The stand-in apt-get records its arguments and "installs" by putting the commands on PATH.
    add(
        machine,
        "apt-get",
        f'echo "$*" >> {log}\n'
        f'[ "$1" = install ] && for c in ffmpeg ffprobe nginx curl chromium xgettext; do'
        f' printf "#!/bin/sh\\n" > {machine}/$c; chmod +x {machine}/$c; done; exit 0',
    )
    add(machine, "sudo", 'exec "$@"')
    add(machine, "chmod", 'exec /bin/chmod "$@"')

    result = packages_sh(machine, "install", "demo", "test")

    assert result.returncode == 0, result.stderr
    assert result.stdout == "installing: ffmpeg nginx curl chromium gettext\nall present\n"
    assert log.read_text().splitlines() == [
        "update -qq",
        "install -y -qq ffmpeg nginx curl chromium gettext",
    ]
    assert packages_sh(machine, "check", "demo", "test").returncode == 0


def test_system_deps_without_apt_get_prints_what_to_install_and_fails(machine):
    result = packages_sh(machine, "install", "demo", "test")
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr == (
        "no apt-get here: install ffmpeg nginx curl chromium gettext (Debian's names) with your"
        " system's package manager, e.g. brew install ffmpeg nginx chromium node\n"
    )


@pytest.mark.needs_process  # runs make
def test_make_test_stops_at_the_check_with_its_one_line(machine):
    result = subprocess.run(
        [str(machine / "make"), "-s", "--no-print-directory", "check-test", "SBIN_PATH="],
        cwd=ROOT,
        env={"PATH": str(machine), "HOME": str(machine.parent)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    ours, make_says = result.stderr.splitlines()
    assert ours == "missing: ffmpeg, ffprobe, nginx, curl, chromium, xgettext. " + INSTALL.format(
        "ffmpeg nginx curl chromium gettext"
    )
    assert make_says.startswith("make: *** [Makefile:")
    # make test runs the check before anything else.
    planned = subprocess.run(
        [str(machine / "make"), "-n", "--no-print-directory", "test"],
        cwd=ROOT,
        env={"PATH": str(machine), "HOME": str(machine.parent)},
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout.splitlines()
    assert planned[0].endswith("bash .ci/packages.sh check demo test")


@pytest.mark.parametrize(
    ("program", "marker"),
    [
        ("/usr/bin/ffmpeg", "needs_ffmpeg"),
        ("/venv/lib/imageio_ffmpeg/binaries/ffmpeg-linux64-v4.2.2", "needs_ffmpeg"),
        ("ffprobe", "needs_ffmpeg"),
        ("/usr/sbin/nginx", "needs_nginx"),
        ("/venv/lib/python3.11/site-packages/playwright/driver/node", "needs_browser"),
        ("/usr/bin/chromium", "needs_browser"),
        ("/usr/bin/xgettext", "needs_gettext"),
        ("msgmerge", "needs_gettext"),
        ("make", "needs_process"),
        ("gunicorn", "needs_process"),
        (sys.executable, None),
        ("/bin/sh", None),
        ("bash", None),
    ],
)
def test_guard_knows_what_each_program_needs(program, marker):
    assert conftest.needed_for(program) == marker


def test_guard_names_programs_the_test_is_not_marked_for(request):
    request.node.add_marker("needs_nginx")
    conftest._guard["started"] += ["/usr/bin/ffmpeg", "/usr/sbin/nginx", sys.executable, "make"]
    assert conftest._unmarked_programs(request.node) == [
        "/usr/bin/ffmpeg (mark it needs_ffmpeg)",
        "make (mark it needs_process)",
    ]
    assert conftest._guard["started"] == []  # read once, so the test itself still passes


class FakeItem:
    def __init__(self, *fixturenames: str, marked: tuple[str, ...] = ()) -> None:
        self.fixturenames = list(fixturenames)
        self.markers = list(marked)

    def get_closest_marker(self, name: str) -> str | None:
        return name if name in self.markers else None

    def add_marker(self, name: str) -> None:
        self.markers.append(name)


def test_tests_are_marked_by_the_fixtures_they_use():
    edges = FakeItem("db", "origin", "nginx_edges")
    journey = FakeItem("live_server", "browser_page", "film", "ladder_source")
    already = FakeItem("clips", marked=("slow", "needs_ffmpeg"))
    plain = FakeItem("db", "alice", "settings")

    conftest.pytest_collection_modifyitems([edges, journey, already, plain])

    assert edges.markers == ["needs_nginx"]
    assert journey.markers == ["needs_browser", "needs_ffmpeg"]
    assert already.markers == ["slow", "needs_ffmpeg"]
    assert plain.markers == []
