"""The data checks stay light: no torch or transformers ever, dask only when asked, datasketch on first use."""

from __future__ import annotations

import subprocess
import sys

PROBE = """
import sys
from pretrain_doctor.data import dedup, overlap, stats, hashsample
from pretrain_doctor.data.model import Document
print(sorted({m.split('.')[0] for m in sys.modules} & {'torch', 'transformers', 'dask', 'distributed', 'datasketch'}))
check = dedup.DuplicateDocuments()
check.add(Document('a b c d e f', 'a.txt', 1))
check.findings()
print(sorted({m.split('.')[0] for m in sys.modules} & {'torch', 'transformers', 'dask', 'distributed', 'datasketch'}))
"""


def test_data_checks_import_neither_torch_nor_dask():
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True).stdout
    at_import, after_use = out.splitlines()
    assert at_import == "[]"
    assert after_use == "['datasketch']"
