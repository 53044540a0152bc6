from __future__ import annotations

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
    been scheduled and the workers have started.

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
        used = [(field, name, plan.get(field)) for field, name in _DEGREES if (plan.get(field) or 1) > 1]
        if not used:
            return
        product = 1
        for _, _, degree in used:
            product *= degree
        if world % product == 0:
            return
        formula = " × ".join(f"{name} {degree}" for _, name, degree in used)
        if len(used) > 1:
            formula += f" = {product}"
        yield self.finding(
            plan, used[0][0],
            f"world size {world} is not divisible by {formula}; the device mesh cannot be built",
            hint=f"use a world size that is a multiple of {product}, or change the degrees",
        )
