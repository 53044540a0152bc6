"""`check --baseline OTHER`: the config a plan is compared with (PD102 lr-batch-scaling).

OTHER is a config file, or `git:REF` for the checked file itself as it was at a git
ref (read with `git show REF:./NAME`, no shell involved).
"""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

from ..config.document import Document
from ..config.loader import decode_text, load_document
from ..errors import ConfigError, UsageError

GIT_PREFIX = "git:"
GIT_TIMEOUT_S = 30


def load_baseline_document(config_path: Path, spec: str) -> Document:
    """The baseline document for `config_path`: the file `spec`, or `config_path` at git ref `spec[4:]`."""
    if not spec.startswith(GIT_PREFIX):
        return load_document(Path(spec), spec)
    ref = spec[len(GIT_PREFIX):]
    if not ref or ref.startswith("-"):
        raise UsageError(f"--baseline {spec!r}: expected git:REF, e.g. git:HEAD~1 or git:main")
    text = git_show(ref, config_path)
    with tempfile.TemporaryDirectory(prefix="pretrain-doctor-baseline-") as folder:
        copy = Path(folder) / config_path.name  # same suffix, so the same reader
        copy.write_text(text, encoding="utf-8")
        return load_document(copy, f"{ref}:{config_path}")


def git_show(ref: str, path: Path) -> str:
    """The text of `path` at git `ref`, or a ConfigError that says why not."""
    resolved = path.resolve()
    command = ["git", "-C", str(resolved.parent), "show", f"{ref}:./{resolved.name}"]
    shown = f"{ref}:{path}"
    try:
        completed = subprocess.run(command, capture_output=True, timeout=GIT_TIMEOUT_S, check=False)
    except FileNotFoundError:
        raise ConfigError("git is not installed, so --baseline git:REF cannot be read", shown) from None
    except subprocess.TimeoutExpired:
        raise ConfigError(f"`git show` took longer than {GIT_TIMEOUT_S}s", shown) from None
    if completed.returncode != 0:
        reason = completed.stderr.decode("utf-8", "replace").strip().splitlines()
        raise ConfigError(f"cannot read the baseline from git: {reason[-1] if reason else 'git show failed'}", shown)
    return decode_text(completed.stdout, shown)
