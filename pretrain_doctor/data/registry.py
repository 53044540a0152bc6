"""Every data check class (PDD codes), for the scan, `rules` and `explain`.

A module of data checks is listed here once; each DataCheck subclass defined in it is a
check. Importing these modules imports no optional dependency: a check that needs one
(datasketch, a tokenizer) imports it when it runs.
"""

from __future__ import annotations

import importlib

from .check import DataCheck

CHECK_MODULES = (
    "pretrain_doctor.data.dedup",
    "pretrain_doctor.data.overlap",
    "pretrain_doctor.data.per_document",
)


def data_check_classes() -> list[type[DataCheck]]:
    """The data check classes, by code."""
    found: dict[str, type[DataCheck]] = {}
    for name in CHECK_MODULES:
        module = importlib.import_module(name)
        for value in vars(module).values():
            if (isinstance(value, type) and issubclass(value, DataCheck) and value.__module__ == name
                    and "code" in vars(value)):
                found[value.code] = value
    return [found[code] for code in sorted(found)]
