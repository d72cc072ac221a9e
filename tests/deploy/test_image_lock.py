"""The image installs from deploy/requirements.lock: it must pin what requirements.txt pins."""

import re

from tests.deploy.manifests import ROOT

PIN = re.compile(r"^([A-Za-z0-9_.-]+)(?:\[[^\]]*\])?==([^\s;\\]+)", re.MULTILINE)


def _pins(text: str) -> dict[str, str]:
    return {name.lower().replace("_", "-"): version for name, version in PIN.findall(text)}


def test_the_image_lock_pins_every_runtime_requirement_at_the_same_version():
    required = _pins((ROOT / "requirements.txt").read_text())
    locked = _pins((ROOT / "deploy" / "requirements.lock").read_text())
    assert len(required) > 20
    drifted = {name: version for name, version in required.items() if locked.get(name) != version}
    assert drifted == {}


def test_every_locked_package_is_checked_by_hash():
    text = (ROOT / "deploy" / "requirements.lock").read_text()
    entries = re.split(r"\n(?=[A-Za-z0-9_.-]+==)", text[text.index("\namqp==") + 1 :])
    assert entries and all("--hash=sha256:" in entry for entry in entries)
