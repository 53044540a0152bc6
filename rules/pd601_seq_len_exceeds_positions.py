from __future__ import annotations

from pretrain_doctor.rule import Rule


def _own_weights(plan) -> bool:
    """The weights were only ever trained by this config: from scratch, or resuming its own checkpoints."""
    return plan.mode.kind == "pretrain" and plan.mode.init_from is None and plan.starting_point_known


class SeqLenExceedsPositions(Rule):
    """Training sequences are longer than the positions the model has.

    ## What it does
    Compares the training sequence length with the model's `max_position_embeddings`
    (`n_positions`, OLMo `max_sequence_length`, nanoGPT `block_size`). Error with learned
    absolute positions (GPT-2, BERT, OPT); warning with RoPE and no `rope_scaling` when
    the weights were trained before (a from-scratch run, or one resuming its own checkpoints, learns every
    position it trains at).
    Also warns when a fine-tune raises `max_position_embeddings` above the base
    checkpoint's without a RoPE scaling factor. Needs `--model-config` when the training
    config does not state the positions.

    ## Why is this bad?
    A learned position table has exactly `max_position_embeddings` rows: position ids
    beyond it are out-of-bounds lookups (device-side assert, or nanoGPT's "Cannot forward
    sequence of length ..." assertion). RoPE computes any position, but attention at
    rotations never seen in pretraining degrades sharply; raising the number alone
    changes nothing the model learned, while a scaling factor (linear, YaRN, Llama-3's)
    maps long positions back into the trained range.

    ## Example
    ```yaml
    pretrain_doctor: 1
    model: {max_positions: 1024, position_encoding: learned}
    batch: {seq_len: 2048}
    ```

    ## Use instead
    ```yaml
    pretrain_doctor: 1
    model: {max_positions: 1024, position_encoding: learned}
    batch: {seq_len: 1024}
    ```

    ## References
    - Press et al. 2022, ALiBi: extrapolation failure of learned and rotary positions: https://arxiv.org/abs/2108.12409
    - Chen et al. 2023, position interpolation for RoPE: https://arxiv.org/abs/2306.15595
    - transformers RoPE scaling (`rope_scaling`): https://huggingface.co/docs/transformers/main/en/model_doc/llama#transformers.LlamaConfig
    """

    code = "PD601"
    slug = "seq-len-exceeds-positions"
    severity = "error"
    premises = ("batch.seq_len", "model", "mode.kind")  # a fork may mean other things by these; a launched program may decide the run kind (plan/reading.py)

    def check(self, plan):
        seq, positions = plan.batch.seq_len, plan.model.max_positions
        encoding = plan.model.position_encoding
        if seq is not None and positions is not None and seq > positions:
            yield from self._too_long(plan, seq, positions, encoding)
        elif encoding == "rope" and not plan.model.rope_scaling and not _own_weights(plan):
            base = plan.model.base_max_positions
            if base is not None and positions is not None and positions > base:
                yield self.finding(
                    plan, "model.max_positions",
                    f"max_position_embeddings is raised from the checkpoint's {base} to {positions} without a RoPE "
                    "scaling factor: positions beyond the trained range are extrapolated, not interpolated",
                    hint=f"keep {base} and set `rope_scaling` (e.g. {{type: linear, factor: {positions / base:g}}} "
                         "or YaRN)",
                    severity="warning",
                )

    def _too_long(self, plan, seq: int, positions: int, encoding):
        if encoding == "learned":
            yield self.finding(
                plan, "batch.seq_len",
                f"sequence length {seq} exceeds the model's {positions} learned positions: position ids ≥ {positions} "
                "index past the position table",
                hint=f"train at seq_len ≤ {positions}",
            )
        elif encoding == "rope" and not plan.model.rope_scaling and not _own_weights(plan):
            # From scratch, training at `seq` is what teaches those rotations; `max_position_embeddings` only
            # sizes a cache (nanotron and HF grow it): nothing is extrapolated. Resuming the run's own
            # checkpoint (nanotron `resume_checkpoint_path` = `checkpoints_path`) is the same run.
            yield self.finding(
                plan, "batch.seq_len",
                f"sequence length {seq} exceeds max_position_embeddings {positions} with RoPE and no `rope_scaling`: "
                "attention degrades at positions the model never saw",
                hint=f"train at seq_len ≤ {positions}, or add a RoPE scaling factor of {seq / positions:g}",
                severity="warning",
            )
        elif encoding is None:
            yield self.finding(
                plan, "batch.seq_len",
                f"sequence length {seq} exceeds max_position_embeddings {positions}; with learned positions this "
                "crashes, with RoPE it degrades",
                hint="pass --model-config to tell the position encoding, or train at the model's length",
                severity="warning",
            )
