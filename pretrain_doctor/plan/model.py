"""The TrainingPlan: the one description of a run that every rule reads.

Dialect adapters fill it from a trainer's config; each field remembers where it came
from (`TrainingPlan.sources`, keyed by the field's dotted name), and facts no file can
hold stay `None` with the flag that would supply them (`TrainingPlan.unknown`).
Values are validated here, so `lr: -1` or `micro_batch_size: 0` is an error that
names its line instead of a silent wrong answer.
"""

# No `from __future__ import annotations`: pydantic would have to evaluate every field
# annotation from its string again (~2.5 ms of each `check` start-up, measured 09:00).

from typing import TYPE_CHECKING, Any, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

if TYPE_CHECKING:
    from .derive import Derived


# pydantic inspects every default factory's signature; for builtins such as `list`
# that means parsing a text signature with `tokenize` (~15 ms of `check` start-up).
def _empty_list() -> list:
    return []


def _empty_dict() -> dict:
    return {}


class Source(BaseModel):
    """Where a plan field came from."""

    model_config = ConfigDict(frozen=True)

    file: str
    line: Optional[int] = None
    column: Optional[int] = None
    key: Optional[str] = None  # the key as the file spells it, dotted
    note: Optional[str] = None  # "trainer default", "--world-size", "derived" ...


class ConfigNote(BaseModel):
    """Something only the dialect adapter can see in the raw file (a typo, a key the
    trainer ignores, two keys that exclude each other), handed to the rules that report it."""

    kind: Literal["ignored-key", "mutually-exclusive", "inconsistent", "other"]
    message: str
    hint: Optional[str] = None
    source: Optional[Source] = None
    data: dict = Field(default_factory=_empty_dict)


class _Section(BaseModel):
    # No infinite or NaN values: `lr: .inf` is nonsense, reported with its line like `lr: -1`.
    # protected_namespaces: `tokenizer.model_max_length` is a field (pydantic < 2.10 warns on `model_` names).
    model_config = ConfigDict(extra="forbid", validate_assignment=True, allow_inf_nan=False, protected_namespaces=())


Precision = Literal["fp32", "fp16", "bf16", "fp8"]


class ModelSpec(_Section):
    family: Optional[str] = None  # gpt2, llama, bert, mistral, gemma, olmo, ...
    name: Optional[str] = None  # hub id, checkpoint path or flavor name
    layers: Optional[int] = Field(None, gt=0)
    hidden_size: Optional[int] = Field(None, gt=0)
    heads: Optional[int] = Field(None, gt=0)
    kv_heads: Optional[int] = Field(None, gt=0)
    # The model code read beside the config asserts that the heads divide the width (nanoGPT's model.py `assert
    # config.n_embd % config.n_head == 0`): True, False where it does not (a port that splits no heads), None where
    # no model code was read.
    heads_asserted: Optional[bool] = None
    head_dim: Optional[int] = Field(None, gt=0)  # stated apart from hidden / heads (Qwen3, Megatron --kv-channels)
    ffn_size: Optional[int] = Field(None, gt=0)
    gated_mlp: Optional[bool] = None
    vocab_size: Optional[int] = Field(None, gt=0)  # tokens the model config declares
    embedding_rows: Optional[int] = Field(None, gt=0)  # rows of the embedding table (padded)
    max_positions: Optional[int] = Field(None, gt=0)
    position_encoding: Optional[Literal["learned", "rope", "alibi", "sinusoidal", "none"]] = None
    rope_scaling: Optional[bool] = None
    num_experts: Optional[int] = Field(None, gt=0)
    experts_per_token: Optional[int] = Field(None, gt=0)
    moe_layers: Optional[int] = Field(None, ge=0)  # layers whose MLP is the experts' (None: every layer)
    residual_moe: Optional[bool] = None  # a dense MLP beside the experts in each MoE layer (Megatron-DeepSpeed)
    expert_ffn_size: Optional[int] = None  # each routed expert's MLP width, where it is not ffn_size's
    shared_expert_ffn_size: Optional[int] = None  # the MLP every token passes beside the routed ones (DeepSeek's)
    tie_embeddings: Optional[bool] = None
    base_tie_embeddings: Optional[bool] = None  # the setting of the checkpoint we start from
    init_std: Optional[float] = Field(None, gt=0)
    dropout: Optional[float] = Field(None, ge=0, lt=1)
    torch_dtype: Optional[str] = None
    parameters: Optional[int] = Field(None, gt=0)  # stated outright (flavor tables, model cards)
    active_parameters: Optional[int] = Field(None, gt=0)  # MoE: per token, as the model card states it
    takes_images: Optional[bool] = None  # a vision-language model: images beside the text (Qwen2-VL, LLaVA, ...)
    compile: Optional[bool] = None  # torch.compile on (HF `torch_compile`, nanoGPT `compile`, torchtitan `compile.enable`)
    config_path: Optional[str] = None
    # From the model's config.json / generation_config.json (--model-config).
    bos_token_id: Optional[int] = Field(None, ge=0)
    eos_token_id: Optional[int] = Field(None, ge=0)
    pad_token_id: Optional[int] = Field(None, ge=0)
    generation_eos_token_ids: Optional[list[int]] = None
    base_max_positions: Optional[int] = Field(None, gt=0)  # of the checkpoint we start from


class Objective(_Section):
    # None: unknown, the objective of a fork's or a program's own (torchtitan-mae's masked-autoencoder image
    # pretraining, a reward model's pairwise loss) that no kind here names; `unknown["objective.kind"]` says why.
    # Rules that judge a language-model objective do not fire on it.
    kind: Optional[Literal["causal_lm", "masked_lm", "contrastive", "preference", "online_rl", "seq2seq"]] = "causal_lm"
    mlm_probability: Optional[float] = Field(None, ge=0, le=1)
    mlm_replacement: Optional[bool] = None  # 80/10/10 replacement on
    temperature: Optional[float] = Field(None, gt=0)  # contrastive
    learnable_temperature: Optional[bool] = None  # contrastive: τ is a trained parameter (CLIP)
    completion_only: Optional[bool] = None  # loss on responses only
    response_template: Optional[str] = None
    z_loss: Optional[float] = Field(None, ge=0)


class Mode(_Section):
    # partial_finetune: the pretrained model frozen, a module of the program's own trains (`trains_only`).
    kind: Literal["pretrain", "full_finetune", "partial_finetune", "lora", "qlora", "preference", "online_rl"] = "pretrain"
    resumed: bool = False  # continues a run (resume, annealing stage, load_path)
    init_from: Optional[str] = None  # checkpoint / hub id the weights start from
    lora_rank: Optional[int] = Field(None, gt=0)
    lora_alpha: Optional[float] = Field(None, gt=0)
    modules_to_save: Optional[list[str]] = None
    # The module names LoRA adapts, as PEFT matches them (a name or a dotted suffix); None when not listed or when
    # every linear layer is adapted (`all-linear`, axolotl `lora_target_linear`, LLaMA-Factory `all`).
    lora_targets: Optional[list[str]] = None
    preference_method: Optional[str] = None  # dpo, orpo, kto, apo, ...
    # online_rl: the policy learns from its own samples scored by rewards (TRL GRPO, RLOO, PPO,
    # online DPO; axolotl `rl: grpo`; LLaMA-Factory `stage: ppo`), not from a fixed preference set.
    rl_method: Optional[str] = None  # grpo, rloo, ppo, online_dpo, xpo, nash_md
    # Only a newly added module trains, the pretrained model frozen (LLaVA's stage 1 trains its
    # projector at 1e-3): the fine-tuning lr bands do not apply.
    trains_only: Optional[str] = None

    @property
    def from_scratch(self) -> bool:
        return self.kind == "pretrain" and not self.resumed and self.init_from is None

    @property
    def is_finetune(self) -> bool:
        return self.kind != "pretrain"


ADAM_FAMILY = frozenset({"adamw", "adam", "adamw_8bit", "paged_adamw", "fused_adam", "adamw_torch", "adamw_fused"})


class OptimizerSpec(_Section):
    family: Optional[str] = None  # normalised: adamw, adam, sgd, muon, lion, lamb, adafactor, shampoo, soap
    name: Optional[str] = None  # as the config spells it
    lr: Optional[float] = Field(None, gt=0)
    betas: Optional[tuple[float, float]] = None
    eps: Optional[float] = Field(None, ge=0)
    weight_decay: Optional[float] = Field(None, ge=0)
    # True when the trainer applies weight decay to norm weights and biases / to the
    # embedding (torchtitan: every parameter; nanoGPT: the tied embedding; OLMo's flags).
    decay_norm_and_bias: Optional[bool] = None
    decay_embeddings: Optional[bool] = None
    relative_step: Optional[bool] = None  # Adafactor's own lr
    mup: bool = False
    state_dtype: Optional[str] = None

    @property
    def is_adam_family(self) -> bool:
        return self.family is not None and (self.family in ADAM_FAMILY or self.family.startswith("adam"))


class ScheduleSpec(_Section):
    kind: Optional[str] = None  # cosine, linear, constant, wsd, inverse_sqrt, polynomial, ...
    warmup_steps: Optional[int] = Field(None, ge=0)
    warmup_ratio: Optional[float] = Field(None, ge=0, le=1)
    # A warmup counted in tokens (Megatron-DeepSpeed's `--lr-warmup-tokens`), as written: comparable with a run
    # given in tokens (`run.max_tokens`) where its steps are not known.
    warmup_tokens: Optional[float] = Field(None, gt=0)
    decay_steps: Optional[int] = Field(None, gt=0)  # the horizon the decay is computed over
    # WSD: the steps of the final decay, which ends at the horizon; the lr holds its peak from warmup until then.
    wsd_decay_steps: Optional[int] = Field(None, gt=0)
    # A stage-1 run that stops before its horizon on purpose: a later annealing stage finishes the decay.
    continued_by_anneal: Optional[bool] = None
    # Steps held at min_lr after the decay by design (NeMo's CosineAnnealing `constant_steps`).
    hold_steps: Optional[int] = Field(None, ge=0)
    min_lr: Optional[float] = Field(None, ge=0)
    min_lr_ratio: Optional[float] = Field(None, ge=0)


class BatchSpec(_Section):
    micro_batch_size: Optional[int] = Field(None, gt=0)
    grad_accum: Optional[int] = Field(None, gt=0)
    global_batch_size: Optional[int] = Field(None, gt=0)  # as configured (samples per optimizer step)
    data_parallel: Optional[int] = Field(None, gt=0)
    seq_len: Optional[int] = Field(None, gt=0)
    # Online RL's sampling (TRL GRPOConfig), plain ints (the dialects keep them positive): completions drawn per
    # prompt (`num_generations`), and the batch they are drawn in, across processes, or in optimizer micro-steps.
    generations: Optional[int] = None
    generation_batch_size: Optional[int] = None
    steps_per_generation: Optional[int] = None
    grad_accum_is_global: bool = False  # nanoGPT: GA is divided by the world size
    # Samples per optimizer step on ONE device as configured (axolotl `batch_size`);
    # the trainer floors GA = per_device_batch_size // micro_batch_size.
    per_device_batch_size: Optional[int] = Field(None, gt=0)
    # The loop divides each micro-batch's mean token loss by GA instead of normalising
    # by the tokens of the whole optimizer step (custom loops, litgpt finetune,
    # transformers < 4.46); None: the rule decides from dialect and trainer_version.
    loss_averaged_per_micro_batch: Optional[bool] = None


class RunLength(_Section):
    max_steps: Optional[int] = Field(None, gt=0)
    # The step a resumed run continues from, where the config names its checkpoint's step (nanotron's
    # `resume_checkpoint_path: .../4292`): the run trains the steps from there to `max_steps`.
    start_step: Optional[int] = Field(None, ge=0)
    max_tokens: Optional[float] = Field(None, gt=0)
    epochs: Optional[float] = Field(None, gt=0)
    dataset_rows: Optional[int] = Field(None, gt=0)


class PrecisionSpec(_Section):
    compute: Optional[Precision] = None  # dtype of the matmuls
    params: Optional[Precision] = None  # dtype the weights are stored and updated in
    mixed: Optional[bool] = None  # autocast with fp32 master weights
    fp16_enabled: Optional[bool] = None
    bf16_enabled: Optional[bool] = None
    tf32: Optional[bool] = None
    loss_scale: Optional[float] = Field(None, ge=0)  # 0 / None: dynamic
    initial_scale_power: Optional[int] = None
    min_loss_scale: Optional[float] = None
    # The precision each component declares, when more than one does: component ->
    # fp32/fp16/bf16/fp8, e.g. {"trainer": "bf16", "deepspeed": "fp16", "accelerate": "fp16"}
    # or NeoX {"neox.precision": "fp16", "neox.bf16": "bf16"}. Adapters set it with
    # builder.set("precision.declared_by.<component>", value, source); PD303 fires on disagreement.
    declared_by: Optional[dict[str, Precision]] = None

    @property
    def fp16(self) -> bool:
        """The run computes in fp16 or turns fp16 on (loss scaling, fp16 autocast): what several rules ask."""
        return self.compute == "fp16" or self.fp16_enabled is True


class ClippingSpec(_Section):
    max_norm: Optional[float] = Field(None, ge=0)  # 0 means off (adapters map an explicit null/None to 0)
    # The component that silently drops max_norm: "deepspeed" when an HF/axolotl run attaches
    # a DeepSpeed JSON without `gradient_clipping` (DeepSpeed then owns clipping and its
    # default is 0; axolotl#1381). Its source should point at the JSON. Read by PD206.
    ignored_by: Optional[str] = None

    @property
    def enabled(self) -> Optional[bool]:
        return None if self.max_norm is None else self.max_norm > 0


class TokenizerSpec(_Section):
    path: Optional[str] = None
    name: Optional[str] = None
    length: Optional[int] = Field(None, gt=0)  # len(tokenizer), added tokens included
    bos_token_id: Optional[int] = Field(None, ge=0)
    eos_token_id: Optional[int] = Field(None, ge=0)
    pad_token_id: Optional[int] = Field(None, ge=0)
    bos_token: Optional[str] = None
    eos_token: Optional[str] = None
    pad_token: Optional[str] = None
    padding_side: Optional[Literal["left", "right"]] = None
    added_tokens: Optional[list[str]] = None
    model_max_length: Optional[float] = None
    chat_template: Optional[str] = None
    add_bos_token: Optional[bool] = None  # encoding prepends the BOS (flag or post-processor)
    returns_attention_mask: Optional[bool] = None  # `model_input_names` includes attention_mask


class DataSplit(_Section):
    dataset: str  # hub name, builder (`json`) or path
    split: Optional[str] = None  # None: the whole dataset or file (NeoX/Megatron paths, a LLaMA-Factory entry)
    # What of `dataset` is loaded beyond its split, as the trainer hands it to `datasets.load_dataset`
    # (`name=... data_dir=... data_files=...`): two splits named alike are the same data only when this matches too.
    subset: Optional[str] = None
    key: Optional[str] = None  # dotted config key, for findings
    line: Optional[int] = None


class DataSpec(_Section):
    train: list[DataSplit] = Field(default_factory=_empty_list)
    eval: list[DataSplit] = Field(default_factory=_empty_list)
    val_fraction: Optional[float] = Field(None, ge=0, le=1)
    packing: Optional[bool] = None
    document_mask: Optional[bool] = None
    # The trainer at the judged release has a switch that masks packed documents apart (False: TRL before 0.16,
    # whose packed SFT rows are always plain causal): without one, unmasked packing is the trainer's known trade-off.
    document_mask_available: Optional[bool] = None
    # The trainer encodes the rows it renders with the chat template without the tokenizer's special tokens
    # (True: TRL's SFTTrainer from 0.17 on conversational rows), so a template's BOS is the only one.
    templated_without_special_tokens: Optional[bool] = None
    shuffle: Optional[bool] = None
    padding: Optional[Literal["max_length", "longest", "none"]] = None
    label_pad_token_id: Optional[int] = None
    # How labels are masked: by comparing with the pad id (HF DataCollatorForLanguageModeling)
    # or by position (axolotl, litgpt build -100 spans from lengths).
    label_masking: Optional[Literal["pad_id", "positional"]] = None
    # A program masks labels itself (-100 over the prompt) and its collator then rebuilds them from the input ids
    # (`DataCollatorForLanguageModeling(mlm=False)`): the call that undoes the masking, for PD505.
    labels_rebuilt_by: Optional[str] = None
    num_workers: Optional[int] = Field(None, ge=0)
    # Examples are tokenized, decoded or fetched as batches are drawn (streaming, on-the-fly
    # transforms), so loader workers overlap that work with the step; False when the trainer
    # tokenizes the whole dataset once before training (HF/TRL `dataset.map`, axolotl preprocessing).
    prepared_per_batch: Optional[bool] = None
    drop_last: Optional[bool] = None
    corpus_tokens: Optional[float] = Field(None, gt=0)
    # The trainer keeps only the first this many rows of each dataset (LLaMA-Factory `max_samples`, which its help
    # calls "for debugging purposes"): the run trains on no more.
    max_rows: Optional[int] = Field(None, gt=0)
    # The rows are raw documents concatenated as in pretraining (LLaMA-Factory `stage: pt`,
    # llm-foundry `text` loader), not examples, even when the weights start from a checkpoint.
    pretraining_text: Optional[bool] = None


class EvalSpec(_Section):
    enabled: Optional[bool] = None
    micro_batch_size: Optional[int] = None  # per device (HF `per_device_eval_batch_size`)
    generations: Optional[int] = None  # completions per prompt in online RL's evaluation (TRL `num_generations_eval`)
    strategy: Optional[str] = None  # steps, epoch, no
    interval_steps: Optional[int] = Field(None, gt=0)
    interval_fraction: Optional[float] = Field(None, gt=0, lt=1)  # every this fraction of the run (HF `eval_steps` < 1)
    generate: Optional[bool] = None  # batched generation during eval (predict_with_generate)
    # Held-out loss measured before the first step / after the last, whatever the interval (litgpt's
    # `initial_validation`, `final_validation`)
    at_start: Optional[bool] = None
    at_end: Optional[bool] = None


class CheckpointSpec(_Section):
    enabled: Optional[bool] = None
    strategy: Optional[str] = None
    interval_steps: Optional[int] = Field(None, gt=0)
    interval_fraction: Optional[float] = Field(None, gt=0, lt=1)  # every this fraction of the run (HF `save_steps` < 1)
    peer_recovery: Optional[bool] = None  # a failed replica restores from a live peer (torchft), not only from disk
    final_save: Optional[bool] = None  # False: the trainer writes no checkpoint when the run ends (nanotron)
    # True: the run resumes from the latest checkpoint in its output folder and stops at start-up where there is none
    # (HF `resume_from_checkpoint: true`, litgpt `resume: true`), so a first run cannot start
    resume_latest: Optional[bool] = None
    # Checkpoints kept on disk: 0 keeps every one (HF `save_total_limit` unset); None: not known
    keep_last: Optional[int] = Field(None, ge=0)
    weights_only: Optional[bool] = None  # True: no optimizer states are saved (HF `save_only_model`)


class ParallelSpec(_Section):
    world_size: Optional[int] = Field(None, gt=0)
    tensor: Optional[int] = Field(None, gt=0)
    pipeline: Optional[int] = Field(None, gt=0)
    context: Optional[int] = Field(None, gt=0)
    data_shard: Optional[int] = Field(None, gt=0)
    zero_stage: Optional[int] = Field(None, ge=0, le=3)
    fsdp: Optional[bool] = None
    full_shard: Optional[bool] = None
    cpu_offload: Optional[bool] = None
    # The layer classes FSDP's transformer-based auto wrap looks up in the model by name (transformers'
    # `fsdp_config.transformer_layer_cls_to_wrap`, accelerate's `fsdp_transformer_layer_cls_to_wrap`)
    fsdp_wrap_classes: Optional[list[str]] = None
    # The DeepSpeed JSON in use: the file itself (deepspeed dialect) or the one an
    # HF/axolotl config names with `deepspeed:`.
    deepspeed_config: Optional[str] = None


class ProgramSpec(_Section):
    """The program a launch script runs (`torchrun -m train ...`, `deepspeed llava/train/train_mem.py ...`).

    Its own code may decide what its arguments leave open: whether LoRA wraps the model, whether it loads
    pretrained weights, what it freezes, its precision. Where its source is at hand (beside the script or up
    the repository folder) the dialect reads it (dialects/program.py) and the plan says what it decides;
    where it is not, the plan fields it may decide are only assumed (`assumed`: field -> what was assumed),
    and rules whose premises include such a field say less (plan/reading.py `soften`).
    """

    path: Optional[str] = None  # as the script names it: `llava/train/train_mem.py`, `train` for `-m train`
    source: Optional[str] = None  # the file read for it; None: its source is not at hand
    # The YAML/JSON the script hands it as its arguments (`dpo.py recipes/dpo.yaml`, TRL's `--config FILE`), the
    # command line over it: the file read, or the script's reference when it is not at hand.
    config: Optional[str] = None
    # The program's keys the script's command line sets over `config` (`--learning_rate 2e-5`, or left to launch
    # time): a check of that config on its own leaves them to the script.
    command_line: list[str] = Field(default_factory=_empty_list)
    assumed: dict[str, str] = Field(default_factory=_empty_dict)
    # Why the `assumed` fields are only assumed where neither the program's own code nor a fork's own keys decide
    # them: a Megatron script that loads trained weights with a fresh optimizer (`--load` with `--no-load-optim`)
    # may continue pretraining or fine-tune, which only its data say. Said in the findings that soften on them.
    assumed_because: Optional[str] = None


class TrainingPlan(BaseModel):
    """Everything the doctor believes about one training run."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    dialect: str = "native"
    files: list[str] = Field(default_factory=_empty_list)
    model: ModelSpec = Field(default_factory=ModelSpec)
    objective: Objective = Field(default_factory=Objective)
    mode: Mode = Field(default_factory=Mode)
    optimizer: OptimizerSpec = Field(default_factory=OptimizerSpec)
    schedule: ScheduleSpec = Field(default_factory=ScheduleSpec)
    batch: BatchSpec = Field(default_factory=BatchSpec)
    run: RunLength = Field(default_factory=RunLength)
    precision: PrecisionSpec = Field(default_factory=PrecisionSpec)
    clipping: ClippingSpec = Field(default_factory=ClippingSpec)
    tokenizer: TokenizerSpec = Field(default_factory=TokenizerSpec)
    data: DataSpec = Field(default_factory=DataSpec)
    eval: EvalSpec = Field(default_factory=EvalSpec)
    checkpoint: CheckpointSpec = Field(default_factory=CheckpointSpec)
    parallel: ParallelSpec = Field(default_factory=ParallelSpec)
    program: ProgramSpec = Field(default_factory=ProgramSpec)
    seed: Optional[int] = None
    seed_is_random: bool = False
    debug: bool = False  # a debug / smoke-test config: short-run rules stay quiet
    trainer_version: Optional[str] = None

    # Provenance: dotted plan field -> where its value came from.
    sources: dict[str, Source] = Field(default_factory=_empty_dict)
    # Facts no file holds: dotted plan field -> the flag that would supply it.
    unknown: dict[str, str] = Field(default_factory=_empty_dict)
    # Observations about the raw file that rules report (PD002-PD004).
    notes: list[ConfigNote] = Field(default_factory=_empty_list)
    # Keys of the file that no version of the trainer we know reads (dotted, as the file spells them).
    foreign_keys: list[str] = Field(default_factory=_empty_list)
    # The words of each foreign key that is a mapping (its keys' names), for the areas it touches.
    foreign_key_words: dict[str, list[str]] = Field(default_factory=_empty_dict)
    # The plan areas (batch, schedule, run, model, checkpoint) a fork's own keys touch (plan/reading.py).
    fork_areas: list[str] = Field(default_factory=_empty_list)
    # Set when the evidence says the file is for a fork or a version we do not know (plan/reading.py):
    # the one-line decision `plan` shows; rules whose premise is the trainer's semantics then say less.
    reading: Optional[str] = None

    def source_of(self, field: str) -> Optional[Source]:
        """The source of `field`, or of the nearest section that has one."""
        parts = field.split(".")
        for end in range(len(parts), 0, -1):
            found = self.sources.get(".".join(parts[:end]))
            if found is not None:
                return found
        return None

    @property
    def starting_point_known(self) -> bool:
        """False when the format cannot say whether the weights start from scratch (a bare
        DeepSpeed JSON): rules about from-scratch pretraining then stay silent."""
        return "mode.init_from" not in self.unknown

    def located_source_of(self, field: str) -> Optional[Source]:
        """The nearest source of `field` or its sections that has a line: a finding about a
        trainer default points at the section where the key belongs (cli.md)."""
        parts = field.split(".")
        for end in range(len(parts), 0, -1):
            found = self.sources.get(".".join(parts[:end]))
            if found is not None and found.line is not None:
                return found
        return None

    def get(self, field: str) -> object:
        node: object = self
        for part in field.split("."):
            node = getattr(node, part, None)
            if node is None:
                return None
        return node

    _derived: object = PrivateAttr(default=None)
    _baseline: Optional["TrainingPlan"] = PrivateAttr(default=None)

    @property
    def baseline(self) -> Optional["TrainingPlan"]:
        """The plan of `check --baseline OTHER` (a file or `git:REF`) to compare against, or None."""
        return self._baseline

    def set_baseline(self, other: Optional["TrainingPlan"]) -> None:
        self._baseline = other

    def model_copy(self, *, update: Optional[dict[str, Any]] = None, deep: bool = False) -> "TrainingPlan":
        """A copy whose derived quantities are computed afresh: the cached ones describe the original."""
        copy = super().model_copy(update=update, deep=deep)
        copy._derived = None
        return copy

    def reset_derived(self) -> None:
        """Forget the derived quantities after a field changed (plan/reading.py drops a doubted default)."""
        self._derived = None

    @property
    def derived(self) -> "Derived":
        """Derived quantities (global batch, total steps, ...), computed once."""
        from .derive import Derived

        if self._derived is None:
            self._derived = Derived(self)
        return self._derived  # type: ignore[return-value]
