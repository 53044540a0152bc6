"""The monitor's options in one place: `MonitorOptions`, taken alike by `attach`, the
transformers `DoctorCallback` and the Lightning `DoctorCallback` (this module imports no
torch; the monitor package around it does).

    from pretrain_doctor.monitor.options import MonitorOptions
    options = MonitorOptions(log_dir="runs/exp1", sync_every=10, on_alert="stop",
                             detector_options={"PDM201": {"z_spike": 8}, "grace_steps": 50})
    doctor = pretrain_doctor.attach(model, optimizer, options=options)
    trainer = Trainer(..., callbacks=[DoctorCallback(options=options)])

The defaults live here and nowhere else: `attach`'s signature shows these same values.
An unknown option, a detector code, slug or detector option that does not exist, or a
value of the wrong kind is a `TypeError`/`ValueError` naming it, with a did-you-mean.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any, Mapping, Optional, Sequence, Union

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

ACTIONS = ("warn", "raise", "stop")
LEVELS = ("info", "warning", "error")


class MonitorOptions(BaseModel):
    """Every option of the runtime monitor, with its default (see `attach` for the use)."""

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True, frozen=True)

    log_dir: Optional[Union[str, Path]] = Field(None, description="JSONL run log (and TensorBoard) here; None: no file")
    tensorboard: bool = Field(False, description="also write TensorBoard scalars into log_dir")
    sync_every: int = Field(10, ge=1, description="steps between device->host transfers (1 = strict)")
    overhead_budget: Optional[float] = Field(
        None, gt=0, lt=1, description="e.g. 0.01: sample costly probes to stay under 1% of step time")
    on_alert: Any = Field("warn", description='"warn" | "raise" | "stop" | callable(alert)')
    select: Any = Field(None, description="detector codes, prefixes or slugs to run (as `check --select`)")
    ignore: Any = Field(None, description="detector codes, prefixes or slugs to leave out (as `check --ignore`)")
    config: Any = Field(None, description="a config path or TrainingPlan, stored in the run log header")
    scaler: Any = Field(None, description="a GradScaler with a step of its own (torch's is seen without it)")
    layer_every: int = Field(50, ge=0, description="steps between per-layer gradient and weight norms (0: off)")
    update_every: int = Field(100, ge=0, description="steps between update-ratio probes (0: off)")
    attention_every: int = Field(200, ge=0, description="steps between attention and log Z probes (0: off)")
    replica_check_every: int = Field(200, ge=0, description="steps between replica checksums (distributed)")
    action_level: str = Field("warning", description="the lowest severity on_alert acts on")
    skip_factor: float = Field(10.0, gt=1, description="should_skip_step's grad-norm spike factor")
    detectors: Optional[Any] = Field(None, description="detector instances (an iterable) instead of the defaults")
    console: bool = Field(True, description="one line per alert on stderr")
    start_step: int = Field(0, ge=0, description="resumed from the checkpoint of this step: the count goes on")
    detector_options: Mapping[str, Any] = Field(
        default_factory=dict,
        description='{"PDM201": {"z_spike": 8}} per detector code or slug, or {"grace_steps": 50} for '
                    "every detector that has the option (documented in `pretrain-doctor explain PDMxxx`)")

    @field_validator("on_alert")
    @classmethod
    def _on_alert(cls, value: Any) -> Any:
        if not callable(value) and value not in ACTIONS:
            raise ValueError(f"must be one of {ACTIONS} or a callable, not {value!r}{_did_you_mean(value, ACTIONS)}")
        return value

    @field_validator("action_level")
    @classmethod
    def _action_level(cls, value: str) -> str:
        if value not in LEVELS:
            raise ValueError(f"must be one of {LEVELS}, not {value!r}{_did_you_mean(value, LEVELS)}")
        return value

    @field_validator("detector_options")
    @classmethod
    def _detector_options(cls, value: Mapping[str, Any]) -> dict[str, Any]:
        check_detector_options(value)
        return dict(value)

    @classmethod
    def of(cls, where: str, **options: Any) -> "MonitorOptions":
        """Build from keywords; a bad one is a TypeError (unknown name) or ValueError (bad
        value), one line naming `where` and the option, not pydantic's report."""
        try:
            return cls(**options)
        except ValidationError as exc:
            raise _plain_error(where, exc) from None

    def changed(self) -> dict[str, Any]:
        """The options that differ from their defaults (for the run log header)."""
        return {name: getattr(self, name) for name in self.model_fields_set}


DEFAULTS = MonitorOptions()


def check_detector_options(options: Mapping[str, Any]) -> None:
    """Every key a detector code or slug with a mapping of that detector's options, or an
    option some detector has (it then goes to every selected detector that has it)."""
    from ..detectors import all_detector_classes

    classes = all_detector_classes()
    by_name = {**{c.code: c for c in classes}, **{c.slug: c for c in classes}}
    every_option = sorted({name for c in classes for name in c.default_options()})
    for key, value in options.items():
        cls = by_name.get(key.upper()) or by_name.get(key.replace("_", "-"))
        if cls is None:
            if key in every_option:
                continue
            raise ValueError(f"{key!r} is neither a detector code or slug nor a detector option"
                             f"{_did_you_mean(key, [*by_name, *every_option])}")
        if not isinstance(value, Mapping):
            raise ValueError(f"{key!r}: give a mapping of its options ({{'option': value}}), not {value!r}")
        allowed = sorted(cls.default_options())
        for name in value:
            if name not in allowed:
                raise ValueError(f"{cls.code} {cls.slug} has no option {name!r}{_did_you_mean(name, allowed)}; "
                                 f"its options: {', '.join(allowed)}")


def _did_you_mean(word: Any, candidates: Sequence[str]) -> str:
    close = difflib.get_close_matches(str(word), list(candidates), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _plain_error(where: str, exc: ValidationError) -> Exception:
    """The first problem pydantic found, as the one-line error a Python API raises."""
    error = exc.errors()[0]
    name = ".".join(str(part) for part in error["loc"]) or "options"
    if error["type"] == "extra_forbidden":
        return TypeError(f"{where}: unknown option {name!r}{_did_you_mean(name, list(MonitorOptions.model_fields))}")
    message = error["msg"].removeprefix("Value error, ")
    return ValueError(f"{where}: {name}: {message}")
