"""Helpers for the manifest tests: render an overlay with kubectl's built-in Kustomize, and
collect the environment names the application reads (the settings reader, the entrypoint)."""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml
from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
OVERLAYS = ["base", "overlays/dev", "overlays/production", "overlays/production-keda"]
# The project's own packages, as INSTALLED_APPS names them ("audit.apps.StaffAdminConfig":
# audit), the project package included.
FIRST_PARTY = list(
    dict.fromkeys(
        app.split(".")[0]
        for app in settings.INSTALLED_APPS
        if (ROOT / app.split(".")[0] / "__init__.py").is_file()
    )
)
# is_set() is left out: the settings use it only to refuse retired names (ACCOUNTS_TRUSTED_PROXIES).
ENV_ACCESSORS = {"str", "bool", "int", "list", "choice", "url", "database", "email"}


def render(overlay: str) -> list[dict[str, Any]]:
    kubectl = shutil.which("kubectl")
    assert kubectl, "kubectl (with its built-in kustomize) is needed to render deploy/k8s"
    out = subprocess.run(
        [kubectl, "kustomize", str(K8S / overlay)],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    return [doc for doc in yaml.safe_load_all(out) if doc]


def find(docs: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    matches = [d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name]
    assert len(matches) == 1, f"{kind}/{name}: {len(matches)} found"
    return matches[0]


def config_map(docs: list[dict[str, Any]]) -> dict[str, Any]:
    (cm,) = [
        d
        for d in docs
        if d["kind"] == "ConfigMap" and d["metadata"]["name"].startswith("streamsite-config")
    ]
    return dict(cm["data"])


def _settings_helpers(tree: ast.Module) -> set[str]:
    """Module-level functions that take a variable's name and read it through `env`."""
    helpers = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and any(
            isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name) and n.value.id == "env"
            for n in ast.walk(node)
        ):
            helpers.add(node.name)
    return helpers


def _is_env_read(call: ast.Call, helpers: set[str]) -> bool:
    func = call.func
    if isinstance(func, ast.Attribute) and func.attr in ENV_ACCESSORS:
        target = func.value
        if isinstance(target, ast.Name) and target.id == "env":
            return True
        # Env().int("NAME") in code that runs before Django settings exist.
        if isinstance(target, ast.Call) and getattr(target.func, "id", "") == "Env":
            return True
    return isinstance(func, ast.Name) and func.id in helpers


def names_read_by_the_app() -> set[str]:
    """Every environment name passed to the settings reader (streamsite/env.py) anywhere in
    the application's code, by reading the code: settings modules and process hooks alike."""
    names: set[str] = set()
    for package in FIRST_PARTY:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            tree = ast.parse(path.read_text(), str(path))
            helpers = _settings_helpers(tree)
            for node in ast.walk(tree):
                if isinstance(node, ast.Call) and node.args and _is_env_read(node, helpers):
                    first = node.args[0]
                    if (
                        isinstance(first, ast.Constant)
                        and isinstance(first.value, str)
                        and re.fullmatch(r"[A-Z][A-Z0-9_]+", first.value)
                    ):
                        names.add(first.value)
    return names


def names_read_by_the_entrypoint() -> set[str]:
    text = (ROOT / "deploy" / "entrypoint.sh").read_text()
    return set(re.findall(r"\$\{([A-Z][A-Z0-9_]*)", text))


def documented_names() -> set[str]:
    """Variables named in the configuration docs: the README's table and docs/configuration.md."""
    names: set[str] = set()
    readme = (ROOT / "README.md").read_text()
    table = [line for line in readme.splitlines() if line.startswith("| `")]
    sources = ["\n".join(table), (ROOT / "docs" / "configuration.md").read_text()]
    for text in sources:
        names.update(re.findall(r"`([A-Z][A-Z0-9_]{2,})`", text))
    return names
