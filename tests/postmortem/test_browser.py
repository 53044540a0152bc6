"""The HTML report in a real browser: headless Chromium (Debian's `chromium`) loads it with
no console errors and draws the plots; the screenshot is kept as a test artifact."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from pretrain_doctor.postmortem import build_report, write_html

from ..conftest import ROOT
from . import runs
from .test_html import with_layers

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = ROOT / "build" / "test-artifacts" / "postmortem"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--enable-logging=stderr", "--v=0"]

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is absent (Debian package chromium)")


def chromium(page: Path, profile: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(CHROMIUM), *FLAGS, f"--user-data-dir={profile}", *extra, page.as_uri()],
                          capture_output=True, text=True, timeout=120)


def console_messages(stderr: str) -> list[str]:
    """What the page wrote to the console (Chromium logs it as INFO:CONSOLE lines)."""
    return [line for line in stderr.splitlines() if re.search(r":CONSOLE[:(]", line)]


@pytest.fixture(scope="module")
def page(tmp_path_factory) -> Path:
    run = runs.replayed(with_layers(runs.grad_then_loss()))
    return write_html(build_report(run), run, tmp_path_factory.mktemp("html") / "report.html")


def test_the_report_loads_without_console_errors_and_draws_its_plots(page, tmp_path):
    result = chromium(page, tmp_path / "profile", "--dump-dom")
    assert result.returncode == 0, result.stderr[-2000:]
    assert console_messages(result.stderr) == []
    dom = result.stdout
    charts = set(re.findall(r'<svg[^>]*data-chart="([^"]+)"', dom))
    assert {"loss", "lr", "grad_norm", "layers_grad_norm"} <= charts
    assert len(re.findall(r"<polyline[^>]*points=\"[-0-9.]+,[-0-9.]+ ", dom)) >= len(charts)
    assert 'class="incident"' in dom


def test_a_screenshot_is_kept_and_is_not_blank(page, tmp_path):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / "report.png"
    shot.unlink(missing_ok=True)
    result = chromium(page, tmp_path / "profile", f"--screenshot={shot}", "--window-size=1100,1800",
                      "--hide-scrollbars")
    print(f"screenshot of the HTML report: {shot}")
    assert result.returncode == 0 and shot.is_file(), result.stderr[-2000:]
    image = pytest.importorskip("matplotlib.image").imread(shot)
    assert image.shape[0] >= 1000 and image[..., :3].std() > 0.05  # drawn, not one flat colour


def test_console_errors_would_be_caught(tmp_path):
    """The check above means something: a page that logs an error is caught by it."""
    bad = tmp_path / "bad.html"
    bad.write_text('<html><body><script>console.error("broken")</script></body></html>')
    result = chromium(bad, tmp_path / "profile", "--dump-dom")
    assert any("broken" in line for line in console_messages(result.stderr))
