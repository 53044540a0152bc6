"""One renderer per output format (ruff's layout): each turns a CheckReport into text."""

from __future__ import annotations

import importlib
from typing import Callable

from ..check.report import CheckReport

FORMATS = ("text", "json", "sarif", "github")


def renderer(name: str) -> Callable[..., str]:
    module = importlib.import_module(f"{__name__}.{name}_format")
    return module.render


def render(report: CheckReport, fmt: str, **options) -> str:
    return renderer(fmt)(report, **options)
