"""`native`: pretrain-doctor's own schema, the TrainingPlan's sections spelled out.

Recognised by a top-level `pretrain_doctor:` version key. Every unknown key is a
PD002 finding, with "did you mean" when one is close.
"""

from __future__ import annotations

from ..config.document import Document
from ..errors import ConfigError
from ..plan.model import TrainingPlan
from .base import BuildContext, Dialect, apply_flags, closest_key

VERSION_KEY = "pretrain_doctor"
SCALARS = {"seed", "seed_is_random", "debug", "trainer_version"}
SECTIONS = {
    name: sorted(field.annotation.model_fields)  # type: ignore[union-attr]
    for name, field in TrainingPlan.model_fields.items()
    if isinstance(field.annotation, type) and hasattr(field.annotation, "model_fields")
    and name != "program"  # what a launch script's program decides: no native key
}


class NativeDialect(Dialect):
    name = "native"
    field_keys = {f"{section}.{name}": f"{section}.{name}" for section, names in SECTIONS.items() for name in names}
    summary = "pretrain-doctor's own schema (a top-level `pretrain_doctor: 1` key)"
    known_keys = frozenset(SECTIONS) | frozenset(SCALARS) | {VERSION_KEY}

    def score(self, doc: Document) -> int:
        return 100 if VERSION_KEY in doc.data else 0

    def build_plan(self, docs: list[Document], context: BuildContext) -> TrainingPlan:
        doc = docs[0]
        b = self.builder(docs)
        version = doc.data.get(VERSION_KEY)
        if version not in (1, "1"):
            b.note("other", f"unknown schema version {version!r}; this version reads `pretrain_doctor: 1`",
                   b.source(doc, (VERSION_KEY,)))
        known_top = set(SECTIONS) | SCALARS | {VERSION_KEY}
        for key, value in doc.data.items():
            if key in SECTIONS and value is not None and not isinstance(value, dict):
                pos = doc.position((key,))
                raise ConfigError(f"`{key}` must be a section (a mapping of keys to values), not "
                                  f"{repr(value)[:40]}", doc.path, pos.line if pos else None)
            if key in SECTIONS and isinstance(value, dict):
                b.section(key, doc, (key,))
                for inner in value:
                    if inner in SECTIONS[key]:
                        b.take(f"{key}.{inner}", doc, (key, inner))
                    else:
                        self._unknown(b, doc, (key, inner), SECTIONS[key])
            elif key in SCALARS:
                b.take(key, doc, (key,))
            elif key not in known_top:
                self._unknown(b, doc, (key,), sorted(known_top))
        apply_flags(b, context)
        return b.build()

    @staticmethod
    def _unknown(b, doc: Document, path: tuple, known: list[str]) -> None:
        dotted_key = ".".join(str(p) for p in path)
        close, unique = closest_key(str(path[-1]), known, 0.6)
        message = f"`{dotted_key}` is not part of the pretrain-doctor schema"
        hint = f"did you mean `{close}`?" if close else "remove it, or see the schema in the README"
        if close:
            message += f"; did you mean `{close}`?"
        b.note("ignored-key", message, b.source(doc, path), hint=hint, key=dotted_key,
               **({"suggestion": close, "typo": True, "unique": unique} if close else {}))


DIALECT = NativeDialect()
