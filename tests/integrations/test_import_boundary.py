"""The integrations load their framework only when imported."""

from __future__ import annotations

import subprocess
import sys


def test_package_and_integrations_namespace_import_no_framework() -> None:
    code = ("import sys, pretrain_doctor, pretrain_doctor.integrations; "
            "print(sorted(m for m in ('torch', 'transformers', 'lightning') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
