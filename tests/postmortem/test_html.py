"""The HTML report: one self-contained file with the plots and the incidents; and the PNGs."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import numpy as np
import pytest

from pretrain_doctor.detectors import StepRecord
from pretrain_doctor.postmortem import build_report, write_html, write_pngs
from pretrain_doctor.postmortem.svg import label, nice_ticks

from . import runs


def with_layers(records: list[StepRecord], layers: int = 12) -> list[StepRecord]:
    """Per-layer grad norms and update ratios on every 5th record, as the monitor samples them."""
    rng = np.random.default_rng(0)
    for record in records[::5]:
        for k in range(layers):
            record.metrics[f"grad_norm/h.{k}"] = float(0.02 * (k + 1) * np.exp(0.1 * rng.standard_normal()))
            record.metrics[f"update_ratio/h.{k}"] = float(1e-3 * np.exp(0.1 * rng.standard_normal()))
    return records


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def _html(records, tmp_path):
    run = runs.replayed(records)
    report = build_report(run)
    return report, write_html(report, run, tmp_path / "sub" / "report.html").read_text()


def test_one_self_contained_file_with_every_plot_and_the_incidents_marked(tmp_path):
    report, text = _html(with_layers(runs.grad_then_loss()), tmp_path)
    parser = _Tags()
    parser.feed(text)
    tags = parser.tags
    assert not [t for t, _ in tags if t in ("script", "link", "img", "iframe", "object")]
    assert not re.search(r"(src|href)\s*=|@import|url\(\s*['\"]?(https?:)?//", text)  # nothing to fetch
    charts = [a["data-chart"] for t, a in tags if t == "svg"]
    assert charts == ["loss", "lr", "grad_norm", "layers_grad_norm", "layers_update_ratio"]
    serious = [i for i in report.incidents if not i.transient]
    assert sum(1 for t, a in tags if t == "rect" and a.get("class") == "incident") == len(serious) * len(charts)
    assert report.verdict.line in text and serious[0].cause.split(":")[0] in text
    assert "(8 of 12 layers)" in text


def test_non_finite_values_are_marked_and_lines_break_there(tmp_path):
    _, text = _html(runs.fp16_overflow(), tmp_path)
    assert 'class="nonfinite"' in text
    assert re.search(r'data-chart="loss_scale"', text)


def test_restarts_draw_pieces_side_by_side_with_break_marks(tmp_path):
    records = runs.healthy_run(300)
    for record in records[200:]:
        record.step -= 150  # a restart from step 50
    _, text = _html(records, tmp_path)
    loss_chart = text[text.index('data-chart="loss"'):text.index("</svg>", text.index('data-chart="loss"'))]
    assert loss_chart.count('class="break"') == 1


def test_long_runs_are_thinned_but_keep_their_spikes(tmp_path):
    records = runs.one_bad_batch(n=20_000, at=12_345)
    _, text = _html(records, tmp_path)
    loss_chart = text[text.index('data-chart="loss"'):text.index("</svg>", text.index('data-chart="loss"'))]
    points = re.search(r'<polyline[^>]*points="([^"]+)"', loss_chart).group(1).split()
    assert len(points) < 4000
    top = min(float(p.split(",")[1]) for p in points[len(points) // 2:])  # the spike is the highest point late on
    spike_x = float(min(points[len(points) // 2:], key=lambda p: float(p.split(",")[1])).split(",")[0])
    assert top < 200 and abs(spike_x - (68 + 12_345 / 19_999 * (960 - 16 - 68))) < 2


def test_empty_run_still_writes_a_page(tmp_path):
    from pretrain_doctor.replay import ReplayRun

    run = ReplayRun("empty.log", "text", [])
    text = write_html(build_report(run), run, tmp_path / "r.html").read_text()
    assert "No metric to plot" in text and "healthy" in text


def test_tick_helpers():
    assert nice_ticks(0, 10, 5) == [0, 2, 4, 6, 8, 10]
    assert [label(v) for v in (0, 3.25, 5000, 65536, 1e6, 3e-4)] == ["0", "3.25", "5000", "65536", "1e6", "3e-4"]


def test_pngs_one_per_chart_plus_an_overview(tmp_path):
    pytest.importorskip("matplotlib")
    run = runs.replayed(with_layers(runs.fp16_overflow()))
    written = write_pngs(build_report(run), run, tmp_path / "png")
    names = sorted(p.name for p in written)
    assert names == sorted(["overview.png", "loss.png", "lr.png", "grad_norm.png", "loss_scale.png",
                            "layers_grad_norm.png", "layers_update_ratio.png"])
    assert all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in written)


def test_pngs_without_matplotlib_is_a_clear_usage_error(tmp_path, monkeypatch):
    import builtins

    from pretrain_doctor.errors import UsageError

    real_import = builtins.__import__

    def no_matplotlib(name, *args, **kwargs):
        if name.startswith("matplotlib"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_matplotlib)
    run = runs.replayed(runs.healthy_run(50))
    with pytest.raises(UsageError, match=r"pip install 'pretrain-doctor\[plots\]'"):
        write_pngs(build_report(run), run, tmp_path)
