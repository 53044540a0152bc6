"""The committed test-environment lock matches pyproject: every dependency of the package and
its extras is pinned there at a version pyproject allows (after a change: `make lock`)."""

from __future__ import annotations

import re

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from pretrain_doctor.config.toml_reader import tomllib

from .conftest import ROOT

LOCK = ROOT / "requirements-test.lock"
# torch stays out of the lock: the Makefile installs the CPU build only when torch is missing.
NOT_LOCKED = {"torch"}


def _pins() -> dict[str, str]:
    pins = {}
    for line in LOCK.read_text(encoding="utf-8").splitlines():
        match = re.match(r"^([A-Za-z0-9._-]+)==([^\s;]+)", line)
        if match:
            pins[canonicalize_name(match.group(1))] = match.group(2)
    return pins


def _requirements() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    texts = list(project["dependencies"]) + [r for extra in project["optional-dependencies"].values() for r in extra]
    return [Requirement(text) for text in texts]


def test_every_dependency_is_pinned_at_an_allowed_version() -> None:
    pins = _pins()
    for requirement in _requirements():
        name = canonicalize_name(requirement.name)
        if name in NOT_LOCKED or (requirement.marker and not requirement.marker.evaluate()):
            continue
        assert name in pins, f"{requirement} is not in {LOCK.name}: run `make lock`"
        assert requirement.specifier.contains(pins[name], prereleases=True), (
            f"{LOCK.name} pins {name}=={pins[name]}, outside {requirement}: run `make lock`")


def test_the_lock_pulls_no_torch_and_no_cuda_packages() -> None:
    pins = _pins()
    assert "torch" not in pins
    assert not [name for name in pins if name.startswith("nvidia-")]
