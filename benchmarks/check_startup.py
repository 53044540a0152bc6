"""How much does `pretrain-doctor check` cost over the bare import of its CLI stack?

Prints two ratios, each against a baseline measured in the same run, interleaved so that
machine load hits both sides alike:

1. `check` of each config in CONFIGS (a typical one, a real litgpt fine-tune, one real
   config of each newer dialect once its module exists)  vs
   `python -c "import typer, pydantic, yaml"` (goal: at most 2x on every one);
2. `check` of the whole ../shared/real-configs folder in one call  vs  `check` of one
   file (goal: under 3x).

Bytecode is compiled first (`compileall`), as a wheel install does, so that the package's
own `.py` files are not recompiled on every start when PYTHONDONTWRITEBYTECODE is set.

With --breakdown it also times the phases of one check inside a single process (what a
start-up spends where), medians over the same number of runs.

With --instructions it counts instead of timing: the instructions each command executes
(valgrind's callgrind, one run each, hash seed fixed), a measure that other processes on a
busy machine do not disturb. Instruction ratios run above time ratios (the interpreter's own
start-up is cheap in instructions and dear in page faults), so compare them with each other,
not with the 2x goal.

Usage: python benchmarks/check_startup.py [--repeats N] [--config FILE ...] [--folder DIR] [--breakdown]
       python benchmarks/check_startup.py --instructions [--config FILE ...]
"""

from __future__ import annotations

import argparse
import compileall
import os
import re
import shutil
import statistics
import subprocess
import tempfile
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TYPICAL_CONFIG = ROOT / "fixtures" / "rules" / "PD105" / "bad.yaml"
REAL_CONFIGS = ROOT.parent / "shared" / "real-configs"
# One real config of each dialect added in issue 9, measured once its module exists
# (before that `check` only says it cannot read the file, which is no start-up to measure).
NEW_DIALECT_CONFIGS = {
    "llamafactory": REAL_CONFIGS / "llamafactory" / "examples" / "train_lora" / "qwen3_lora_pretrain.yaml",
    "llmfoundry": REAL_CONFIGS / "llm-foundry" / "scripts" / "train" / "yamls" / "pretrain" / "mpt-1b.yaml",
    "megatron": REAL_CONFIGS / "megatron-lm" / "examples" / "llama" / "train_llama3_8b_h100_fp8.sh",
    "nanotron": REAL_CONFIGS / "nanotron" / "examples" / "config_tiny_llama.yaml",
}


def default_configs() -> list[Path]:
    """The configs whose single-file check is measured: each must stay within 2x of the baseline."""
    from pretrain_doctor.dialects import DIALECT_MODULES

    configs = [TYPICAL_CONFIG, REAL_CONFIGS / "litgpt" / "finetune" / "gemma-2b" / "full.yaml"]
    configs += [path for name, path in NEW_DIALECT_CONFIGS.items() if name in DIALECT_MODULES]
    return [path for path in configs if path.is_file()]
BASELINE = [sys.executable, "-c", "import typer, pydantic, yaml"]


def check_command(*paths: Path) -> list[str]:
    # Settings are looked up as for a user (the checkout's pyproject.toml is read on the way up).
    return [sys.executable, "-m", "pretrain_doctor", "check", "--fail-on", "never", *map(str, paths)]


def wall_time(command: list[str]) -> float:
    """Seconds for one run of `command`, output discarded; a crash aborts the benchmark.

    Exit 2 is accepted: a folder of real configs may hold one the doctor refuses to read.
    """
    start = time.perf_counter()
    result = subprocess.run(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - start
    if result.returncode not in (0, 1, 2) or b"Traceback" in result.stderr:
        raise SystemExit(f"{' '.join(command)} exited {result.returncode}: {result.stderr.decode()[-2000:]}")
    return elapsed


def interleaved_medians(commands: dict[str, list[str]], repeats: int) -> dict[str, float]:
    """Median wall time of each command, running them in turn `repeats` times after one warm-up."""
    for command in commands.values():
        wall_time(command)
    samples: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(repeats):
        for name, command in commands.items():
            samples[name].append(wall_time(command))
    return {name: statistics.median(times) for name, times in samples.items()}


# The phases of `check FILE` in the order the CLI meets them, each timed in one process.
PHASES = """\
import gc, os, sys, time
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")  # as the CLI does
from pretrain_doctor.__main__ import _GC_THRESHOLDS; gc.set_threshold(*_GC_THRESHOLDS)  # as the entry point does
marks = [time.perf_counter()]
def mark():
    marks.append(time.perf_counter())
import typer, pydantic, yaml; mark()
import pretrain_doctor.cli; mark()
import typer._adapters, pydantic.plugin._loader; mark()
import pretrain_doctor.plan.model; mark()
import pretrain_doctor.check.engine; mark()
from pretrain_doctor.registry import load_rules; load_rules(); mark()
from pretrain_doctor.dialects import all_dialects; all_dialects(); mark()
from pretrain_doctor.check import check_paths; report = check_paths([sys.argv[1]]); mark()
from pretrain_doctor.renderers import render; render(report, "text"); mark()
print(" ".join(f"{b - a:.6f}" for a, b in zip(marks, marks[1:])), flush=True)
os._exit(0)  # as the entry point does: no interpreter teardown
"""
PHASE_NAMES = [
    "typer, pydantic, yaml (the baseline's imports)",
    "pretrain_doctor.cli",
    "pydantic models machinery + importlib.metadata (typer's runtime, pydantic's plugin loader)",
    "plan model classes (pydantic schema build)",
    "engine, loaders, registry, settings",
    "rule discovery and rule modules",
    "dialect modules",
    "check of the file (enrichers included)",
    "render",
]


def breakdown(config: Path, repeats: int) -> list[tuple[str, float]]:
    """Median seconds of each phase, plus interpreter start-up (wall minus in-process total)."""
    runs = []
    for _ in range(repeats):
        start = time.perf_counter()
        out = subprocess.run([sys.executable, "-c", PHASES, str(config)], cwd=ROOT, capture_output=True,
                             text=True, check=True).stdout
        wall = time.perf_counter() - start
        phases = [float(x) for x in out.split()]
        runs.append([wall - sum(phases), *phases])
    names = ["interpreter start-up, site and exit", *PHASE_NAMES]
    return [(name, statistics.median(run[i] for run in runs)) for i, name in enumerate(names)]


def instructions(command: list[str]) -> int:
    """Instructions one run of `command` executes, counted by valgrind's callgrind."""
    with tempfile.TemporaryDirectory() as folder:
        result = subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={folder}/out", *command],
                                cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                                env={**os.environ, "PYTHONHASHSEED": "0"})
    found = re.search(r"Collected : (\d+)", result.stderr)
    if found is None:
        raise SystemExit(f"valgrind gave no count for {' '.join(command)}: {result.stderr[-2000:]}")
    return int(found.group(1))


def count_instructions(configs: list[Path]) -> int:
    if shutil.which("valgrind") is None:
        raise SystemExit("--instructions needs valgrind on PATH")
    baseline = instructions(BASELINE)
    print("instructions (callgrind, one run each)")
    print(f"  import typer, pydantic, yaml     {baseline / 1e6:8.1f} M")
    for path in configs:
        count = instructions(check_command(path))
        print(f"  check {_shown(path):<40} {count / 1e6:8.1f} M  {count / baseline:.3f}x")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=21, help="runs of each command (at least 15)")
    parser.add_argument("--config", type=Path, action="append", help="a config to check alone (repeatable; "
                        "default: the typical one, litgpt gemma-2b full, one of each newer dialect)")
    parser.add_argument("--folder", type=Path, default=REAL_CONFIGS, help="a folder of real configs")
    parser.add_argument("--breakdown", action="store_true", help="also time the phases of one check")
    parser.add_argument("--instructions", action="store_true",
                        help="count instructions with valgrind instead of timing (unaffected by machine load)")
    args = parser.parse_args(argv)
    repeats = max(args.repeats, 15)

    compileall.compile_dir(ROOT / "pretrain_doctor", quiet=1)
    compileall.compile_dir(ROOT / "rules", quiet=1)

    configs = args.config or default_configs()
    if args.instructions:
        return count_instructions(configs)
    commands = {"baseline": BASELINE, **{f"single:{path}": check_command(path) for path in configs}}
    if args.folder.is_dir():
        commands["folder"] = check_command(args.folder)
    medians = interleaved_medians(commands, repeats)

    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, {repeats} interleaved runs each, medians")
    print(f"  import typer, pydantic, yaml     {medians['baseline'] * 1000:7.1f} ms")
    for path in configs:
        single = medians[f"single:{path}"]
        print(f"  check {_shown(path):<40} {single * 1000:7.1f} ms  {single / medians['baseline']:.2f}x  (goal <= 2x)")
    if "folder" in medians:
        first = medians[f"single:{configs[0]}"]
        count = sum(1 for _ in _config_files(args.folder))
        print(f"  check {args.folder.name}/ ({count} files)   {medians['folder'] * 1000:7.1f} ms")
        print(f"  folder check / check of {configs[0].name} {medians['folder'] / first:.2f}x  (goal < 3x)")
    else:
        print(f"  {args.folder} not found: folder ratio skipped")
    if args.breakdown:
        print("where one check's time goes (medians, ms):")
        for name, seconds in breakdown(configs[0], repeats):
            print(f"  {seconds * 1000:7.1f}  {name}")
    return 0


def _shown(path: Path) -> str:
    for base in (REAL_CONFIGS, ROOT):
        if path.resolve().is_relative_to(base.resolve()):
            return path.resolve().relative_to(base.resolve()).as_posix()
    return str(path)


def _config_files(folder: Path):
    from pretrain_doctor.config.loader import CONFIG_SUFFIXES

    return (p for p in folder.rglob("*") if p.suffix.lower() in CONFIG_SUFFIXES)


if __name__ == "__main__":
    sys.exit(main())
