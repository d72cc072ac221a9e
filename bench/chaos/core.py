"""The chaos suite's frame: scenarios are plugins (one module each under bench/chaos/scenarios,
exposing SCENARIO), each returns outcomes that print as one table and fail on any loss."""

from __future__ import annotations

import importlib
import pkgutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Protocol


@dataclass
class Outcome:
    scenario: str
    kind: str
    expected: int
    observed: int
    lost: int
    duplicated: int
    recovery_s: float | None
    note: str = ""

    @property
    def ok(self) -> bool:
        return self.lost == 0 and self.duplicated == 0 and self.observed == self.expected

    def as_dict(self) -> dict:
        return {**asdict(self), "ok": self.ok}


@dataclass
class Context:
    workdir: Path
    fast: bool
    broker_url: str
    database_url: str
    restart_broker: Callable[[], float]
    log: Callable[[str], None] = print
    extra: dict = field(default_factory=dict)


class Scenario(Protocol):
    key: str
    title: str

    def unavailable(self, ctx: Context) -> str | None:
        """Why this scenario cannot run here (a missing tool), or None."""

    def run(self, ctx: Context) -> list[Outcome]: ...


def discover() -> dict[str, Scenario]:
    """Every module in bench/chaos/scenarios that defines SCENARIO, by key (a, b, e, ...)."""
    from bench.chaos import scenarios

    found: dict[str, Scenario] = {}
    for info in pkgutil.iter_modules(scenarios.__path__):
        module = importlib.import_module(f"bench.chaos.scenarios.{info.name}")
        scenario = getattr(module, "SCENARIO", None)
        if scenario is not None:
            found[scenario.key] = scenario
    return dict(sorted(found.items()))


def table(outcomes: list[Outcome]) -> str:
    head = ("scenario", "kind", "expected", "observed", "lost", "duplicated", "recovery s", "ok")
    rows = [
        (
            o.scenario,
            o.kind,
            str(o.expected),
            str(o.observed),
            str(o.lost),
            str(o.duplicated),
            "-" if o.recovery_s is None else f"{o.recovery_s:.1f}",
            "yes" if o.ok else "NO",
        )
        for o in outcomes
    ]
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    lines = ["| " + " | ".join(h.ljust(w) for h, w in zip(head, widths, strict=True)) + " |"]
    lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for r in rows:
        lines.append("| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |")
    notes = [f"- {o.scenario}/{o.kind}: {o.note}" for o in outcomes if o.note]
    return "\n".join(lines + notes)


class Clock:
    def __init__(self) -> None:
        self.t0 = time.monotonic()

    def __call__(self) -> float:
        return time.monotonic() - self.t0
