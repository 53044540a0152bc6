from __future__ import annotations

from pretrain_doctor.rule import Rule


class DataloaderSettings(Rule):
    """Data-loader settings that waste accelerator time or skew the last batch.

    ## What it does
    Reports (at `info`):
    - `num_workers: 0` (HF's default `dataloader_num_workers`): batches are loaded,
      collated and padded in the training process, between optimizer steps;
    - `drop_last: false` with gradient accumulation or `torch.compile`: the last,
      smaller batch of each epoch gets a different shape and a different weight.

    ## Why is this bad?
    With no workers the GPU waits while the main process tokenizes, pads and collates
    every batch; for on-the-fly tokenization or image decoding that is often a large
    share of step time. A short final batch under gradient accumulation is averaged
    as if it were full, so its few examples get more weight than the rest, and under
    `torch.compile` the new shape triggers a recompilation (or a dynamic-shape graph)
    once per epoch.

    ## Example
    ```yaml
    dataloader_num_workers: 0
    dataloader_drop_last: false
    gradient_accumulation_steps: 8
    ```

    ## Use instead
    ```yaml
    dataloader_num_workers: 4
    dataloader_pin_memory: true
    dataloader_drop_last: true
    gradient_accumulation_steps: 8
    ```

    ## References
    - PyTorch performance tuning guide (asynchronous data loading, `num_workers`): https://docs.pytorch.org/tutorials/recipes/recipes/tuning_guide.html
    - PyTorch `DataLoader` (`num_workers`, `drop_last`): https://docs.pytorch.org/docs/stable/data.html#torch.utils.data.DataLoader
    - transformers#34191, gradient accumulation and uneven batches: https://github.com/huggingface/transformers/issues/34191
    """

    code = "PD704"
    slug = "dataloader-settings"
    severity = "info"

    def check(self, plan):
        if plan.debug:
            return
        data = plan.data
        if data.num_workers == 0:
            default = plan.sources.get("data.num_workers")
            origin = f" ({default.note})" if default is not None and default.note else ""
            yield self.finding(
                plan, "data.num_workers",
                f"the data loader has no worker processes{origin}: batches are prepared in the training process "
                "while the accelerator waits",
                hint="use a few workers (e.g. `dataloader_num_workers: 4`) with pinned memory",
            )
        accumulating = (plan.batch.grad_accum or 1) > 1
        if data.drop_last is False and (accumulating or plan.model.compile):
            reason = "gradient accumulation" if accumulating else "torch.compile"
            yield self.finding(
                plan, "data.drop_last",
                f"`drop_last` is off with {reason}: the short last batch of each epoch "
                + ("is averaged as if it were full" if accumulating else "changes the input shape and recompiles"),
                hint="turn `drop_last` on for training",
            )
