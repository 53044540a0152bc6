from __future__ import annotations

from pretrain_doctor.rule import Rule


class NoSeed(Rule):
    """No random seed is set, or the seed is drawn at random at each launch.

    ## What it does
    Reports (at `info`) a plan with no seed, or one whose seed is random (for
    example `seed: null` in trainers that then draw one, or a seed taken from the
    clock). Trainers that fix a default seed (transformers: 42, nanoGPT: 1337) are
    not reported, nor is torchtitan without a seed: its `set_determinism` seeds every
    rank from rank 0's default-seeded generator, PyTorch's fixed default seed, so the
    run is the same at every launch. Nor are formats that cannot hold a seed (the
    adapter marks it unknown: a DeepSpeed JSON leaves it to the launching script).

    ## Why is this bad?
    Initialisation, data order, dropout and sampling all depend on the seed. Without a
    fixed one, a failure cannot be reproduced, two configs cannot be compared
    without seed noise on top of the change, and a resumed run cannot restore the
    data order. Seed variance alone moves fine-tuning results by several points
    (Dodge et al. 2020).

    ## Example
    ```yaml
    pretrain_doctor: 1
    optimizer: {family: adamw, lr: 3.0e-4}
    ```

    ## Use instead
    ```yaml
    pretrain_doctor: 1
    seed: 42
    optimizer: {family: adamw, lr: 3.0e-4}
    ```

    ## References
    - Dodge et al. 2020, Fine-tuning pretrained language models: weight initializations, data orders, and early stopping: https://arxiv.org/abs/2002.06305
    - PyTorch reproducibility notes: https://docs.pytorch.org/docs/stable/notes/randomness.html
    """

    code = "PD803"
    slug = "no-seed"
    severity = "info"

    def check(self, plan):
        if "seed" in plan.unknown:
            return  # the config format cannot hold a seed (a DeepSpeed JSON): the launcher sets it
        if plan.seed_is_random:
            yield self.finding(plan, "seed", "the seed is drawn at random at each launch; runs cannot be reproduced",
                               hint="set a fixed seed, e.g. `seed: 42`")
        elif plan.seed is None:
            yield self.finding(plan, "seed", "no seed is set; initialisation, data order and dropout differ on "
                               "every launch, so runs cannot be reproduced", hint="set a fixed seed, e.g. `seed: 42`")
