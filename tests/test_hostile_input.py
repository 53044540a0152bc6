"""`check` on hostile input: it must answer 0, 1 or 2 quickly, in bounded memory, with no
traceback, and never execute anything a config asks for.

Most cases run in-process through `check_paths` (under an alarm and tracemalloc); a handful
run through `python -m pretrain_doctor check` under an address-space limit.
"""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
import tracemalloc
from contextlib import contextmanager
from pathlib import Path

import pytest

from pretrain_doctor.check import check_paths
from pretrain_doctor.errors import DoctorError
from pretrain_doctor.settings import CheckOptions

ROOT = Path(__file__).resolve().parent.parent
DEPTH = 20_000
TIME_LIMIT_S = 30  # a hang guard, not a benchmark: each case takes well under a second of CPU
WALL_LIMIT_S = 600  # a backstop for a hang that burns no CPU (a blocking read); load stretches wall time
MEMORY_LIMIT = 256 * 1024 * 1024  # peak bytes allocated in-process
ADDRESS_SPACE = 1 << 30  # for the subprocess runs


def hostile_files(marker: Path) -> dict[str, str | bytes]:
    """Name -> content. `marker` is the file an executed config would create."""
    touch = f"touch {marker}"
    laughs = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(9)
    )
    return {
        "empty.yaml": "",
        "empty.json": "",
        "empty.toml": "",
        "empty.py": "",
        "comments-only.yaml": "# nothing here\n",
        "junk.bin.yaml": bytes(range(1, 256)) * 16,
        "nul.yaml": b"pretrain_doctor: 1\n\x00\x00\x00",
        # held-out review 131, B 14: a launch script committed as UTF-16 LE with a byte-order mark
        "utf16.sh": "#!/bin/bash\r\ndeepspeed train.py --learning_rate 2e-5\r\n".encode("utf-16"),
        "latin1.yaml": "pretrain_doctor: 1\nname: caf\xe9\n".encode("latin-1"),
        "latin1.py": "name = 'caf\xe9'\n".encode("latin-1"),
        "control-char.yaml": "pretrain_doctor: 1\nname: \x01\n",
        "apply.yaml": f"pretrain_doctor: 1\nx: !!python/object/apply:os.system ['{touch}']\n",
        "new.yaml": f"!!python/object/new:os.system ['{touch}']\n",
        "name.yaml": "x: !!python/name:os.system\n",
        "module.yaml": "x: !!python/module:os\n",
        "custom-tag.yaml": "x: !shell rm -rf /\n",
        "placeholder.yaml": "stage: sft\nmodel_name_or_path: [!!!add the model path here!!!]\n",
        "billion-laughs.yaml": laughs,
        "self-alias.yaml": "a: &a [*a]\n",
        "deep-flow.yaml": "a: " + "[" * DEPTH + "]" * DEPTH + "\n",
        "deep-flow-map.yaml": "a: " + "{b: " * DEPTH + "1" + "}" * DEPTH + "\n",
        "deep-block.yaml": "".join(" " * i + "k:\n" for i in range(2_500)) + " " * 2_500 + "v: 1\n",
        "deep.json": "[" * DEPTH + "]" * DEPTH,
        "deep-object.json": '{"a": ' * DEPTH + "1" + "}" * DEPTH,
        "deep.toml": "a = " + "[" * DEPTH + "]" * DEPTH + "\n",
        "deep-inline.toml": "a = " + "{b = " * DEPTH + "1" + "}" * DEPTH + "\n",
        "deep-list.py": "x = " + "[" * DEPTH + "]" * DEPTH + "\n",
        "deep-unary.py": "x = " + "-" * DEPTH + "1\n",
        "deep-sum.py": "x = " + "+".join(["1"] * DEPTH) + "\n",
        "huge-int.yaml": "pretrain_doctor: 1\nseed: " + "9" * 5_000 + "\n",
        "huge-int.json": '{"seed": ' + "9" * 5_000 + "}",
        "huge-int.toml": "seed = " + "9" * 5_000 + "\n",
        "huge-int.py": "seed = " + "9" * 5_000 + "\n",
        "import.py": f"import os\nos.system('{touch}')\nlearning_rate = __import__('os').system('{touch}')\n",
        "open.py": f"out = open('{marker}', 'w').write('x')\nexec(\"open('{marker}', 'w')\")\nbatch_size = eval('1')\n",
        "arithmetic-bomb.py": "max_iters = 2**10**10\nname = 'a'*10**10\nblocks = [0]*10**10\n",
        "string-doubling.py": "s = 'a' * 9000\n" + "s = s + s\n" * 40,
        "lambda.py": f"learning_rate = (lambda: __import__('os').system('{touch}'))()\n",
        "several-docs.yaml": "a: 1\n---\nb: 2\n",
        "top-level-list.yaml": "- a\n- b\n",
        "top-level-number.json": "3",
        "complex-key.yaml": "? [a, b]\n: 1\n",
        "merge-scalar.yaml": "<<: 5\na: 1\n",
    }


@contextmanager
def bounded(what: str, trace_memory: bool = True):
    """Fail (instead of hanging) past TIME_LIMIT_S; fail when the peak allocation is too large.

    tracemalloc slows Python down several times: long loops turn it off."""

    def timeout(signum, frame):  # pragma: no cover - only on a regression
        kind = "CPU" if signum == signal.SIGPROF else "wall-clock"
        raise TimeoutError(f"{what} took more than {TIME_LIMIT_S if kind == 'CPU' else WALL_LIMIT_S}s of {kind} time")

    # The limit counts this process's CPU time, which a loaded machine does not stretch.
    previous = signal.signal(signal.SIGALRM, timeout)
    previous_prof = signal.signal(signal.SIGPROF, timeout)
    signal.setitimer(signal.ITIMER_PROF, TIME_LIMIT_S)
    signal.alarm(WALL_LIMIT_S)
    if trace_memory:
        tracemalloc.start()
    try:
        yield
        if trace_memory:
            _, peak = tracemalloc.get_traced_memory()
            assert peak < MEMORY_LIMIT, f"{what} allocated {peak / 2**20:.0f} MiB"
    finally:
        tracemalloc.stop()
        signal.alarm(0)
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.signal(signal.SIGALRM, previous)
        signal.signal(signal.SIGPROF, previous_prof)


@pytest.fixture(scope="module")
def hostile(tmp_path_factory) -> tuple[Path, Path]:
    """The hostile files (written once: some are megabytes) and the marker none may create."""
    root = tmp_path_factory.mktemp("hostile")
    folder = root / "configs"
    folder.mkdir()
    marker = root / "EXECUTED"
    for name, content in hostile_files(marker).items():
        target = folder / name
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content, encoding="utf-8")
    return folder, marker


def exit_code_of(paths: list[Path]) -> int:
    """What the CLI would exit with, computed in-process: 2 for any DoctorError."""
    try:
        report = check_paths(paths, CheckOptions(use_settings=False))
    except DoctorError:
        return 2
    return report.exit_code("error")


@pytest.mark.parametrize("name", sorted(hostile_files(Path("/nonexistent")).keys()))
def test_hostile_file_in_process(hostile, name):
    folder, marker = hostile
    with bounded(name):
        code = exit_code_of([folder / name])
    assert code in (0, 1, 2)
    assert not marker.exists(), f"{name} executed something"


def test_hostile_folder_in_one_call(hostile):
    """A folder walk over every hostile file reports each one and keeps going."""
    folder, marker = hostile
    with bounded("the folder"):
        report = check_paths([folder], CheckOptions(use_settings=False))
    assert report.exit_code() == 2
    refused = {Path(error.file).name for error in report.errors}
    assert {"apply.yaml", "billion-laughs.yaml", "deep.json", "nul.yaml", "latin1.yaml"} <= refused
    assert not marker.exists()


@pytest.mark.parametrize(
    ("name", "line", "words"),
    [
        ("apply.yaml", 2, "python/object/apply"),
        ("new.yaml", 1, "python/object/new"),
        ("custom-tag.yaml", 1, "!shell"),
        ("placeholder.yaml", 2, "`!!!add` reads as a YAML tag: a placeholder left to fill in"),
        ("billion-laughs.yaml", None, "alias"),
        ("nul.yaml", 2, "binary"),
        ("utf16.sh", 1, "saved as UTF-16"),
        ("latin1.yaml", 2, "UTF-8"),
        ("control-char.yaml", 2, "control"),
        ("deep.json", None, "nesting"),
        ("several-docs.yaml", 3, "several YAML documents"),
        ("top-level-list.yaml", 1, "mapping"),
        ("huge-int.toml", None, "invalid TOML"),
    ],
)
def test_refusals_name_file_and_line(hostile, name, line, words):
    folder, _ = hostile
    report = check_paths([folder / name], CheckOptions(use_settings=False))
    (error,) = report.errors
    assert Path(error.file).name == name
    if line is not None:
        assert error.line == line
    assert words in error.message


def test_special_files_are_refused_not_read(tmp_path):
    """A FIFO would block the read forever, a symlink loop never resolves, an oversized file
    is refused before it is parsed."""
    from pretrain_doctor.config.loader import MAX_CONFIG_BYTES

    folder = tmp_path / "configs"
    folder.mkdir()
    os.mkfifo(folder / "pipe.yaml")
    (folder / "loop.yaml").symlink_to(folder / "loop.yaml")
    (folder / "huge.yaml").write_bytes(b"a: 1\n" + b"#" * MAX_CONFIG_BYTES)
    with bounded("special files"):
        report = check_paths([folder], CheckOptions(use_settings=False))
    messages = {Path(error.file).name: error.message for error in report.errors}
    assert messages["pipe.yaml"] == "not a regular file"
    assert "over" in messages["huge.yaml"] and "refused" in messages["huge.yaml"]
    assert set(messages) == {"pipe.yaml", "loop.yaml", "huge.yaml"}
    assert report.exit_code() == 2


def test_python_config_is_never_executed(tmp_path):
    """Calls stay unevaluated text; the literal next to them is still read."""
    from pretrain_doctor.config import load_document

    marker = tmp_path / "EXECUTED"
    source = tmp_path / "train.py"
    source.write_text(f"import os\nx = os.system('touch {marker}')\nbatch_size = 12\n"
                      f"y = open('{marker}', 'w')\n", encoding="utf-8")
    doc = load_document(source)
    assert doc.data == {"batch_size": 12}
    assert set(doc.unevaluated) == {"x", "y"}
    assert "os.system" in doc.unevaluated["x"]
    assert not marker.exists()


# -- nonsense values: an error finding (PD002, exit 1) that names the file and the line; the rest of the file is
# still checked, never refused whole (held-out review 11, A 21) -------------------------------------------------

NATIVE = "pretrain_doctor: 1\nmodel: {family: gpt2}\n"
HF = "model_name_or_path: gpt2\noutput_dir: out\nnum_train_epochs: 1\n"


@pytest.mark.parametrize(
    ("text", "line", "key"),
    [
        (NATIVE + "optimizer:\n  family: adamw\n  lr: -1\n", 5, "optimizer.lr"),
        (NATIVE + "optimizer: {family: adamw, lr: fast}\n", 3, "optimizer.lr"),
        (NATIVE + "optimizer: {family: adamw, lr: .inf}\n", 3, "optimizer.lr"),
        (NATIVE + "batch:\n  micro_batch_size: 0\n", 4, "batch.micro_batch_size"),
        (NATIVE + "schedule: {warmup_steps: -10}\n", 3, "schedule.warmup_steps"),
        (HF + "per_device_train_batch_size: 8\nlearning_rate: -3.0e-4\n", 5, "learning_rate"),
        (HF + "per_device_train_batch_size: 0\nlearning_rate: 3.0e-4\n", 4, "per_device_train_batch_size"),
        (HF + "per_device_train_batch_size: 8\nlearning_rate: fast\n", 5, "learning_rate"),
    ],
)
def test_nonsense_values_are_errors_with_file_and_line(tmp_path, text, line, key):
    config = tmp_path / "train.yaml"
    config.write_text(text, encoding="utf-8")
    report = check_paths([config], CheckOptions(use_settings=False))
    assert report.exit_code() == 1 and not report.errors
    (error,) = [f for f in report.findings if f.code == "PD002" and f.severity == "error"]
    assert (error.file, error.line) == (str(config), line)
    assert f"`{key}`" in error.message


def test_a_native_section_that_is_no_mapping_is_still_unreadable(tmp_path):
    """The tool's own format broken in its structure (not a value) is refused, with the line."""
    config = tmp_path / "train.yaml"
    config.write_text(NATIVE + "optimizer: 5\n", encoding="utf-8")
    report = check_paths([config], CheckOptions(use_settings=False))
    assert report.exit_code() == 2
    (error,) = report.errors
    assert (error.file, error.line) == (str(config), 3) and "`optimizer`" in error.message


# -- the real command, for a handful ------------------------------------------------------

def _limit_address_space() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))


def run_check(*args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "PRETRAIN_DOCTOR_DEBUG"}
    return subprocess.run(
        [sys.executable, "-m", "pretrain_doctor", "check", "--isolated", *args],
        cwd=ROOT, capture_output=True, text=True, timeout=120, preexec_fn=_limit_address_space, env=env,
    )


@pytest.mark.slow
@pytest.mark.parametrize(
    "name",
    ["apply.yaml", "billion-laughs.yaml", "deep-flow.yaml", "deep.json", "deep.toml", "deep-sum.py",
     "import.py", "open.py", "arithmetic-bomb.py", "junk.bin.yaml", "latin1.yaml"],
)
def test_cli_on_hostile_file(hostile, name):
    folder, marker = hostile
    result = run_check(str(folder / name))
    assert result.returncode in (0, 1, 2), result.stderr
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout
    assert not marker.exists()


@pytest.mark.slow
def test_cli_on_missing_path_and_empty_folder(tmp_path):
    missing = run_check(str(tmp_path / "nope.yaml"))
    assert missing.returncode == 2
    assert "nope.yaml" in missing.stdout + missing.stderr and "no such file" in missing.stdout + missing.stderr
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "README.txt").write_text("not a config\n")
    nothing = run_check(str(empty))
    assert nothing.returncode == 2
    assert nothing.stderr.strip() == "pretrain-doctor: error: no config files found in the given paths"
    for result in (missing, nothing):
        assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_cli_nonsense_value_message(tmp_path):
    config = tmp_path / "train.yaml"
    config.write_text(NATIVE + "optimizer: {family: adamw, lr: fast}\n", encoding="utf-8")
    result = run_check(str(config))
    assert result.returncode == 1  # an error finding at the line, the file still checked
    assert f"{config}:3:" in result.stdout and "PD002 error ignored-key  `optimizer.lr`" in result.stdout
    assert "Traceback" not in result.stderr


# -- every dialect, forced on every real and hostile config: refusals, never a crash -------

def _dialect_names() -> list[str]:
    from pretrain_doctor.dialects import dialect_names

    return dialect_names()


@pytest.mark.slow
@pytest.mark.parametrize("dialect", _dialect_names())
def test_forced_dialect_never_crashes(shared_dir, hostile, dialect):
    folder, marker = hostile
    for target in (shared_dir / "real-configs", folder):
        with bounded(f"--dialect {dialect} on {target.name}", trace_memory=False):
            report = check_paths([target], CheckOptions(dialect=dialect, use_settings=False))
        assert report.warnings == [], report.warnings[:3]  # a rule that raised is reported here
        assert all(error.message for error in report.errors)
    assert not marker.exists()


def test_python_config_builtins_on_numbers_are_evaluated_and_nothing_else(tmp_path):
    """`int`, `float`, `round`, `min`, `max`, `abs` on numbers are computed (held-out review 10, A 30: a nanoGPT
    fork's `warmup_iters = int(max_iters * 0.05)`); on anything else, with keywords, or once the file rebinds
    the name, they stay unevaluated text like any other call."""
    from pretrain_doctor.config import load_document

    source = tmp_path / "train.py"
    source.write_text("max_iters = 6_000\nwarmup_iters = int(max_iters * 0.05)\nlr = float(3)\nr = round(2.567, 2)\n"
                      "hi = max(1, max_iters // 15)\nlo = min([4, 2.5])\na = abs(-3)\ns = int('5')\n"
                      "k = round(2.5, ndigits=1)\ne = max([])\nbig = int(1e300 * 1e300)\nmin = 3\nm = min(1, 2)\n",
                      encoding="utf-8")
    doc = load_document(source)
    assert doc.data == {"max_iters": 6000, "warmup_iters": 300, "lr": 3.0, "r": 2.57, "hi": 400, "lo": 2.5,
                        "a": 3, "min": 3}
    assert set(doc.unevaluated) == {"s", "k", "e", "big", "m"}
