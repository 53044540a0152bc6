"""mkdocs hooks: the generated pages (pretrain_doctor/docs/site.py) and file includes.

mkdocs.yml names this file under `hooks:`; `mkdocs build --strict` runs it.
"""

from __future__ import annotations

import re
from pathlib import Path

from mkdocs.structure.files import File, Files

from pretrain_doctor.docs.site import Page, generated_pages, nav

_INCLUDE = re.compile(r"<!-- include: (\S+) -->")
_pages: list[Page] = []


def on_config(config):
    _pages[:] = generated_pages()
    config["nav"] = nav(_pages)
    return config


def on_files(files: Files, config) -> Files:
    for page in _pages:
        files.append(File.generated(config, page.path, content=page.text))
    return files


def on_page_markdown(markdown: str, page, config, files) -> str:
    """`<!-- include: PATH -->` (relative to the docs folder): that file, verbatim in a code block."""
    def include(match: re.Match) -> str:
        path = Path(config["docs_dir"]) / match.group(1)
        language = {".yml": "yaml", ".yaml": "yaml", ".toml": "toml"}.get(path.suffix, "")
        return f"```{language}\n{path.read_text(encoding='utf-8').rstrip()}\n```"

    return _INCLUDE.sub(include, markdown)
