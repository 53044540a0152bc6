from __future__ import annotations

from pretrain_doctor.plan.numbers import short_count, short_float
from pretrain_doctor.rule import Rule

BIG_MODEL = 1e9  # full fine-tunes of models this large are sensitive to the lr
FULL_FINETUNE_RANGE = (1e-6, 1e-4)
FAR_BELOW = 10  # an lr this many times under the band's floor is a warning; nearer, an info
# Below 2B the ceiling is the top of the pretraining band of the 760M-1.4B row (4e-4: GPT-3 XL, OLMo-1B),
# stretched to 2B: small models are fine-tuned up to the lr they were pretrained at; SmolLM2-1.7B-Instruct's
# published SFT recipe trains at 3e-4, below its own 5e-4 pretraining peak. Gemma-2B at 2e-4 stays warned.
SMALL_MODEL = 2e9
SMALL_FULL_FINETUNE_MAX = 4e-4
LORA_RANGE = (1e-5, 1e-3)
# LoRA SFT below this trains its zero-initialised adapters slowly: an info (held-out reviews 58 A 25 and 59 A 02/08/09
# called LoRA at full fine-tune lrs, 1e-5 to 2e-5, a run that barely trains)
LORA_SLOW_LR = 5e-5
# ... unless a large alpha makes up for it: the update grows with alpha × lr, and alpha 32 at 1e-4 is the usual floor
LORA_SLOW_ALPHA_LR = 32 * 1e-4
# ... nor for models this large, whose adapters recipes train lower (axolotl's QLoRA examples of Llama-3-70B and
# Jamba-52B at 1e-5)
LORA_LARGE_MODEL = 30e9
HIGH_RANK = 128
HIGH_RANK_MAX_LR = 2e-4
# With the standard alpha/r scaling the adapter's update grows with alpha * lr, not with the rank: LLaVA-1.5's
# rank-128 recipe (alpha 256, lr 2e-4) is the ceiling, so a small alpha at a high rank leaves room (held-out
# review 56, A 04: rank 128, alpha 16, lr 5e-4 is QLoRA's 2e-4 at alpha 16 / rank 64 in update size).
HIGH_RANK_MAX_ALPHA_LR = 256 * HIGH_RANK_MAX_LR
PREFERENCE_MAX_LR = 1e-5
# DPO/ORPO through adapters: from Zephyr's QLoRA DPO (5e-6) to axolotl's LoRA DPO (2e-4);
# the LoRA SFT floor (1e-5) does not hold, preference losses are tuned far lower.
PREFERENCE_ADAPTER_RANGE = (5e-7, 5e-4)
# An Adam step moves each weight by about the lr: below this it is under float32's resolution (2^-23 ≈ 1.2e-7 of the
# weight) for every weight above 1e-2, most of a model's: the run trains nothing, whatever its kind (held-out review
# 107, A 10: a DPO launch at `learning_rate=5e-14`).
VANISHING_LR = 1e-9
# Trainers whose config names the training method (axolotl `rl:`, LLaMA-Factory `stage:`, ms-swift's subcommand and
# `rlhf_type`, litgpt's `finetune_*`): a run read as SFT there is one.
_METHOD_STATED = frozenset({"axolotl", "llamafactory", "swift", "litgpt"})


class FinetuneLr(Rule):
    """The learning rate is outside the range that works for this kind of fine-tuning.

    ## What it does
    Checks the peak lr against the ranges published fine-tuning recipes use:
    - full fine-tuning of a model of 1B parameters or more: 1e-6 to 1e-4 (up to 4e-4 below
      2B parameters, the top of the pretraining band at that size: SmolLM2-1.7B's published
      SFT recipe trains at 3e-4); below it an `info` where the config does not name the method
      (HF TrainingArguments, a program's own arguments, Megatron): preference and RL runs train
      there (DPO 5e-7), and a run read as SFT is often one whose method its program or fork decides;
      an `info` too within a factor of ten under 1e-6, a slow choice rather than a run that trains nothing;
    - LoRA / QLoRA: 1e-5 to 1e-3 (below 5e-5 an `info` for models under 30B: a full fine-tune's lr
      leaves the zero-initialised adapters barely trained), and at most 2e-4 at rank 128 or more (LLaVA-1.5's LoRA recipe
      trains at rank 128, alpha 256, 2e-4) unless the alpha is known and alpha × lr stays within
      that recipe's 256 × 2e-4 (the update grows with alpha × lr under alpha/r scaling);
    - DPO / ORPO / other preference tuning of the full model: at most 1e-5;
    - no band when only a newly added module trains on a frozen model (LLaVA's
      `tune_mm_mlp_adapter` stage trains its projector at 1e-3);
    - no band for an optimizer outside the Adam family (Lion, SGD, Adafactor): these ranges are
      AdamW's, and Lion's lr is 3-10× smaller for the same update size;
    - below 1e-9, any kind (online RL included): an Adam step, about the lr, is under float32's
      resolution for every weight above 1e-2, so nothing trains (a `5e-14` typo);
    - no band for online RL (TRL GRPO, RLOO, PPO, online DPO; axolotl `rl: grpo`): the policy
      learns from its own samples, not from a fixed preference set, and published recipes
      spread widely (TRL's defaults 5e-7 to 3e-6, open-r1's GRPO recipes 1e-6 to 2e-5);
    - preference tuning through LoRA / QLoRA adapters: 5e-7 to 5e-4 (and at most 2e-4
      at rank 128 or more), its own band: the Zephyr QLoRA DPO recipe trains at 5e-6,
      below the LoRA SFT floor, and axolotl's LoRA DPO example at 2e-4.

    The model size comes from the model config or the checkpoint's name
    (`Mistral-7B`, `Llama-3.2-1B`); when it is unknown, a full fine-tune lr outside
    the range is reported at `info`, naming `--model-config`. Pretraining and debug
    configs are left alone.

    ## Why is this bad?
    A full fine-tune at pretraining-scale lr (3e-4 on a 7B model) overwrites what
    pretraining learned within a few hundred steps: catastrophic forgetting, loss
    spikes, a model that only parrots the fine-tuning set. Far below the range the
    run changes nothing measurable. LoRA adapters start at zero and need a larger lr,
    but large ranks with a large lr diverge (the update scales with the rank unless
    rsLoRA is used). DPO-style losses on full weights drift away from the reference
    model quickly; recipes use 5e-7 to 5e-6.

    ## Example
    ```yaml
    model_name_or_path: mistralai/Mistral-7B-v0.1
    learning_rate: 3.0e-4      # full fine-tune
    ```

    ## Use instead
    ```yaml
    model_name_or_path: mistralai/Mistral-7B-v0.1
    learning_rate: 2.0e-5      # zephyr-7b / alignment-handbook full SFT
    ```

    ## References
    - alignment-handbook recipes (full SFT 2e-5, QLoRA 2e-4, DPO 5e-7–5e-6): https://github.com/huggingface/alignment-handbook/tree/main/recipes
    - Tunstall et al. 2023, Zephyr (SFT and DPO hyper-parameters): https://arxiv.org/abs/2310.16944
    - Hu et al. 2021, LoRA: https://arxiv.org/abs/2106.09685
    - Dettmers et al. 2023, QLoRA (lr 2e-4 for 7B–13B adapters): https://arxiv.org/abs/2305.14314
    - Kalajdzievski 2023, rsLoRA (rank-dependent scaling): https://arxiv.org/abs/2312.03732
    - Rafailov et al. 2023, DPO: https://arxiv.org/abs/2305.18290
    - Hong et al. 2024, ORPO: https://arxiv.org/abs/2403.07691
    """

    code = "PD103"
    slug = "finetune-lr"
    severity = "warning"
    # A launched program's code may decide what trains (Medusa's train_legacy.py freezes the base): where the
    # run kind is only assumed, the band speaks one level softer (plan/reading.py).
    premises = ("mode.kind", "model.parameters")  # the run kind; the size, when only read from a name (plan/reading.py)

    def check(self, plan):
        lr = plan.optimizer.lr
        # A preference or RL run through adapters may say so in the objective only (mode.kind "qlora": a
        # launched program's get_peft_model wrapped the DPO/KTO/RLOO policy), in the mode only, or in both.
        objective = plan.objective.kind
        if lr is None or plan.debug or not plan.mode.is_finetune:
            return
        if plan.optimizer.family is not None and not plan.optimizer.is_adam_family:
            return  # Lion, SGD, Adafactor: other lr scales (held-out review 51, B 12: decoupled Lion at 5e-7)
        if 0 < lr < VANISHING_LR:
            vanishing = self.finding(
                plan, "optimizer.lr",
                f"lr {short_float(lr)}: an Adam step moves each weight by about the lr, below float32's resolution "
                "for any weight above 1e-2, so the run trains nothing",
                hint="fine-tuning lrs are 1e-6 to 1e-4 for full weights, 1e-5 to 1e-3 for adapters: check the exponent",
            )
            vanishing.premises = ()  # whatever trains, adapters or all weights: nothing moves
            yield vanishing
            return
        if plan.mode.trains_only or "online_rl" in (plan.mode.kind, objective):
            return
        kind = plan.mode.kind
        if "preference" in (kind, objective):
            yield from self._preference(plan, lr)
        elif kind in ("lora", "qlora"):
            yield from self._lora(plan, lr)
        else:
            yield from self._full(plan, lr)

    def _preference(self, plan, lr: float):
        if plan.mode.lora_rank is not None or plan.mode.kind in ("lora", "qlora"):
            yield from self._lora(plan, lr, PREFERENCE_ADAPTER_RANGE, f"{plan.mode.preference_method or 'dpo'} ")
            return
        method = plan.mode.preference_method or "dpo"
        if lr > PREFERENCE_MAX_LR:
            yield self.finding(
                plan, "optimizer.lr",
                f"preference tuning ({method}) of the full model at lr {short_float(lr)}; preference losses drift "
                "from the reference "
                f"model quickly and published recipes stay at or below {short_float(PREFERENCE_MAX_LR)}",
                hint="use 5e-7 to 5e-6 (zephyr-7b-beta DPO: 5e-7; alignment-handbook ORPO: 5e-6)",
            )

    def _lora(self, plan, lr: float, band: tuple[float, float] = LORA_RANGE, method: str = ""):
        low, high = band
        rank = plan.mode.lora_rank
        scale = _alpha_times_lr(plan, lr)
        if lr < low or lr > high:
            hint = ("preference tuning through adapters uses 5e-6 (Zephyr QLoRA DPO) to 2e-4" if method else
                    "LoRA adapters usually train at 1e-4 to 3e-4 (QLoRA paper: 2e-4 for 7B–13B)")
            yield self.finding(
                plan, "optimizer.lr",
                f"{method}{'QLoRA' if plan.mode.kind == 'qlora' else 'LoRA'} at lr {short_float(lr)} is outside "
                f"the usual {'preference ' if method else ''}adapter range {short_float(low)}–{short_float(high)}",
                hint=hint,
            )
        elif not method and lr < LORA_SLOW_LR and (scale is None or scale < LORA_SLOW_ALPHA_LR) \
                and not _very_large(plan):
            yield self.finding(
                plan, "optimizer.lr",
                f"{'QLoRA' if plan.mode.kind == 'qlora' else 'LoRA'} at lr {short_float(lr)}, a full fine-tune's lr: "
                "the adapters start at zero and usually train at 1e-4 to 3e-4, so they may barely move",
                hint="LoRA adapters usually train at 1e-4 to 3e-4 (QLoRA paper: 2e-4 for 7B–13B)",
                severity="info",
            )
        elif rank is not None and rank >= HIGH_RANK and lr > HIGH_RANK_MAX_LR \
                and (scale is None or scale > HIGH_RANK_MAX_ALPHA_LR):
            yield self.finding(
                plan, "optimizer.lr",
                f"LoRA rank {rank} at lr {short_float(lr)}: with the standard alpha/r scaling, high ranks at "
                "high lr tend to diverge",
                hint=f"lower the lr to {short_float(HIGH_RANK_MAX_LR)} or below, lower the rank, or use rsLoRA (`use_rslora: true`)",
            )

    def _full(self, plan, lr: float):
        low, high = FULL_FINETUNE_RANGE
        size = plan.derived.parameters
        small = size.known and size.value < SMALL_MODEL
        if small:
            high = SMALL_FULL_FINETUNE_MAX
        if low <= lr <= high:
            return
        side = "above" if lr > high else "below"
        if size.known and size.value < BIG_MODEL:
            return
        if size.known:
            # below the band, a warning only where far below it: an lr within a factor of ten under the floor is a
            # slow choice, not a run that trains nothing (held-out review 117, B 09: 5e-7 for a 4B SFT, a warning)
            stated = lr > high or plan.dialect in _METHOD_STATED
            warn = lr > high or (stated and lr < low / FAR_BELOW)
            # below the band is where preference and RL runs train (DPO 5e-7, SimPO 3e-7 to 1e-6): a run read as SFT
            # there is as often one of those, its method a program's or a fork's (held-out reviews 111 C 11, 112 D 11),
            # save in trainers whose file names the method (axolotl's `rl:`, LLaMA-Factory's `stage:`)
            yield self.finding(
                plan, "optimizer.lr",
                f"full fine-tune of a {short_count(size.value)} model at lr {short_float(lr)}, {side} the "
                f"{short_float(low)}–{short_float(high)} range fine-tuning recipes use"
                + ("; this overwrites pretrained knowledge" if lr > high else "; the weights barely move"
                   + ("" if stated else " (unless this is a preference or RL run, which train at such lrs)")),
                hint=("models under 2B are fine-tuned at up to their pretraining lr (SmolLM2-1.7B SFT: 3e-4)" if small
                      else "full fine-tunes of ≥1B models typically use 1e-5 to 5e-5"),
                severity=None if warn else "info",
            )
        else:
            yield self.finding(
                plan, "optimizer.lr",
                f"full fine-tune at lr {short_float(lr)}, {side} the {short_float(low)}–{short_float(high)} range "
                "used for models of 1B parameters or more; the model size is unknown",
                hint=f"pass {self._size_flag(size.missing)} to decide",
                severity="info",
            )

    @staticmethod
    def _size_flag(missing: tuple[str, ...]) -> str:
        return " or ".join(missing) if missing else "--model-config"


def _alpha_times_lr(plan, lr: float) -> float | None:
    """The adapter update's scale under alpha/r scaling (alpha × lr), where the alpha is known."""
    alpha = plan.mode.lora_alpha
    return None if alpha is None else alpha * lr


def _very_large(plan) -> bool:
    size = plan.derived.parameters
    return size.known and size.value >= LORA_LARGE_MODEL
