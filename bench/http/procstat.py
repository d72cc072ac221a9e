"""CPU time of this machine's processes, from /proc: what the HTTP bench reads to say where a
request's CPU went (the gunicorn workers, the local PostgreSQL and Redis servers, a backend)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import NamedTuple


class Process(NamedTuple):
    name: str  # the kernel's command name (`comm`)
    parent: int
    cpu: float  # seconds of user and system time so far


def process(pid: int) -> Process | None:
    """One process's name, parent and CPU seconds; None when it is gone or not readable."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    name = stat[stat.find("(") + 1 : stat.rfind(")")]
    fields = stat[stat.rfind(")") + 2 :].split()  # from the state on: ppid is [1]
    cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return Process(name, int(fields[1]), cpu)


def processes() -> dict[int, Process]:
    """Every process readable now, by pid (one that ends meanwhile is left out)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (proc := process(int(entry.name))) is not None:
            found[int(entry.name)] = proc
    return found
