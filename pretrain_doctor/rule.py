"""The public rule API: what built-in rules and third-party plugins both use.

A rule is a class with a code, a slug, a default severity and a docstring that is its
documentation (`## What it does`, `## Why is this bad?`, `## Example`, `## Use instead`,
`## References`). Its `check` reads a TrainingPlan and yields findings::

    from pretrain_doctor.rule import Rule

    class NoSeed(Rule):
        \"\"\"No seed is set.

        ## What it does
        ...
        \"\"\"

        code = "PD803"
        slug = "no-seed"
        severity = "info"

        def check(self, plan):
            if plan.seed is None:
                yield self.finding(plan, "seed", "no seed is set", hint="set `seed: 42`")

A rule that can repair what it reports sets `fix_availability` ("sometimes" or "always")
and attaches a `Fix` to the finding: edits on the config's keys (rename, drop, set, add),
never on text offsets, marked `safe` (`check --fix` applies it) or `unsafe` (only with
`--unsafe-fixes`), as ruff does::

    yield self.finding(plan, "schedule.warmup_steps", "no warmup",
                       fix=Fix.unsafe("add a warmup of 2000 steps", Edit.set_field(("schedule.warmup_steps", 2000))))

Metadata is validated when the class is defined; the loader reports a broken rule and
skips it, never failing the whole run.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Iterable, Iterator, Literal, NamedTuple, Optional

from .checkmeta import RULE_SECTIONS, CheckDefinitionError, Documented, reference_lines, reference_urls, validate_check_class

if TYPE_CHECKING:
    from .config.document import Suppression
    from .plan.model import ConfigNote, TrainingPlan

CODE_PATTERN = r"PD[0-9]{3}|[A-Z][A-Z0-9]{1,7}[0-9]{3}"
FIX_AVAILABILITY = ("never", "sometimes", "always")
Applicability = Literal["safe", "unsafe"]
EditOp = Literal["rename", "drop", "set", "add"]
# A ConfigNote's data key: the dialect that wrote the note was chosen as a guess (check/engine.py).
GUESSED_NOTE = "guessed_dialect"
# One severity level softer (a finding resting on an assumption: plan/reading.py `soften`, a guessed dialect's note).
SOFTER = {"error": "warning", "warning": "info"}


class Edit(NamedTuple):
    """One change to a config's keys.

    `key` is the key as the file spells it, dotted (a Finding's `key`). A rule that does not know
    the dialect's spelling names plan fields instead (`choices`: (field, value) pairs, tried in
    order): `check` turns the first one it can into `set` on the key the value came from, or
    `add` at the key the dialect reads that field from (`Dialect.field_keys`).
    """

    op: EditOp
    key: Optional[str] = None
    value: Any = None
    new_name: Optional[str] = None  # rename: the new last part of the key
    choices: tuple[tuple[str, Any], ...] = ()
    file: Optional[str] = None  # the file to edit; None: the finding's file

    @classmethod
    def rename(cls, key: str, new_name: str, file: Optional[str] = None) -> "Edit":
        return cls("rename", key=key, new_name=new_name, file=file)

    @classmethod
    def drop(cls, key: str, file: Optional[str] = None) -> "Edit":
        return cls("drop", key=key, file=file)

    @classmethod
    def set(cls, key: str, value: Any, file: Optional[str] = None) -> "Edit":
        return cls("set", key=key, value=value, file=file)

    @classmethod
    def add(cls, key: str, value: Any, file: Optional[str] = None) -> "Edit":
        """Add `key` (its parent tables are created when missing)."""
        return cls("add", key=key, value=value, file=file)

    @classmethod
    def set_field(cls, *choices: tuple[str, Any]) -> "Edit":
        """Set the first plan field of `choices` ((field, value) pairs) that this config can hold."""
        return cls("set", choices=tuple(choices))

    def describe(self) -> str:
        where = f"`{self.key or ' or '.join(field for field, _ in self.choices)}`"
        if self.op == "rename":
            return f"rename {where} to `{self.new_name}`"
        if self.op == "drop":
            return f"drop {where}"
        return f"{'add' if self.op == 'add' else 'set'} {where} = {self.value!r}"


class Fix(NamedTuple):
    """How to repair a finding: edits applied together, and whether `--fix` may apply them alone."""

    title: str
    edits: tuple[Edit, ...]
    applicability: Applicability = "safe"

    @classmethod
    def safe(cls, title: str, *edits: Edit) -> "Fix":
        return cls(title, tuple(edits), "safe")

    @classmethod
    def unsafe(cls, title: str, *edits: Edit) -> "Fix":
        return cls(title, tuple(edits), "unsafe")

    @property
    def is_safe(self) -> bool:
        return self.applicability == "safe"

    def as_dict(self) -> dict:
        return {"applicability": self.applicability, "message": self.title,
                "edits": [e.describe() for e in self.edits]}


@dataclass
class Finding:
    """One problem found in one config."""

    code: str
    slug: str
    severity: str
    message: str
    file: Optional[str] = None
    line: Optional[int] = None
    column: Optional[int] = None
    key: Optional[str] = None
    plan_field: Optional[str] = None
    hint: Optional[str] = None
    references: list[str] = field(default_factory=list)
    fix: Optional[Fix] = None
    # The plan fields this finding rests on, where they are not its rule's `premises`: what `check` softens it by
    # (plan/reading.py `soften`); `()` for a claim no reading changes, or one softened already (a guessed dialect's
    # note). None: the rule's premises. Not part of the report.
    premises: Optional[tuple[str, ...]] = field(default=None, repr=False, compare=False)

    def sort_key(self) -> tuple:
        return (self.file or "", self.line or 0, self.code)

    def as_dict(self) -> dict:
        return {
            "code": self.code,
            "slug": self.slug,
            "severity": self.severity,
            "message": self.message,
            "hint": self.hint,
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "key": self.key,
            "plan_field": self.plan_field,
            "references": list(self.references),
            "fix": self.fix.as_dict() if self.fix else None,
        }


class Rule(Documented):
    """Base class of every static rule. Subclasses set code, slug, severity and a docstring."""

    code: ClassVar[str]
    slug: ClassVar[str]
    severity: ClassVar[str]
    aliases: ClassVar[tuple[str, ...]] = ()  # old slugs keep working after a rename
    # Where the rule came from ("built-in" or a plugin name); set by the loader.
    origin: ClassVar[str] = "built-in"
    # Whether findings carry a Fix (ruff's "Fix is sometimes available"): never, sometimes, always.
    fix_availability: ClassVar[str] = "never"
    # Plan fields (prefixes: "batch", "schedule.warmup_steps") whose meaning is the trainer's own and
    # that the finding rests on: on a file that reads as a fork or an unknown version (plan/reading.py)
    # its findings drop one level and say what they assumed. Empty: the finding holds whatever the fork.
    premises: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(cls, abstract: bool = False, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        if not abstract:
            validate_check_class(cls, CODE_PATTERN, RULE_SECTIONS)
            if cls.fix_availability not in FIX_AVAILABILITY:
                raise CheckDefinitionError(f"{cls.__name__} ({cls.code}): fix_availability "
                                           f"{cls.fix_availability!r} must be one of {FIX_AVAILABILITY}")

    # -- documentation -------------------------------------------------------------
    @classmethod
    def references(cls) -> list[str]:
        return reference_lines(cls.__doc__)

    @classmethod
    def reference_urls(cls) -> list[str]:
        return reference_urls(cls.__doc__)

    # -- checking ------------------------------------------------------------------
    def check(self, plan: "TrainingPlan") -> Iterable[Finding]:
        """Yield findings for `plan`. Override in every rule."""
        return ()

    def check_suppressions(self, unused: list["Suppression"], file: str) -> Iterable[Finding]:
        """Called after suppressions are applied, with those that suppressed nothing."""
        return ()

    def finding(
        self,
        plan: "TrainingPlan",
        plan_field: str,
        message: str,
        *,
        hint: Optional[str] = None,
        severity: Optional[str] = None,
        fix: Optional[Fix] = None,
    ) -> Finding:
        """A finding located at the source of `plan_field` (or its section)."""
        source = plan.source_of(plan_field)
        exact = plan.sources.get(plan_field)
        located = plan.located_source_of(plan_field)
        return Finding(
            code=self.code,
            slug=self.slug,
            severity=severity or self.severity,
            message=message,
            hint=hint,
            file=source.file if source else (plan.files[0] if plan.files else None),
            line=located.line if located else None,
            column=located.column if located is not None and located is exact else None,
            key=exact.key if exact is not None else None,
            plan_field=plan_field,
            references=self.reference_urls(),
            fix=fix,
        )

    def finding_at(self, message: str, *, file: str, line: Optional[int], column: Optional[int] = None,
                   key: Optional[str] = None, hint: Optional[str] = None, severity: Optional[str] = None,
                   fix: Optional[Fix] = None) -> Finding:
        """A finding at an explicit place (for checks about the file rather than the plan)."""
        return Finding(self.code, self.slug, severity or self.severity, message, file, line, column, key,
                       None, hint, self.reference_urls(), fix)

    def finding_from_note(self, plan: "TrainingPlan", note: "ConfigNote", *, severity: Optional[str] = None,
                          fix: Optional[Fix] = None) -> Finding:
        """A finding at the place a dialect adapter's ConfigNote points to (PD002-PD004); one level softer where the
        dialect that wrote the note was only a guess (`GUESSED_NOTE`): what it says the trainer does is another
        trainer's behaviour."""
        source = note.source
        file = source.file if source else (plan.files[0] if plan.files else None)
        message = note.message
        if note.data.get(GUESSED_NOTE):
            severity = SOFTER.get(severity or self.severity, "info")
            message += f" (if this is {plan.dialect}'s config: the dialect is a guess; pass --dialect to decide)"
        finding = self.finding_at(message, file=file, line=source.line if source else None,
                                  column=source.column if source else None, key=source.key if source else None,
                                  hint=note.hint, severity=severity, fix=fix)
        if note.data.get(GUESSED_NOTE):
            finding.premises = ()  # softened for the guess here: `soften` must not take it down a second level
        return finding

    def tagged_note_findings(self, plan: "TrainingPlan") -> list[Finding]:
        """Findings for the notes an adapter addressed to this rule alone (`data["code"]`), at the severity a note
        names (`data["severity"]`) or the rule's."""
        return [self.finding_from_note(plan, n, severity=n.data.get("severity")) for n in plan.notes
                if n.data.get("code") == self.code]

    def notes_for(self, plan: "TrainingPlan", kind: str) -> list["ConfigNote"]:
        """The plan's notes addressed to this rule: `data["code"]` names it, or no code and `kind` matches."""
        return [n for n in plan.notes if n.data.get("code") == self.code or (n.data.get("code") is None and n.kind == kind)]


def written_in_a_file(plan: "TrainingPlan", field: str) -> bool:
    """`field` was read from a line of a config file or launch script (not a trainer default, not derived)."""
    source = plan.sources.get(field)
    return plan.get(field) is not None and source is not None and source.line is not None


def given_not_defaulted(plan: "TrainingPlan", field: str) -> bool:
    """`field` is set and no note qualifies where it came from (not a default, a flag or a derivation)."""
    source = plan.sources.get(field)
    return plan.get(field) is not None and (source is None or source.note is None)


# The key each trainer takes a warmup at, where it is not HF's `warmup_steps`/`warmup_ratio`, and its unit:
# GPT-NeoX has only the float `warmup`, a fraction of lr_decay_iters (neox_args.py `warmup: float = 0.01`;
# held-out review 14, B 40 was told `warmup_steps: 401`), Megatron-LM `--lr-warmup-fraction` (valid with iteration-
# and sample-based runs alike; old releases' `--warmup` where the file uses that), llm-foundry a
# Composer duration in batches; the others count optimizer steps (each dialect's `field_keys` and its reading).
# PD104 and PD106 write their examples with it (`warmup_example`).
WARMUP_KEYS = {
    "neox": ("warmup", "fraction"),
    "megatron": ("--lr-warmup-fraction", "flag fraction"),
    "litgpt": ("train.lr_warmup_steps", "steps"),
    "nanogpt": ("warmup_iters", "steps"),
    "nanotron": ("optimizer.learning_rate_scheduler.lr_warmup_steps", "steps"),
    "olmo": ("scheduler.t_warmup", "steps"),
    "llmfoundry": ("scheduler.t_warmup", "batches"),
    "deepspeed": ("scheduler.params.warmup_num_steps", "steps"),
    "torchtitan": ("lr_scheduler.warmup_steps", "steps"),
}


# A from-scratch run of at most this many optimizer steps that is cheap to repeat is a test of the setup, not a model
# to keep (held-out review 135, C 07: a 200-step recipe of a 500M model, 2e16 FLOPs).
SHORT_TEST_STEPS = 500


def short_pretraining_test(plan: "TrainingPlan") -> str:
    """Why the run is a short, cheap test of pretraining ("200 steps, about 2e+16 FLOPs, cheap to run again"), or ""
    (a fine-tune's small updates against trained weights matter from the first step; a 10,000-step run of a small
    model is a run, however cheap: held-out review 120, C 05's 50% warmup judged a fair warning)."""
    steps, cheap = plan.derived.total_steps, plan.derived.cheap_to_repeat
    if not (plan.mode.from_scratch and steps.known and steps.value <= SHORT_TEST_STEPS and cheap):
        return ""
    return f"{steps.value:,.0f} steps, {cheap}"


def hint_form(plan: "TrainingPlan") -> str:
    """The dialect a hint names keys of, `torchtitan-recipe` for a torchtitan run configured in Python (a recipe
    returning `Trainer.Config`, checked alone or through the launch that runs it): its knobs are keywords, not TOML."""
    if plan.dialect == "torchtitan" and any(str(path).endswith(".py") for path in (*plan.files, plan.program.config or "")):
        return "torchtitan-recipe"
    return plan.dialect


def hf_constant_schedule(plan: "TrainingPlan") -> bool:
    """A transformers scheduler (HF, axolotl, LLaMA-Factory) named `constant`, which takes no warmup."""
    return plan.dialect in ("hf", "axolotl", "llamafactory") and plan.schedule.kind == "constant"


def warmup_example(plan: "TrainingPlan", fraction: float, ratio: bool) -> str | None:
    """`fraction` of the run at the key the plan's trainer reads (`WARMUP_KEYS`, else HF's names): as a ratio where
    the trainer takes only that, or where it takes one and `ratio` asks; else in steps when the run length is known
    (None when it is not)."""
    total = plan.derived.total_steps.value
    steps = max(1, math.ceil(fraction * total)) if total else None
    key, unit = WARMUP_KEYS.get(plan.dialect, ("warmup_steps", "steps"))
    stated = plan.sources.get("schedule.warmup_steps")
    written = stated is not None and stated.line is not None and "warmup" in (stated.key or "") \
        and not any(word in (stated.key or "") for word in ("ratio", "fraction"))
    if unit == "steps" and plan.dialect in WARMUP_KEYS and written and stated is not None:
        # the file's own spelling of a step count (torchtitan's older `training.warmup_steps`; a lit-gpt script's
        # global `warmup_steps`, held-out review 124, C 12)
        key = stated.key or key
    if unit == "flag fraction":
        keys = [source.key for source in plan.sources.values() if source.key]
        if any(k.startswith("model.optim") for k in keys):  # a NeMo-style YAML (dialects/megatron.py)
            key, unit = "model.optim.sched.warmup_steps", "steps"
        else:
            return f"`{'--warmup' if '--warmup' in keys else key} {fraction:g}`"
    if hf_constant_schedule(plan):
        # transformers' `constant` schedule has no warmup: a warmup key alone changes nothing (held-out review 17,
        # A 06: the hint and its fix wrote `warmup_ratio: 0.03` under `lr_scheduler_type: constant`)
        return f"`lr_scheduler_type: constant_with_warmup` with `warmup_ratio: {fraction:g}`"
    if unit == "fraction" or (ratio and plan.dialect not in WARMUP_KEYS):
        return f"`{key if unit == 'fraction' else 'warmup_ratio'}: {fraction:g}`"
    if steps is None:
        return None
    if stated and stated.key == "decay_lr":  # nanoGPT's get_lr (and its warmup) only runs with decay_lr on
        return f"`decay_lr: True` with `{key}: {steps}`"
    return f"`{key}: {steps}ba`" if unit == "batches" else f"`{key}: {steps}`"


def iter_rule_classes(namespace: dict) -> Iterator[type[Rule]]:
    """Rule subclasses defined in a module namespace (imported ones are skipped)."""
    module = namespace.get("__name__")
    for value in list(namespace.values()):
        if isinstance(value, type) and issubclass(value, Rule) and value is not Rule and value.__module__ == module:
            if "code" in vars(value):
                yield value
