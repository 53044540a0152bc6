"""A Python program that builds TrainingArguments or a TRL config itself, read as the launch of that program
(held-out reviews 38 A 20 and 47: `SFTConfig(...)`/`ORPOConfig(...)` in train.py refused as "a Python program of
its own")."""

from __future__ import annotations

from pathlib import Path

from pretrain_doctor.check.engine import check_paths
from pretrain_doctor.config.loader import load_document
from pretrain_doctor.settings import CheckOptions

from .dialects.helpers import detected, plan_of, write

ORPO = '''
import torch
from transformers import AutoModelForCausalLM
from trl import ORPOConfig, ORPOTrainer
from peft import LoraConfig

base_model = "meta-llama/Meta-Llama-3-8B"
EPOCHS = 1


def main():
    peft_config = LoraConfig(r=16, lora_alpha=32, task_type="CAUSAL_LM")
    model = AutoModelForCausalLM.from_pretrained(base_model, torch_dtype=torch.bfloat16)
    lr = 8e-6
    orpo_args = ORPOConfig(
        learning_rate=lr,
        beta=0.1,
        lr_scheduler_type="linear",
        max_length=1024,
        per_device_train_batch_size=2, gradient_accumulation_steps=4,
        num_train_epochs=EPOCHS,
        report_to=["wandb"],
        lr_scheduler_kwargs={"min_lr": 1e-7},
        output_dir=None,
        warmup_steps=compute_warmup(),
    )
    trainer = ORPOTrainer(model=model, args=orpo_args, peft_config=peft_config)
    trainer.train()


main()
'''


def test_the_keywords_are_the_launch_arguments_at_their_lines(tmp_path: Path) -> None:
    program = write(tmp_path, "train.py", ORPO)
    doc = load_document(program)
    assert doc.format == "shell" and doc.data["program"] == "train.py"
    assert doc.data["--learning_rate"] == 8e-6  # a local assigned before the call
    assert doc.data["--num_train_epochs"] == 1  # a module constant
    assert doc.data["--report_to"] == ["wandb"] and doc.data["--lr_scheduler_kwargs"] == {"min_lr": 1e-7}
    assert "--output_dir" not in doc.data  # `=None` leaves the field unset
    assert doc.data["--warmup_steps"] is None and "compute_warmup()" in doc.unevaluated["--warmup_steps"]
    assert doc.positions[("--per_device_train_batch_size",)].line == 19
    assert doc.positions[("--gradient_accumulation_steps",)].column == 40  # the second keyword on that line
    assert doc.data["--model_name_or_path"] == "meta-llama/Meta-Llama-3-8B"


def test_the_program_is_its_own_launched_source(tmp_path: Path) -> None:
    plan = plan_of(write(tmp_path, "train.py", ORPO))
    assert plan.dialect == "hf"
    assert plan.objective.kind == "preference" and plan.mode.preference_method == "orpo"
    assert plan.sources["mode.preference_method"].line == 14  # the ORPOConfig call
    assert plan.optimizer.lr == 8e-6 and plan.sources["optimizer.lr"].line == 15
    assert plan.mode.lora_rank == 16 and plan.mode.lora_alpha == 32  # the LoraConfig it builds
    assert plan.model.name == "meta-llama/Meta-Llama-3-8B" and plan.derived.parameters.value == 8e9
    assert plan.batch.micro_batch_size == 2 and plan.batch.grad_accum == 4 and plan.batch.seq_len == 1024
    # computed by the program: unknown, never the transformers default of 0
    assert plan.schedule.warmup_steps is None and "compute_warmup()" in plan.unknown["schedule.warmup_steps"]


def test_the_arguments_the_trainer_is_given_are_read_of_two(tmp_path: Path) -> None:
    # held-out review 134, B 07 (lawsuitLLM's pretrain_accel.py, reduced): two TrainingArguments of as many keywords,
    # the Trainer given the second; the first, never used, was read (lr 1e-5, 1 epoch, fp16)
    def arguments(name: str, lr: str, epochs: int, fp16: bool) -> str:
        return (f"{name} = TrainingArguments(\n    output_dir='o',\n    num_train_epochs={epochs},\n"
                f"    per_device_train_batch_size=1,\n    learning_rate={lr},\n    fp16={fp16},\n)\n")
    program = ("from transformers import TrainingArguments, Trainer\n"
               + arguments("unused_args", "1e-05", 1, True) + arguments("doc_args", "5e-05", 200, False)
               + "trainer = Trainer(model=model, args=doc_args, train_dataset=data)\ntrainer.train()\n")
    plan = plan_of(write(tmp_path, "train.py", program))
    assert (plan.optimizer.lr, plan.run.epochs, plan.precision.fp16_enabled) == (5e-5, 200, False)
    # with no Trainer call naming one, the call with the most keywords stays the one read
    alone = plan_of(write(tmp_path, "alone.py", program.replace("args=doc_args", "args=make()")))
    assert alone.optimizer.lr == 1e-5


def test_an_online_rl_class_sets_the_method_and_its_defaults(tmp_path: Path) -> None:
    program = write(tmp_path, "run_rl.py", '''
        from trl import GRPOConfig, GRPOTrainer

        if __name__ == "__main__":
            steps = 500
            config = GRPOConfig(output_dir="out", max_steps=steps, per_device_train_batch_size=8, bf16=True)
            GRPOTrainer(model="Qwen/Qwen2.5-0.5B", args=config, reward_funcs=[]).train()
        ''')
    plan = plan_of(program)
    assert plan.objective.kind == "online_rl" and plan.mode.rl_method == "grpo"
    assert plan.run.max_steps == 500  # assigned in the `__main__` block before the call
    assert plan.optimizer.lr == 1e-6 and "GRPOConfig default" in plan.sources["optimizer.lr"].note


def test_a_program_whose_arguments_come_from_its_command_line_stays_refused(tmp_path: Path) -> None:
    program = write(tmp_path, "train.py", '''
        import argparse
        from transformers import Trainer, TrainingArguments

        def main():
            args = argparse.ArgumentParser().parse_args()
            training_args = TrainingArguments(output_dir=args.out, learning_rate=args.lr, bf16=True)
            Trainer(args=training_args).train()
        ''')
    assert load_document(program).format == "python"  # one literal is not a run's arguments
    [refused] = check_paths([program], CheckOptions(use_settings=False)).errors
    assert "a Python program of its own" in refused.message


_KEYWORDS = ("num_train_epochs=EPOCHS, per_device_train_batch_size=BATCH, gradient_accumulation_steps=ACCUM, "
             "warmup_steps=WARMUP, learning_rate=LR, lr_scheduler_type=SCHEDULE, max_grad_norm=CLIP, "
             "weight_decay=DECAY, save_steps=SAVE, seed=SEED")


def test_a_program_without_a_command_line_that_computes_its_arguments_is_read(tmp_path: Path) -> None:
    # held-out review 114, A 02/A 03: `ORPOConfig(...)` from an uncommitted orpo_config.yaml, and
    # `TrainingArguments(**kwargs)` from environment variables: many keywords, none a literal, no command line
    loaded = write(tmp_path, "train_orpo.py", f'''
        import yaml
        from trl import ORPOConfig, ORPOTrainer
        config = yaml.safe_load(open("orpo_config.yaml"))
        EPOCHS, BATCH, ACCUM, WARMUP, LR = (config[k] for k in ("e", "b", "a", "w", "lr"))
        SCHEDULE, CLIP, DECAY, SAVE, SEED = (config[k] for k in ("s", "c", "d", "v", "seed"))
        args = ORPOConfig(output_dir=config["out"], {_KEYWORDS})
        if __name__ == "__main__":
            ORPOTrainer(model=model, args=args).train()
        ''')
    plan = plan_of(loaded)
    assert plan.mode.preference_method == "orpo" and plan.optimizer.lr is None
    assert "computed by the program" in plan.unknown["optimizer.lr"]
    environment = write(tmp_path, "train_cpt.py", f'''
        import os
        from transformers import Trainer, TrainingArguments
        LR = float(os.environ.get("LR", "2e-4"))
        def main():
            kwargs = dict(output_dir="out", {_KEYWORDS.replace("learning_rate=LR, ", "")}, learning_rate=LR)
            Trainer(model=model, args=TrainingArguments(**kwargs)).train()

        if __name__ == "__main__":
            main()
        ''')
    assert plan_of(environment).dialect == "hf"
    # a library function handed its config by a caller is the caller's to decide (held-out review 103, A 01)
    library = write(tmp_path, "train_dpo.py", f'''
        from trl import DPOConfig, DPOTrainer
        def run_dpo_training(config):
            EPOCHS, BATCH, ACCUM, WARMUP, LR = (config[k] for k in ("e", "b", "a", "w", "lr"))
            SCHEDULE, CLIP, DECAY, SAVE, SEED = (config[k] for k in ("s", "c", "d", "v", "seed"))
            DPOTrainer(args=DPOConfig(output_dir=config["out"], {_KEYWORDS})).train()
        ''')
    assert load_document(library).format == "python"
    # with a command line the launch decides, as before
    parsed = write(tmp_path, "train_args.py", f'''
        import argparse
        from transformers import Trainer, TrainingArguments
        args = argparse.ArgumentParser().parse_args()
        Trainer(args=TrainingArguments(output_dir=args.out, {_KEYWORDS})).train()
        ''')
    assert load_document(parsed).format == "python"


def test_a_frameworks_python_config_is_named_as_such(tmp_path: Path) -> None:
    # held-out review 59, B 15: torchtitan's Python configs (functions building `Trainer.Config`), refused as "not a
    # nanoGPT override file", a file the author never meant as one. Its recipes are read since
    # (tests/dialects/test_torchtitan_recipe.py); its RL controller's configs are still refused, named as such.
    recipe = write(tmp_path, "paper.py", '''
        from torchtitan.config import TrainingConfig
        from torchtitan.trainer import Trainer

        def nanovlm_230m() -> Trainer.Config:
            return Trainer.Config(training=TrainingConfig(steps=1000))
        ''')
    read = check_paths([recipe], CheckOptions(use_settings=False))
    assert not read.errors and read.files[0].dialect == "torchtitan"
    config = write(tmp_path, "arms.py", '''
        from torchtitan.config import TrainingConfig
        from torchtitan.experiments.rl.controller import Controller

        def arm_bf16() -> Controller.Config:
            return Controller.Config(training=TrainingConfig(steps=1000))
        ''')
    [refused] = check_paths([config], CheckOptions(use_settings=False)).errors
    assert "a torchtitan config written in Python" in refused.message and "nanoGPT" not in refused.message
    # ... not "not a training config", in the refusal or the folder walk's skip note (held-out review 68, B 24)
    assert "not a training config" not in refused.message
    olmo_core = write(tmp_path, "walk/OLMo-2-smallmoe-train.py", '''
        from olmo_core.train import TrainerConfig

        def build_config() -> TrainerConfig:
            return TrainerConfig(save_folder="out")
        ''')
    [skipped] = check_paths([olmo_core.parent], CheckOptions(use_settings=False)).files
    assert skipped.role == "skipped" and skipped.note == "an OLMo-core config written in Python, a form not read here"


def test_a_nanogpt_override_file_is_still_one(tmp_path: Path) -> None:
    config = write(tmp_path, "config/train_small.py", "learning_rate = 6e-4\nmax_iters = 5000\nn_layer = 6\n")
    assert load_document(config).format == "python" and detected(config) == "nanogpt"


def test_a_script_with_its_own_optimizer_and_no_configurator_is_no_nanogpt_config(tmp_path: Path) -> None:
    # held-out review 132, C 15: an FP8 GPT trainer (NorMuon groups at 0.02/0.2/0.004; its `learning_rate = 1e-3` only
    # logged) guessed as nanoGPT, its lr judged by PD101 and nanoGPT's defaults filled in
    script = """\
        import torch
        from dion import NorMuon
        learning_rate = 1e-3
        n_layer = 20
        n_head = 16
        n_embd = 1024
        block_size = 2048
        batch_size = 4
        class GPT(torch.nn.Module):
            pass
        model = GPT()
        optimizer_muon = NorMuon(model.parameters(), lr=0.02)
        for step in range(10):
            loss = model(None)
            loss.backward()
            optimizer_muon.step()
        """
    [refused] = check_paths([write(tmp_path / "a", "train.py", script)], CheckOptions(use_settings=False)).errors
    assert "a Python training program of its own" in refused.message and "`NorMuon`" in refused.message
    # ... a bare optimizer class too (`torch.optim.AdamW`, as the pattern's docstring says)
    adamw = script.replace("from dion import NorMuon", "import math").replace("NorMuon(model.parameters(), lr=0.02)",
                                                                       "torch.optim.AdamW(model.parameters())")
    [refused] = check_paths([write(tmp_path / "c", "train.py", adamw)], CheckOptions(use_settings=False)).errors
    assert "`torch.optim.AdamW`" in refused.message
    # nanoGPT's own train.py, whose configurator applies override files, stays nanoGPT's
    upstream = script.replace("optimizer_muon = NorMuon(model.parameters(), lr=0.02)",
                              "exec(open('configurator.py').read())\n        optimizer = model.configure_optimizers()")
    assert detected(write(tmp_path / "b", "train.py", upstream)) == "nanogpt"


def test_a_deepspeed_file_the_program_names_is_read_with_it(tmp_path: Path) -> None:
    write(tmp_path, "ds.json", '{"train_micro_batch_size_per_gpu": "auto", "zero_optimization": {"stage": 3},'
                               ' "scheduler": {"type": "WarmupLR", "params": {"warmup_num_steps": "auto"}}}')
    program = write(tmp_path, "sft.py", '''
        from trl import SFTConfig, SFTTrainer
        args = SFTConfig(output_dir="o", learning_rate=4e-5, lr_scheduler_type="constant", deepspeed="ds.json")
        SFTTrainer(model="m", args=args).train()
        ''')
    assert plan_of(program).parallel.zero_stage == 3
    report = check_paths([program], CheckOptions(use_settings=False))
    [ignored] = [f for f in report.findings if f.key == "lr_scheduler_type"]
    assert ignored.line == 2 and "WarmupLR" in ignored.message


def test_what_the_program_computes_stays_unknown(tmp_path: Path) -> None:
    program = write(tmp_path, "finetune.py", '''
        import argparse
        import transformers

        def train(args, project):
            if "Vision" in project:
                model = VisionLM.from_pretrained(args.base)
            else:
                model = transformers.AutoModelForCausalLM.from_pretrained(args.base)
            training_args = transformers.TrainingArguments(
                output_dir="out", bf16=True, evaluation_strategy="steps", eval_steps=args.eval_steps,
                save_strategy="steps", save_steps=args.save_steps, logging_steps=1)
            transformers.Trainer(model=model, args=training_args).train()
        ''')
    plan = plan_of(program)
    # both branches load a checkpoint: a fine-tune, though the condition is the program's
    assert plan.mode.kind == "full_finetune" and "under a condition" in plan.sources["mode.kind"].note
    # `args.eval_steps` is the program's: neither `logging_steps` (1) nor the default 500
    assert plan.eval.interval_steps is None and "eval.interval_steps" in plan.unknown
    assert plan.checkpoint.interval_steps is None and "checkpoint.interval_steps" in plan.unknown


def test_a_script_that_runs_the_program_without_flags_is_that_run(tmp_path: Path) -> None:
    write(tmp_path, "sft_llama_ds.py", '''
        from trl import SFTConfig, SFTTrainer
        args = SFTConfig(output_dir="o", learning_rate=4e-5, per_device_train_batch_size=2, bf16=True)
        SFTTrainer(model="meta-llama/Meta-Llama-3-8B", args=args).train()
        ''')
    script = write(tmp_path, "launch.slurm", "#!/bin/bash\n#SBATCH -N 1\nmodule load rocm\ndeepspeed ./sft_llama_ds.py\n")
    plan = plan_of(script)
    assert plan.dialect == "hf" and plan.optimizer.lr == 4e-5
    assert plan.sources["optimizer.lr"].file.endswith("sft_llama_ds.py") and plan.sources["optimizer.lr"].line == 2
    report = check_paths([tmp_path], CheckOptions(use_settings=False))
    roles = {Path(f.path).name: f.role for f in report.files}
    assert roles == {"launch.slurm": "config", "sft_llama_ds.py": "companion"}  # one run, checked once


# Reduced from held-out review 86, B 12 (CN-Mini-Phi3's dpo_miniphi3.py and its config.py): the DPOConfig keywords
# read the fields of a settings class the program imports from the module beside it.
SETTINGS_MODULE = """\
from dataclasses import dataclass, field
DATA_ROOT = "/data/"

@dataclass
class DPOSettings:
    learning_rate: float = 1e-5
    per_device_train_batch_size: int = 16
    gradient_accumulation_steps: int = 16
    warmup_ratio: float = field(default=0.03)
    output_dir: str = DATA_ROOT + "dpo"
"""
SETTINGS_PROGRAM = """\
from trl import DPOConfig, DPOTrainer
from config import DPOSettings

if __name__ == "__main__":
    settings = DPOSettings(gradient_accumulation_steps=8)
    args = DPOConfig(
        output_dir=settings.output_dir,
        learning_rate=settings.learning_rate,
        per_device_train_batch_size=settings.per_device_train_batch_size,
        gradient_accumulation_steps=settings.gradient_accumulation_steps,
        warmup_ratio=settings.warmup_ratio,
        num_train_epochs=settings.missing_field,
        bf16=True,
    )
    DPOTrainer(model=None, args=args).train()
"""


def test_a_settings_class_imported_from_beside_the_program_gives_its_defaults(tmp_path: Path) -> None:
    write(tmp_path, "config.py", SETTINGS_MODULE)
    plan = plan_of(write(tmp_path, "dpo.py", SETTINGS_PROGRAM))
    assert plan.optimizer.lr == 1e-5 and plan.batch.micro_batch_size == 16 and plan.schedule.warmup_ratio == 0.03
    assert plan.batch.grad_accum == 8  # the call's keyword over the class default
    assert plan.sources["optimizer.lr"].line == 8 and "settings.missing_field" in plan.unknown["run.epochs"]
    (tmp_path / "config.py").unlink()  # the module not at hand: the fields stay unknown, the file refused as before
    assert detected(tmp_path / "dpo.py") is None


def test_a_settings_module_imported_whole_gives_its_constants(tmp_path: Path) -> None:
    # held-out review 111, A 09 (a MEDIQA summarization program): `import config as code_config`, then
    # `learning_rate=code_config.TASKA_SUMMARY_LEARNING_RATE`; the program was refused as naming no setting
    write(tmp_path, "config.py", "SEED = 42\nTASKA_LEARNING_RATE = 1e-3\nTASKA_MICRO_BATCH = 1\nTASKA_ACCUM = 16\n")
    program = write(tmp_path, "task_a.py", "from transformers import Seq2SeqTrainingArguments\n"
                                           "import config as code_config\n\n"
                                           "args = Seq2SeqTrainingArguments(\n    output_dir='out',\n"
                                           "    learning_rate=code_config.TASKA_LEARNING_RATE,\n"
                                           "    per_device_train_batch_size=code_config.TASKA_MICRO_BATCH,\n"
                                           "    gradient_accumulation_steps=code_config.TASKA_ACCUM,\n"
                                           "    seed=code_config.SEED,\n)\n")
    assert detected(program) == "hf"
    plan = plan_of(program)
    assert plan.optimizer.lr == 1e-3 and plan.batch.micro_batch_size == 1 and plan.batch.grad_accum == 16
    (tmp_path / "config.py").unlink()
    assert detected(program) is None


# Reduced from held-out review 88, A 02 (DPOTrainer_lora.py): the TrainingArguments keywords read the namespace a
# parse function returns, so the program run without flags trains with its argparse defaults.
ARGPARSE_PROGRAM = """\
import argparse
from transformers import TrainingArguments

def args_parse():
    parser = argparse.ArgumentParser()
    parser.add_argument("--learning_rate", type=float, default=5e-7)
    parser.add_argument("--per-device-train-batch-size", type=int, default=2)
    parser.add_argument("--epochs", dest="num_epoch", type=int, default=3)
    parser.add_argument("--output_dir", type=str)
    return parser.parse_args()

if __name__ == "__main__":
    args = args_parse()
    training_args = TrainingArguments(
        learning_rate=args.learning_rate,
        per_device_train_batch_size=args.per_device_train_batch_size,
        num_train_epochs=args.num_epoch,
        output_dir=args.output_dir,
    )
"""


def test_a_programs_argparse_defaults_are_what_it_trains_with_when_run_bare(tmp_path: Path) -> None:
    plan = plan_of(write(tmp_path, "dpo.py", ARGPARSE_PROGRAM))
    assert plan.optimizer.lr == 5e-7 and plan.batch.micro_batch_size == 2 and plan.run.epochs == 3
    assert "args.output_dir" in load_document(tmp_path / "dpo.py").unevaluated["--output_dir"]  # no default
    # a namespace parsed from given words is not the defaults'
    given = ARGPARSE_PROGRAM.replace("return parser.parse_args()", "return parser.parse_args(['--epochs', '1'])")
    assert detected(write(tmp_path, "given.py", given)) is None


def test_a_trl_trainer_handed_a_model_name_loads_its_weights(tmp_path: Path) -> None:
    # held-out review 88, A 01: `RewardTrainer(model="../model/Qwen/Qwen2.5-7B-Instruct", args=RewardConfig(...))`
    # loads the model itself; it was read as pretraining from scratch
    program = ("from trl import RewardConfig, RewardTrainer\n"
               "args = RewardConfig(output_dir='rm', learning_rate=1e-5, num_train_epochs=3)\n"
               "RewardTrainer(model='../model/Qwen/Qwen2.5-7B-Instruct', args=args).train()\n")
    plan = plan_of(write(tmp_path, "train_rm.py", program))
    assert plan.mode.kind == "full_finetune" and "RewardTrainer" in plan.sources["mode.kind"].note


def test_a_program_with_python_312_fstrings_is_read_by_an_older_interpreter(tmp_path: Path) -> None:
    # held-out review 90, A 01/02: `print(f"{example["text"]}")` (PEP 701) refused as invalid Python under 3.11
    from pretrain_doctor.config.python_reader import blank_fstrings

    program = ("from transformers import TrainingArguments\n"
               "def fmt(example):\n    return f\"{example[\"instruction\"]}: {example['output']!r:>{10}}\"\n"
               "args = TrainingArguments(output_dir='out', learning_rate=1e-4, num_train_epochs=3)\n")
    blanked = blank_fstrings(program)
    assert len(blanked) == len(program) and blanked.splitlines()[3] == program.splitlines()[3]
    assert "instruction" not in blanked and "'out'" in blanked
    plan = plan_of(write(tmp_path, "train.py", program))
    assert plan.optimizer.lr == 1e-4 and plan.sources["optimizer.lr"].line == 4


def test_a_fire_entry_points_defaults_are_the_bare_runs_arguments(tmp_path: Path) -> None:
    # held-out review 90, A 15 (alpaca-lora's finetune.py): `fire.Fire(train)`, and `TrainingArguments(learning_rate=
    # learning_rate, ...)` inside `train`, whose parameters' defaults a bare `python finetune.py` trains with
    program = ("import fire\nimport transformers\n\ndef train(base_model: str = 'EleutherAI/polyglot-ko-3.8b',\n"
               "          learning_rate: float = 2e-5, micro_batch_size: int = 2, num_epochs: int = 3):\n"
               "    args = transformers.TrainingArguments(per_device_train_batch_size=micro_batch_size,\n"
               "        learning_rate=learning_rate, num_train_epochs=num_epochs, output_dir='out')\n\n"
               "if __name__ == '__main__':\n    fire.Fire(train)\n")
    plan = plan_of(write(tmp_path, "finetune.py", program))
    assert (plan.optimizer.lr, plan.batch.micro_batch_size, plan.run.epochs) == (2e-5, 2, 3)


def test_a_skypilot_task_is_the_launch_its_run_script_makes(tmp_path: Path) -> None:
    # held-out review 90, A 17 (a SkyPilot task whose `run:` starts a GRPO program): refused as no training config
    task = ("resources:\n  accelerators:\n    - H100\nsetup: |\n  pip install unsloth\nenvs:\n  LR: 5e-6\n"
            "run: |\n  python -m pkg.grpo.train_grpo \\\n    --base-model unsloth/Qwen2.5-32B-Instruct \\\n"
            "    --lora-rank 16 --load-in-4bit --num-epochs 5 \\\n    --learning-rate $LR\n")
    path = write(tmp_path, "model4.yaml", task)
    assert detected(path) == "own_args"
    plan = plan_of(path)
    assert plan.optimizer.lr == 5e-6 and plan.sources["optimizer.lr"].line == 12
    assert plan.objective.kind == "online_rl" and plan.mode.rl_method == "grpo"


KWARGS_PROGRAM = '''import argparse
from trl import GRPOConfig, GRPOTrainer


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--lr", type=float, default=5e-6)
    parser.add_argument("--use_vllm", action="store_true")
    args = parser.parse_args()
    grpo_kwargs = dict(
        output_dir="out",
        learning_rate=args.lr,
        lr_scheduler_type="cosine",
        per_device_train_batch_size=4,
        gradient_accumulation_steps=4,
    )
    grpo_kwargs.update(num_generations=8)
    if args.use_vllm:
        grpo_kwargs.update(use_vllm=True, vllm_mode="colocate")
    training_args = GRPOConfig(**grpo_kwargs)
    GRPOTrainer(model="Qwen/Qwen2.5-0.5B", args=training_args).train()


if __name__ == "__main__":
    main()
'''


def test_a_config_built_from_a_kwargs_dict_reads_the_dict(tmp_path: Path) -> None:
    # held-out review 92, A 11: `GRPOConfig(**grpo_kwargs)` over a `dict(...)` the program builds was refused
    program = write(tmp_path, "train_grpo.py", KWARGS_PROGRAM)
    doc = load_document(program)
    assert doc.data["--learning_rate"] == 5e-6 and doc.positions[("--learning_rate",)].line == 12
    assert doc.data["--num_generations"] == 8  # an update on every path
    assert doc.data["--use_vllm"] is None and "some paths" in doc.unevaluated["--use_vllm"]  # only under an `if`
    plan = plan_of(program)
    assert plan.optimizer.lr == 5e-6 and plan.batch.grad_accum == 4 and plan.mode.rl_method == "grpo"


HALF_PROGRAM = '''from transformers import AutoModelForCausalLM, AutoTokenizer
from trl import DPOConfig, DPOTrainer

model = AutoModelForCausalLM.from_pretrained("Salesforce/codegen-350M-multi").half().cuda()
tokenizer = AutoTokenizer.from_pretrained("Salesforce/codegen-350M-multi")
args = DPOConfig(output_dir="out", learning_rate=1e-6, per_device_train_batch_size=1, num_train_epochs=3)
DPOTrainer(model=model, args=args, processing_class=tokenizer).train()
'''


def test_a_program_that_casts_the_weights_to_fp16_trains_in_pure_fp16(tmp_path: Path) -> None:
    # held-out review 92, A 01: `from_pretrained(...).half()` with no AMP flag was shown as fp32; AdamW's eps 1e-8
    # rounds to 0 in fp16 state
    plan = plan_of(write(tmp_path, "dpo_train.py", HALF_PROGRAM))
    assert plan.precision.params == "fp16" and plan.precision.mixed is False
    assert plan.sources["precision.params"].line == 4
    report = check_paths([tmp_path / "dpo_train.py"], CheckOptions())
    assert {f.code for f in report.findings if f.severity == "warning"} >= {"PD202", "PD302"}
    # a LoRA run keeps PEFT's fp32 adapters over the fp16 base; an AMP flag is the program's mixed precision
    lora = HALF_PROGRAM.replace("processing_class=tokenizer)", "processing_class=tokenizer, peft_config=LoraConfig(r=8))")
    assert plan_of(write(tmp_path, "lora.py", "from peft import LoraConfig\n" + lora)).precision.params != "fp16"
    amp = HALF_PROGRAM.replace("num_train_epochs=3", "num_train_epochs=3, fp16=True")
    assert plan_of(write(tmp_path, "amp.py", amp)).precision.params != "fp16"


SWITCHED_PROGRAM = '''import argparse
from peft import LoraConfig, get_peft_model
from transformers import AutoModelForCausalLM
from trl import ORPOConfig, ORPOTrainer

parser = argparse.ArgumentParser()
parser.add_argument("--lr", type=float, default=5e-5)
parser.add_argument("--lora_r", type=int, default=16)
parser.add_argument("--lora_alpha", type=int, default=32)
parser.add_argument("--no_lora", action="store_true")
args = parser.parse_args()
model = AutoModelForCausalLM.from_pretrained("Qwen/Qwen3-4B")
if not args.no_lora:
    model = get_peft_model(model, LoraConfig(r=args.lora_r, lora_alpha=args.lora_alpha))
else:
    print("full model")
config = ORPOConfig(output_dir="out", learning_rate=args.lr, per_device_train_batch_size=1, num_train_epochs=1)
ORPOTrainer(model=model, args=config).train()
'''


def test_a_branch_the_argparse_defaults_settle_is_taken(tmp_path: Path) -> None:
    # held-out review 93, A 04: `if not args.no_lora: get_peft_model(...)` (store_true, default False) read as a
    # condition that may not hold, so an ORPO LoRA run at 5e-5 was judged as the full model's (PD103)
    plan = plan_of(write(tmp_path, "run_orpo.py", SWITCHED_PROGRAM))
    assert (plan.mode.lora_rank, plan.mode.lora_alpha) == (16, 32)
    report = check_paths([tmp_path / "run_orpo.py"], CheckOptions())
    assert not [f for f in report.findings if f.code == "PD103"]
    launch = write(tmp_path, "run.sh", "python run_orpo.py --no_lora --lr 5e-5\n")  # the switch given: full model
    assert plan_of(launch).mode.lora_rank is None


BUILT_CONFIG_PROGRAM = '''import argparse
from dataclasses import dataclass, fields
from trl import GRPOConfig, GRPOTrainer


@dataclass
class Config:
    per_device_batch: int = 2
    grad_accum: int = 4
    learning_rate: float = 1e-5
    max_steps: int = 20


def parse_config():
    parser = argparse.ArgumentParser()
    for f in fields(Config):
        parser.add_argument(f"--{f.name}", type=f.type, default=f.default)
    return Config(**vars(parser.parse_args()))


def main():
    cfg = parse_config()
    args = GRPOConfig(output_dir="runs", per_device_train_batch_size=cfg.per_device_batch,
                      gradient_accumulation_steps=cfg.grad_accum, learning_rate=cfg.learning_rate,
                      lr_scheduler_type="constant_with_warmup", warmup_steps=10, max_steps=cfg.max_steps)
    GRPOTrainer(model="Qwen/Qwen2.5-0.5B-Instruct", args=args, reward_funcs=[]).train()


if __name__ == "__main__":
    main()
'''


def test_a_settings_instance_a_module_function_returns_holds_the_classs_defaults(tmp_path: Path) -> None:
    # held-out review 93, A 12: `cfg = parse_config()` returning `Config(**vars(parser.parse_args()))`; the run's
    # length (`max_steps=cfg.max_steps`) was unknown and PD105 said a 10-step warmup might outlast it
    plan = plan_of(write(tmp_path, "train.py", BUILT_CONFIG_PROGRAM))
    assert (plan.run.max_steps, plan.batch.micro_batch_size, plan.batch.grad_accum) == (20, 2, 4)
    assert plan.optimizer.lr == 1e-5
    report = check_paths([tmp_path / "train.py"], CheckOptions())
    assert not [f for f in report.findings if f.code == "PD105"]


RECIPE_MODULE = '''from trl import SFTConfig


class CPTRecipe:
    def __init__(self):
        self.model_name = "Qwen/Qwen2.5-1.5B"

    def load_model(self) -> str:
        return self.model_name

    def load_config(self) -> SFTConfig:
        return SFTConfig(output_dir="out", max_steps=1000, per_device_train_batch_size=4,
                         gradient_accumulation_steps=2, learning_rate=5e-6, warmup_ratio=0.0,
                         lr_scheduler_type="linear")
'''


def test_a_recipe_module_that_builds_no_trainer_leaves_the_starting_weights_assumed(tmp_path: Path) -> None:
    # held-out review 94, D 01: recipe.py's SFTConfig for a continued pretraining of Qwen2.5-1.5B, the model handed to
    # a trainer elsewhere, was "pretraining from scratch" for certain and PD104 warned of from-scratch spikes
    plan = plan_of(write(tmp_path, "recipe.py", RECIPE_MODULE))
    assert "mode.kind" in plan.program.assumed
    report = check_paths([tmp_path / "recipe.py"], CheckOptions())
    assert all(f.severity == "info" for f in report.findings if f.code == "PD104")


def test_an_annotated_kwargs_dict_and_the_items_set_in_it(tmp_path: Path) -> None:
    # held-out review 95, A 08: `training_kwargs: dict[str, Any] = {...}`, then `training_kwargs["bf16"] = True` under
    # an `if`, then `DPOConfig(**training_kwargs)`: refused
    program = write(tmp_path, "train_dpo.py", '''from typing import Any
import torch
from trl import DPOConfig, DPOTrainer

training_kwargs: dict[str, Any] = {
    "output_dir": "out",
    "per_device_train_batch_size": 2,
    "gradient_accumulation_steps": 4,
    "learning_rate": 5e-7,
}
training_kwargs["num_train_epochs"] = 1
if torch.cuda.is_bf16_supported():
    training_kwargs["bf16"] = True
DPOTrainer(model="google/gemma-2-2b-it", args=DPOConfig(**training_kwargs)).train()
''')
    doc = load_document(program)
    assert doc.data["--learning_rate"] == 5e-7 and doc.data["--num_train_epochs"] == 1
    assert doc.data["--bf16"] is None  # only when the GPU has bf16


CLASS_SETTINGS_PROGRAM = '''from trl import KTOConfig
from peft import LoraConfig
from models.model_kto import kto_pipeline


class Config:
    beta = 0.1
    learning_rate = 5e-4
    batch_size = 16
    lora_r = 8
    num_train_epochs = 2


if __name__ == "__main__":
    training_args = KTOConfig(
        beta=Config.beta,
        per_device_train_batch_size=Config.batch_size,
        num_train_epochs=Config.num_train_epochs,
        learning_rate=Config.learning_rate,
        output_dir="out",
    )
    peft_config = LoraConfig(r=Config.lora_r, lora_alpha=16, task_type="CAUSAL_LM")
    kto_pipeline("gpt2", training_args, peft_config=peft_config)
'''


def test_fields_read_off_a_settings_class_itself_are_its_literals(tmp_path: Path) -> None:
    # held-out review 96, A 09: `KTOConfig(beta=Config.beta, learning_rate=Config.learning_rate, ...)` over a class
    # never instantiated was refused; its LoRA, handed to a helper as `peft_config=`, is a KTO through adapters
    plan = plan_of(write(tmp_path, "train_kto.py", CLASS_SETTINGS_PROGRAM))
    assert (plan.optimizer.lr, plan.batch.micro_batch_size, plan.run.epochs) == (5e-4, 16, 2)
    assert plan.mode.lora_rank == 8 and plan.objective.kind == "preference"
    report = check_paths([tmp_path / "train_kto.py"], CheckOptions())
    assert not [f for f in report.findings if f.code == "PD103"]  # 5e-4 is in the adapters' band, not full KTO's
    # a class the program changes after its body is read holds nothing known
    changed = CLASS_SETTINGS_PROGRAM.replace("if __name__", "Config.learning_rate = 1e-6\n\n\nif __name__")
    assert "--learning_rate" in load_document(write(tmp_path, "changed.py", changed)).unevaluated


def test_a_function_handed_the_parsed_command_line_reads_its_defaults(tmp_path: Path) -> None:
    # held-out review 95, A 07: `def main(args): TrainingArguments(learning_rate=args.learning_rate, ...)` with
    # `args = parser.parse_args(); main(args)` at the bottom was refused as "a Python program of its own"
    program = '''import argparse
from transformers import Trainer, TrainingArguments


def main(args):
    training_args = TrainingArguments(output_dir=args.output_dir, learning_rate=args.learning_rate,
                                      per_device_train_batch_size=args.batch, max_steps=args.max_steps)
    Trainer(model=None, args=training_args).train()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--output_dir", default="out")
    parser.add_argument("--learning_rate", type=float, default=8e-5)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--max_steps", type=int, default=625)
    args = parser.parse_args()
    main(args)
'''
    plan = plan_of(write(tmp_path, "train.py", program))
    assert (plan.optimizer.lr, plan.batch.micro_batch_size, plan.run.max_steps) == (8e-5, 4, 625)
    # handed something else somewhere, the parameter's fields are not the defaults
    other = program.replace("    main(args)\n", "    main(args)\n    main(load_other())\n")
    assert detected(write(tmp_path, "other.py", other)) is None


def test_a_function_returning_the_name_it_parsed_into_gives_the_argparse_defaults(tmp_path: Path) -> None:
    # held-out review 100, A 15: `args = parser.parse_args(); return args` in get_main_args(), then
    # `SFTConfig(learning_rate=args.learning_rate, ...)`: refused as "none of the script's flags names a setting";
    # its packing (`bfd`, padding-free) under a model the program loads with flash attention keeps documents apart
    program = '''from argparse import ArgumentParser
from transformers import AutoModelForCausalLM
from trl import SFTConfig, SFTTrainer


def get_main_args():
    parser = ArgumentParser()
    parser.add_argument("--learning_rate", type=float, default=3e-5)
    parser.add_argument("--per_device_train_batch_size", type=int, default=4)
    args = parser.parse_args()
    return args


def main():
    args = get_main_args()
    model = AutoModelForCausalLM.from_pretrained("Qwen/Qwen2.5-1.5B", attn_implementation="flash_attention_2")
    config = SFTConfig(output_dir="out", learning_rate=args.learning_rate,
                       per_device_train_batch_size=args.per_device_train_batch_size, packing=True,
                       packing_strategy="bfd", padding_free=True)
    SFTTrainer(model=model, args=config).train()
'''
    plan = plan_of(write(tmp_path, "run_sft.py", program))
    assert (plan.optimizer.lr, plan.batch.micro_batch_size) == (3e-5, 4)
    assert plan.data.document_mask is True
    report = check_paths([tmp_path / "run_sft.py"], CheckOptions())
    assert not [f for f in report.findings if f.code == "PD510"]


def test_a_notebooks_export_with_magics_is_read(tmp_path: Path) -> None:
    # held-out review 112, A 04: a training script exported from a notebook keeps `%env WANDB_PROJECT=...` lines;
    # it was refused as invalid Python
    program = write(tmp_path, "train.py", "from trl import SFTConfig, SFTTrainer\n%env WANDB_PROJECT=sql\n"
                                          "!pip install -q peft\n\nif True:\n    %env WANDB_WATCH=false\n"
                                          "    args = SFTConfig(output_dir='out', learning_rate=2e-4,\n"
                                          "                     per_device_train_batch_size=4)\n")
    plan = plan_of(program)
    assert plan.optimizer.lr == 2e-4 and plan.sources["optimizer.lr"].line == 7


def test_a_programs_hf_argument_dataclass_run_without_flags_gives_its_defaults(tmp_path: Path) -> None:
    # held-out review 112, A 11 (a copy of TRL's stack_llama_2 DPO script): `script_args =
    # parser.parse_args_into_dataclasses()[0]`, then `TrainingArguments(learning_rate=script_args.learning_rate, ...)`;
    # refused as naming no setting, and its full DPO at lr 5e-4 went unseen
    program = write(tmp_path, "dpo.py", "from dataclasses import dataclass, field\nfrom typing import Optional\n"
                                        "from transformers import HfArgumentParser, TrainingArguments\n"
                                        "from trl import DPOTrainer\n\n@dataclass\nclass ScriptArguments:\n"
                                        "    learning_rate: Optional[float] = field(default=5e-4)\n"
                                        "    per_device_train_batch_size: Optional[int] = field(default=4)\n"
                                        "    max_steps: int = 1000\n\n"
                                        "if __name__ == '__main__':\n    parser = HfArgumentParser(ScriptArguments)\n"
                                        "    script_args = parser.parse_args_into_dataclasses()[0]\n"
                                        "    training_args = TrainingArguments(output_dir='out',\n"
                                        "        learning_rate=script_args.learning_rate,\n"
                                        "        per_device_train_batch_size=script_args.per_device_train_batch_size,\n"
                                        "        max_steps=script_args.max_steps)\n"
                                        "    DPOTrainer(model=None, args=training_args).train()\n")
    plan = plan_of(program)
    assert plan.optimizer.lr == 5e-4 and plan.batch.micro_batch_size == 4 and plan.run.max_steps == 1000



def test_a_dataclass_defined_under_main_unpacked_and_handed_to_main(tmp_path: Path) -> None:
    # held-out review 129, A 12 (CodeDPD dpo.py): `class ScriptArguments` inside `if __name__ == "__main__":`,
    # `(args, ) = parser.parse_args_into_dataclasses()`, then `main(args)` builds `DPOConfig(bf16=args.bf16, ...)`;
    # bf16 was read as off and a ZeRO-3 accelerate config with bf16 raised a false PD303 error
    program = write(tmp_path, "dpo.py", """\
        from dataclasses import dataclass, field
        from typing import Optional
        from transformers import HfArgumentParser
        from trl import DPOConfig, DPOTrainer

        def main(args):
            training_args = DPOConfig(output_dir="out", learning_rate=args.learning_rate, bf16=args.bf16,
                                      save_strategy=args.save_strategy, per_device_train_batch_size=args.batch_size)
            DPOTrainer(None, args=training_args).train()

        if __name__ == "__main__":
            @dataclass
            class ScriptArguments:
                learning_rate: Optional[float] = field(default=1e-5)
                batch_size: Optional[int] = field(default=4)
                bf16: Optional[bool] = field(default=True)
                save_strategy: Optional[str] = field(default="no")

            parser = HfArgumentParser(ScriptArguments)
            (args, ) = parser.parse_args_into_dataclasses()
            main(args)
        """)
    plan = plan_of(program)
    assert plan.optimizer.lr == 1e-5 and plan.batch.micro_batch_size == 4
    assert plan.precision.bf16_enabled is True and plan.checkpoint.enabled is False


def test_a_config_built_in_a_function_from_the_parsed_defaults(tmp_path: Path) -> None:
    # held-out review 129, A 18 (grpo-turn-level-rewards train.py): `def _parse_args(argv=None): ... return
    # parser.parse_args(argv)`, `main()` hands `build_config(max_steps=args.max_steps, ...)` whose GRPOConfig writes
    # ten arguments out itself; refused as naming no training setting
    program = write(tmp_path, "train.py", """\
        import argparse
        from trl import GRPOConfig, GRPOTrainer

        def build_config(condition, seed, max_steps, num_generations):
            micro = min(num_generations, 7)
            return GRPOConfig(output_dir=f"outputs/{condition}", seed=seed, max_steps=max_steps,
                              num_generations=num_generations, per_device_train_batch_size=micro,
                              gradient_accumulation_steps=num_generations // micro, beta=0.0,
                              max_completion_length=2048, logging_steps=1, gradient_checkpointing=True,
                              num_iterations=2, save_strategy="steps", save_steps=50, save_total_limit=3)

        def _parse_args(argv=None):
            parser = argparse.ArgumentParser()
            parser.add_argument("--condition", required=True)
            parser.add_argument("--seed", type=int, default=42)
            parser.add_argument("--max-steps", type=int, default=2)
            parser.add_argument("--num-generations", type=int, default=2)
            return parser.parse_args(argv)

        def main():
            args = _parse_args()
            config = build_config(condition=args.condition, seed=args.seed, max_steps=args.max_steps,
                                  num_generations=args.num_generations)
            GRPOTrainer(model="m", args=config).train()

        if __name__ == "__main__":
            main()
        """)
    plan = plan_of(program)
    assert (plan.mode.rl_method, plan.run.max_steps, plan.batch.generations, plan.seed) == ("grpo", 2, 2, 42)
    assert plan.optimizer.lr == 1e-6  # TRL's default
    assert (plan.batch.micro_batch_size, plan.batch.grad_accum) == (2, 1)  # `min(...)`, `//` of the values read
    # a parse of an argument list the caller builds is not the command line as launched
    other = write(tmp_path / "b", "train.py", program.read_text().replace("args = _parse_args()",
                                                                          "args = _parse_args(['--max-steps', '9'])"))
    assert plan_of(other).run.max_steps is None

_ANSWER_ONLY_SFT = """\
    import argparse
    from datasets import load_dataset
    from transformers import (AutoModelForCausalLM, AutoTokenizer, DataCollatorForLanguageModeling, Trainer,
                              TrainingArguments)

    def tokenize_example(example, tokenizer):
        prompt = tokenizer(example["prompt"])["input_ids"]
        answer = tokenizer(example["answer"])["input_ids"]
        LABELS
        return {"input_ids": prompt + answer, "labels": labels}

    def main():
        parser = argparse.ArgumentParser()
        parser.add_argument("--base_model", default="HuggingFaceTB/SmolLM2-360M-Instruct")
        args = parser.parse_args()
        tokenizer = AutoTokenizer.from_pretrained(args.base_model)
        model = AutoModelForCausalLM.from_pretrained(args.base_model)
        data = load_dataset("json", data_files="train.json")["train"].map(lambda e: tokenize_example(e, tokenizer))
        training_args = TrainingArguments(output_dir="out", learning_rate=4e-5, num_train_epochs=3,
                                          per_device_train_batch_size=8)
        COLLATOR
        Trainer(model=model, args=training_args, train_dataset=data, data_collator=data_collator).train()

    main()
    """


def test_labels_masked_by_the_program_and_rebuilt_by_its_collator(tmp_path: Path) -> None:
    # held-out review 118, A 17 (wjkim's sft.py): answer-only labels, then DataCollatorForLanguageModeling(mlm=False)
    prompt_masked = "labels = [-100] * len(prompt) + answer"
    pad_only = "labels = [t if t != tokenizer.pad_token_id else -100 for t in prompt + answer]"
    rebuilds = "data_collator = DataCollatorForLanguageModeling(tokenizer=tokenizer, mlm=False)"
    keeps = "data_collator = DataCollatorForSeq2Seq(tokenizer, label_pad_token_id=-100)"
    cases = [(prompt_masked, rebuilds, True), (pad_only, rebuilds, False), (prompt_masked, keeps, False)]
    for n, (labels, collator, fires) in enumerate(cases):
        write(tmp_path, f"{n}/sft.py", _ANSWER_ONLY_SFT.replace("LABELS", labels).replace("COLLATOR", collator))
        script = write(tmp_path, f"{n}/run.sh", "python sft.py --base_model HuggingFaceTB/SmolLM2-360M-Instruct\n")
        found = [f for f in check_paths([script], CheckOptions(use_settings=False)).findings if f.code == "PD505"]
        assert [f.severity for f in found] == (["warning"] if fires else []), (labels, collator)
        if fires:
            assert "rebuilds every row's labels" in found[0].message and found[0].line == 21


def test_a_name_a_conditional_block_reassigns_is_unknown(tmp_path: Path) -> None:
    # held-out review 132, A 16 (an alpaca-lora fork's finetune.py): `gradient_accumulation_steps = batch_size //
    # micro_batch_size`, then `if ddp: gradient_accumulation_steps = gradient_accumulation_steps // world_size`: read
    # as 32 whatever the GPU count, and PD105 asked for --world-size where the batch itself was unknown
    program = write(tmp_path, "finetune.py", """\
        import os
        import fire
        import transformers

        def train(batch_size: int = 128, micro_batch_size: int = 4, num_epochs: int = 3):
            gradient_accumulation_steps = batch_size // micro_batch_size
            world_size = int(os.environ.get("WORLD_SIZE", 1))
            ddp = world_size != 1
            if ddp:
                gradient_accumulation_steps = gradient_accumulation_steps // world_size
            trainer = transformers.Trainer(args=transformers.TrainingArguments(
                per_device_train_batch_size=micro_batch_size, gradient_accumulation_steps=gradient_accumulation_steps,
                warmup_steps=100, num_train_epochs=num_epochs, learning_rate=3e-4, output_dir="out"))
            trainer.train()

        if __name__ == "__main__":
            fire.Fire(train)
        """)
    plan = plan_of(program)
    assert plan.batch.micro_batch_size == 4 and plan.batch.grad_accum is None and "batch.grad_accum" in plan.unknown
    assert plan.schedule.warmup_steps == 100 and [f for f in check_paths([program], CheckOptions(use_settings=False))
                                                   .findings if f.code == "PD105"] == []


def test_a_field_a_conditional_block_sets_leaves_the_others_known(tmp_path: Path) -> None:
    # held-out review 123, A 20 (kanana sft.py): `if not args.dataset_name: args.dataset_name = None` before
    # `SFTConfig(learning_rate=args.learning_rate, ...)`: only that field is uncertain, not every `args.*`
    program = write(tmp_path, "sft.py", """\
        import argparse
        from trl import SFTConfig, SFTTrainer

        def main():
            parser = argparse.ArgumentParser()
            parser.add_argument("--learning_rate", type=float, default=5e-5)
            parser.add_argument("--train_batch_size", type=int, default=4)
            parser.add_argument("--dataset_name", type=str, default="")
            args = parser.parse_args()
            if not args.dataset_name:
                args.dataset_name = None
            config = SFTConfig(output_dir="out", learning_rate=args.learning_rate,
                               per_device_train_batch_size=args.train_batch_size, bf16=True)
            SFTTrainer(model="m", args=config).train()

        if __name__ == "__main__":
            main()
        """)
    plan = plan_of(program)
    assert plan.optimizer.lr == 5e-5 and plan.batch.micro_batch_size == 4


def test_a_settings_module_of_dataclasses_is_read_by_its_sections(tmp_path: Path) -> None:
    # held-out review 133, A 03 (a QLoRA project's src/config.py): `TrainConfig` with TrainingArguments' names beside
    # `ModelConfig` and `LoraConfig_`, aggregated by a root `Config(train=field(default_factory=TrainConfig), ...)`
    config = write(tmp_path, "config.py", """\
        from dataclasses import dataclass, field

        @dataclass
        class ModelConfig:
            model_name: str = "Qwen/Qwen2.5-3B-Instruct"

        @dataclass
        class LoraConfig_:
            r: int = 16
            alpha: int = 32

        @dataclass
        class TrainConfig:
            output_dir: str = "outputs/run"
            num_train_epochs: int = 3
            per_device_train_batch_size: int = 1
            gradient_accumulation_steps: int = 16
            learning_rate: float = 2e-4
            lr_scheduler_type: str = "cosine"
            warmup_steps: int = 5
            seed: int = 42

        @dataclass
        class Config:
            model: ModelConfig = field(default_factory=ModelConfig)
            lora: LoraConfig_ = field(default_factory=LoraConfig_)
            train: TrainConfig = field(default_factory=TrainConfig)
        """)
    assert detected(config) == "hf"
    plan = plan_of(config)
    assert (plan.optimizer.lr, plan.batch.grad_accum, plan.schedule.kind) == (2e-4, 16, "cosine")
    assert plan.model.name == "Qwen/Qwen2.5-3B-Instruct" and plan.sources["optimizer.lr"].line == 18
    # a model definition's dataclass is no Trainer's settings
    model = write(tmp_path / "b", "model.py", "from dataclasses import dataclass\n@dataclass\nclass GPTConfig:\n"
                                              "    n_layer: int = 12\n    n_head: int = 12\n    n_embd: int = 768\n")
    assert detected(model) != "hf"
