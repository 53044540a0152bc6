"""The console entry point ends the process with os._exit after flushing: nothing the
command printed or wrote may be lost, and the exit code is the command's."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BAD = ROOT / "fixtures" / "rules" / "PD105" / "bad.yaml"
GOOD = ROOT / "fixtures" / "rules" / "PD105" / "good.yaml"


def command(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pretrain_doctor", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)


def test_findings_exit_1_with_the_whole_report_flushed():
    result = command("check", "--format", "json", str(BAD))
    assert result.returncode == 1
    report = json.loads(result.stdout)  # complete: a lost buffer would not parse
    assert "PD105" in [f["code"] for f in report["findings"]]


def test_clean_config_exits_0_and_report_file_is_complete(tmp_path):
    target = tmp_path / "report.sarif"
    result = command("check", "--format", "sarif", "--output", str(target), str(GOOD))
    assert result.returncode == 0
    assert json.loads(target.read_text())["version"] == "2.1.0"


def test_unreadable_input_exits_2_naming_the_file(tmp_path):
    result = command("check", str(tmp_path / "missing.yaml"))
    assert result.returncode == 2
    assert "missing.yaml: no such file" in result.stdout and "Traceback" not in result.stderr


@pytest.mark.parametrize(("code", "status", "stderr"), [(None, 0, ""), (3, 3, ""), ("bye", 1, "bye\n")])
def test_exit_codes_read_like_sys_exit(code, status, stderr):
    script = f"from pretrain_doctor.__main__ import _exit_now; print('out', end=''); _exit_now({code!r})"
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert (result.returncode, result.stdout, result.stderr) == (status, "out", stderr)


def test_check_never_imports_importlib_metadata():
    """Built-in rules load directly and pydantic's plugin lookup is answered by the stand-in:
    importlib.metadata (and its email/zipfile imports) stay out of a plain `check`."""
    script = ("import sys; sys.argv = ['pretrain-doctor', 'check', '--fail-on', 'never', sys.argv[1]]\n"
              "import atexit, os\n"
              "from pretrain_doctor import __main__ as entry\n"
              "real_exit = os._exit\n"
              "os._exit = lambda code: (print(sorted(m for m in sys.modules if m.startswith(('importlib.metadata',"
              " 'email', 'pydantic.plugin._loader'))), type(sys.modules['pydantic.plugin._loader']).__name__,"
              " getattr(sys.modules['pydantic.plugin._loader'], '__file__', None), file=sys.stderr), real_exit(code))\n"
              "entry.run()\n")
    result = subprocess.run([sys.executable, "-c", script, str(BAD)], cwd=ROOT, capture_output=True, text=True,
                            timeout=120)
    assert "PD105" in result.stdout
    assert result.stderr.strip() == "['pydantic.plugin._loader'] module None"  # the stand-in, no file


def test_pydantic_plugins_still_load_when_turned_on():
    """Once PYDANTIC_DISABLE_PLUGINS no longer says "off", the real loader takes over."""
    script = ("import os, sys\n"
              "from pretrain_doctor.__main__ import _defer_pydantic_plugin_loader\n"
              "_defer_pydantic_plugin_loader()\n"
              "os.environ['PYDANTIC_DISABLE_PLUGINS'] = '__all__'\n"
              "import pydantic\n"
              "class A(pydantic.BaseModel):\n    x: int = 1\n"
              "assert 'importlib.metadata' not in sys.modules\n"
              "del os.environ['PYDANTIC_DISABLE_PLUGINS']\n"
              "from pydantic.plugin._loader import get_plugins, PYDANTIC_ENTRY_POINT_GROUP\n"
              "print(list(get_plugins()), PYDANTIC_ENTRY_POINT_GROUP, sys.modules['pydantic.plugin._loader'].__file__"
              ".endswith('_loader.py'), 'importlib.metadata' in sys.modules)\n")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.stdout.split() == ["[]", "pydantic", "True", "True"], result.stderr
