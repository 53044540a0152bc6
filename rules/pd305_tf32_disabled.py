from __future__ import annotations

from pretrain_doctor.rule import Rule


class Tf32Disabled(Rule):
    """fp32 training with TF32 matmuls explicitly turned off.

    ## What it does
    Reports a run that computes in fp32 (no fp16/bf16 mixed precision) and sets
    `tf32: false`. Only the explicit setting is reported; on GPUs older than Ampere
    TF32 does not exist and the setting changes nothing.

    ## Why is this bad?
    On Ampere and newer GPUs, TF32 tensor cores run fp32 matmuls several times faster
    (up to 8× on A100) with a 10-bit mantissa that is accurate enough for training;
    NVIDIA and PyTorch report no loss in final accuracy. Turning it off for an fp32
    run costs wall-clock time without changing the model.

    ## Example
    ```yaml
    tf32: false
    ```

    ## Use instead
    ```yaml
    tf32: true   # or bf16: true
    ```

    ## References
    - PyTorch notes, TF32 on Ampere devices: https://pytorch.org/docs/stable/notes/cuda.html#tensorfloat-32-tf32-on-ampere-and-later-devices
    - NVIDIA, TensorFloat-32 in the A100 GPU: https://blogs.nvidia.com/blog/tensorfloat-32-precision-format/
    """

    code = "PD305"
    slug = "tf32-disabled"
    severity = "info"

    def check(self, plan):
        prec = plan.precision
        if prec.tf32 is not False or prec.compute != "fp32":
            return
        yield self.finding(plan, "precision.tf32",
                           "fp32 matmuls with TF32 turned off: on Ampere+ GPUs they run several times slower",
                           hint="set `tf32: true`, or train in bf16 mixed precision")
