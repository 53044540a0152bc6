"""Assemble a TrainingPlan from a dialect's findings, with provenance, then validate it."""

from __future__ import annotations

import re
from pathlib import PurePath
from typing import Any, Iterable, Optional

from pydantic import ValidationError

from ..config.document import Document, KeyPath, dotted
from ..errors import ConfigError
from ..lazyre import lazy_compile
from .model import ConfigNote, Source, TrainingPlan

_MISSING = object()
# Words that, in a fork's own key switched on, name what trains: the base may be frozen (EAGLE's and Medusa's
# draft heads, a distilled student's teacher, adapters of the fork's own).
_MODE_WORDS = frozenset({"eagle", "medusa", "draft", "speculative", "freeze", "frozen", "distill", "distillation",
                         "adapter", "adapters", "prefix", "ptuning"})
_WORDS = lazy_compile(r"[a-z]+")
# A fork's own switch, on, that freezes the whole pretrained model (Balcony-LLaMA's `freeze_model: true`: its
# finetuning/train.py sets requires_grad only on the parameters `unfreeze_layers` names, new exit modules;
# held-out review 14, B 35): the run trains a part, not every weight.
_FREEZES_MODEL = frozenset({("freeze", "model"), ("freeze", "base"), ("freeze", "base", "model"),
                            ("freeze", "backbone")})
# Words that name adapters of the fork's own, counted only in a switch set to true (`use_lora = true`), not in a
# size beside it (`lora_rank = 16` with `use_lora = false` trains every weight: held-out review 14, B 10).
_ADAPTER_WORDS = frozenset({"lora", "qlora", "dora", "peft"})
_SWITCH_WORDS = frozenset({"use", "enable", "enabled"})
# Words of an adapter's size (`lora_rank: 64`, `lora_r`, `lora_alpha`): beside no switch of the fork's that turns
# adapters off, the fork may train adapters of that size (held-out review 34, A 11: a Firefly fork's `lora_rank: 64`
# with `use_unsloth`, its mode left at the fork's default, read as a full fine-tune at 2e-4).
_ADAPTER_SIZE_WORDS = frozenset({"r", "rank", "dim", "alpha"})
# A fork's own mode value that trains every weight (Firefly's `train_mode: full`, `peft_type: none`).
_FULL_MODES = frozenset({"full", "none", "false", "off", "no"})
# Words in a config's file name that say it is no training run (llm-foundry's `testing-moe.yaml`, a 200-batch
# run of a 2-layer model: held-out review 33, A 11). "test" alone is not one: `gsm8k_test_cot.yaml` names a split.
_TEST_RUN_WORDS = frozenset({"debug", "testing", "smoke", "smoketest", "sanity"})
# A run of at most this many optimizer steps only checks that it starts, whatever its trainer and file name.
_TINY_RUN_STEPS = 10
# A switch or patience of early stopping on validation (a nanoGPT fork's `early_stop_mode`, axolotl's and HF programs'
# `early_stopping_patience`, LLaMA-Factory's `early_stopping_steps`): the configured length is only a cap.
_EARLY_STOPPING = lazy_compile(r"early_stop(_mode|_patience|ping_patience|ping_steps)?")


def _names_a_mode(table: str, key: str, value: Any) -> bool:
    """Whether `key` (in the fork's own table `table`, "" at the top) set to `value` switches on a way of training
    that may leave the base frozen: a mode word in the key with any value switched on, or a switch set to true
    that names adapters (`use_lora`, `peft`) or sits in a table that does (torchtitan forks' `[lora] use_lora =
    true`, a `[lora] enable = true`)."""
    words = set(_WORDS.findall(key.lower()))
    if _MODE_WORDS & words and _switched_on(value):
        return True
    if value is not True and not (isinstance(value, str) and value.strip().lower() in ("true", "yes", "on")):
        return False
    if not words <= _ADAPTER_WORDS | _SWITCH_WORDS:
        return False  # a setting of the adapters (`force_lora_parameter_ddp = true`), not their switch
    return bool(_ADAPTER_WORDS & words) or bool((_MODE_WORDS | _ADAPTER_WORDS) & set(_WORDS.findall(table.lower())))


def _switched_on(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() not in ("", "false", "no", "off", "0", "none", "null")
    return bool(value) and not isinstance(value, (dict, list))


# A template's `MODEL_PATH=<your_model_path>` (the shell reader keeps it whole): no launch sets it yet.
_PLACEHOLDER = re.compile(r"the launch-time value of (<[A-Za-z][^<>]*>)")


def is_required_at_launch(value: Any) -> bool:
    """OmegaConf's MISSING, `???`: a template's value that the launch command supplies (llm-foundry, NeMo and
    OLMo configs read through OmegaConf; held-out review 19, A 05: eight `???` read as bad values, errors)."""
    return isinstance(value, str) and value.strip() == "???"


_LAUNCH_SUPPLIES = "a value given at launch (OmegaConf's MISSING)"


class PlanBuilder:
    """Collects plan fields with their sources; `build()` validates them all at once.

    Adapters call `take(...)` for values read from a document, `default(...)` for the
    trainer's own defaults, and `unknown(...)` for facts only a flag can supply.
    """

    def __init__(self, dialect: str, documents: Iterable[Document]) -> None:
        self.dialect = dialect
        self.documents = list(documents)
        self.values: dict[str, Any] = {}
        self.sources: dict[str, Source] = {}
        self.unknowns: dict[str, str] = {}
        self.notes: list[ConfigNote] = []
        # Keys no version of the trainer we know reads (dotted): evidence that the file is for a fork.
        self.foreign_keys: list[str] = []
        self.foreign_key_words: dict[str, list[str]] = {}  # a foreign mapping key's inner key names
        self.mode_keys: list[str] = []  # foreign keys, switched on, that name a training mode
        self.freezes_model: Optional[str] = None  # a foreign key, on, that freezes the whole model
        self.unfrozen: Optional[tuple[str, list[str]]] = None  # a foreign key listing what still trains
        self.adapter_sizes: list[str] = []  # foreign keys giving adapters a size (`lora_rank: 64`)
        self.adapters_off = False  # a foreign switch turns adapters off or names a full mode

    @property
    def primary(self) -> Document:
        return self.documents[0]

    def source(self, doc: Document, path: KeyPath, note: str | None = None) -> Source:
        pos = doc.position(path)
        return Source(
            file=pos.file or doc.path if pos else doc.path,
            line=pos.line if pos else None,
            column=pos.column if pos else None,
            key=dotted(path) if path else None,
            note=note,
        )

    def set(self, field: str, value: Any, source: Source | None = None) -> None:
        self.values[field] = value
        if source is not None:
            self.sources[field] = source
        self.unknowns.pop(field, None)

    def assume(self, field: str, what: str, source: Source | None) -> None:
        """`field` is only assumed (`what`): a launched program's own code, or a fork's own key, may decide it
        (`program.assumed`); rules whose premises include it say less (plan/reading.py `soften`)."""
        self.set("program.assumed", {**self.values.get("program.assumed", {}), field: what}, source)

    def take(self, field: str, doc: Document, path: KeyPath | str, convert: Any = None) -> Any:
        """Copy `doc[path]` into `field` if present (and not null). Returns the value or None."""
        key = tuple(path.split(".")) if isinstance(path, str) else path
        value = doc.get(key, _MISSING)
        if value is _MISSING or value is None:
            return None
        if is_required_at_launch(value):
            self.unknown(field, f"`{'.'.join(map(str, key))}: ???`, {_LAUNCH_SUPPLIES}")
            return None
        if convert is not None:
            value = convert(value)
            if value is None:
                return None
        self.set(field, value, self.source(doc, key))
        return value

    def take_first(self, field: str, doc: Document, *paths: KeyPath | str, convert: Any = None) -> Any:
        for path in paths:
            value = self.take(field, doc, path, convert)
            if value is not None:
                return value
        return None

    def default(self, field: str, value: Any, note: str) -> None:
        """A value the trainer uses when the file says nothing; a `???` the launch supplies says something (held-out
        review 70, A 21: `per_device_train_batch_size: ???` shown as transformers' 8)."""
        if field in self.values or _LAUNCH_SUPPLIES in self.unknowns.get(field, ""):
            return
        self.values[field] = value
        self.sources[field] = Source(file=self.primary.path, note=note)

    def not_foreign(self, keys: Iterable[str]) -> None:
        """Keys first taken for no known version's that a dialect finds the trainer's own after all (an older
        release's, or keys its notes already judge): no evidence of a fork."""
        known = set(keys)
        self.foreign_keys = [key for key in self.foreign_keys if key not in known]

    def section(self, field: str, doc: Document, path: KeyPath | str) -> None:
        """Remember where a whole section lives, for findings about an absent key."""
        key = tuple(path.split(".")) if isinstance(path, str) else path
        if doc.has(key) and field not in self.sources:
            self.sources[field] = self.source(doc, key)

    def foreign_key(self, name: str, value: Any) -> None:
        """A key no known version of the trainer reads (`name` dotted), with its value. One switched on whose
        name says what trains (axolotl forks' `eagle_training: true`: the base frozen, a draft head trains)
        makes the run kind an assumption (`program.assumed`, plan/reading.py softens the rules judging it)."""
        self.foreign_keys.append(name)
        table, _, last = name.rpartition(".")
        words = tuple(_WORDS.findall(last.lower()))
        if _names_a_mode(table.rsplit(".", 1)[-1], last, value):
            self.mode_keys.append(name)
            if words in _FREEZES_MODEL:
                self.freezes_model = name
        self._adapter_evidence(name, set(words), value)
        if isinstance(value, dict):  # a fork's own table: its switches (`[lora] use_lora = true`)
            self.mode_keys += [f"{name}.{key}" for key, inner in value.items()
                               if isinstance(key, str) and _names_a_mode(last, key, inner)]
        if ("unfreeze" in words or "trainable" in words) and isinstance(value, list) and value and all(
                isinstance(item, str) for item in value):
            self.unfrozen = (name, value)
        if isinstance(value, (dict, list)):
            from .reading import key_words

            self.foreign_key_words[name] = key_words(name, value)

    def note(self, kind: str, message: str, source: Source | None, hint: str | None = None, **data: Any) -> None:
        self.notes.append(ConfigNote(kind=kind, message=message, hint=hint, source=source, data=data))

    def unknown(self, field: str, flag: str) -> None:
        flag = _PLACEHOLDER.sub(r"\1, a placeholder the user fills in (unevaluated)", flag)
        if field not in self.values:
            self.unknowns[field] = flag

    def not_known(self, field: str, why: str) -> None:
        """`field` is unknown, not the default the plan would hold (`objective.kind` of a fork whose own model
        is no language model): None in the plan, `why` in its unknowns."""
        self.values[field] = None
        self.sources.pop(field, None)
        self.unknowns[field] = why

    def discard(self, field: str) -> None:
        """Forget `field` and its source (a value that means "off" where the plan holds a positive count)."""
        self.values.pop(field, None)
        self.sources.pop(field, None)

    def has(self, field: str) -> bool:
        return field in self.values

    def get(self, field: str, default: Any = None) -> Any:
        return self.values.get(field, default)

    def build(self) -> TrainingPlan:
        self._mode_keys_assumed()
        self._named_as_a_test()
        self._early_stopping()
        if "mode.kind" not in self.values and "mode.init_from" in self.unknowns and self.documents:
            # the plan's default run kind where what is loaded is unknown: an assumption, said as one (a program run
            # with its own arguments, its source not at hand: held-out review 25, A 17)
            self.sources.setdefault("mode.kind", Source(file=self.primary.path, note="assumed: from scratch unless "
                                                        "the program loads weights (mode.init_from is unknown)"))
        nested: dict[str, Any] = {}
        for field, value in self.values.items():
            node = nested
            parts = field.split(".")
            for part in parts[:-1]:
                node = node.setdefault(part, {})
            node[parts[-1]] = value
        nested["dialect"] = self.dialect
        nested["files"] = [d.path for d in self.documents]
        nested["sources"] = self.sources
        nested["unknown"] = self.unknowns
        nested["notes"] = self.notes
        if self.foreign_keys:
            nested["foreign_keys"] = list(dict.fromkeys(self.foreign_keys))
            nested["foreign_key_words"] = self.foreign_key_words
        try:
            return TrainingPlan.model_validate(nested)
        except ValidationError as exc:
            if self._drop_sentinels(exc) or self._drop_invalid(exc):
                return self.build()
            raise self._as_config_error(exc) from None

    def _named_as_a_test(self) -> None:
        """A config whose file name says debug, testing or smoke is a smoke test (the plan's `debug`), unless the
        dialect already said whether it is one."""
        if "debug" in self.values or not self.documents:
            return
        path = self.primary.path
        stem = PurePath(path).stem.lower()
        word = next((w for w in _WORDS.findall(stem) if w in _TEST_RUN_WORDS), None)
        if word is not None:
            self.values["debug"] = True
            self.sources["debug"] = Source(file=path, note=f"the file's name says {word!r}: a test config")
            return
        self._output_named_as_a_test()
        steps = self.values.get("run.max_steps")
        if "debug" not in self.values and isinstance(steps, int) and not isinstance(steps, bool) \
                and 0 < steps <= _TINY_RUN_STEPS and "run.max_steps" in self.sources:
            # a run of a handful of steps checks that it starts, whatever the trainer (held-out review 138, B 14: a
            # fork owner's `--max_steps 1` debug launch, its warmup judged at warning)
            self.values["debug"] = True
            self.sources["debug"] = self.sources["run.max_steps"].model_copy(
                update={"note": f"a {steps}-step run: a smoke test"})

    def _output_named_as_a_test(self) -> None:
        """A run that writes into a folder named debug or smoke (`output_dir: output/Qwen2.5-VL-7B/debug`) is a test
        run too (held-out review 124, B 07/B 08: `max_samples: 100` in a run saved under `.../debug`)."""
        data = self.primary.data
        for key in ("output_dir", "out_dir"):
            value = data.get(key) if isinstance(data, dict) else None
            if not isinstance(value, str):
                continue
            word = next((w for w in _WORDS.findall(value.lower()) if w in _TEST_RUN_WORDS), None)
            if word is not None:
                self.values["debug"] = True
                self.sources["debug"] = self.source(self.primary, (key,), note=f"the output folder says {word!r}: "
                                                                                 "a test run")
                return

    def _early_stopping(self) -> None:
        """A run that stops early once validation stops improving is as long as the data makes it, under the steps
        configured: those are only assumed (held-out review 65, B 02: `early_stop_mode = True` under a 500,000-step
        cap, read as a 500,000-step run whose 5,000-step decay ends at 1%)."""
        if "run.max_steps" not in self.values or not self.documents or not isinstance(self.primary.data, dict):
            return
        for key, value in self.primary.data.items():
            on = value is True or (isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0)
            if on and isinstance(key, str) and key.startswith("early_stop") and _EARLY_STOPPING.fullmatch(key):
                self.assume("run.max_steps", f"the run trains that long: `{key}` may stop it sooner",
                            self.source(self.primary, (key,)))
                return

    def _adapter_evidence(self, name: str, words: set[str], value: Any) -> None:
        """A fork's adapter size (`lora_rank: 64`), or its switch off (`use_lora: false`, `train_mode: full`)."""
        adapter = bool(words & _ADAPTER_WORDS)
        if adapter and words <= _ADAPTER_WORDS | _ADAPTER_SIZE_WORDS and words & _ADAPTER_SIZE_WORDS and isinstance(
                value, (int, float)) and not isinstance(value, bool) and value > 0:
            self.adapter_sizes.append(name)
        elif (adapter and value is False) or (isinstance(value, str) and value.strip().lower() in _FULL_MODES
                                              and words & {"mode", "type", "method", "finetuning"}):
            self.adapters_off = True

    def _mode_keys_assumed(self) -> None:
        """Every weight training (a full fine-tune, pretraining) is only assumed beside a fork's own switch
        that names a training mode: the fork's code may freeze the base and train a part (EAGLE's draft layer)."""
        kind = self.values.get("mode.kind", "pretrain")
        if not self.mode_keys and not self.adapters_off and kind == "full_finetune":
            # only on pretrained weights: a from-scratch fork's `lora_rank` shapes its own layers, which all train
            # (held-out reviews 17, B 14 and 26, B 03: LoRA-the-Explorer's heads, a delayed-attention nanoGPT)
            self.mode_keys = list(self.adapter_sizes)
        if not self.mode_keys or kind not in ("pretrain", "full_finetune") or "mode.kind" in self.values.get(
                "program.assumed", {}):
            return
        if self.freezes_model is not None and kind == "full_finetune" and self.documents:
            frozen = self.source(self.documents[0], tuple(self.freezes_model.split(".")),
                                 note=f"the fork's own `{self.freezes_model}` freezes the pretrained model")
            if self.unfrozen is not None:
                name, modules = self.unfrozen
                trains = f"the modules `{name}` names ({', '.join(modules[:4])}{', …' if len(modules) > 4 else ''})"
            else:
                trains = f"what the fork's code leaves trainable beside `{self.freezes_model}`"
            self.values["mode.kind"], self.sources["mode.kind"] = "partial_finetune", frozen
            self.values["mode.trains_only"], self.sources["mode.trains_only"] = trains, frozen
            return
        keys = ", ".join(f"`{key}`" for key in dict.fromkeys(self.mode_keys))
        where = self.documents[0].path if self.documents else ""
        self.assume("mode.kind", "every weight trains",
                    Source(file=where, note=f"the fork's own {keys} may train only part of the model"))
        source = self.sources.get("mode.kind")
        note = f"assumed: the fork's own {keys} may train only part of the model"
        self.sources["mode.kind"] = source.model_copy(update={"note": f"{source.note}; {note}" if source.note else note}) \
            if source is not None else Source(file=where, note=note)

    def _drop_sentinels(self, exc: ValidationError) -> bool:
        """A `-1` where every release wants a value >= 0 (nanoGPT-playground's `min_lr: -1.0`, "computed as
        learning_rate/10") is a fork's sentinel, not a broken file: the field becomes unknown, and the value is
        fork evidence, as a value no release accepts is (plan/reading.py). Only in a file with a key no known
        version reads (a fork's file): in the trainer's own config, `lr: -1` stays a broken value. Whether any was
        dropped."""
        if not self.foreign_keys:
            return False
        dropped = False
        for error in exc.errors():
            field = ".".join(str(part) for part in error["loc"])
            value = self.values.get(field)
            if (error["type"] not in ("greater_than_equal", "greater_than") or isinstance(value, bool)
                    or value != -1):
                continue
            source = self.sources.pop(field, None)
            del self.values[field]
            key = source.key if source and source.key else field
            said = f"`{key}: {value}`" if source and source.key else f"{value}, the {source.note if source else 'default'},"
            self.unknown(field, f"{said} is no value any known release accepts: a fork's sentinel for a value its own "
                                "code computes")
            self.foreign_key(f"{key}: {value}", value)
            dropped = True
        return dropped

    def _drop_invalid(self, exc: ValidationError) -> bool:
        """A value the plan cannot hold (`lr: -1`, `micro_batch_size: 0`, `lr: fast`) does not refuse the whole
        file: the field becomes unknown and an error finding (PD002) names the key's line, so the rest of the file
        is still checked (held-out review 11, A 21: `eval.interval: 0` refused a file its trainer runs). A value a
        trainer gives a meaning the plan spells otherwise (0 = off) is read so by its dialect before this. Whether
        any was dropped."""
        dropped = False
        for error in exc.errors():
            loc = [str(part) for part in error["loc"]]
            field = next((".".join(loc[:end]) for end in range(len(loc), 0, -1) if ".".join(loc[:end]) in self.values),
                         None)
            if field is None:
                continue
            value = self.values.pop(field)
            source = self.sources.pop(field, None)
            label = source.key if source and source.key else field
            if is_required_at_launch(value):  # a template's `???`, filled on the command line: no bad value
                self.unknown(field, f"`{label}: ???`, a value given at launch (OmegaConf's MISSING)")
                dropped = True
                continue
            said = f"`{label}`: {error['msg'].lower()}, got {value!r}"
            blank = self._left_blank(label, value, source)
            if blank is not None:  # a template's variable left empty (held-out review 91, D 04: `MODEL_PATH=''`)
                self.unknown(field, blank)
                dropped = True
                if not any(note.data.get("key") == label for note in self.notes):
                    self.note("ignored-key", f"`--{label}` is given no value: {blank}; as written, argparse stops "
                              "(\"expected one argument\")", source, hint=f"fill in the variable after `--{label}`",
                              severity="error", key=label)
                continue
            if isinstance(value, str) and self.dialect == "own_args":
                # a program with its own argparse parses its arguments itself (held-out review 95, D 06: TRACE's
                # `--num_train_epochs 5,3,7,5,3,5,5,7`, one per task of its continual run)
                self.unknown(field, f"`{label}` = {value!r}, which the program parses in its own code")
                dropped = True
                continue
            if self.dialect == "own_args" and isinstance(value, (int, float)) and not isinstance(value, bool) \
                    and value <= 0:
                # a count of 0 or -1 is a program's own sentinel, "auto" or "none" (held-out review 135, C 09:
                # nanochat's `--total-batch-size=-1`, the batch its scaling rule picks): its code decides, no error
                self.unknown(field, f"`{label}` = {value!r}, a sentinel the program resolves in its own code")
                dropped = True
                continue
            if isinstance(value, (list, tuple)) and value and self.primary.format == "python":
                # a Python config's list where one value belongs is a sweep its program loops over (held-out review 92,
                # A 12: `learning_rate= [2e-4]`, `gradient_accumulation_steps= [1]#[2,4,8]`): one run per value
                self.unknown(field, f"`{label}` = {value!r}, a sweep the program runs once per value")
                dropped = True
                continue
            self.unknown(field, f"{said}, no value the trainer can run with")
            dropped = True
            if any(note.kind == "ignored-key" and note.data.get("key") == label and note.data.get("severity") == "error"
                   for note in self.notes):
                continue  # one key feeding several fields (`model_name_or_path`: model, tokenizer, weights) is one finding
            self.note("ignored-key", f"{said}: no value the trainer can run with, so the plan leaves it unknown",
                      source if source is not None and source.line is not None else Source(file=self.primary.path),
                      hint=f"set a valid `{label}`", severity="error", key=label)
        return dropped

    def _left_blank(self, label: str, value: Any, source: Optional[Source]) -> Optional[str]:
        """Why a launch flag reads as a bare switch where a value belongs: the variable written after it is empty in
        the script (`export MODEL_PATH=''`, a template's blank), so the shell passes no word for it. None otherwise."""
        if value is not True or source is None or source.line is None or self.primary.format != "shell":
            return None
        lines = self.primary.text.splitlines()
        line = lines[source.line - 1] if 0 < source.line <= len(lines) else ""
        found = re.search(rf"--{re.escape(label)}[= ]+(\$\{{?\w+\}}?)", line)
        return f"`{found.group(1)}` is empty in the script, a blank to fill in before the launch" if found else None

    def _as_config_error(self, exc: ValidationError) -> ConfigError:
        first = exc.errors()[0]
        loc = [str(part) for part in first["loc"]]
        # Walk up the location until a field we have a source for.
        field, source = ".".join(loc), None
        for end in range(len(loc), 0, -1):
            candidate = ".".join(loc[:end])
            if candidate in self.sources:
                field, source = candidate, self.sources[candidate]
                break
        value = self.values.get(field, first.get("input"))
        label = source.key if source and source.key else field
        message = f"`{label}`: {first['msg'].lower()}, got {value!r}"
        more = len(exc.errors()) - 1
        if more:
            message += f" (and {more} more invalid value{'s' if more > 1 else ''})"
        return ConfigError(message, source.file if source else self.primary.path, source.line if source else None)
