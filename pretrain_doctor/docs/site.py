"""The documentation site's generated pages, written from the code at build time.

`mkdocs build` calls this through docs/hooks.py: one page per check (rules' and detectors'
docstrings, and data checks' once they exist: every check `explain` knows gets a page), the
Python API reference from docstrings and signatures, the run-log schema from the torch-free
runlog module, and each dialect's field mapping, read from the plans the dialect builds for
the example configs in fixtures/ (and ../shared/real-configs when it is beside the checkout).

    python -m pretrain_doctor.docs.site OUT_DIR   # write the generated pages as files (to look at them)
"""

from __future__ import annotations

import importlib
import inspect
import json
import sys
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from .rule_index import index_markdown

ROOT = Path(__file__).resolve().parents[2]

# Check groups by code prefix: folder, title, what the codes are. The longest prefix wins.
CHECK_GROUPS = (
    ("PDM", "detectors", "Runtime detectors",
     "Streaming detectors over the step records: live in `pretrain_doctor.attach(...)` and the trainer "
     "callbacks, and over logs in `pretrain-doctor replay`."),
    ("PDD", "data-checks", "Data checks",
     "Checks of a local corpus (`pretrain-doctor data`)."),
    ("PD", "rules", "Static rules",
     "Rules `pretrain-doctor check` applies to a training config's plan."),
)

# The public Python API (monitor.md, architecture.md): objects documented on the API page.
API = (
    ("The monitor", ("pretrain_doctor.monitor:attach", "pretrain_doctor.monitor:MonitorOptions",
                     "pretrain_doctor.monitor:Doctor", "pretrain_doctor.monitor:TrainingAlert")),
    ("Trainer callbacks", ("pretrain_doctor.integrations.hf:DoctorCallback",
                           "pretrain_doctor.integrations.lightning:DoctorCallback")),
    ("Checking configs", ("pretrain_doctor.check:check_paths", "pretrain_doctor.check:load_plan",
                          "pretrain_doctor.settings:CheckOptions", "pretrain_doctor.plan.model:TrainingPlan")),
    ("Writing a rule (the plugin API)", ("pretrain_doctor.rule:Rule", "pretrain_doctor.rule:Finding")),
    ("Detectors and records", ("pretrain_doctor.detectors.base:Detector", "pretrain_doctor.detectors.base:StepRecord",
                               "pretrain_doctor.detectors.base:Alert", "pretrain_doctor.detectors.base:Annotation")),
    ("The run log", ("pretrain_doctor.runlog:RunLogWriter", "pretrain_doctor.runlog:read_run_log",
                     "pretrain_doctor.runlog:RunLog")),
    ("Replay", ("pretrain_doctor.replay.command:ReplayOptions", "pretrain_doctor.replay.command:run_replay")),
)


@dataclass(frozen=True)
class Page:
    path: str  # relative to the docs folder
    title: str
    text: str


def _group_of(code: str) -> tuple[str, str, str, str]:
    return next(g for g in CHECK_GROUPS if code.startswith(g[0]))


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


# -- checks ---------------------------------------------------------------------------------

def check_pages(checks: Iterable[Any]) -> list[Page]:
    """One page per check, and one index per group (codes, slugs, severities, summaries)."""
    by_group: dict[str, list[Any]] = defaultdict(list)
    for check in checks:
        by_group[_group_of(check.code)[1]].append(check)
    pages = []
    for _, folder, title, about in CHECK_GROUPS:
        members = sorted(by_group.get(folder, []), key=lambda c: c.code)
        rows = [f"| [{c.code}]({c.code}.md) | `{c.slug}` | {c.severity} | {_md_cell(c.summary())} |" for c in members]
        table = "\n".join(["| code | slug | severity | what it catches |", "| --- | --- | --- | --- |", *rows])
        body = table if members else "None are built yet: pages appear here as the checks land."
        pages.append(Page(f"{folder}/index.md", title, f"# {title}\n\n{about}\n\n{body}\n"))
        pages += [Page(f"{folder}/{c.code}.md", f"{c.code} {c.slug}", _check_page(c)) for c in members]
    return pages


def _check_page(check: Any) -> str:
    runtime = check.code.startswith("PDM")
    lines = [f"# {check.code} `{check.slug}`", "", f"**{check.summary()}**", "",
             "| | |", "| --- | --- |", f"| code | `{check.code}` |", f"| slug | `{check.slug}` |",
             f"| default severity | {check.severity} |", f"| source | {getattr(check, 'origin', 'built-in')} |"]
    aliases = getattr(check, "aliases", ())
    if aliases:
        lines.append(f"| also known as | {', '.join(f'`{a}`' for a in aliases)} |")
    needs = getattr(check, "needs", ())
    if needs:
        lines.append(f"| reads metrics | {', '.join(f'`{n}`' for n in needs)} |")
    if runtime:
        lines.append(f'| suppress | `attach(..., ignore=["{check.code}"])` while training, '
                     f"`--ignore {check.code}` in replay |")
        lines.append(f'| change a threshold | `attach(..., detector_options={{"{check.code}": {{"option": value}}}})` |')
    else:
        lines.append(f"| suppress | `# pretrain-doctor: ignore[{check.code}]` on the line, "
                     f"or `--ignore {check.code}` |")
    lines += ["", f"`pretrain-doctor explain {check.code}` prints this page in the terminal.", ""]
    for heading, body in check.sections().items():
        lines += [f"## {heading}", "", body.strip(), ""]
    return "\n".join(lines)


# -- the API reference ------------------------------------------------------------------------

def _resolve(target: str) -> Any:
    module, name = target.split(":")
    return getattr(importlib.import_module(module), name)


class _Annotation:
    """A string annotation (`from __future__ import annotations`) shown as written, without quotes."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return self.text


def _signature(obj: Any, name: str) -> str:
    try:
        signature = inspect.signature(obj)
    except (TypeError, ValueError):
        return name

    def plain(annotation: Any) -> Any:
        return _Annotation(annotation) if isinstance(annotation, str) else annotation

    parameters = [p.replace(annotation=plain(p.annotation)) for p in signature.parameters.values()]
    return f"{name}{signature.replace(parameters=parameters, return_annotation=plain(signature.return_annotation))}"


def _public_methods(cls: type) -> list[tuple[str, Any]]:
    """Methods and properties the class itself defines and documents (inherited ones are on their own pages)."""
    found = []
    for name, member in vars(cls).items():
        if name.startswith("_") or not (inspect.isfunction(member) or isinstance(member, (property, classmethod,
                                                                                          staticmethod))):
            continue
        function = member.__func__ if isinstance(member, (classmethod, staticmethod)) else member
        if inspect.getdoc(function):
            found.append((name, function))
    return found


def api_page() -> Page:
    lines = ["# Python API", "",
             "Generated from the docstrings and signatures. `import pretrain_doctor` stays light: the monitor "
             "(and torch) load on the first use of `pretrain_doctor.attach`.", ""]
    for section, targets in API:
        lines += [f"## {section}", ""]
        for target in targets:
            obj = _resolve(target)
            module, name = target.split(":")
            kind = "class" if inspect.isclass(obj) else "function"
            lines += [f"### `{module}.{name}`", "", "```python", f"{kind} {_signature(obj, name)}", "```", "",
                      inspect.getdoc(obj) or "(no docstring)", ""]
            if inspect.isclass(obj):
                for method_name, method in _public_methods(obj):
                    if isinstance(method, property):
                        lines += [f"- `{method_name}` (property): {_first_line(method)}"]
                    else:
                        lines += [f"- `{_signature(method, method_name)}`: {_first_line(method)}"]
                lines.append("")
    return Page("api.md", "Python API", "\n".join(lines))


def _first_line(obj: Any) -> str:
    doc = inspect.getdoc(obj) or ""
    return _md_cell(doc.split("\n\n")[0])


# -- the run log ------------------------------------------------------------------------------

def run_log_page() -> Page:
    from .. import runlog
    from ..detectors.base import Alert, Annotation, StepRecord

    example = [
        runlog.header_line("3f2a9c1e0b7d", started="2026-11-28T15:00:00Z", tool_version="0.1.0", world_size=1),
        runlog.step_line(StepRecord(120, {"loss": 3.21, "lr": 6e-4, "grad_norm": 0.84, "clip_ratio": 1.0,
                                          "step_time": 0.41, "grad_norm/transformer.h.0": 0.11}, time=1732800000.1)),
        runlog.alert_line(Alert(121, "PDM201", "loss-spike", "warning", "loss 7.9 is 9.1 robust z above 3.2",
                                {"z": 9.1, "loss": 7.9, "baseline": 3.2})),
        runlog.annotation_line(Annotation(500, "warmup-end", "warmup ends; the lr starts to decay")),
        runlog.end_line(5000, "finished"),
    ]
    for line in example[1:]:
        line.setdefault("run_id", "3f2a9c1e0b7d")
    sample = "\n".join(json.dumps(line) for line in example)
    doc = inspect.getdoc(runlog) or ""
    record_doc = inspect.getdoc(StepRecord) or ""
    text = (f"# The run log (`{runlog.RUN_LOG_NAME}`)\n\n"
            f"Schema `{runlog.SCHEMA}`, version {runlog.SCHEMA_VERSION}; line types: "
            f"{', '.join(f'`{t}`' for t in runlog.LINE_TYPES)}.\n\n"
            f"{_indented_blocks_as_code(doc)}\n\n"
            f"## Metric names\n\n{record_doc}\n\n"
            "## An example, written by the writer's own line functions\n\n"
            f"```json\n{sample}\n```\n")
    return Page("run-log.md", "Run log schema", text)


def _indented_blocks_as_code(text: str) -> str:
    """A docstring's indented example lines become a fenced block (Markdown would run them together)."""
    out, block = [], []
    for line in text.splitlines():
        if line.startswith("    "):
            block.append(line[4:])
            continue
        if block:
            out += ["```json", *block, "```"]
            block = []
        out.append(line)
    if block:
        out += ["```json", *block, "```"]
    return "\n".join(out)


# -- dialects ---------------------------------------------------------------------------------

def example_configs() -> list[Path]:
    """The configs the mapping pages are read from: the repository's fixtures, and the real
    configs of ../shared when they are beside the checkout."""
    from ..check.engine import iter_config_files

    folders = [ROOT / "fixtures", ROOT.parent / "shared" / "real-configs"]
    return [path for folder in folders if folder.is_dir() for path, _ in iter_config_files([folder])]


def field_mappings(paths: Iterable[Path]) -> dict[str, dict[str, Any]]:
    """For each dialect: plan field -> config keys it was read from, trainer defaults used
    when unstated, and how many example files it read."""
    from ..check.engine import load_plan_detected
    from ..errors import DoctorError

    mappings: dict[str, dict[str, Any]] = defaultdict(lambda: {"keys": defaultdict(set), "notes": defaultdict(set),
                                                              "files": 0})
    for path in paths:
        try:
            _, found, plan = load_plan_detected(path)
        except (DoctorError, AssertionError, ValueError):
            continue  # not a config, a companion file, or one that does not build: nothing to learn
        mapping = mappings[found.dialect.name]
        mapping["files"] += 1
        for field, source in plan.sources.items():
            if getattr(source, "key", None):
                mapping["keys"][field].add(str(source.key))
            elif getattr(source, "note", None):
                mapping["notes"][field].add(str(source.note))
    return mappings


def dialect_pages(mappings: dict[str, dict[str, Any]]) -> list[Page]:
    from ..dialects import DIALECT_MODULES

    rows = []
    pages = []
    for name in DIALECT_MODULES:
        module = importlib.import_module(f"pretrain_doctor.dialects.{name}")
        summary = module.DIALECT.summary
        rows.append(f"| [{name}]({name}.md) | {_md_cell(summary)} |")
        pages.append(Page(f"dialects/{name}.md", name, _dialect_page(name, summary, inspect.getdoc(module) or "",
                                                                     mappings.get(name))))
    index = ("# Config dialects\n\n`check` and `plan` read each trainer's config into one TrainingPlan; "
             "a dialect is one adapter module. `--dialect NAME` settles detection.\n\n"
             "| dialect | reads |\n| --- | --- |\n" + "\n".join(rows) + "\n")
    return [Page("dialects/index.md", "Config dialects", index), *pages]


def _dialect_page(name: str, summary: str, doc: str, mapping: dict[str, Any] | None) -> str:
    lines = [f"# `{name}`: {summary}", "", _indented_blocks_as_code(doc).replace("```json", "```"), "",
             "## Field mapping", ""]
    if not mapping:
        lines.append("No example config of this dialect was found to read the mapping from.")
        return "\n".join(lines) + "\n"
    lines += [f"Read from the plans this dialect built for {mapping['files']} example configs (the repository's "
              "fixtures and the real configs collected from public trainer repositories): which config keys "
              "filled each plan field, and what the doctor assumed when a config left it unstated. "
              "`pretrain-doctor plan FILE` shows the same for one file, with lines.", "",
              "| plan field | config keys | when unstated |", "| --- | --- | --- |"]
    fields = sorted(set(mapping["keys"]) | set(mapping["notes"]))
    for field in fields:
        keys = ", ".join(f"`{k}`" for k in sorted(mapping["keys"].get(field, ()))[:8])
        notes = "; ".join(sorted(mapping["notes"].get(field, ()))[:3])
        lines.append(f"| `{field}` | {_md_cell(keys)} | {_md_cell(notes)} |")
    return "\n".join(lines) + "\n"


# -- the whole set ----------------------------------------------------------------------------

def generated_pages() -> list[Page]:
    from ..explain import all_checks

    return [*check_pages(all_checks()), api_page(), run_log_page(),
            *dialect_pages(field_mappings(example_configs())),
            Page("changelog.md", "Changelog", (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")),
            Page("check-index.md", "Every check", "# Every check\n\n" + _linked_index() + "\n")]


def _linked_index() -> str:
    """The README's rule index, each code linked to its page."""
    lines = index_markdown().splitlines()
    out = lines[:2]
    for line in lines[2:]:
        code = line.split("|")[1].strip()
        out.append(line.replace(f"| {code} |", f"| [{code}]({_group_of(code)[1]}/{code}.md) |", 1))
    return "\n".join(out)


def nav(pages: list[Page]) -> list[Any]:
    """The site's navigation: the hand-written pages, then the generated sections."""
    folders = {folder: title for _, folder, title, _ in CHECK_GROUPS}
    folders["dialects"] = "Config dialects"
    sections: dict[str, list[Any]] = defaultdict(list)
    for page in pages:
        folder = page.path.split("/")[0] if "/" in page.path else ""
        if folder:
            sections[folder].append({"Overview" if page.path.endswith("index.md") else page.title: page.path})
    return [
        {"Home": "index.md"},
        {"Using it": ["pre-commit.md", "github-actions.md", "example-post-mortem.md"]},
        {"Every check": "check-index.md"},
        *({folders[f]: sections[f]} for f in ("rules", "detectors", "data-checks", "dialects")),
        {"Python API": "api.md"},
        {"Run log schema": "run-log.md"},
        {"Changelog": "changelog.md"},
    ]


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m pretrain_doctor.docs.site OUT_DIR", file=sys.stderr)
        return 2
    out = Path(args[0])
    for page in generated_pages():
        target = out / page.path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(page.text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
