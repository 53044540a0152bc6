"""Checkpoints that resume bit for bit and never break: model, optimizer, scheduler, grad
scaler, the RNG states (python, numpy, torch) and the data position.

A checkpoint is a folder `checkpoints/step-N/` holding `state.pt`. It is written into a
temporary folder first and renamed into place (a rename is atomic on POSIX), then the
`latest` file is replaced atomically; a process killed during a save leaves the previous
checkpoint and `latest` untouched. Everything in `state.pt` is tensors and plain Python
values, so it loads with `torch.load(weights_only=True)`.
"""

from __future__ import annotations

import os
import random
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import numpy as np
import torch

from ..errors import UsageError

CHECKPOINTS = "checkpoints"
LATEST = "latest"
STATE = "state.pt"
FORMAT = 1


@dataclass
class Resumed:
    step: int
    position: int  # micro-batches consumed
    path: Path


def rng_state() -> dict[str, Any]:
    version, keys, gauss = random.getstate()
    kind, array, pos, has_gauss, cached = np.random.get_state()
    return {
        "python": [version, list(keys), gauss],
        "numpy": [kind, torch.from_numpy(np.asarray(array, dtype=np.int64)), pos, has_gauss, cached],
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
    }


def set_rng_state(state: dict[str, Any]) -> None:
    version, keys, gauss = state["python"]
    random.setstate((version, tuple(keys), gauss))
    kind, array, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((kind, array.numpy().astype(np.uint32), pos, has_gauss, cached))
    torch.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save(out: Path, step: int, position: int, model: torch.nn.Module, optimizer: torch.optim.Optimizer,
         scheduler: Any, scaler: Optional[Any], keep: int = 2) -> Path:
    """Write checkpoint `step` under `out/checkpoints` atomically; keep the newest `keep`."""
    root = out / CHECKPOINTS
    root.mkdir(parents=True, exist_ok=True)
    final = root / f"step-{step}"
    temporary = root / f".step-{step}.tmp-{os.getpid()}"
    shutil.rmtree(temporary, ignore_errors=True)
    temporary.mkdir()
    state = {
        "format": FORMAT, "step": step, "position": position,
        "model": model.state_dict(), "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
        "scaler": scaler.state_dict() if scaler is not None else None, "rng": rng_state(),
    }
    with open(temporary / STATE, "wb") as file:
        torch.save(state, file)
        file.flush()
        os.fsync(file.fileno())
    if final.exists():  # the same step saved again (a resumed run that re-saves its last step)
        shutil.rmtree(final)
    os.replace(temporary, final)
    _point_latest(root, final.name)
    _prune(root, keep)
    return final


def _point_latest(root: Path, name: str) -> None:
    pointer = root / f".{LATEST}.tmp-{os.getpid()}"
    pointer.write_text(name + "\n", encoding="utf-8")
    os.replace(pointer, root / LATEST)


def _prune(root: Path, keep: int) -> None:
    saved = sorted((p for p in root.glob("step-*") if p.is_dir()), key=lambda p: int(p.name.split("-")[1]))
    for old in saved[:-keep] if keep > 0 else []:
        shutil.rmtree(old, ignore_errors=True)


def find(path: Path) -> Path:
    """The checkpoint folder `--resume PATH` means: a run folder (its latest), the checkpoints
    folder (its latest) or one `step-N` folder."""
    for candidate in (path, path / CHECKPOINTS):
        if (candidate / STATE).is_file():
            return candidate
        latest = candidate / LATEST
        if latest.is_file():
            chosen = candidate / latest.read_text(encoding="utf-8").strip()
            if (chosen / STATE).is_file():
                return chosen
    raise UsageError(f"--resume {path}: no checkpoint there (expected {CHECKPOINTS}/{LATEST} or {STATE})")


def load(path: Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer, scheduler: Any,
         scaler: Optional[Any]) -> Resumed:
    """Restore every state saved by `save` from checkpoint folder `path`."""
    try:
        state = torch.load(path / STATE, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - unpickling errors come in many types
        raise UsageError(f"cannot read the checkpoint {path / STATE}: {exc}") from None
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    scheduler.load_state_dict(state["scheduler"])
    if scaler is not None and state["scaler"]:
        scaler.load_state_dict(state["scaler"])
    set_rng_state(state["rng"])
    return Resumed(step=int(state["step"]), position=int(state["position"]), path=path)
