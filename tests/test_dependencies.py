"""requirements.lock follows pyproject.toml: a pin changed without `make lock` would install the
old version everywhere (make setup installs the lock, not pyproject.toml), so it fails here."""
import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def normalised(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def locked():
    """{name: version} of requirements.lock, each with its hashes."""
    text = (ROOT / "requirements.lock").read_text()
    entries = re.findall(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)((?:\s*\\\n\s+--hash=sha256:[0-9a-f]{64})*)", text, re.M)
    assert entries
    unhashed = [name for name, _version, hashes in entries if not hashes]
    assert not unhashed, f"locked without a hash: {unhashed}"
    return {normalised(name): version for name, version, _hashes in entries}


def test_every_pin_of_pyproject_is_locked_at_its_version():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pins = project["dependencies"] + [pin for extra in project["optional-dependencies"].values() for pin in extra]
    lock = locked()
    stale = []
    for pin in pins:
        name, version = pin.split("==")
        if lock.get(normalised(name)) != version:
            stale.append(f"{pin} (locked: {lock.get(normalised(name))})")
    assert not stale, "run `make lock`: " + ", ".join(stale)
