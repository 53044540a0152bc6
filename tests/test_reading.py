"""Files for a fork or an unknown version of a trainer: `check` says less (plan/reading.py).

Reduced from held-out review 4: better-nanoGPT's train_gpt2.py (heldout4 57), whose `block_size` is an
attention window and whose batch comes from its own `data` dict; its PD101 was judged wrong, its
PD106/PD107 right (the fork left warmup and decay alone)."""

from __future__ import annotations

import textwrap

import pytest

from pretrain_doctor.check.engine import check_paths, load_plan_detected
from pretrain_doctor.plan.reading import AREAS, GUESSED_DEFAULT, one_edit, premise_areas
from pretrain_doctor.plan.show import render_text
from pretrain_doctor.settings import CheckOptions

# `gradient_accumulation_steps` and one process (world size 1): nanoGPT's default and whether train.py divides it
# by the world size changed between its versions, so without them the tokens per step PD101 judges are unknown.
# 15k tokens/step: below 16k, where the √-scaled band judges nanoGPT's 6e-4 for this ~210M model (rules/pd101).
UPSTREAM = """\
gradient_accumulation_steps = 5 * 4
block_size = 64
n_layer = 24
n_head = 12
n_embd = 768
max_iters = 8000  # train.py's 2,000 warmup steps are 25% of it: past 20%, short of 30%, only an info (PD106)
lr_decay_iters = 600000
"""
FORK_KEYS = """\
data = {"train": {"datasets": [{"dataset": "openwebtext", "batch_size": 30, "context_length": 1024}]}}
position_embedding = 'rope'
max_position_embeddings = 8192
"""


def _check(tmp_path, text: str, name: str = "train_gpt2.py", world_size: int | None = None,
           versions: dict[str, str] | None = None):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    report = check_paths([path], CheckOptions(use_settings=False, world_size=world_size,
                                              trainer_versions=versions or {}))
    return {f.code: f for f in report.findings}, report


def test_fork_keys_about_the_batch_soften_batch_findings_only(tmp_path) -> None:
    found, _ = _check(tmp_path, FORK_KEYS + UPSTREAM, world_size=1)
    assert found["PD101"].severity == "info"
    assert "assuming upstream nanogpt semantics for" in found["PD101"].message and "`block_size`" in found["PD101"].message
    # the decay horizon the file sets is nanoGPT's own in the fork: still a warning, as the reviewer judged it
    assert found["PD107"].severity == "warning" and "assuming" not in found["PD107"].message
    # the warmup is nanoGPT's default, and the file sets globals upstream lacks, of a fork's train.py not at hand: one
    # level lower (held-out review 13, A 12 / B 30 and 56, B 02: a fork's defaults are not facts); a quarter of the run,
    # itself only an info, is then not reported
    assert "PD106" not in found


def test_upstream_file_keeps_its_warnings(tmp_path) -> None:
    (tmp_path / "train.py").write_text("learning_rate = 6e-4\nwarmup_iters = 2000\n", encoding="utf-8")
    found, _ = _check(tmp_path, UPSTREAM, world_size=1)
    assert found["PD101"].severity == "warning" and "assuming" not in found["PD101"].message


def test_upstream_defaults_without_the_train_py_are_assumed(tmp_path) -> None:
    # held-out review 85, B 05: a fork's config/train_gpt2.py alone, its train.py (warmup_iters 200, 6 layers) not at
    # hand: what rests on upstream's defaults is one level softer and says so; what the file sets is not
    found, _ = _check(tmp_path, UPSTREAM, world_size=1)
    assert found["PD101"].severity == "info" and "the script that reads this file is not at hand" in found["PD101"].message
    assert found["PD107"].severity == "warning" and "assuming" not in found["PD107"].message


def test_plan_shows_the_decision_in_one_line(tmp_path) -> None:
    path = tmp_path / "train_gpt2.py"
    path.write_text(FORK_KEYS + UPSTREAM, encoding="utf-8")
    _, _, plan = load_plan_detected(path)
    assert plan.foreign_keys == ["data", "position_embedding", "max_position_embeddings"]
    assert plan.fork_areas == ["batch", "model"]
    lines = [line for line in render_text(plan).splitlines() if line.startswith("Reading:")]
    assert len(lines) == 1 and "read as a fork of nanogpt" in lines[0] and "3 keys no known version has" in lines[0]
    upstream = tmp_path / "up.py"
    upstream.write_text(UPSTREAM, encoding="utf-8")
    assert load_plan_detected(upstream)[2].reading is None


MORE_UPSTREAM = """\
batch_size = 12
learning_rate = 6e-4
eval_interval = 1000
eval_iters = 200
log_interval = 10
weight_decay = 1e-1
beta2 = 0.95
dropout = 0.0
grad_clip = 1.0
decay_lr = True
"""


def test_unknown_key_on_a_fork_is_no_rename_unless_one_edit(tmp_path) -> None:
    # two keys of the fork's own (`warmup_its`: two edits from a known key) and a slip; the slip is no evidence of a fork
    text = UPSTREAM + MORE_UPSTREAM + "position_embedding = 'rope'\nwarmup_its = 5\nwarmup_iter = 100\n"
    found, report = _check(tmp_path, text)
    pd002 = {f.key: f for f in report.findings if f.code == "PD002"}
    far, slip = pd002["warmup_its"], pd002["warmup_iter"]
    assert far.severity == "info" and far.fix is None and far.hint is None and "fork's own key" in far.message
    # a nanoGPT fork whose own source is not at hand: even a slip may be the fork's key (nrgpt's `n_embed`,
    # held-out review 11, A 30), so it is named with no rename; the fork's train.py at hand without it: a slip
    assert slip.severity == "info" and slip.fix is None and "renaming it to `warmup_iters`" in slip.message
    (tmp_path / "train.py").write_text("n_layer = 12\nwarmup_iters = 2000\n", encoding="utf-8")
    found, report = _check(tmp_path, text)
    slip = {f.key: f for f in report.findings if f.code == "PD002"}["warmup_iter"]
    assert slip.severity == "warning" and "did you mean `warmup_iters`" in slip.message


def test_one_unknown_key_is_a_typo_not_a_fork(tmp_path) -> None:
    (tmp_path / "train.py").write_text("learning_rate = 6e-4\nwarmup_iters = 2000\n", encoding="utf-8")
    found, report = _check(tmp_path, UPSTREAM + "warmup_its = 5\n", world_size=1)
    pd002 = [f for f in report.findings if f.code == "PD002"]
    assert pd002[0].severity == "warning" and "did you mean `warmup_iters`" in pd002[0].message
    assert found["PD101"].severity == "warning"


def test_areas_of_keys() -> None:
    from pretrain_doctor.plan.reading import _areas

    assert _areas(["metrics.save_aim_folder", "wandb_log_steps"], {}) == set()
    assert _areas(["eval_batch_size", "validation.denoising_steps", "probe_dataset"], {}) == {"eval"}
    assert _areas(["training.gradient_accumulation_steps"], {}) == {"batch"}
    assert _areas(["train.min_lr_ratio", "total_train_steps"], {}) == {"decay", "run"}
    assert premise_areas(["schedule.warmup_steps", "run"]) == {"warmup", "run"}
    assert set(AREAS) >= {"batch", "warmup", "decay", "run", "model", "checkpoint"}


def test_one_edit() -> None:
    assert one_edit("warmup_iter", "warmup_iters") and one_edit("lerning_rate", "learning_rate")
    assert one_edit("wramup_steps", "warmup_steps") and one_edit("lr-decay-iters", "lr_decay_iters")
    assert not one_edit("lr_decay_iterations", "lr_decay_iters") and not one_edit("lora_rank", "local_rank")


def test_shortened_key_is_a_slip_even_on_an_old_axolotl_file(tmp_path) -> None:
    """heldout4 43 (an axolotl file of 2023): `adam_eps: 1e-9` is read by no axolotl (it reads `adam_epsilon`,
    so eps stays 1e-8); its other unknown keys make it read as another version, yet the slip is named. Named in
    words only, at info and with no rename since held-out review 12 (A 03, B 02): on a file that reads as a fork
    or an unknown version, a key near a known one may be that program's own, and a rename would drop it."""
    text = """\
    base_model: cerebras/btlm-3b-8k-base
    model_type: AutoModelForCausalLM
    tokenizer_type: GPT2Tokenizer
    trust_remote_code: true
    val_set_size: 0.05
    output_dir: ./outputs/btlm-out
    num_epochs: 1
    optimizer: adamw_torch
    max_grad_norm: 1.0
    lr_scheduler: cosine
    lr_quadratic_warmup: true
    train_on_inputs: true
    gradient_checkpointing: false
    flash_attention: true
    warmup_steps: 32
    evals_per_epoch: 4
    sequence_len: 2048
    sample_packing_seq_len_multiplier: 2
    gptq_groupsize: 128
    gptq_model_v1: false
    micro_batch_size: 1
    gradient_accumulation_steps: 1
    learning_rate: 0.000085
    adam_eps: 0.000000001
    """
    _, report = _check(tmp_path, text, "btlm-ft.yml")
    pd002 = [f for f in report.findings if f.code == "PD002"]
    assert len(pd002) == 1 and pd002[0].severity == "info" and pd002[0].fix is None
    assert "renaming it to `adam_epsilon`" in pd002[0].message
    plan = load_plan_detected(tmp_path / "btlm-ft.yml")[2]
    assert plan.reading is not None and "adam_eps" not in plan.reading  # a slip is no evidence of a fork


def test_abbreviation() -> None:
    from pretrain_doctor.plan.reading import abbreviates

    assert abbreviates("adam_eps", "adam_epsilon") and abbreviates("grad_accum_steps", "gradient_accumulation_steps")
    assert not abbreviates("adam_e", "adam_epsilon") and not abbreviates("lr", "lr_scheduler")
    assert not abbreviates("adam_epsilon", "adam_epsilon")
    assert not abbreviates("data", "dataset")  # better-nanoGPT's own `data` dict


def test_a_default_in_the_area_of_an_unknown_key_says_it_may_not_hold(tmp_path) -> None:
    """heldout4 47 (zqiu24/litgpt adamw_baseline_1b.yaml): the fork's `train.min_lr_ratio` sets the min lr
    (pretrain.py: min_lr = lr * min_lr_ratio); the plan called 4e-5 the "litgpt pretrain default" and no more."""
    path = tmp_path / "adamw_baseline_1b.yaml"
    path.write_text(textwrap.dedent("""\
        model_name: pythia-1b
        out_dir: out/pretrain
        precision: bf16-mixed
        train:
          global_batch_size: 512
          micro_batch_size: 4
          max_tokens: 10000000000
          lr_warmup_steps: 2000
          min_lr_ratio: 0.1
        optimizer:
          class_path: torch.optim.AdamW
          init_args:
            lr: 5e-4
            weight_decay: 0.1
        """), encoding="utf-8")
    plan = load_plan_detected(path)[2]
    assert plan.foreign_keys == ["train.min_lr_ratio"] and plan.reading is None  # one key: not called a fork
    note = plan.sources["schedule.min_lr"].note
    assert "default" in note and "`train.min_lr_ratio`, which no known version reads, may set it" in note
    assert "no known version" not in (plan.sources["schedule.warmup_steps"].note or "")


def test_a_premise_the_launched_program_may_decide_softens_once(tmp_path) -> None:
    # The run kind of a launch script whose program's source is not at hand is assumed (dialects/hf.py): PD106's
    # "pretraining warmup" (premise mode.kind) speaks one level softer and says so; a rule without it does not.
    script = tmp_path / "finetune.sh"
    script.write_text("torchrun --nproc_per_node 8 -m dia_train --per_device_train_batch_size 10 --bf16 --num_train_epochs 2 \\\n"
                      "  --learning_rate 6e-4 --warmup_steps 20000 --save_steps 1000\n", encoding="utf-8")
    report = check_paths([script], CheckOptions(use_settings=False))
    found = {f.code: f for f in report.findings}
    assert found["PD106"].severity == "info"
    assert found["PD106"].message.count("(assuming") == 1 and "`dia_train` may decide otherwise" in found["PD106"].message
    assert "assuming" not in found["PD105"].message  # no premise the program decides
    _, _, plan = load_plan_detected(script)
    shown = render_text(plan)
    assert "program.path" in shown and "program.assumed            ['mode.kind']" in shown


GRPO_FORK = """\
stage: grpo
do_train: true
finetuning_type: full
template: qwen
cutoff_len: 20480
per_device_train_batch_size: 1
gradient_accumulation_steps: 8
learning_rate: 1.0e-5
bf16: true
grpo_beta: 0.0
"""


def test_a_key_one_edit_from_a_known_one_on_a_fork_is_named_without_a_rename(tmp_path) -> None:
    """Held-out review 12, A 03 (SachinKonan/LLaMA-Factory-AutoReviewer@5675b228, configs/grpo_binary.yaml): the
    fork's own `grpo_beta` (hparams/finetuning_args.py:266, GRPOConfig(beta=...) in train/grpo/trainer.py:63) is one
    edit from upstream's `orpo_beta`. On a file that reads as a fork it is an info naming the near key in words,
    with no rename (the rename would drop the KL coefficient), whatever the dialect, as nanoGPT forks' already were."""
    fork = GRPO_FORK + "grpo_num_generations: 4\ngrpo_max_new_tokens: 1024\ngrpo_temperature: 1.0\n"
    _, report = _check(tmp_path, fork, "grpo_binary.yaml")
    plan = load_plan_detected(tmp_path / "grpo_binary.yaml")[2]
    assert plan.dialect == "llamafactory" and plan.reading is not None
    beta = {f.key: f for f in report.findings if f.code == "PD002"}["grpo_beta"]
    assert beta.severity == "info" and beta.fix is None and beta.hint is None
    assert "renaming it to `orpo_beta`" in beta.message and "fork" in beta.message


def test_a_key_beside_its_own_family_is_not_renamed_even_off_a_fork(tmp_path) -> None:
    # one more `grpo_*` key only: not a fork (one key no known version reads), but `grpo_beta` shares its first word
    # with it and not with `orpo_beta`: an argument of the program's own, named with no rename
    _, report = _check(tmp_path, GRPO_FORK + "grpo_num_generations: 4\n", "grpo.yaml")
    assert load_plan_detected(tmp_path / "grpo.yaml")[2].reading is None
    beta = {f.key: f for f in report.findings if f.code == "PD002"}["grpo_beta"]
    assert beta.severity == "info" and beta.fix is None and "`grpo_num_generations`" in beta.message


def test_a_near_miss_off_a_fork_keeps_its_warning_and_rename(tmp_path) -> None:
    # the same key alone in an upstream LLaMA-Factory file: a slip of `orpo_beta`, renamed
    _, report = _check(tmp_path, GRPO_FORK, "grpo.yaml")
    beta = {f.key: f for f in report.findings if f.code == "PD002"}["grpo_beta"]
    assert beta.severity == "warning" and beta.fix is not None and "did you mean `orpo_beta`" in beta.message
    # an unknown sibling sharing the near key's own first word is no family: `lora_rnk` stays a slip of `lora_rank`
    _, report = _check(tmp_path, GRPO_FORK.replace("grpo_beta: 0.0", "lora_rnk: 8\nlora_custom_init: true"), "lora.yaml")
    slip = {f.key: f for f in report.findings if f.code == "PD002"}["lora_rnk"]
    assert slip.severity == "warning" and "did you mean `lora_rank`" in slip.message


# Reduced from held-out review 13, B 30 (geodesic-research's Megatron-Bridge override YAML
# `sft_120b_1bmix_32k_v1.yaml`): detection guessed litgpt, and PD105 stood on litgpt's default warmup of 100 steps,
# which the file never sets (it says `scheduler.lr_warmup_fraction: 0.10`).
GUESSED_LITGPT = """\
tokenizer:
  tokenizer_model: some/tokenizer
dataset:
  seq_length: 32768
train:
  global_batch_size: 64
  micro_batch_size: 1
optimizer:
  lr: 5.0e-06
  weight_decay: 0.1
scheduler:
  lr_decay_style: cosine
checkpoint:
  pretrained_checkpoint: /ckpt/base
"""
# Reduced from held-out review 13, A 12 (goldfish-loss `launch_scripts/config/tinyllama-1b.yaml`, a LitGPT fork's own
# YAML): detection guessed nanoGPT and the plan filled nanoGPT's warmup 2000 and max_iters 600000 as if they ran.
GUESSED_NANOGPT = """\
max_tokens: 20000000000
max_iters: null
model_name: tiny-llama-1.1b
block_size: 2048
world_batch_size: 1024
learning_rate: 4.0e-04
warmup_steps: 1000
beta2: 0.95
min_lr: 4.0e-05
decay_lr: true
micro_batch_size: 8
"""


def test_a_guessed_dialects_defaults_are_shown_as_assumed(tmp_path) -> None:
    path = tmp_path / "tinyllama-1b.yaml"
    path.write_text(GUESSED_NANOGPT, encoding="utf-8")
    _, found, plan = load_plan_detected(path)
    assert found.guess and plan.dialect == "nanogpt"
    # nanoGPT's warmup_iters default is no reading where the file's own `warmup_steps` sets the warmup in its
    # trainer (held-out review 31, B 23): unknown, not 2000
    assert "schedule.warmup_steps" not in plan.sources and "`warmup_steps`" in plan.unknown["schedule.warmup_steps"]
    assert GUESSED_DEFAULT in plan.sources["optimizer.weight_decay"].note
    # `max_iters: null` is the program's to fill (from `max_tokens` here), not upstream's 600,000 (held-out review 130)
    assert "null in the file" in plan.unknown["run.max_steps"]
    # what the file sets is still read, and not marked
    assert plan.sources["optimizer.lr"].key == "learning_rate" and not plan.sources["optimizer.lr"].note
    assert plan.sources["batch.seq_len"].key == "block_size"
    text = render_text(plan)
    assert "nanoGPT train.py default; " in text and GUESSED_DEFAULT in text


def test_an_info_on_a_guessed_dialects_default_is_silent(tmp_path) -> None:
    found, _ = _check(tmp_path, GUESSED_LITGPT, name="sft.yaml")
    assert "PD105" not in found


def test_a_warning_on_a_guessed_dialects_default_says_so_one_level_lower(tmp_path) -> None:
    path = tmp_path / "sft.yaml"
    path.write_text(GUESSED_LITGPT, encoding="utf-8")
    report = check_paths([path], CheckOptions(use_settings=False, dataset_rows=64))
    pd105 = next(f for f in report.findings if f.code == "PD105")
    assert pd105.severity == "warning"  # an error on litgpt's own file (below)
    assert "litgpt's defaults of schedule.warmup_steps" in pd105.message and "the dialect is a guess" in pd105.message


# Reduced from held-out review 86, B 13 (fone-pretrain's own YAML for its accelerate loop, read as hf, a guess, with
# an accelerate YAML beside it): what the guessed dialect says its trainer would refuse is one level softer.
GUESSED_HF = """\
model_config: configs/llama_1p5b.json
data_config: configs/data.json
per_device_train_batch_size: 6
gradient_accumulation_steps: 4
learning_rate: 3.0e-4
save_every_steps: 10000
log_every_steps: 10
num_processes: 8
mixed_precision: bf16
"""


def test_a_guessed_dialects_notes_are_one_level_softer(tmp_path) -> None:
    (tmp_path / "pretrain.yaml").write_text(GUESSED_HF, encoding="utf-8")
    (tmp_path / "accelerate_8gpu.yaml").write_text(
        "compute_environment: LOCAL_MACHINE\ndistributed_type: DEEPSPEED\nmixed_precision: bf16\nnum_processes: 8\n"
        "deepspeed_config:\n  zero_stage: 3\n  gradient_accumulation_steps: 2\n", encoding="utf-8")
    report = check_paths([tmp_path / "pretrain.yaml"], CheckOptions(use_settings=False))
    stated = check_paths([tmp_path / "pretrain.yaml"], CheckOptions(use_settings=False, dialect="hf"))
    guessed = next(f for f in report.findings if f.code == "PD402")
    assert guessed.severity == "warning" and "the dialect is a guess" in guessed.message
    assert next(f for f in stated.findings if f.code == "PD402").severity == "error"
    # a file most of whose keys are its program's own leaves an unset bf16 to that program, stated or guessed
    # (held-out review 96, D 10): "transformers refuses" only where the file writes the flag off
    assert {f.severity for r in (report, stated) for f in r.findings if f.code == "PD303"} == {"info"}


def test_a_stated_dialect_keeps_its_defaults_as_facts(tmp_path) -> None:
    path = tmp_path / "sft.yaml"
    path.write_text(GUESSED_LITGPT, encoding="utf-8")
    report = check_paths([path], CheckOptions(use_settings=False, dialect="litgpt", dataset_rows=64))
    assert {f.code: f.severity for f in report.findings}.get("PD105") == "error"


@pytest.mark.parametrize(("key", "known", "slip"), [
    ("lerning_rate", "learning_rate", True), ("per_device_train_batch_szie", "per_device_train_batch_size", True),
    ("warmup_ration", "warmup_ratio", True), ("lr-decay-iter", "lr-decay-iters", True),
    # half of the one word they differ in: another word, not a slip (held-out review 31, A 02: a fork's POET switch)
    ("use_poet", "use_peft", False), ("use_lora", "use_peft", False),
    ("learning_rate_lm", "learning_rate", False),  # a whole word more: three letters
    # two words each slipped, the third the same (held-out review 69, A 01); two of two words is another key
    ("enabel_lighter_kernel", "enable_liger_kernel", True), ("lora_dropuot_rtae", "lora_dropout_rate", True),
    ("sft_lose", "dpo_loss", False), ("use_poet_mode", "use_peft_model", False),
])
def test_a_slip_is_a_near_miss_of_a_word_not_another_word(key, known, slip) -> None:
    from pretrain_doctor.dialects.base import is_slip

    assert is_slip(key, known) is slip


def test_a_forks_own_key_of_a_fields_usual_name_leaves_no_trainer_default(tmp_path) -> None:
    # Held-out review 31, B 23 (nihalsid/lit-gpt's hydra config/lora.yaml), reduced: read as a litgpt fork, the plan
    # showed torch's lr 1e-3, litgpt's 5 epochs and micro-batch 1 beside the file's own `learning_rate: 3e-4`,
    # `num_epochs: 1`, `micro_batch_size: 4`, which its fork's script reads
    path = tmp_path / "lora.yaml"
    path.write_text("experiment: fastdev\nlearning_rate: 3e-4\nbatch_size: 64\nmicro_batch_size: 4\nnum_epochs: 1\n"
                    "warmup_epochs: 0.05\nlora_r: 8\nlora_alpha: 16\nlora_dropout: 0.05\nlora_query: true\nlora_key: true\n"
                    "lora_value: true\nlora_projection: true\nlora_mlp: true\nlora_head: true\ndata_dir: data/alpaca\n"
                    "checkpoint_dir: checkpoints/meta-llama/Llama-2-7b-hf\nprecision: bf16-true\nquantize: null\n"
                    "out_dir: out\n", encoding="utf-8")
    _, found, plan = load_plan_detected(path)
    assert plan.dialect == "litgpt" and plan.reading is not None
    for field in ("optimizer.lr", "run.epochs", "batch.micro_batch_size", "schedule.warmup_steps"):
        assert field not in plan.sources and "sets it in the fork" in plan.unknown[field], field
    assert plan.optimizer.lr is None and plan.derived.global_batch.value is None
    assert plan.mode.lora_rank == 8  # what the dialect reads from the file stays


def test_a_guessed_files_own_section_holding_a_fields_name_leaves_no_trainer_default(tmp_path) -> None:
    # held-out review 75, A 15 (a Typhoon-7B LoRA project's own YAML guessed as litgpt): `hp.learning_rate: 2e-5`
    # in its own section, judged at litgpt's default lr 1e-3 (PD103)
    path = tmp_path / "cpt.yaml"
    path.write_text("seed: 42\nmodel:\n  name: typhoon-ai/typhoon-7b\npaths:\n  output_dir: out\nclean:\n  "
                    "min_chars: 800\ndedup:\n  ngram: 5\ndata:\n  seq_len: 1024\ntrain:\n  micro_batch_size: 1\n"
                    "  epochs: 15\n  eval_steps: 50\nhp:\n  learning_rate: 2.0e-5\n  lora_r: 32\n", encoding="utf-8")
    _, found, plan = load_plan_detected(path)
    assert found.guess and plan.optimizer.lr is None and "`hp`" in plan.unknown["optimizer.lr"]


@pytest.mark.parametrize(("name", "debug"), [
    ("testing-moe.yaml", True), ("debug_model.yaml", True), ("llama_smoke.yaml", True),
    # "test" alone names a split as often as a test run: `gsm8k_test_cot.yaml` is judged as any other config
    ("gsm8k_test_cot.yaml", False), ("latest.yaml", False),
])
def test_a_file_named_as_a_test_is_a_smoke_test(tmp_path, name, debug) -> None:
    # held-out review 33, A 11: llm-foundry's `testing-moe.yaml` (200 batches of a 2-layer MoE, half of them warmup)
    path = tmp_path / name
    path.write_text("pretrain_doctor: 1\nschedule: {kind: cosine, warmup_steps: 100}\nrun: {max_steps: 200}\n",
                    encoding="utf-8")
    _, _, plan = load_plan_detected(path, CheckOptions(use_settings=False))
    assert plan.debug is debug
    if debug:
        assert "the file's name says" in plan.sources["debug"].note


FIREFLY_ARGS = """{
    "model_name_or_path": "Qwen/Qwen2.5-7B-Instruct", "output_dir": "out", "template_name": "qwen",
    "num_train_epochs": 1, "per_device_train_batch_size": 1, "gradient_accumulation_steps": 16,
    "learning_rate": 2e-4, "lr_scheduler_type": "constant_with_warmup", "warmup_steps": 100,
    "lora_rank": 64, "lora_alpha": 16, "use_unsloth": true%s
}
"""


@pytest.mark.parametrize(("extra", "severity"), [
    ("", "info"),
    # the fork's own switch says every weight trains: the warning stands
    (', "train_mode": "full"', "warning"), (', "use_lora": false', "warning"),
])
def test_a_forks_adapter_size_on_pretrained_weights_makes_every_weight_training_an_assumption(
        tmp_path, extra, severity) -> None:
    # Held-out review 34, A 11 (FocusMed's Firefly-style train_args.json, `lora_rank: 64`, its mode left at the fork's
    # default): PD103 warned of a full fine-tune at 2e-4, a LoRA run's usual lr
    found, _ = _check(tmp_path, FIREFLY_ARGS % extra, name="train_args.json")
    assert found["PD103"].severity == severity


EVAL_ON_TRAIN = """\
model_name_or_path: Qwen/Qwen2.5-0.5B
output_dir: out
learning_rate: 2.0e-5
per_device_train_batch_size: 8
max_steps: 1000
dataset_name: org/data
dataset_train_split: train
dataset_test_split: train
eval_strategy: steps
eval_steps: 100
"""


def test_eval_on_a_training_split_is_softer_on_a_fork_whose_keys_touch_evaluation(tmp_path) -> None:
    # Held-out review 34, A 16 (a ModernBERT fork): its loader picks held-out sets by its own `subset`, whatever the
    # eval loader's split says; PD701 warned "evaluation uses a training split"
    found, _ = _check(tmp_path, EVAL_ON_TRAIN, name="sft.yaml")
    assert found["PD701"].severity == "warning"
    fork, _ = _check(tmp_path, EVAL_ON_TRAIN + "eval_probe_subset: reasoning\neval_rubric_sets: [a, b]\n",
                     name="fork.yaml")
    assert fork["PD701"].severity == "info" and "own keys touch eval" in fork["PD701"].message


def test_one_section_of_a_forks_own_module_reads_as_a_fork(tmp_path) -> None:
    """Held-out review 55, A 20: an axolotl fork's `mlpspec:` block (emb_dim, inner_dim, n_predict, ...) configures
    speculator heads, all that trains; one such section weighs as two loose keys, and PD103's full-fine-tune band
    softens (the fork's own model keys touch the run's premise)."""
    text = ("base_model: meta-llama/Meta-Llama-3-8B-Instruct\ndatasets:\n  - path: tatsu-lab/alpaca\n    type: alpaca\n"
            "micro_batch_size: 2\nnum_epochs: 1\nlearning_rate: 0.0005\noptimizer: adamw_torch\n"
            "mlpspec:\n  emb_dim: 4096\n  inner_dim: 3072\n  n_predict: 4\n  vocab_size: 128256\n")
    path = tmp_path / "spec.yaml"
    path.write_text(text)
    plan = load_plan_detected(path, CheckOptions())[2]
    assert plan.reading is not None and "model" in plan.fork_areas
    report = check_paths([path], CheckOptions())
    [lr] = [f for f in report.findings if f.code == "PD103"]
    assert lr.severity == "info"
    # one loose unknown key stays a typo candidate, not a fork
    single = tmp_path / "one.yaml"
    single.write_text(text.split("mlpspec:")[0] + "mlpspec_dim: 4096\n")
    assert load_plan_detected(single, CheckOptions())[2].reading is None


SUMMARY_YAML = """\
model_name: deepseek-ai/DeepSeek-Coder-V2-Lite-Base
stage1_dataset: labeled/stage1.jsonl
stage2_dataset: labeled/stage2.jsonl
deepspeed_config: deepspeed/zero3.json
max_seq_len: 2048
num_train_epochs_stage1: 1.0
learning_rate_stage1: 0.0002
lora_r: 64
per_device_train_batch_size: 1
gradient_accumulation_steps: 16
output_dir: out
packing: true
"""


def test_a_guess_that_reads_half_the_keys_or_fewer_says_every_finding_softer(tmp_path) -> None:
    # held-out review 103, A 04: a project's summary YAML beside its own argparse program, read as HF (5 of its 12
    # keys): `packing: true` is read by no code, and PD510's warning rested on a guess
    # (transformers before 4.54, whose sdpa attends across packed documents whatever their position ids)
    older = {"transformers": "4.51"}
    found, _ = _check(tmp_path, SUMMARY_YAML, name="train_config.yaml", versions=older)
    assert found["PD510"].severity == "info" and "the dialect is a guess reading at most half" in found["PD510"].message
    # the same keys, most of them HF's: a guess still, but one whose trainer reads most of the file
    hf_side = SUMMARY_YAML.replace("stage1_dataset: labeled/stage1.jsonl\nstage2_dataset: labeled/stage2.jsonl\n",
                                   "dataset_text_field: text\nmax_seq_length: 2048\nlearning_rate: 2e-4\n"
                                   "lr_scheduler_type: cosine\nwarmup_ratio: 0.03\nbf16: true\n")
    found, _ = _check(tmp_path, hf_side, name="sft.yaml", versions=older)
    assert found["PD510"].severity == "warning"


# Reduced from held-out review 111, C 10 (a weight-sparse transformer's own YAML): OLMo's `model.d_model` and
# `optimizer.learning_rate`/`weight_decay`/`eps` among many keys of the project's own
SPARSE_YAML = """\
model:
  n_layer: 4
  d_model: 4096
  n_ctx: 512
  d_head: 16
  use_rms_norm: true
  use_positional_embeddings: false
  use_attention_sinks: true
  use_flash_attention: true
sparsity:
  enable_weight_sparsity: true
  target_l0_fraction: 0.0039
optimizer:
  learning_rate: 0.001
  beta1: 0.9
  beta2: 0.95
  weight_decay: 0.1
  eps: 0.1
  enable_grad_clip: true
  warmup_fraction: 0.01
training:
  total_tokens: 2000000000
  batch_size: 128
  eval_every_n_steps: 20
  checkpoint_every_n_steps: 1000
"""


def test_a_file_whose_own_keys_outnumber_the_trainers_is_a_weak_guess(tmp_path) -> None:
    # it was read as an OLMo fork: "rename `n_layer` to `n_layers`" (which the program would then drop), an unknown
    # `use_flash_attention`, and "evaluation is off" beside the file's own `eval_every_n_steps`: all three wrong
    found, report = _check(tmp_path, SPARSE_YAML, name="simple_5M_sparse.yaml")
    assert found == {}, found
    _, _, plan = load_plan_detected(tmp_path / "simple_5M_sparse.yaml")
    assert "the dialect is a guess (it reads at most half of the file's keys)" in plan.reading


@pytest.mark.parametrize("name", ["train-gpt.job", "pretrain.pbs"])
def test_a_folder_walk_reads_slurm_and_pbs_job_files(tmp_path, name: str) -> None:
    # held-out review 107, C 12: `train-gpt-container-diana.job` (a Slurm job running Megatron) was neither checked
    # nor listed as skipped
    (tmp_path / name).write_text("#!/bin/bash\n#SBATCH -N 1\ntorchrun --nproc_per_node 8 pretrain_gpt.py "
                                 "--num-layers 24 --hidden-size 2048 --num-attention-heads 16 --seq-length 2048 "
                                 "--micro-batch-size 4 --global-batch-size 256 --lr 3e-4 --train-iters 1000\n")
    report = check_paths([tmp_path], CheckOptions(use_settings=False))
    assert [(file.path.rsplit("/", 1)[-1], file.dialect) for file in report.files] == [(name, "megatron")]
