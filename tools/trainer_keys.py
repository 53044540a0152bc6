"""Generate `pretrain_doctor/dialects/<trainer>_keys.py`: the keys a trainer reads at several of
its releases, read from its own source with `ast` (nothing is imported or executed).

    python tools/trainer_keys.py TRAINER MIRROR [--out FILE]

MIRROR is a git checkout or bare mirror of the trainer's repository (the `fetch` tool gives one);
each release is read with `git show TAG:path`. TRAINER is one of SPECS below. Without --out the
module is printed. Not run by the tests: the generated tables are committed.

What a release "reads" is the fields of its config classes (pydantic models, dataclasses) and, for
litgpt, the parameters of its scripts' `setup()` (jsonargparse builds the CLI from them), each
section (`train:`, `optimizer:`) from the class its field is annotated with. A key a release still
declares but rejects (a validator that raises DeprecationWarning) is not read by that release;
a validator message "use `x` instead" names the replacement.
"""

from __future__ import annotations

import argparse
import ast
import re
import subprocess
import sys
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Optional

Sections = dict[str, set[str]]  # "" = top level, "train" = the `train:` mapping, "optimizer.x" nested


# -- reading a release ---------------------------------------------------------------------------
def git(mirror: str, *args: str) -> str:
    return subprocess.run(["git", "-C", mirror, *args], check=True, capture_output=True, text=True).stdout


def show(mirror: str, rev: str, path: str) -> Optional[str]:
    try:
        return git(mirror, "show", f"{rev}:{path}")
    except subprocess.CalledProcessError:
        return None


def files(mirror: str, rev: str, folder: str, pattern: str = r"\.py$") -> list[str]:
    try:
        names = git(mirror, "ls-tree", "-r", "--name-only", rev, folder).split()
    except subprocess.CalledProcessError:
        return []
    return [name for name in names if re.search(pattern, name)]


@dataclass
class ClassInfo:
    bases: list[str]
    fields: dict[str, ast.expr]  # name -> annotation
    aliases: set[str] = field(default_factory=set)
    rejected: set[str] = field(default_factory=set)  # fields whose validator raises DeprecationWarning
    renamed: dict[str, str] = field(default_factory=dict)  # field -> the key its validator says to use


_USE_INSTEAD = re.compile(r"(?:use|to|with|replaced by|in favou?r of)\s+`?([a-z_][a-z0-9_.]*)`?", re.I)


def index_classes(sources: Iterable[str]) -> dict[str, ClassInfo]:
    """Every class in `sources`: its base names, annotated fields (with pydantic aliases) and what its
    deprecation validators say."""
    classes: dict[str, ClassInfo] = {}
    for source in sources:
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                classes[node.name] = _class_info(node)
    return classes


def _class_info(node: ast.ClassDef) -> ClassInfo:
    info = ClassInfo([_name(base) for base in node.bases if _name(base)], {})
    for stmt in node.body:
        if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name) and not stmt.target.id.startswith("_"):
            if "ClassVar" in ast.unparse(stmt.annotation):
                continue
            info.fields[stmt.target.id] = stmt.annotation
            if isinstance(stmt.value, ast.Call):
                for kw in stmt.value.keywords:
                    if kw.arg in ("alias", "validation_alias") and isinstance(kw.value, ast.Constant) \
                            and isinstance(kw.value.value, str):
                        info.aliases.add(kw.value.value)
        elif isinstance(stmt, ast.FunctionDef):
            _read_validator(stmt, info)
    return info


def _read_validator(func: ast.FunctionDef, info: ClassInfo) -> None:
    """A `@field_validator("x")` that raises DeprecationWarning rejects `x`; "use y instead" renames it."""
    names = [arg.value for deco in func.decorator_list if isinstance(deco, ast.Call)
             and _name(deco.func) in ("field_validator", "validator")
             for arg in deco.args if isinstance(arg, ast.Constant) and isinstance(arg.value, str)]
    if len(names) != 1:
        return
    text = " ".join(node.value for node in ast.walk(func)
                    if isinstance(node, ast.Constant) and isinstance(node.value, str))
    if any(isinstance(node, ast.Raise) and "DeprecationWarning" in ast.unparse(node) for node in ast.walk(func)):
        info.rejected.add(names[0])
    if "deprecat" in text.lower() or "no longer" in text.lower():
        match = _USE_INSTEAD.search(text.split("deprecated", 1)[-1])
        if match and match.group(1) != names[0]:
            info.renamed[names[0]] = match.group(1).rstrip(".")


def _name(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Subscript):
        return _name(node.value)
    return ""


def fields_of(classes: dict[str, ClassInfo], name: str, seen: Optional[set[str]] = None) -> dict[str, ast.expr]:
    """The fields of class `name` with those of its bases (the ones defined in the files read)."""
    seen = seen if seen is not None else set()
    if name in seen or name not in classes:
        return {}
    seen.add(name)
    out: dict[str, ast.expr] = {}
    for base in classes[name].bases:
        out.update(fields_of(classes, base, seen))
    out.update(classes[name].fields)
    for alias in classes[name].aliases:
        out.setdefault(alias, ast.Constant(None))
    return out


def rejected_of(classes: dict[str, ClassInfo], names: Iterable[str]) -> tuple[set[str], dict[str, str]]:
    rejected: set[str] = set()
    renamed: dict[str, str] = {}
    for name in names:
        for cls in _lineage(classes, name):
            rejected |= classes[cls].rejected
            renamed.update(classes[cls].renamed)
    return rejected, renamed


def _lineage(classes: dict[str, ClassInfo], name: str, seen: Optional[set[str]] = None) -> list[str]:
    seen = seen if seen is not None else set()
    if name in seen or name not in classes:
        return []
    seen.add(name)
    return [name] + [c for base in classes[name].bases for c in _lineage(classes, base, seen)]


_CONTAINERS = {"List", "list", "Sequence", "Tuple", "tuple", "Dict", "dict", "Mapping", "Set", "set"}


def section_classes(annotation: ast.expr, classes: dict[str, ClassInfo]) -> list[str]:
    """The config classes a field's value is a mapping of: `X`, `Optional[X]`, `X | None`, `Union[X, Y]`;
    never the items of a list or dict."""
    if isinstance(annotation, ast.Constant) and isinstance(annotation.value, str):
        try:
            annotation = ast.parse(annotation.value, mode="eval").body
        except SyntaxError:
            return []
    if isinstance(annotation, ast.BinOp):
        return section_classes(annotation.left, classes) + section_classes(annotation.right, classes)
    if isinstance(annotation, ast.Subscript):
        outer = _name(annotation.value)
        if outer in _CONTAINERS:
            return []
        inner = annotation.slice
        parts = inner.elts if isinstance(inner, ast.Tuple) else [inner]
        return [c for part in parts for c in section_classes(part, classes)] if outer in ("Optional", "Union") else []
    name = _name(annotation)
    return [name] if name in classes else []


def sections_from(classes: dict[str, ClassInfo], roots: Iterable[str], depth: int = 1,
                  prefix: str = "", keep_rejected: bool = False) -> Sections:
    """{"" : the roots' fields, "x": the fields of the class field `x` is, ...} down to `depth` levels;
    fields a deprecation validator rejects are left out unless `keep_rejected`."""
    out: Sections = {prefix: set()}
    fields: dict[str, ast.expr] = {}
    for root in roots:
        fields.update(fields_of(classes, root))
    rejected, _ = rejected_of(classes, roots)
    out[prefix] |= set(fields) - (set() if keep_rejected else rejected)
    if depth > 0:
        for key, annotation in fields.items():
            inner = section_classes(annotation, classes)
            if inner:
                sub = sections_from(classes, inner, depth - 1, f"{prefix}.{key}" if prefix else key, keep_rejected)
                for name, keys in sub.items():
                    out.setdefault(name, set()).update(keys)
    return out


def function_params(source: str, function: str) -> dict[str, ast.expr]:
    """The parameters of top-level `def function(...)` with their annotations."""
    for node in ast.parse(source).body:
        if isinstance(node, ast.FunctionDef) and node.name == function:
            args = node.args.posonlyargs + node.args.args + node.args.kwonlyargs
            return {a.arg: a.annotation or ast.Constant(None) for a in args}
    return {}


# -- the trainers --------------------------------------------------------------------------------
@dataclass
class Read:
    """What one release reads: its keys per section, the renames its deprecation validators name, and
    keys it still declares but rejects (known, so never a typo, yet not read)."""

    sections: Sections
    renamed: dict[str, str] = field(default_factory=dict)
    declared: Sections = field(default_factory=dict)


def _axolotl(mirror: str, rev: str) -> Read:
    folder = "src/axolotl/utils/schemas" if files(mirror, rev, "src/axolotl/utils/schemas") \
        else "src/axolotl/utils/config/models/input"
    plugins = files(mirror, rev, "src/axolotl/integrations", r"/args\.py$")
    classes = index_classes(source(mirror, rev, p) for p in files(mirror, rev, folder) + plugins)
    roots = ["AxolotlConfigWCapabilities"]
    # plugins (integrations/*/args.py) add their own top-level keys when listed under `plugins:`
    roots += [name for path in plugins for name in index_classes([source(mirror, rev, path)])]
    _, renamed = rejected_of(classes, roots)
    return Read(sections_from(classes, roots), renamed, sections_from(classes, roots, keep_rejected=True))


def _llamafactory(mirror: str, rev: str) -> Read:
    folder = "src/llamafactory/hparams" if files(mirror, rev, "src/llamafactory/hparams") else "src/llmtuner/hparams"
    paths = [p for p in files(mirror, rev, folder) if not p.endswith(("parser.py", "__init__.py"))]
    classes = index_classes(source(mirror, rev, p) for p in paths)
    return Read({"": {key for name in classes for key in fields_of(classes, name)}})


def _litgpt(mirror: str, rev: str) -> Read:
    classes = index_classes([source(mirror, rev, "litgpt/args.py")])
    sections: Sections = {"": set()}
    for path in ["litgpt/pretrain.py"] + files(mirror, rev, "litgpt/finetune"):
        params = function_params(source(mirror, rev, path), "setup")
        sections[""] |= set(params)
        for key, annotation in params.items():
            for cls in section_classes(annotation, classes):
                sections.setdefault(key, set()).update(fields_of(classes, cls))
    return Read(sections)


def _olmo(mirror: str, rev: str) -> Read:
    return Read(sections_from(index_classes([source(mirror, rev, "olmo/config.py")]), ["TrainConfig"]))


def _llmfoundry(mirror: str, rev: str) -> Read:
    classes = index_classes([source(mirror, rev, "llmfoundry/utils/config_utils.py")])
    return Read({"": set(fields_of(classes, "TrainConfig"))})


def _nanotron(mirror: str, rev: str) -> Read:
    classes = index_classes(source(mirror, rev, p) for p in files(mirror, rev, "src/nanotron/config"))
    return Read(sections_from(classes, ["Config"], depth=2))


def _neox(mirror: str, rev: str) -> Read:
    paths = ["megatron/neox_arguments/neox_args.py", "megatron/neox_arguments/deepspeed_args.py"]
    classes = index_classes(source(mirror, rev, p) for p in paths)
    return Read({"": {key for name in classes for key in fields_of(classes, name)}})


def _deepspeed(mirror: str, rev: str) -> Read:
    """DeepSpeed has no class for its top level: the keys are what runtime/config.py and the getters it
    hands the whole dict to read from it (`param_dict[X]`, `X in param_dict`, `param_dict.get(X)`,
    `get_scalar_param(param_dict, X, ...)`), X a string or a constant of the config modules.
    `zero_optimization` is the pydantic DeepSpeedZeroConfig (fields and aliases) and its offload models."""
    paths = [p for p in files(mirror, rev, "deepspeed", r"(config|constants|config_utils)\.py$")]
    trees = {p: ast.parse(source(mirror, rev, p) or "") for p in paths}
    constants: dict[str, str] = {}
    functions: dict[str, ast.FunctionDef] = {}
    for tree in trees.values():
        for node in tree.body:
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
                constants.update({t.id: node.value.value for t in node.targets if isinstance(t, ast.Name)})
            elif isinstance(node, ast.FunctionDef):
                functions[node.name] = node
            elif isinstance(node, ast.ClassDef):
                functions.update({node.name: f for f in node.body if isinstance(f, ast.FunctionDef) and f.name == "__init__"})
    keys: set[str] = set()
    seen: set[tuple[int, str]] = set()
    runtime = trees.get("deepspeed/runtime/config.py")
    # DeepSpeedConfig's methods hold the whole dict as `param_dict` (_initialize_params) or self._param_dict
    config_class = [node for node in ast.walk(runtime) if isinstance(node, ast.ClassDef)
                    and node.name == "DeepSpeedConfig"] if runtime else []
    for func in (f for cls in config_class for f in cls.body if isinstance(f, ast.FunctionDef)):
        for param in ("param_dict", "_param_dict"):
            _dict_reads(func, param, constants, functions, keys, seen)
    classes = index_classes(source(mirror, rev, p) for p in paths + files(mirror, rev, "deepspeed/runtime/zero", r"offload_config\.py$"))
    zero = sections_from(classes, ["DeepSpeedZeroConfig"], prefix="zero_optimization")
    return Read({"": keys, **zero})


def _dict_reads(func: ast.FunctionDef, param: str, constants: dict[str, str], functions: dict[str, ast.FunctionDef],
                keys: set[str], seen: set[tuple[int, str]]) -> None:
    """The keys `func` reads from its argument `param` (the whole DeepSpeed dict), following the calls
    that pass that dict on."""
    if (id(func), param) in seen:
        return
    seen.add((id(func), param))
    loops: dict[str, list[str]] = {}  # `for key in ("a", B)` -> the strings `key` stands for

    def strings(node: ast.expr) -> list[str]:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return [node.value]
        if isinstance(node, ast.Name):
            return [constants[node.id]] if node.id in constants else loops.get(node.id, [])
        return []

    for node in ast.walk(func):
        if isinstance(node, (ast.For, ast.comprehension)) and isinstance(node.target, ast.Name) \
                and isinstance(node.iter, (ast.Tuple, ast.List)):
            loops[node.target.id] = [text for e in node.iter.elts for text in strings(e)]
    positional = func.args.args[len(func.args.args) - len(func.args.defaults):]
    for arg, default in zip(positional, func.args.defaults):  # `def f(param_dict, key=CONSTANT)`
        loops[arg.arg] = strings(default)

    def is_param(node: ast.expr) -> bool:
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "keys":
            node = node.func.value
        return (isinstance(node, ast.Name) and node.id == param) or \
            (isinstance(node, ast.Attribute) and node.attr == param)

    # `param_dict = param_dict[X]` makes it a sub-dict: only what comes before is read from the whole one
    cut = min((node.lineno for node in ast.walk(func) if isinstance(node, ast.Assign)
               and any(isinstance(t, ast.Name) and t.id == param for t in node.targets)), default=None)
    for node in ast.walk(func):
        if cut is not None and getattr(node, "lineno", 0) > cut:
            continue
        if isinstance(node, ast.Subscript) and is_param(node.value):
            keys.update(strings(node.slice))
        elif isinstance(node, ast.Compare) and any(isinstance(op, (ast.In, ast.NotIn)) for op in node.ops) \
                and is_param(node.comparators[-1]):
            keys.update(strings(node.left))
        elif isinstance(node, ast.Call):
            if isinstance(node.func, ast.Attribute) and node.func.attr == "get" and is_param(node.func.value) and node.args:
                keys.update(strings(node.args[0]))
            elif len(node.args) >= 2 and is_param(node.args[0]) and _name(node.func).startswith("get_") \
                    and _name(node.func).endswith("_param"):
                keys.update(strings(node.args[1]))
            else:
                callee = functions.get(_name(node.func))
                for index, arg in enumerate(node.args):
                    if is_param(arg) and callee is not None:
                        params = [a.arg for a in callee.args.args if a.arg != "self"]
                        if index < len(params):
                            _dict_reads(callee, params[index], constants, functions, keys, seen)


# Megatron-LM: the flags its training scripts parse (megatron/training/arguments.py; megatron/arguments.py
# before core 0.6). Before core 0.16 every flag is an `add_argument` literal; since then most come from
# dataclasses through ArgumentGroupFactory (megatron/training/argument_utils.py): `--field-name`, a bool
# field defaulting to True as `--no-field-name` and `--disable-field-name`, `argparse_meta` "arg_names"
# overriding the name, the factory's `exclude=[...]` and `field(init=False)` left out.
_MEGATRON_ARGUMENTS = ("megatron/training/arguments.py", "megatron/arguments.py")


def megatron_flags(arguments: str, dataclass_fields: Callable[[str], list[tuple[str, ast.expr, Optional[ast.expr]]]]) -> set[str]:
    """The flags an arguments.py defines; `dataclass_fields(name)` gives a factory's dataclass fields
    (name, annotation, default value expression), bases first."""
    tree = ast.parse(arguments)
    flags: set[str] = set()
    for scope in [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)]:
        # `exclude=exclude`: the list the function assigns to that name (TransformerConfig's callables)
        lists = {t.id: n.value for n in ast.walk(scope) if isinstance(n, ast.Assign)
                 and isinstance(n.value, (ast.List, ast.Tuple)) for t in n.targets if isinstance(t, ast.Name)}
        for node in ast.walk(scope):
            if not isinstance(node, ast.Call):
                continue
            if isinstance(node.func, ast.Attribute) and node.func.attr == "add_argument":
                named = {a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)
                         and a.value.startswith("--")}
                flags |= named
                if any(kw.arg == "action" and _name(kw.value) == "BooleanOptionalAction" for kw in node.keywords):
                    flags |= {f"--no-{flag[2:]}" for flag in named}  # argparse adds the negation (`--no-rl-...`)
            elif _name(node.func) == "ArgumentGroupFactory" and node.args and isinstance(node.args[0], ast.Name):
                excluded: set[str] = set()
                for kw in node.keywords:
                    listed = lists.get(kw.value.id) if isinstance(kw.value, ast.Name) else kw.value
                    if kw.arg == "exclude" and isinstance(listed, (ast.List, ast.Tuple)):
                        excluded |= {e.value for e in listed.elts if isinstance(e, ast.Constant)}
                for name, annotation, value in dataclass_fields(node.args[0].id):
                    if name not in excluded:
                        flags |= _factory_flags(name, annotation, value)
    return flags


def _factory_flags(name: str, annotation: ast.expr, value: Optional[ast.expr]) -> set[str]:
    if _name(annotation) == "ClassVar":
        return set()
    default = value
    if isinstance(value, ast.Call) and _name(value.func) == "field":
        keywords = {kw.arg: kw.value for kw in value.keywords}
        init = keywords.get("init")
        if isinstance(init, ast.Constant) and init.value is False:
            return set()
        meta = keywords.get("metadata")
        if isinstance(meta, ast.Dict):
            for key, item in zip(meta.keys, meta.values):
                if isinstance(key, ast.Constant) and key.value == "argparse_meta" and isinstance(item, ast.Dict):
                    for k, v in zip(item.keys, item.values):
                        if isinstance(k, ast.Constant) and k.value == "arg_names" and isinstance(v, (ast.List, ast.Tuple)):
                            return {e.value for e in v.elts if isinstance(e, ast.Constant)}
        default = keywords.get("default")
    flag = name.replace("_", "-")
    text = ast.unparse(annotation).replace(" ", "")
    is_bool = text in ("bool", "Optional[bool]", "bool|None", "None|bool")
    if is_bool and isinstance(default, ast.Constant) and default.value is True:
        return {f"--no-{flag}", f"--disable-{flag}"}
    return {f"--{flag}"}


def _megatron(mirror: str, rev: str) -> Read:
    path = next(p for p in _MEGATRON_ARGUMENTS if show(mirror, rev, p) is not None)
    parsed: dict[str, ast.ClassDef] = {}

    def find(name: str) -> Optional[ast.ClassDef]:
        if name not in parsed:
            try:
                hits = git(mirror, "grep", "-l", "-E", f"^class {name}\\b", rev, "--", "megatron").split()
            except subprocess.CalledProcessError:
                hits = []
            for hit in hits:
                tree = ast.parse(source(mirror, rev, hit.split(":", 1)[1]))
                for node in ast.walk(tree):
                    if isinstance(node, ast.ClassDef) and node.name == name:
                        parsed[name] = node
            parsed.setdefault(name, None)
        return parsed[name]

    def dataclass_fields(name: str, seen: Optional[set[str]] = None) -> list[tuple[str, ast.expr, Optional[ast.expr]]]:
        seen = seen if seen is not None else set()
        node = find(name)
        if node is None or name in seen:
            return []
        seen.add(name)
        out = [f for base in node.bases if _name(base) for f in dataclass_fields(_name(base), seen)]
        own = [(n.target.id, n.annotation, n.value) for n in node.body
               if isinstance(n, ast.AnnAssign) and isinstance(n.target, ast.Name)]
        names = {f[0] for f in own}
        return [f for f in out if f[0] not in names] + own

    return Read({"": megatron_flags(source(mirror, rev, path), dataclass_fields)})


def source(mirror: str, rev: str, path: str) -> str:
    """A file of a release; one that does not parse is said on stderr (its classes are then missing)."""
    text = show(mirror, rev, path) or ""
    try:
        ast.parse(text)
    except SyntaxError as error:
        print(f"warning: {rev}:{path} does not parse ({error}); its keys are left out", file=sys.stderr)
    return text


@dataclass
class Release:
    label: str  # the version the release is (a tag's number, or the version its source declares)
    rev: str  # a tag or commit


def _releases(*items: str) -> list[Release]:
    """"v0.5.0" -> Release("0.5.0", "v0.5.0"); "6edf2418=2.0" -> the commit read as release 2.0."""
    out = []
    for item in items:
        rev, _, label = item.partition("=")
        out.append(Release(label or rev.lstrip("v"), rev))
    return out


@dataclass
class Spec:
    dist: str
    releases: list[Release]
    read: Callable[[str, str], Read]  # (mirror, rev) -> what that release reads
    what: str  # the docstring's words on what is read
    # Renames the release notes and code make plain but no validator names (old key -> new key).
    renames: dict[str, str] = field(default_factory=dict)
    # Unreleased commits whose keys are known (never typos) but never a version boundary.
    unreleased: tuple[str, ...] = ("HEAD",)
    tail: Optional[Callable[[str], list[str]]] = None  # extra module lines (mirror -> lines)


def _kept_tail(module: str) -> Callable[[str], list[str]]:
    """The lines a dialect's key module keeps below `HAND_WRITTEN` (its defaults by release, written from the source
    by hand), carried over as they are when the table above them is generated again."""
    def tail(_mirror: str) -> list[str]:
        path = Path(__file__).resolve().parent.parent / "pretrain_doctor" / "dialects" / module
        text = path.read_text() if path.exists() else ""  # a new table: nothing written by hand yet
        start = text.find(HAND_WRITTEN)
        return text[start:].rstrip("\n").split("\n") if start >= 0 else []
    return tail


HAND_WRITTEN = "# --- written by hand below"


def _swift(mirror: str, rev: str) -> Read:
    """ms-swift's argument dataclasses: 2.x swift/llm/utils/argument.py, 3.x swift/llm/argument/ (over transformers'
    Seq2SeqTrainingArguments), 4.x swift/arguments/ with the bases it imports from swift/trainers/,
    swift/rlhf_trainers/ and swift/ray/."""
    if files(mirror, rev, "swift/arguments"):
        # 4.x bases live beside their trainers: GRPOArgumentsMixin/VllmArguments in swift/rlhf_trainers/, RayArguments
        # in swift/ray/ (swift/ray_utils/ from 4.5)
        paths = files(mirror, rev, "swift/arguments") + ["swift/trainers/arguments.py"] + [
            path for folder in ("swift/rlhf_trainers", "swift/ray", "swift/ray_utils")
            for path in files(mirror, rev, folder, r"arg\w*\.py$")]
        roots = ["SftArguments", "PretrainArguments", "RLHFArguments"]
    elif files(mirror, rev, "swift/llm/argument"):
        paths = files(mirror, rev, "swift/llm/argument") + files(mirror, rev, "swift/trainers", r"arguments\.py$")
        roots = ["TrainArguments", "RLHFArguments"]
    else:
        paths = ["swift/llm/utils/argument.py"]
        roots = ["SftArguments", "PtArguments", "RLHFArguments"]
    classes = index_classes(source(mirror, rev, path) for path in paths)
    keys = {key for root in roots for key in fields_of(classes, root)}
    if not paths[0].endswith("argument.py"):  # 3.x and 4.x extend transformers' Seq2SeqTrainingArguments
        sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
        from pretrain_doctor.dialects.hf_keys import HF_ALL_KEYS
        from pretrain_doctor.dialects.llamafactory_keys import SEQ2SEQ_KEYS
        keys |= set(HF_ALL_KEYS) | set(SEQ2SEQ_KEYS)
    return Read({"": keys})


def _megatron_swift(mirror: str, rev: str) -> Read:
    """Megatron-SWIFT's argument dataclasses (`megatron sft|pt|rlhf`, swift/cli/_megatron/): 3.x
    MegatronTrainArguments/MegatronRLHFArguments in swift/megatron/argument/ over the BaseArguments of
    swift/llm/argument/ (not TrainArguments: no transformers TrainingArguments); 4.x MegatronSftArguments/
    MegatronPretrainArguments/MegatronRLHFArguments in swift/megatron/arguments/ over swift/arguments/' BaseArguments
    (and RayArguments in swift/ray/, swift/ray_utils/ from 4.5)."""
    if files(mirror, rev, "swift/megatron/arguments"):
        base = files(mirror, rev, "swift/arguments") + [
            path for folder in ("swift/ray", "swift/ray_utils") for path in files(mirror, rev, folder, r"arg\w*\.py$")]
        paths = base + files(mirror, rev, "swift/megatron/arguments")
        roots = ["MegatronSftArguments", "MegatronPretrainArguments", "MegatronRLHFArguments"]
    else:  # the megatron files last: their classes win a name both folders define
        paths = files(mirror, rev, "swift/llm/argument") + files(mirror, rev, "swift/megatron/argument")
        roots = ["MegatronTrainArguments", "MegatronRLHFArguments"]
    classes = index_classes(source(mirror, rev, path) for path in paths)
    return Read({"": {key for root in roots for key in fields_of(classes, root)}})


def _llamafactory_tail(mirror: str) -> list[str]:
    """What the llamafactory dialect also needs: the version read last, the transformers
    Seq2SeqTrainingArguments fields it adds, and the keys of the v1 CLI (src/llamafactory/v1/config)."""
    paths = files(mirror, "HEAD", "src/llamafactory/v1/config", r"_args\.py$")
    v1 = index_classes(source(mirror, "HEAD", p) for p in paths)
    v1_keys = sorted({key for name in v1 for key in fields_of(v1, name)})
    return [
        'LLAMAFACTORY_VERSION = RELEASES[-1]',
        "# LLaMA-Factory's TrainingArguments extend transformers' Seq2SeqTrainingArguments, whose own fields",
        "# hf_keys.py does not hold.",
        "SEQ2SEQ_KEYS = frozenset({'generation_config', 'generation_max_length', 'generation_num_beams',",
        "                          'predict_with_generate', 'sortish_sampler'})",
        "LLAMAFACTORY_KEYS = KEYS[''] | SEQ2SEQ_KEYS",
        "# LLaMA-Factory v1 (`llamafactory-cli sft|dpo|rm`, examples/v1/): the fields of",
        "# src/llamafactory/v1/config/*_args.py at HEAD.",
        "LLAMAFACTORY_V1_KEYS = frozenset({",
        *_wrapped(v1_keys, indent=4),
        "})",
    ]


SPECS: dict[str, Spec] = {
    "axolotl": Spec(
        "axolotl", _releases("v0.5.0", "v0.6.0", "v0.7.0", "v0.8.0", "v0.9.0", "v0.10.0", "v0.11.0", "v0.12.0",
                             "v0.13.0", "v0.14.0", "v0.15.0", "v0.16.0", "v0.17.0", "v0.18.0"),
        _axolotl, "the fields of `AxolotlConfigWCapabilities` and its bases (src/axolotl/utils/schemas/; "
        "utils/config/models/input/v0_4_1/ before 0.8) and of the plugins' integrations/*/args.py",
        renames={
            # 0.12 (schemas/training.py jagged_restart_*; monkeypatch/relora.py reads cfg.jagged_restart_steps)
            "relora_steps": "jagged_restart_steps", "relora_warmup_steps": "jagged_restart_warmup_steps",
            "relora_anneal_steps": "jagged_restart_anneal_steps",
            # 0.17 (validation.py check_deprecated_unsloth_fields: "Please use `lora_mlp_kernel`, ...")
            "unsloth_lora_mlp": "lora_mlp_kernel", "unsloth_lora_qkv": "lora_qkv_kernel",
            "unsloth_lora_o": "lora_o_kernel",
        }),
    "llamafactory": Spec(
        "llamafactory", _releases("v0.6.0", "v0.7.0", "v0.7.1", "v0.8.0", "v0.8.3", "v0.9.0", "v0.9.1", "v0.9.2",
                                  "v0.9.3", "v0.9.4", "v0.9.5", "HEAD=0.9.6.dev0"),
        _llamafactory, "the fields of every argument dataclass in src/llamafactory/hparams/ "
        "(src/llmtuner/hparams/ before 0.8); transformers' own keys are in hf_keys.py",
        renames={
            # 0.8.0 finetuning_args.py: the preference losses share pref_* (RLHFArguments)
            "dpo_beta": "pref_beta", "dpo_ftx": "pref_ftx", "dpo_loss": "pref_loss", "orpo_beta": "pref_beta",
            # 0.7.1 finetuning_args.py FreezeArguments
            "num_layer_trainable": "freeze_trainable_layers", "name_module_trainable": "freeze_trainable_modules",
            # 0.9.2 data_args.py / model_args.py: resolutions became pixel counts
            "image_resolution": "image_max_pixels", "video_resolution": "video_max_pixels",
        },
        unreleased=(), tail=_llamafactory_tail),
    "litgpt": Spec(
        "litgpt", _releases("v0.3.1", "v0.4.0", "v0.4.5", "v0.4.10", "v0.4.13", "v0.5.0", "v0.5.4", "v0.5.8",
                            "v0.5.11", "v0.5.13"),
        _litgpt, "the parameters of `setup()` in litgpt/pretrain.py and litgpt/finetune/*.py (jsonargparse "
        "makes them the config's keys) and the fields of the litgpt/args.py dataclasses they are",
        renames={  # 0.4.0: the optimizer became its own argument (`optimizer: AdamW` + init_args)
            "train.learning_rate": "optimizer", "train.weight_decay": "optimizer", "train.beta1": "optimizer",
            "train.beta2": "optimizer",
        }),
    "olmo": Spec(
        "ai2-olmo", _releases("v0.2.0", "v0.3.0", "v0.4.0", "v0.5.0", "v0.5.1", "v0.6.0"),
        _olmo, "the fields of `TrainConfig` in olmo/config.py and of the config classes its fields are"),
    "llmfoundry": Spec(
        "llm-foundry", _releases("v0.10.0", "v0.11.0", "v0.12.0", "v0.13.0", "v0.14.0", "v0.15.0", "v0.16.0",
                                 "v0.17.0", "v0.18.0", "v0.19.0", "v0.20.0", "v0.21.0", "HEAD=0.22.0.dev0"),
        _llmfoundry, "the fields of `TrainConfig` in llmfoundry/utils/config_utils.py (the dataclass "
        "scripts/train/train.py checks a YAML against since 0.10; any other top-level key stops the run)",
        unreleased=()),
    "nanotron": Spec(
        "nanotron", _releases("v0.1", "v0.2", "v0.3", "v0.4", "v0.5"),
        _nanotron, "the fields of `Config` in src/nanotron/config/config.py and of the config classes its "
        "sections are, two levels down",
        renames={  # 0.5: Adam's settings moved under optimizer_factory; data under data_stages
            "optimizer.adam_beta1": "optimizer.optimizer_factory.adam_beta1",
            "optimizer.adam_beta2": "optimizer.optimizer_factory.adam_beta2",
            "optimizer.adam_eps": "optimizer.optimizer_factory.adam_eps",
            "optimizer.torch_adam_is_fused": "optimizer.optimizer_factory.torch_adam_is_fused",
            "data": "data_stages",
        }),
    "deepspeed": Spec(
        "deepspeed", _releases("v0.9.0", "v0.10.0", "v0.11.0", "v0.12.0", "v0.13.0", "v0.14.0", "v0.15.0", "v0.16.0",
                               "v0.17.0", "v0.18.0", "v0.19.0", "v0.19.5"),
        _deepspeed, "the top-level keys deepspeed/runtime/config.py and the getters it passes the whole dict to "
        "read (`param_dict[X]`, `X in param_dict`, `param_dict.get(X)`, `get_scalar_param(param_dict, X)`), and "
        "the fields and aliases of the pydantic DeepSpeedZeroConfig (`zero_optimization`) and its offload models"),
    "megatron": Spec(
        "megatron-core", _releases(*(f"core_v{v}={v}" for v in ("0.4.0", "0.6.0", "0.8.0", "0.10.0", "0.12.0", "0.13.0",
                                                               "0.14.0", "0.15.0", "0.16.0", "0.17.0", "0.18.0", "0.19.0"))),
        _megatron, "the flags megatron/training/arguments.py (megatron/arguments.py before 0.6) defines: its "
        "`add_argument` literals and, since 0.16, the dataclass fields its ArgumentGroupFactory calls turn into "
        "flags (`--field-name`; a bool defaulting to True as `--no-`/`--disable-field-name`; argparse_meta "
        "arg_names; exclude= and init=False left out). NVIDIA/Megatron-LM tags core_v0.x, versions of the "
        "megatron-core package"),
    "swift": Spec(
        "ms-swift", _releases("v2.0.0", "v2.2.0", "v2.4.0", "v2.6.1", "v3.0.0", "v3.2.2", "v3.4.0", "v3.6.0", "v3.8.0",
                              "v3.10.0", "v3.12.6", "v4.0.0", "v4.2.0", "v4.5.2"),
        _swift, "the fields of SftArguments/PtArguments/RLHFArguments in swift/llm/utils/argument.py (2.x), of "
        "TrainArguments/RLHFArguments and their bases in swift/llm/argument/ and swift/trainers/arguments.py (3.x), of "
        "SftArguments/PretrainArguments/RLHFArguments in swift/arguments/ and the bases it imports from "
        "swift/trainers/arguments.py, swift/rlhf_trainers/ and swift/ray/ (4.x); 3.x "
        "and 4.x also read every key of transformers' Seq2SeqTrainingArguments (hf_keys.py), counted here as theirs",
        renames={"sft_type": "train_type", "model_id_or_path": "model", "dtype": "torch_dtype",
                 "batch_size": "per_device_train_batch_size", "quantization_bit": "quant_bits",
                 "dataset_test_ratio": "split_dataset_ratio", "lora_target_modules": "target_modules",
                 "train_type": "tuner_type", "lora_lr_ratio": "lorap_lr_ratio",
                 "eval_batch_size": "per_device_eval_batch_size", "use_flash_attn": "attn_impl",
                 "neftune_alpha": "neftune_noise_alpha", "init_lora_weights": "init_weights",
                 "lora_bias_trainable": "lora_bias"},
        unreleased=(), tail=_kept_tail("swift_keys.py")),
    "megatron_swift": Spec(
        "ms-swift", _releases(*(f"v{v}" for v in ("3.3.0", "3.4.0", "3.5.0", "3.6.0", "3.7.0", "3.8.0", "3.9.0", "3.10.0",
                                                 "3.11.0", "3.12.6", "4.0.0", "4.1.0", "4.2.0", "4.3.0", "4.4.0",
                                                 "4.5.2"))),
        _megatron_swift, "the fields of Megatron-SWIFT's MegatronTrainArguments/MegatronRLHFArguments and their bases "
        "in swift/megatron/argument/ and swift/llm/argument/ (3.3-3.12; 3.3 is the first release with the `megatron` "
        "console script), of MegatronSftArguments/MegatronPretrainArguments/MegatronRLHFArguments in "
        "swift/megatron/arguments/ over swift/arguments/ (4.x); no transformers TrainingArguments",
        renames={  # 4.0 swift/megatron/arguments/megatron_args.py: Megatron-LM's names became ms-swift's own
            "save": "output_dir", "save_interval": "save_steps", "eval_interval": "eval_steps",
            "max_epochs": "num_train_epochs", "load": "mcore_model", "train_type": "tuner_type",
            "num_workers": "dataloader_num_workers", "log_interval": "logging_steps", "adapter_load": "mcore_adapter",
            "ref_load": "mcore_ref_model", "ref_adapter_load": "mcore_ref_adapter"},
        unreleased=(), tail=_kept_tail("megatron_swift_keys.py")),
    "neox": Spec(
        "gpt-neox", _releases("v1.0", "6edf2418=2.0"),
        _neox, "the fields of the NeoXArgs* dataclasses in megatron/neox_arguments/neox_args.py and "
        "deepspeed_args.py (2.0 as of 6edf2418, the same day: the v2.0 tag's deepspeed_args.py does not parse)"),
}


# -- the table -----------------------------------------------------------------------------------
def read_all(spec: Spec, mirror: str) -> tuple[list[tuple[Release, str, Read]], list[tuple[str, Read]]]:
    releases = [(release, _commit(mirror, release.rev), spec.read(mirror, release.rev)) for release in spec.releases]
    released = {commit for _, commit, _ in releases}
    unreleased = [(_commit(mirror, rev), spec.read(mirror, rev)) for rev in spec.unreleased
                  if _commit(mirror, rev) not in released]
    return releases, unreleased


def _commit(mirror: str, rev: str) -> str:
    return git(mirror, "log", "-1", "--format=%h %cs", rev).strip()


def _dotted(section: str, key: str) -> str:
    return f"{section}.{key}" if section else key


def changes(releases: list[tuple[Release, str, Read]], renames: dict[str, str]) -> dict[str, tuple]:
    """dotted key -> (since, before, until, last, replacement, note) for keys only some releases read.

    A key missing from releases between two that read it is taken as read throughout (never judged)."""
    labels = [release.label for release, _, _ in releases]
    having: dict[str, list[int]] = {}
    for index, (_, _, read) in enumerate(releases):
        for section, keys in read.sections.items():
            for key in keys:
                having.setdefault(_dotted(section, key), []).append(index)
    for _, _, read in releases:
        renames = {**read.renamed, **renames}
    inverse = {new: old for old, new in renames.items()}
    out: dict[str, tuple] = {}
    for key, indices in sorted(having.items()):
        first, last = min(indices), max(indices)
        added, removed = first > 0, last < len(labels) - 1
        if not added and not removed:
            continue
        replacement = renames.get(key) if removed else inverse.get(key)
        if replacement is not None and replacement.split(".")[0] not in having:
            replacement = None
        out[key] = (labels[first] if added else None, labels[first - 1] if added else None,
                    labels[last + 1] if removed else None, labels[last] if removed else None, replacement, "")
    return out


def render(name: str, spec: Spec, releases: list[tuple[Release, str, Read]], unreleased: list[tuple[str, Read]],
           table: dict[str, tuple], mirror: str) -> str:
    union: Sections = {}
    for read in [r for _, _, r in releases] + [r for _, r in unreleased]:
        for part in (read.sections, read.declared):
            for section, keys in part.items():
                union.setdefault(section, set()).update(keys)
    read_at = ", ".join(f"{release.label} ({commit})" for release, commit, _ in releases)
    also = "".join(f"; keys of the unreleased {commit} are known but judged by no version" for commit, _ in unreleased)
    lines = [
        f'"""The keys {name} reads, per section, at the releases read, and the keys only some of them read.',
        "",
        *textwrap.wrap(f"Generated by `python tools/trainer_keys.py {name} MIRROR` from {name}'s own source "
                       f"(parsed with `ast`, never imported): {spec.what}; at {read_at}{also}.", 110),
        "",
        "A key outside every set is only a typo candidate; a key in CHANGES is judged against the trainer",
        "version (since/before: the first release read with it and the one before; until/last: the first",
        "release read without it again and the last with it; a version between two releases read is never",
        "judged).",
        '"""',
        "",
        f"TRAINER = {spec.dist!r}",
        "RELEASES = (",
        *_wrapped([release.label for release, _, _ in releases], indent=4),
        ")",
        "",
        "KEYS: dict[str, frozenset[str]] = {",
    ]
    for section in sorted(s for s in union if union[s]):  # an enum-typed field is no section
        lines.append(f"    {section!r}: frozenset({{")
        lines.extend(_wrapped(sorted(union[section]), indent=8))
        lines.append("    }),")
    lines += ["}", "", "# dotted key -> (since, before, until, last, replacement, note)", "CHANGES = {"]
    lines += [f"    {key!r}: {row!r}," for key, row in table.items()]
    lines += ["}", ""]
    if spec.tail:
        lines += [*spec.tail(mirror), ""]
    return "\n".join(lines)


def _wrapped(words: list[str], indent: int, width: int = 110) -> list[str]:
    lines, line = [], " " * indent
    for word in words:
        item = f"{word!r}, "
        if len(line) + len(item) > width and line.strip():
            lines.append(line.rstrip())
            line = " " * indent
        line += item
    if line.strip():
        lines.append(line.rstrip())
    return lines


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("trainer", choices=sorted(SPECS))
    parser.add_argument("mirror", help="git mirror of the trainer's repository")
    parser.add_argument("--out", type=Path, help="write the module here instead of printing it")
    args = parser.parse_args(argv)
    spec = SPECS[args.trainer]
    releases, unreleased = read_all(spec, args.mirror)
    text = render(args.trainer, spec, releases, unreleased, changes(releases, spec.renames), args.mirror)
    if args.out:
        args.out.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
