"""Launch scripts of programs that parse their own arguments (dialects/own_args.py): read by name, with the
program's defaults from its source when at hand, else unknown; never Megatron's or transformers' defaults.
Reduced from held-out review 7 (B 07 Time-MoE, B 31 / A 32 DeepSpeed-Chat, B 28 fmengine)."""

from __future__ import annotations

import pytest

from pretrain_doctor.check.engine import check_paths
from pretrain_doctor.settings import CheckOptions

from .helpers import detected, findings, notes, plan_of, reported, write

# XUHIT/Time-MoE@1e613d7 fine-tune.sh, reduced.
TIME_MOE = """
python torch_dist_run.py main.py \\
  -d train_data/all_train.jsonl \\
  --precision bf16 \\
  --learning_rate 1e-4 \\
  --min_learning_rate 5e-5 \\
  --lr_scheduler_type cosine \\
  --model pretrained_model/TimeMoE-50M \\
  --max_length 4096 \\
  --global_batch_size 128 \\
  --micro_batch_size 8 \\
  --num_train_epochs 1.0
"""
# Time-MoE main.py's parser, reduced (its add_argument lines as written).
TIME_MOE_MAIN = """
import argparse
from time_moe.runner import TimeMoeRunner

if __name__ == '__main__':
    parser = argparse.ArgumentParser()
    parser.add_argument('--data_path', '-d', type=str,default='train_data/ETTh1.jsonl', help='Path to training data')
    parser.add_argument('--model_path', '-model', type=str, default='pretrained_model/TimeMoE-50M')
    parser.add_argument('--max_length', type=int, default=4096)
    parser.add_argument('--learning_rate', type=float, default=5e-5, help='learning rate')
    parser.add_argument('--min_learning_rate', type=float, default=0, help='minimum learning rate')
    parser.add_argument('--num_train_epochs', type=float, default=1.0, help='number of training epochs')
    parser.add_argument('--seed', type=int, default=9899, help='random seed')
    parser.add_argument('--lr_scheduler_type', type=str, default='constant')
    parser.add_argument('--warmup_ratio', type=float, default=0.0, help='warmup ratio')
    parser.add_argument('--warmup_steps', type=int, default=0, help='warmup steps')
    parser.add_argument('--weight_decay', type=float, default=0.1, help='weight decay')
    parser.add_argument('--global_batch_size', type=int, default=128, help='global batch size')
    parser.add_argument('--micro_batch_size', type=int, default=1, help='micro batch size per device')
    parser.add_argument('--precision', choices=['fp32', 'fp16', 'bf16'], type=str, default='fp32')
    parser.add_argument('--from_scratch', action='store_true', help='train from scratch')
    parser.add_argument('--adam_beta1', type=float, default=0.9, help='adam beta1')
    parser.add_argument('--adam_beta2', type=float, default=0.95, help='adam beta2')
    parser.add_argument('--max_grad_norm', type=float, default=1.0, help='max gradient norm')
    parser.add_argument('--evaluation_strategy', choices=['steps', 'epoch', 'no'], type=str, default='no')
    args = parser.parse_args()
"""


def _codes(path) -> dict[str, str]:
    report = check_paths([path], CheckOptions(use_settings=False))
    assert report.errors == []
    return {f.code: f.severity for f in report.findings}


def test_time_moe_without_its_source_is_its_own_program_not_megatron(tmp_path) -> None:
    path = write(tmp_path, "fine-tune.sh", TIME_MOE)
    assert detected(path) == "own_args"  # was megatron: `--micro_batch_size --global_batch_size` look alike
    plan = plan_of(path)
    assert plan.optimizer.lr == pytest.approx(1e-4) and plan.schedule.kind == "cosine"
    assert plan.schedule.min_lr == pytest.approx(5e-5) and plan.precision.compute == "bf16"
    assert (plan.batch.micro_batch_size, plan.batch.global_batch_size, plan.batch.seq_len) == (8, 128, 4096)
    # No trainer's defaults: betas, weight decay and seed are the program's, unknown here.
    assert plan.optimizer.betas is None and plan.optimizer.weight_decay is None
    assert {"optimizer.betas", "optimizer.weight_decay", "seed"} <= set(plan.unknown)
    assert plan.mode.kind == "full_finetune" and plan.mode.init_from == "pretrained_model/TimeMoE-50M"
    assert "read as the program's own arguments (main.py, source not at hand)" in plan.reading
    codes = _codes(path)
    assert not {"PD201", "PD204", "PD803"} & set(codes)  # Megatron's β2 0.999 / wd 0.01, a seed it may set


def test_time_moe_with_its_source_at_hand_takes_the_programs_defaults(tmp_path) -> None:
    path = write(tmp_path, "fine-tune.sh", TIME_MOE)
    main = write(tmp_path, "main.py", TIME_MOE_MAIN)
    plan = plan_of(path)
    assert plan.dialect == "own_args"
    assert plan.optimizer.betas == (0.9, 0.95) and plan.optimizer.weight_decay == pytest.approx(0.1)
    assert "the program's default" in plan.sources["optimizer.weight_decay"].note
    assert plan.schedule.warmup_steps == 0 and plan.seed == 9899
    # argparse resolves `--model` as the unique prefix of `--model_path`.
    assert plan.mode.init_from == "pretrained_model/TimeMoE-50M" and plan.sources["mode.init_from"].line == 7
    assert plan.optimizer.lr == pytest.approx(1e-4)  # the script's value over the default
    assert str(main) in plan.reading
    assert "optimizer" in plan.fork_areas and "warmup" in plan.fork_areas
    assert plan.eval.enabled is False  # main.py's `--evaluation_strategy` default 'no'
    codes = _codes(path)
    assert codes.get("PD702") == "info" and not {"PD201", "PD204"} & set(codes)  # β2 0.95 / wd 0.1 are main.py's


def test_a_program_whose_source_parses_with_hf_argument_parser_stays_hf(tmp_path) -> None:
    path = write(tmp_path, "run.sh", "torchrun train.py --model_name_or_path m --num_warmup_steps 10 "
                                     "--per_device_train_batch_size 4 --learning_rate 2e-5 --output_dir out\n")
    write(tmp_path, "train.py", "from transformers import HfArgumentParser\n"
                                "parser = HfArgumentParser((TrainingArguments,))\n")
    assert detected(path) == "hf"


# wangclnlp/DeepSpeed-Chat-Extension@ddc29f4 step3 run_6.7b.sh, reduced.
DS_CHAT_STEP3 = """
ACTOR_MODEL_PATH=$1
CRITIC_MODEL_PATH=$2
Actor_Lr=9.65e-6
Critic_Lr=5e-6
deepspeed --master_port 12346 main.py \\
   --actor_model_name_or_path $ACTOR_MODEL_PATH \\
   --critic_model_name_or_path $CRITIC_MODEL_PATH \\
   --per_device_train_batch_size 4 \\
   --actor_learning_rate ${Actor_Lr} \\
   --critic_learning_rate ${Critic_Lr} \\
   --actor_weight_decay 0.1 \\
   --num_train_epochs 1 \\
   --lr_scheduler_type cosine \\
   --gradient_accumulation_steps 1 \\
   --num_warmup_steps 100 \\
   --deepspeed --seed 1234 \\
   --output_dir $OUTPUT
"""


def test_deepspeed_chat_step3_is_its_own_ppo_program_not_hf(tmp_path) -> None:
    path = write(tmp_path, "run_6.7b.sh", DS_CHAT_STEP3)
    assert detected(path) == "own_args"  # was hf: lr "5e-5 transformers default", warmup missed
    plan = plan_of(path)
    assert plan.optimizer.lr == pytest.approx(9.65e-6) and plan.schedule.warmup_steps == 100
    assert plan.mode.kind == "online_rl" and plan.mode.rl_method == "ppo"
    assert plan.precision.compute is None or "precision.compute" in plan.unknown
    assert "PD104" not in _codes(path)  # `--num_warmup_steps 100` is the warmup


def test_deepspeed_chat_step2_zero_warmup_still_says_no_warmup(tmp_path) -> None:
    path = write(tmp_path, "run_350m.sh", "deepspeed main.py --model_name_or_path facebook/opt-350m "
                                          "--per_device_train_batch_size 4 --max_seq_len 512 --learning_rate 5e-5 "
                                          "--weight_decay 0.1 --lr_scheduler_type cosine --num_warmup_steps 0\n")
    plan = plan_of(path)
    assert plan.dialect == "own_args" and plan.optimizer.betas is None and plan.schedule.warmup_steps == 0
    assert "PD104" in _codes(path)


# eth-easl/fmengine@ec00888 scripts/pretrain/pretrain_llama_1b.sh and its configs/llama.json, reduced.
FMENGINE = """deepspeed --num_gpus 4 --num_nodes 1 cli/train.py \\
    --init_ckpt /pretrained/llama-1b \\
    --max_seq_len 1024 \\
    --train_steps 1000 \\
    --pipe_parallel_size 1 \\
    --deepspeed_config ./configs/llama.json"""
FMENGINE_JSON = """{
    "train_micro_batch_size_per_gpu": 8, "train_batch_size": 32, "gradient_clipping": 1.0,
    "lr-decay-style": "cosine", "warmup": 0.1, "bf16": {"enabled": true}, "zero_optimization": {"stage": 0},
    "optimizer": {"type": "Adam", "params": {"lr": 1e-5, "betas": [0.9, 0.95], "eps": 1.0e-6}},
    "scheduler": {"type": "WarmupLR", "params": {"warmup_min_lr": 1e-6, "warmup_max_lr": 5e-5, "warmup_num_steps": 50}}
}"""


def test_fmengine_launcher_reads_its_deepspeed_json(tmp_path) -> None:
    path = write(tmp_path, "scripts/pretrain_llama_1b.sh", FMENGINE)
    write(tmp_path, "configs/llama.json", FMENGINE_JSON)
    assert detected(path) == "own_args"  # was "not a training config of a supported trainer"
    plan = plan_of(path)
    assert plan.optimizer.lr == pytest.approx(5e-5) and plan.optimizer.betas == (0.9, 0.95)
    assert plan.schedule.kind == "constant" and plan.schedule.warmup_steps == 50
    assert (plan.batch.micro_batch_size, plan.batch.global_batch_size) == (8, 32)
    assert plan.run.max_steps == 1000 and plan.batch.seq_len == 1024 and plan.precision.compute == "bf16"
    assert plan.mode.init_from == "/pretrained/llama-1b"


# Held-out review 25, A 17 (databrickslabs/dolly train.sh at c89f48d), reduced: DeepSpeed's launcher runs the
# training program as a module, with click options of its own spelling.
DOLLY = """deepspeed \\
     --include="localhost:1,0" \\
     --module training.trainer \\
     --deepspeed config/ds_z3_bf16_config.json \\
     --epochs 1 \\
     --per-device-train-batch-size 2 \\
     --lr 1e-5
"""


def test_a_program_run_as_a_module_is_read_by_its_own_arguments(tmp_path) -> None:
    from pretrain_doctor.plan.show import render_text

    path = write(tmp_path, "train.sh", DOLLY)
    assert detected(path) == "own_args"  # was "not a training config of a supported trainer"
    plan = plan_of(path)
    assert plan.optimizer.lr == pytest.approx(1e-5) and plan.run.epochs == 1 and plan.batch.micro_batch_size == 2
    assert "mode.init_from" in plan.unknown  # the program decides what it loads: the run kind is not asserted
    assert plan.parallel.world_size == 2  # `--include="localhost:1,0"`: two GPUs (held-out review 27, A 12)
    assert "assumed: from scratch unless the program loads weights" in render_text(plan)
    # a console command spelt like a module, which says nothing of training, is not taken for one
    other = write(tmp_path, "eval.sh", DOLLY.replace("training.trainer", "tools.report"))
    assert detected(other) != "own_args"


def test_a_programs_own_sentinel_count_is_unknown_not_an_error(tmp_path) -> None:
    # held-out review 135, C 09 (a nanochat fork's run_base_train_d32.sh, reduced): `--total-batch-size=-1` is the
    # batch nanochat's own scaling rule picks; it was an error ("input should be greater than 0, got -1")
    path = write(tmp_path, "run.sh", "torchrun --nproc_per_node=16 -m scripts.base_train -- --depth=32 \\\n"
                                     "    --device-batch-size=8 --total-batch-size=-1 --num-iterations=5000\n")
    plan = plan_of(path)
    assert plan.dialect == "own_args" and plan.batch.micro_batch_size == 8
    assert plan.batch.global_batch_size is None and "sentinel" in plan.unknown["batch.global_batch_size"]
    assert not [note for note in plan.notes if note.data.get("severity") == "error"]


# TokisakiKurumi2001/lit-gpt at 3db4960 (held-out review 26, B 08), reduced: old lit-gpt's finetune/lora.py takes its
# flags from `CLI(setup)` (jsonargparse: the function's parameters) and loops over micro-batch iterations.
OLD_LIT_GPT_LORA = """
from jsonargparse import CLI
MAX_ITERS = 50000
WARMUP_RATIO = 0.1
learning_rate = 5e-5
batch_size = 128
micro_batch_size = 2
gradient_accumulation_iters = batch_size // micro_batch_size
def setup(data_dir: str = "data", checkpoint_dir: str = "ckpt", out_dir: str = "out", precision=None,
          max_iters: int = MAX_ITERS, warmup_ratio: float = WARMUP_RATIO) -> None:
    pass
if __name__ == "__main__":
    CLI(setup)
"""


def test_a_jsonargparse_cli_program_is_read_by_its_functions_parameters(tmp_path) -> None:
    write(tmp_path, "finetune/lora.py", OLD_LIT_GPT_LORA)
    path = write(tmp_path, "training.sh", "python finetune/lora.py --data_dir d --checkpoint_dir c --max_iters 127331 "
                                          "--precision bf16-true\n")
    assert detected(path) == "own_args"  # was: "none of the script's flags names a training setting"
    plan = plan_of(path)
    assert plan.schedule.warmup_ratio == pytest.approx(0.1)  # the function's default, a module constant
    # its iterations are micro-batches: the optimizer steps are not 127,331
    assert plan.run.max_steps is None and "micro-batch iterations" in plan.unknown["run.max_steps"]
    assert not findings(plan, "PD106")


def test_a_python_fire_program_is_read_by_its_functions_parameters(tmp_path) -> None:
    # Held-out review 34, A 18 (EasyLLM's run_nonlora_finetune.sh, alpaca-lora style): `fire.Fire(start_ift)` declares
    # the flags by the function's parameters; the launch was refused as naming no setting, and, forced, its
    # `nonlora-finetune.py` was read as an adapter program by its name
    write(tmp_path, "nonlora-finetune.py", "import fire\n\ndef start_ift(base_model: str, data_path: str, "
                                           "batch_size: int = 128, micro_batch_size: int = 4, num_epochs: int = 3,\n"
                                           "              learning_rate: float = 3e-4, cutoff_len: int = 512):\n"
                                           "    pass\n\nif __name__ == '__main__':\n    fire.Fire(start_ift)\n")
    path = write(tmp_path, "run.sh", "deepspeed --num_gpus=4 nonlora-finetune.py --base_model huggyllama/llama-7b "
                                     "--data_path d.json --batch_size 128 --micro_batch_size 4 --learning_rate 1e-4\n")
    assert detected(path) == "own_args"
    plan = plan_of(path)
    assert plan.optimizer.lr == 1e-4 and plan.batch.global_batch_size == 128 and plan.run.epochs == 3
    assert plan.mode.kind == "full_finetune"


def test_a_fractional_count_the_program_declares_a_float_is_its_own_and_no_error(tmp_path) -> None:
    # Held-out review 111, A 10 (LoRAPrune's prune_ul.py): `warmup_iters: float = 0.1`, the pruning schedule's share of
    # the run, was read as TrainingArguments' warmup steps and called "no value the trainer can run with", an error
    write(tmp_path, "prune_ul.py", "import fire\n\ndef train(base_model: str = '', learning_rate: float = 3e-4,\n"
                                   "          micro_batch_size: int = 4, warmup_iters: float = 0.1):\n"
                                   "    pass\n\nif __name__ == '__main__':\n    fire.Fire(train)\n")
    path = write(tmp_path, "prune.sh", "python prune_ul.py --base_model meta-llama/Llama-3.1-8B-Instruct "
                                       "--learning_rate 1e-4 --micro_batch_size 2\n")
    plan = plan_of(path)
    assert plan.schedule.warmup_steps is None and "a fraction the program reads" in plan.unknown["schedule.warmup_steps"]
    assert not findings(plan, "PD002")
    stated = plan_of(write(tmp_path, "prune2.sh", "python prune_ul.py --learning_rate 1e-4 --warmup_iters 0.05\n"))
    assert stated.schedule.warmup_steps is None and not findings(stated, "PD002")


def test_a_safe_rlhf_module_is_its_own_program_not_an_hf_trainer(tmp_path) -> None:
    # Held-out review 111, D 17 (MidPO): `deepspeed --module safe_rlhf.algorithms.mdpo.mdpo_router --epochs 3
    # --lr_warmup_ratio 0.03 ...` was read as an HF Trainer launch, with its optimizer, betas and warmup defaults
    path = write(tmp_path, "mdpo.sh", "deepspeed --master_port 29500 --module safe_rlhf.algorithms.mdpo.mdpo_router "
                                      "--model_name_or_path PKU-Alignment/alpaca-7b-reproduced --epochs 3 "
                                      "--per_device_train_batch_size 4 --gradient_accumulation_steps 1 "
                                      "--learning_rate 1e-5 --lr_warmup_ratio 0.03 --bf16 True\n")
    assert detected(path) == "own_args"
    plan = plan_of(path)
    assert plan.mode.kind == "preference" and plan.schedule.warmup_ratio == pytest.approx(0.03)
    assert plan.run.epochs == 3 and plan.optimizer.lr == pytest.approx(1e-5)


def test_a_program_that_imports_its_arguments_module_not_at_hand_is_read_by_its_flags(tmp_path) -> None:
    # Held-out review 35, A 06 (minLLMTrain's llama_1b_ds.sh): pretrain.py declares nothing itself, `from core.args
    # import *` does, and core/ was not at hand: the launch was refused as naming no setting
    write(tmp_path, "pretrain.py", "from core.args import *\n\ndef main():\n    args = get_args()\n")
    path = write(tmp_path, "run.sh", "accelerate launch pretrain.py --epochs 1 --lr 0.0004 --num_warmup_steps 1000 "
                                     "--per_device_batch_size 8\n")
    assert detected(path) == "own_args"
    plan = plan_of(path)
    assert plan.optimizer.lr == 4e-4 and plan.schedule.warmup_steps == 1000 and plan.batch.micro_batch_size == 8


def test_a_program_whose_argparse_arguments_live_in_a_module_not_at_hand_is_read_by_its_flags(tmp_path) -> None:
    # sangwoo3/lit-GPT run_scripts/run_pretrain.sh at 9cebf24 (held-out review 27, B 17), reduced: the program builds
    # `ArgumentParser(...)` and lets lit_gpt/config_retnet.py's arg_loader (not at hand) add the arguments
    write(tmp_path, "pretrain/trainer_fabric_dev.py", "from argparse import ArgumentParser\n"
                    "from lit_gpt.config_retnet import arg_loader\n"
                    "def setup():\n    parser = arg_loader(ArgumentParser(description='x'))\n    args = parser.parse_args()\n")
    path = write(tmp_path, "run_scripts/run_pretrain.sh",
                 "lightning run model --devices 4 --num_nodes 1 pretrain/trainer_fabric_dev.py --model_name retnet_medium "
                 "--max_iters 500 --warmup_iters 50 --batch_size 4 --micro_batch_size 2\n")
    assert detected(path) == "own_args"  # was: "none of the script's flags names a training setting"
    plan = plan_of(path)
    assert (plan.run.max_steps, plan.schedule.warmup_steps, plan.batch.micro_batch_size) == (500, 50, 2)
    # a pretraining program's `--model_name retnet_medium` names an architecture, not weights to fine-tune
    assert plan.mode.kind == "pretrain" and "names an architecture" in plan.unknown["mode.init_from"]


def test_a_pretraining_program_handed_a_model_path_is_assumed_to_pretrain(tmp_path) -> None:
    # held-out review 85, A 11 (TinyLLM-Forge scripts/pretrain.sh): trainer/pretrain.py builds a 26M Llama from the
    # config at `--model_name_or_path` (from_config); read as a full fine-tune, its lr 5e-4 was "above the band"
    path = write(tmp_path, "pretrain.sh", "torchrun --nproc_per_node 8 trainer/pretrain.py --max_len 512 "
                                          "--model_name_or_path ./model --per_device_train_batch_size 32 "
                                          "--learning_rate 5e-4 --num_train_epochs 1 --bf16 True\n")
    plan = plan_of(path)
    assert plan.mode.kind == "pretrain" and plan.program.assumed.get("mode.kind") == "pretraining"
    assert "build the model from its config" in plan.unknown["mode.init_from"]
    assert findings(plan, "PD103") == []


def test_a_deepspeed_json_named_by_a_launch_time_path_is_read_by_its_name_beside(tmp_path) -> None:
    # held-out review 86, B 03 (Transpeeder's train_llama_deepspeed.sh): `--deepspeed_config
    # ${WORK_DIR}/../configs/ds_config_zero1.json`, WORK_DIR from `pwd`; the JSON copied beside the script
    write(tmp_path, "ds_config_zero1.json", '{"train_micro_batch_size_per_gpu": 1, "train_batch_size": 128,'
                                            ' "optimizer": {"type": "Adam", "params": {"lr": 1e-5}}}')
    path = write(tmp_path, "train.sh", "export WORK_DIR=`pwd`\ndeepspeed --include localhost:$2 ${WORK_DIR}/train.py "
                                       "--train_steps 1000 --pipe_parallel_size 8 --model_parallel_size 1 "
                                       "--deepspeed_config ${WORK_DIR}/../configs/ds_config_zero1.json\n")
    plan = plan_of(path)
    assert plan.optimizer.lr == 1e-5 and plan.batch.global_batch_size == 128
    assert plan.sources["optimizer.lr"].file.endswith("ds_config_zero1.json")


def test_a_script_with_no_own_spelling_and_no_source_is_not_claimed(tmp_path) -> None:
    path = write(tmp_path, "run.sh", "torchrun train.py --model_name_or_path m --per_device_train_batch_size 4 "
                                     "--learning_rate 2e-5 --output_dir out\n")
    assert detected(path) == "hf"


def test_a_rule_whose_premise_the_program_decides_speaks_softer(tmp_path) -> None:
    from pretrain_doctor.plan.reading import soften
    from pretrain_doctor.rule import Finding

    plan = plan_of(write(tmp_path, "fine-tune.sh", TIME_MOE))  # no warmup flag: main.py decides the warmup
    assert "warmup" in plan.fork_areas and "batch" not in plan.fork_areas
    (warmup,) = soften([Finding("PD104", "missing-warmup", "warning", "no warmup")], ("schedule.warmup_steps",), plan)
    assert warmup.severity == "info" and "the program's own code decides" in warmup.message
    (batch,) = soften([Finding("PD401", "batch-not-divisible", "error", "x")], ("batch",), plan)
    assert batch.severity == "error"  # the script states micro, global batch and sequence length


def test_a_computed_default_is_not_a_default_and_a_broken_source_is_no_crash(tmp_path) -> None:
    path = write(tmp_path, "run.sh", "python main.py --learning_rate 1e-4\n")
    write(tmp_path, "main.py", "import argparse, os\np = argparse.ArgumentParser()\n"
                               "p.add_argument('--learning_rate', type=float, default=1e-3)\n"
                               "p.add_argument('--weight_decay', type=float, default=float(os.environ['WD']))\n"
                               "p.add_argument('--seed', type=int, default={'a': [1, 2]}['a'][0])\n")
    plan = plan_of(path)
    assert plan.dialect == "own_args" and plan.optimizer.lr == pytest.approx(1e-4)
    assert plan.optimizer.weight_decay is None and plan.seed is None  # computed at run time: not shown as a default
    write(tmp_path, "main.py", "def broken(:\n")
    assert detected(path) is None  # no parser to read, no own spelling, no HF signature


def test_a_field_the_source_at_hand_does_not_declare_says_its_code_decides(tmp_path) -> None:
    path = write(tmp_path, "run.sh", "deepspeed main.py --actor_learning_rate 9.65e-6 --num_warmup_steps 100\n")
    write(tmp_path, "main.py", "import argparse\np = argparse.ArgumentParser()\n"
                               "p.add_argument('--actor_learning_rate', type=float, default=9.65e-6)\n"
                               "p.add_argument('--num_warmup_steps', type=int, default=0)\n"
                               "p.add_argument('--dtype', type=str, default='fp16', choices=['fp16', 'bf16'])\n")
    plan = plan_of(path)
    assert plan.precision.compute == "fp16"  # main.py's `--dtype` default (DeepSpeed-Chat step3)
    assert plan.unknown["optimizer.betas"] == "not an argument of main.py: its code decides"


def test_a_program_none_of_whose_arguments_maps_is_refused_as_its_own(tmp_path, capsys) -> None:
    from pretrain_doctor.cli import main

    path = write(tmp_path, "run.sh", "python launch.py --config exp.yaml --nodes 2\n")
    write(tmp_path, "launch.py", "import argparse\np = argparse.ArgumentParser()\np.add_argument('--config')\n"
                                 "p.add_argument('--nodes', type=int, default=1)\n")
    assert detected(path) is None
    try:
        code = main(["plan", str(path)])
    except SystemExit as exc:
        code = exc.code
    assert code == 2 and "`launch.py` is a program with its own arguments" in capsys.readouterr().err


def test_the_batch_length_and_adapter_flags_by_the_names_people_use(tmp_path):
    # Held-out review 8 (B 33 chatalpaca train_lora.sh, alpaca-lora's finetune.py): `--batch_size 64` beside
    # `--micro_batch_size 8` is the global batch, `--cutoff_len` the sequence length, `--lora_r 16` to a program named
    # for LoRA an adapter run (PD103 said "full fine-tune of a 7B model at lr 3e-4"). A 34 (sotopia-rl train_sft.sh):
    # `--train_batch_size 2` the micro batch, `--use_lora` LoRA, `--model_name` the weights fine-tuned.
    from .helpers import reported

    alpaca = plan_of(write(tmp_path, "train_lora.sh", """
        python ./train/train_lora.py --base_model /path/to/llama-7b --micro_batch_size 8 --batch_size 64 \\
            --cutoff_len 2048 --num_epochs 3 --learning_rate 3e-4 --lora_r 16 \\
            --lora_target_modules '[q_proj,k_proj,v_proj,o_proj]'
        """))
    assert alpaca.dialect == "own_args" and alpaca.mode.kind == "lora" and alpaca.mode.lora_rank == 16
    assert (alpaca.batch.micro_batch_size, alpaca.batch.global_batch_size, alpaca.batch.seq_len) == (8, 64, 2048)
    assert reported(alpaca, "PD103") == []
    sotopia = plan_of(write(tmp_path / "s", "train_sft.sh", """
        accelerate launch --config_file ./accelerate_config_sft.yaml ./train_sft.py --model_name Qwen/Qwen2.5-7B-Instruct \\
            --learning_rate 1e-4 --max_length 4096 --train_batch_size 2 --accumulation_steps 8 --num_epochs 500 \\
            --use_lora --checkpoint_dir ../sft_checkpoints
        """))
    assert sotopia.dialect == "own_args" and sotopia.mode.kind == "lora"
    assert sotopia.mode.init_from == "Qwen/Qwen2.5-7B-Instruct"
    assert (sotopia.batch.micro_batch_size, sotopia.batch.grad_accum) == (2, 8)
    # `--batch_size` alone says nothing sure (a micro or a global batch); no LoRA flag: a full fine-tune, assumed
    alone = plan_of(write(tmp_path / "a", "train.sh", "python train.py --model_name m --batch_size 64 --lr 1e-5\n"))
    assert alone.batch.global_batch_size is None and alone.mode.kind == "full_finetune"
    assert alone.program.assumed == {"mode.kind": "every weight trains"}


def test_total_iters_and_context_length_are_the_run_length_and_sequence(tmp_path) -> None:
    # Held-out review 15, A 23 (bigohofone/assignment1-basics-solution ts_train_model.sh, reduced): `--total_iters
    # 5000 --context_length 256` were "not an argument", and PD105 said the run length "needs not an argument of
    # _train_model.py: its code decides".
    (tmp_path / "train.py").write_text(
        "import argparse\nparser = argparse.ArgumentParser()\n"
        "parser.add_argument('--total_iters', type=int, default=10000)\n"
        "parser.add_argument('--context_length', type=int, default=128)\n"
        "parser.add_argument('--warmup_iters', type=int, default=1000)\n"
        "parser.add_argument('--lr', type=float, default=1e-3)\nargs = parser.parse_args()\n")
    script = write(tmp_path, "run.sh", "python train.py --total_iters 5000 --context_length 256 --lr 3e-4\n")
    plan = plan_of(script)
    assert plan.run.max_steps == 5000 and plan.batch.seq_len == 256
    # a reason the length is unknown is said as one, never as a flag to pass
    from pretrain_doctor.builtin_rules.pd105_warmup_exceeds_training import WarmupExceedsTraining
    from pretrain_doctor.plan.model import TrainingPlan

    unknown = TrainingPlan.model_validate({"schedule": {"warmup_steps": 1000}, "optimizer": {"family": "adamw"},
                                           "mode": {"kind": "full_finetune"},  # a corpus outlasts a warmup: no finding
                                           "unknown": {"run.max_steps": "not an argument of x.py: its code decides"}})
    [finding] = WarmupExceedsTraining().check(unknown)
    assert "unknown here (not an argument of x.py: its code decides)" in finding.message
    assert "needs not" not in finding.message and "pass" not in finding.hint


@pytest.mark.parametrize(("include", "world"), [("localhost:0,1,2,3", 4), ('"localhost:1,0"', 2), ("w0:0,1@w1:0", 3),
                                                 ("w0", None), ("w0:0@w1", None)])
def test_deepspeeds_include_counts_the_slots_it_lists(include, world) -> None:
    from pretrain_doctor.dialects.shared import _included_slots

    assert _included_slots(include) == world  # a host without slots takes all of its GPUs: unknown


def test_a_deepspeed_config_passed_as_deepspeed_cfg_is_read(tmp_path) -> None:
    # held-out review 28, A 01 (a pretraining repo's scripts/train_with_dp.sh): `--deepspeed_cfg ./config/x.json`,
    # handed to deepspeed.initialize by its train.py (not at hand), and `--max_len 1024`
    write(tmp_path, "config/pretrain.json", '{"train_micro_batch_size_per_gpu": 6, "gradient_accumulation_steps": 32,'
                                            ' "gradient_clipping": 1.0, "fp16": {"enabled": true}}')
    path = write(tmp_path, "scripts/train_with_dp.sh", "cd ..\ndeepspeed --num_gpus 2 train.py --deepspeed_cfg "
                                                        "./config/pretrain.json --n_layers 32 --max_len 1024\n")
    assert detected(path) == "own_args"  # was: "none of the script's flags names a training setting"
    plan = plan_of(path)
    assert (plan.batch.micro_batch_size, plan.batch.grad_accum, plan.batch.seq_len) == (6, 32, 1024)
    assert plan.parallel.world_size == 2 and plan.clipping.max_norm == 1.0


SFT_PROGRAM = """
import argparse
from torch.utils.data import DataLoader
parser = argparse.ArgumentParser()
parser.add_argument('--model_path', type=str, required=True)
parser.add_argument('--batch_size', type=int, default=8)
parser.add_argument('--epoch', type=int, default=3)
parser.add_argument('--lr', type=float, default=1e-5)
args = parser.parse_args()
loader = DataLoader(train_set, shuffle=True, collate_fn=collate(tokenizer), batch_size=args.batch_size)
"""


def test_a_programs_epoch_and_its_loaders_batch_size_are_read(tmp_path) -> None:
    # Held-out review 30, A 17 (Toy-LIMA's multi_gpu_sft.py, `--epoch 3 --batch_size 2`): both were "not an
    # argument of the program". `--batch_size` counts per process where the program's DataLoader takes it.
    write(tmp_path / "src", "sft.py", SFT_PROGRAM)
    script = write(tmp_path, "train.sh", "deepspeed --include localhost:0,1 src/sft.py --model_path m "
                                         "--epoch 2 --batch_size 4 --lr 2e-5\n")
    plan = plan_of(script)
    assert (plan.run.epochs, plan.batch.micro_batch_size, plan.parallel.world_size) == (2, 4, 2)
    # a program that slices its own batches may mean a global batch by it: left unread
    write(tmp_path / "src", "sft.py", SFT_PROGRAM.replace("batch_size=args.batch_size", "batch_size=1"))
    assert plan_of(script).batch.micro_batch_size is None


def test_a_program_that_loads_a_state_dict_whatever_its_arguments_fine_tunes(tmp_path) -> None:
    # Held-out review 31, A 22 (CleanTransformer's ft_bloom_deepspeed.py, `--model_dir`): the program builds the
    # model and loads `pytorch_model.bin` into it (`load_state_dict(..., strict=True)`); the plan said "pretrain"
    program = SFT_PROGRAM.replace("'--model_path'", "'--model_dir'") + (
        "model = BloomForCausalLM(config)\nmodel.load_state_dict(torch.load(args.model_dir + '/pytorch_model.bin'))\n")
    write(tmp_path / "src", "ft.py", program)
    plan = plan_of(write(tmp_path, "train.sh", "torchrun --nproc_per_node 4 src/ft.py --model_dir ckpt --lr 2e-5\n"))
    assert plan.mode.kind == "full_finetune" and plan.sources["mode.kind"].line == 11
    assert "mode.kind" in (plan.program.assumed or [])
    write(tmp_path / "src", "ft.py", SFT_PROGRAM.replace("'--model_path'", "'--model_dir'"))
    assert "mode.init_from" in plan_of(write(tmp_path, "b.sh", "torchrun src/ft.py --model_dir ckpt --lr 2e-5\n")).unknown


def test_a_program_that_wraps_the_model_in_lora_whatever_its_arguments_trains_adapters(tmp_path) -> None:
    # Held-out review 33, A 19 (qwen2-7b-reason-lora's run_train.sh, `deepspeed --num_gpus=2 train.py`): train.py calls
    # get_peft_model(base_model, LoraConfig(r=args.lora_r, ...)) unconditionally; the plan said "full fine-tune" and
    # PD103 judged its 2e-4 against the full fine-tuning band
    program = SFT_PROGRAM + (
        "base_model = AutoModelForCausalLM.from_pretrained(args.model_path)\n"
        "lora_config = LoraConfig(r=64, lora_alpha=128, target_modules=['q_proj', 'v_proj'])\n"
        "model = get_peft_model(base_model, lora_config)\n")
    write(tmp_path, "train.py", program)
    plan = plan_of(write(tmp_path, "run.sh", "deepspeed --num_gpus=2 train.py --model_path Qwen/Qwen2-7B --lr 2e-4\n"))
    assert plan.mode.kind == "lora" and plan.mode.lora_rank == 64 and plan.sources["mode.kind"].line == 12
    assert findings(plan, "PD103") == []
    write(tmp_path, "train.py", program.replace("model = get_peft_model", "if args.lora:\n    model = get_peft_model"))
    assert plan_of(write(tmp_path, "b.sh", "deepspeed train.py --model_path Qwen/Qwen2-7B --lr 2e-4\n")).mode.kind \
        == "full_finetune"


def test_a_deepspeed_launch_whose_only_flag_names_a_json_with_the_optimizer_is_read(tmp_path) -> None:
    # Held-out review 32, A 17 (`deepspeed --num_gpus=8 finetune_mn.py --deepspeed ds_config_mn.json`, the program
    # not at hand): refused as "its own arguments"; the JSON holds the optimizer, schedule, ZeRO-3 and bf16
    write(tmp_path, "ds.json", '{"train_batch_size": "auto", "gradient_accumulation_steps": "auto", '
                               '"bf16": {"enabled": true}, "zero_optimization": {"stage": 3}, '
                               '"optimizer": {"type": "AdamW", "params": {"lr": 7e-6, "betas": [0.9, 0.95]}}}\n')
    script = write(tmp_path, "train.sh", "deepspeed --num_gpus=8 finetune_mn.py --deepspeed ds.json\n")
    assert detected(script) == "own_args"
    plan = plan_of(script)
    assert plan.optimizer.lr == pytest.approx(7e-6) and plan.parallel.zero_stage == 3 and plan.parallel.world_size == 8
    assert plan.batch.grad_accum is None  # `auto`: the launching trainer fills it in, not DeepSpeed's 1
    write(tmp_path, "ds.json", '{"zero_optimization": {"stage": 3}}\n')
    assert detected(script) != "own_args"  # nothing of the run's settings: still that program's own
    # no `auto` value: a DeepSpeedExamples program's own JSON (held-out review 25, A 18: a FashionMNIST classifier)
    write(tmp_path, "ds.json", '{"train_batch_size": 32, "optimizer": {"type": "Adam", "params": {"lr": 1.5e-4}}}\n')
    assert detected(script) != "own_args"


def test_a_t5_checkpoint_or_a_seq2seq_program_is_an_encoder_decoder_objective(tmp_path) -> None:
    # Held-out review 32, A 16 (`run_seq2seq_deepspeed_peft.py --model_id google/flan-t5-base`): read as a causal LM
    script = write(tmp_path, "run.sh", "deepspeed --num_gpus=4 ./run_seq2seq.py --model_id google/flan-t5-base "
                                       "--epochs 1 --lr 1e-4 --per_device_train_batch_size 8\n")
    plan = plan_of(script)
    assert plan.objective.kind == "seq2seq" and plan.mode.init_from == "google/flan-t5-base"
    causal = plan_of(write(tmp_path, "c.sh", "deepspeed ./train.py --model_id gpt2 --epochs 1 --lr 1e-4\n"))
    assert causal.objective.kind == "causal_lm"


def test_a_program_handed_a_trainingarguments_yaml_beside_its_deepspeed_json_is_an_hf_run(tmp_path) -> None:
    # Held-out review 41, A 17 (`torchrun train.py config.yaml --deepspeed=ds.json`): read as the program's own
    # arguments (the JSON holds the optimizer), the YAML's `lr_scheduler_type: cosine` under DeepSpeed's WarmupLR unseen
    write(tmp_path, "ds.json", '{"train_batch_size": "auto", "optimizer": {"type": "AdamW", "params": {"lr": "auto"}},'
                               ' "scheduler": {"type": "WarmupLR", "params": {"warmup_num_steps": "auto"}}}\n')
    write(tmp_path, "config.yaml", "model_name_or_path: bigcode/starcoderbase-7b\nlearning_rate: 2.0e-5\n"
                                   "lr_scheduler_type: cosine\nper_device_train_batch_size: 2\nnum_train_epochs: 10\n")
    script = write(tmp_path, "train.sh", "torchrun --nproc_per_node=4 train.py config.yaml --deepspeed=ds.json\n")
    assert detected(script) == "hf"
    plan = plan_of(script)
    assert plan.schedule.kind == "constant_with_warmup" and plan.parallel.world_size == 4


@pytest.mark.parametrize("base, init_from", [("Qwen/Qwen3.5-9B", "Qwen/Qwen3.5-9B"), ("10000", None)])
def test_a_base_argument_names_a_model_only_as_a_hub_id(tmp_path, base, init_from) -> None:
    # held-out review 73, A 09: `train_student.py --base Qwen/Qwen3.5-9B --no-lora --grad-accum 8` read as pretraining
    plan = plan_of(write(tmp_path, "train.sh", f"python scripts/train/train_student.py --base {base} --no-lora "
                                               "--learning-rate 5e-5 --grad-accum 8 --epochs 3\n"))
    assert plan.batch.grad_accum == 8 and plan.mode.init_from == init_from
    assert (plan.mode.kind == "full_finetune") is (init_from is not None)


@pytest.mark.parametrize("option, stops", [("--train_bsz_per_gpu 1", True), ("--num-processes 8", False),
                                           ("--num_proc 8", False)])  # an abbreviation older releases took
def test_an_option_accelerate_launch_lacks_stops_the_launch(tmp_path, option, stops) -> None:
    # held-out review 74, A 03 (STAR-1's run_sft.sh): the program's `--train_bsz_per_gpu 1` written before `sft.py`
    plan = plan_of(write(tmp_path, "run_sft.sh", f"accelerate launch --num_machines 1 {option} sft.py "
                                                 "--model_path org/model --n_epochs 5\n"))
    assert plan.run.epochs == 5
    stopped = [n for n in notes(plan, "ignored-key") if "comes before the program" in n.message]
    assert [n.data["severity"] for n in stopped] == (["error"] if stops else [])


def test_a_trl_parser_program_with_one_argument_of_its_own_is_an_hf_launch(tmp_path) -> None:
    # held-out review 89, A 11 (TRL's dpo.py copied, `parser.add_argument('--attributes', ...)` added to its
    # TrlParser): read as its own argparse, `--use_peft --load_in_4bit --lora_r 32` were lost, a QLoRA DPO judged as
    # a full-model DPO at 1e-4
    write(tmp_path, "train_dpo.py", "from trl import DPOConfig, ModelConfig, TrlParser\n"
          "parser = TrlParser((DPOConfig, ModelConfig))\nparser.add_argument('--attributes', default='length')\n"
          "args, training_args, model_config, extra = parser.parse_args_and_config()\n")
    path = write(tmp_path, "test_dpo.sh", "torchrun --nproc_per_node=1 train_dpo.py --model_name_or_path "
                 "mistralai/Mistral-7B-Instruct-v0.3 --learning_rate 1e-4 --use_peft --lora_r=32 --load_in_4bit "
                 "--attributes length --output_dir out\n")
    assert detected(path) == "hf"
    plan = plan_of(path)
    assert plan.mode.kind == "qlora" and plan.mode.lora_rank == 32 and findings(plan, "PD103") == []


def test_a_tyro_program_takes_its_dataclass_fields_as_flags(tmp_path) -> None:
    # held-out review 89, C 05 (a modded-nanoGPT fork): `nconfig = tyro.cli(NanoConfig)`, NanoConfig in config.py
    # beside it; the launch was refused as naming no training setting, and `model: str = "gpt"` is an architecture
    write(tmp_path, "config.py", "from dataclasses import dataclass, field\n\n@dataclass\nclass NanoConfig:\n"
          "    model: str = 'gpt'\n    learning_rate: float = 1e-4\n    num_iterations: int = field(default=1000)\n"
          "    device_batch_size: int = 8\n    batch_size: int = 64\n")
    write(tmp_path, "main.py", "import tyro\nfrom config import NanoConfig\nnconfig = tyro.cli(NanoConfig)\n")
    path = write(tmp_path, "run.sh", "torchrun --nproc_per_node 4 main.py --learning_rate 9.7e-4 --batch_size 64 "
                                     "--device_batch_size 2 --num_iterations 32990\n")
    assert detected(path) == "own_args"
    plan = plan_of(path)
    assert (plan.optimizer.lr, plan.run.max_steps, plan.batch.micro_batch_size) == (9.7e-4, 32990, 2)
    assert plan.mode.kind == "pretrain" and "names an architecture" in plan.unknown["mode.init_from"]


def test_a_launch_spelling_epoch_and_train_batch_size_its_own_way_is_read(tmp_path) -> None:
    # held-out review 90, D 02 (PTE's train_gsm8k_latent.sh): `--learning_rate 1e-5 --train_batch_size 1 --epoch 6` to a
    # program not at hand, refused as naming no training setting
    path = write(tmp_path, "train.sh", "accelerate launch ./src/train_latent_deepspeed.py --base_model ./models/m "
                                       "--learning_rate 1e-5 --train_batch_size 1 --epoch 6 --seed 42\n")
    assert detected(path) == "own_args"
    plan = plan_of(path)
    assert (plan.optimizer.lr, plan.batch.micro_batch_size, plan.run.epochs) == (1e-5, 1, 6)


def test_a_pretraining_launch_spelling_its_run_its_own_way(tmp_path) -> None:
    # held-out review 91: GaLore's `--num_training_steps 150000 --total_batch_size 512` (C 05; its 10% warmup read as
    # of an unknown run) and QuEST's `--model llama --iterations 11444 --acc_steps 8` (C 11; `llama` an architecture,
    # read as weights to fine-tune)
    galore = plan_of(write(tmp_path, "g.sh", "torchrun --nproc_per_node 1 torchrun_main.py --lr 5e-3 --batch_size 1 "
                                             "--total_batch_size 512 --num_training_steps 150000 --warmup_steps 15000\n"))
    assert (galore.run.max_steps, galore.batch.global_batch_size) == (150000, 512)
    quest = plan_of(write(tmp_path / "q", "train.sh", "torchrun --nproc_per_node 4 main.py --model llama --lr 1e-3 "
                                                      "--iterations 11444 --acc_steps 8 --batch_size 64\n"))
    assert (quest.run.max_steps, quest.batch.grad_accum) == (11444, 8) and quest.mode.kind == "pretrain"


def test_an_open_instruct_program_is_read_with_its_own_arguments(tmp_path) -> None:
    # held-out review 92, D 02: open-instruct's PPO launch read as an HF Trainer run, TrainingArguments' defaults
    # (weight decay 0, accumulation 1, saves every 500 steps) shown for its own dataclass's
    script = write(tmp_path, "ppo.sh", "python open_instruct/ppo_vllm_thread_ray_gtrl.py \\\n"
                                       "    --model_name_or_path allenai/Llama-3.1-Tulu-3-8B-DPO \\\n"
                                       "    --learning_rate 3e-7 --per_device_train_batch_size 1 \\\n"
                                       "    --total_episodes 200000 --deepspeed_stage 3 --beta 0.05\n")
    plan = plan_of(script)
    assert plan.dialect == "own_args"
    assert plan.optimizer.lr == 3e-7 and plan.batch.micro_batch_size == 1
    assert plan.optimizer.weight_decay is None and plan.batch.grad_accum is None  # the program's own, not at hand


def test_a_global_batch_no_run_steps_on_in_sequences_counts_tokens(tmp_path) -> None:
    # held-out review 92, D 04: OLMo-core SFT's `--global_batch_size=$((SEQ_LEN * 32))`, 1M tokens, read as 1M
    # sequences (3.4e10 tokens a step)
    script = write(tmp_path, "sft.sh", "SEQ_LEN=32768\nGBS=$((SEQ_LEN * 32))\n"
                                       "torchrun --nproc_per_node 8 src/scripts/train/OLMo-sft.py train my-run \\\n"
                                       "    --seq_len=$SEQ_LEN --global_batch_size=$GBS --learning_rate 8e-5 "
                                       "--num_epochs 2\n")
    plan = plan_of(script)
    assert plan.dialect == "own_args" and plan.batch.global_batch_size == 32
    odd = plan_of(write(tmp_path, "odd.sh", "python finetune.py --global_batch_size 100000 --learning_rate 1e-4 "
                                           "--num_epochs 1\n"))
    assert odd.batch.global_batch_size is None and "tokens" in odd.unknown["batch.global_batch_size"]


def test_a_config_tree_clis_nested_flags_stand_for_their_last_name(tmp_path) -> None:
    # held-out review 92, C 09: EasyLM's `--optimizer.adamw_optimizer.lr=3e-4` (mlxu flags) shown as the default
    script = write(tmp_path, "pretrain.sh", "python -m EasyLM.models.llama.llama_train \\\n"
                                            "    --total_steps=250000 \\\n"
                                            "    --optimizer.adamw_optimizer.weight_decay=0.1 \\\n"
                                            "    --optimizer.adamw_optimizer.lr=3e-4 \\\n"
                                            "    --optimizer.adamw_optimizer.end_lr=3e-5 \\\n"
                                            "    --optimizer.adamw_optimizer.lr_warmup_steps=2000 \\\n"
                                            "    --eval_dataset.json_dataset.seq_length=4096 \\\n"
                                            "    --train_dataset.json_dataset.seq_length=2048\n")
    plan = plan_of(script)
    assert (plan.optimizer.lr, plan.optimizer.weight_decay, plan.schedule.min_lr) == (3e-4, 0.1, 3e-5)
    assert plan.schedule.warmup_steps == 2000 and plan.sources["optimizer.lr"].line == 4
    assert plan.batch.seq_len == 2048  # the evaluation section's is not the run's


def test_openrlhfs_train_batch_size_beside_its_micro_batch_is_the_global_batch(tmp_path) -> None:
    # held-out review 93, D 03: `--micro_train_batch_size 4 --train_batch_size 1024` read 1024 as the per-GPU batch
    script = write(tmp_path, "dpo.sh", "deepspeed --module openrlhf.cli.train_dpo --pretrain Qwen/Qwen2.5-7B \\\n"
                                       "    --micro_train_batch_size 4 --train_batch_size 1024 --learning_rate 5e-7 \\\n"
                                       "    --max_epochs 1 --max_len 2048 --zero_stage 3\n")
    plan = plan_of(script)
    assert (plan.batch.micro_batch_size, plan.batch.global_batch_size) == (4, 1024)


def test_a_value_the_program_parses_itself_is_unknown_not_an_error(tmp_path) -> None:
    # held-out review 95, D 06: TRACE's continual run, `--num_train_epochs 5,3,7,5`, one per task, was a PD002 error
    script = write(tmp_path, "train.sh", "deepspeed training/main.py --model_name_or_path meta-llama/Llama-2-7b-hf \\\n"
                                         "    --num_train_epochs 5,3,7,5 --learning_rate 1e-5 \\\n"
                                         "    --num_warmup_steps 0 --per_device_train_batch_size 4 --zero_stage 2\n")
    plan = plan_of(script)
    assert plan.run.epochs is None and "own code" in plan.unknown["run.epochs"]
    assert not findings(plan, "PD002")


def test_a_lora_rank_of_zero_is_no_lora(tmp_path) -> None:
    # held-out review 96, A 01: HAPO's GRPO launch, `--lora_r 0 --lora_alpha 0` for a full-parameter run, read as LoRA
    # of rank 0 and two PD002 errors
    script = write(tmp_path, "train_grpo.sh", "accelerate launch train_grpo.py --model_name Qwen/Qwen2.5-1.5B \\\n"
                                              "    --num_epochs 5 --batch_size 1 --lora_r 0 --lora_alpha 0 --lr 1e-6\n")
    plan = plan_of(script)
    assert plan.mode.kind not in ("lora", "qlora") and not findings(plan, "PD002")


BARE_PROGRAM = """
import argparse
parser = argparse.ArgumentParser(description="NanoGPT MoE Training")
parser.add_argument("--learning_rate", type=float, default=3e-4)
parser.add_argument("--device_batch_size", type=int, default=8)
parser.add_argument("--num_iterations", type=int, default=5000)
args = parser.parse_args()
"""


def test_a_program_launched_with_no_arguments_runs_its_argparse_defaults(tmp_path) -> None:
    # held-out review 99, C 05: `srun bash -c '... python train_gpt_moe.py'`, no flags, the program beside: refused
    write(tmp_path, "train_gpt_moe.py", BARE_PROGRAM)
    script = write(tmp_path, "run_moe.sh", "#!/bin/bash\nsrun --export=ALL bash -c '\n    export RANK=$SLURM_PROCID\n"
                                           "    python train_gpt_moe.py\n'\n")
    assert detected(script) == "own_args"
    plan = plan_of(script)
    assert plan.optimizer.lr == 3e-4 and plan.batch.micro_batch_size == 8
    # a config file handed to it, or no source at hand: nothing to read
    assert detected(write(tmp_path, "other.sh", "python train_gpt_moe.py config.yaml\n")) is None
    assert detected(write(tmp_path, "alone.sh", "python not_at_hand.py\n")) is None


def test_a_step_limit_of_minus_one_is_no_limit(tmp_path) -> None:
    # held-out review 102, A 14: `parser.add_argument("--max-steps", type=int, default=-1)`, the HF convention for "the
    # epochs decide": a PD002 error "run.max_steps: input should be greater than 0, got -1"
    write(tmp_path, "train_kto.py", BARE_PROGRAM.replace('"--num_iterations", type=int, default=5000',
                                                         '"--max-steps", type=int, default=-1'))
    script = write(tmp_path, "train.sh", "python train_kto.py --learning_rate 1e-5 --num_train_epochs 2\n")
    plan = plan_of(script)
    assert plan.run.max_steps is None and plan.run.epochs == 2
    assert not [f for f in check_paths([script], CheckOptions()).findings if f.severity == "error"]


_MODE_PROGRAM = '''
import argparse
from transformers import AutoModelForCausalLM, Trainer, TrainingArguments

p = argparse.ArgumentParser()
p.add_argument("--model", required=True)
p.add_argument("--learning-rate", type=float, default=2e-5)
p.add_argument("--max-steps", type=int, default=2000)
p.add_argument("--train-mode", choices=("lora", "full"), default="lora")
args = p.parse_args()
model = AutoModelForCausalLM.from_pretrained(args.model)
if args.train_mode == "lora":
    from peft import LoraConfig, get_peft_model
    model = get_peft_model(model, LoraConfig(r=8))
Trainer(model=model, args=TrainingArguments(output_dir="o", learning_rate=args.learning_rate,
                                            max_steps=args.max_steps)).train()
'''


def test_a_dashed_flag_left_to_launch_time_settles_no_branch(tmp_path) -> None:
    # held-out review 103, A 17: `--train-mode "${TRAIN_MODE}"` ($4) was read as the default `lora`, so the adapters
    # the program adds only under `if args.train_mode == "lora"` were taken as certain
    write(tmp_path, "train_qwen.py", _MODE_PROGRAM)
    plan = plan_of(write(tmp_path, "run.sh", 'TRAIN_MODE="$1"\ntorchrun --nproc_per_node=8 train_qwen.py --model m '
                                             '--learning-rate 2e-5 --train-mode "${TRAIN_MODE}"\n'))
    assert plan.mode.kind not in ("lora", "qlora")
    given = plan_of(write(tmp_path, "lora.sh", "torchrun --nproc_per_node=8 train_qwen.py --model m --train-mode lora\n"))
    assert given.mode.kind == "lora"


_DPO_PROGRAM = '''
import argparse
from peft import LoraConfig, get_peft_model
from transformers import AutoModelForCausalLM
from trl import DPOConfig, DPOTrainer


def main(args):
    model = AutoModelForCausalLM.from_pretrained(args.model_path)
    training_args = DPOConfig(output_dir=args.output_dir, learning_rate=args.lr, num_train_epochs=args.epochs)
    model = get_peft_model(model, LoraConfig(target_modules="all-linear", task_type="CAUSAL_LM"))
    DPOTrainer(model=model, args=training_args, beta=args.beta).train()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--model_path")
    parser.add_argument("--output_dir")
    parser.add_argument("--beta", type=float)
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--lr", type=float)
    main(parser.parse_args())
'''


def test_a_preference_program_that_wraps_adapters_is_an_adapter_run(tmp_path) -> None:
    # held-out review 106, A 12: `llama_dpo_trainer.py` (named for DPO) calls get_peft_model unconditionally: a LoRA DPO,
    # not full-model DPO at 2e-4 (a PD103 warning)
    write(tmp_path, "llama_dpo_trainer.py", _DPO_PROGRAM)
    plan = plan_of(write(tmp_path, "run.sh", "python llama_dpo_trainer.py --model_path m --output_dir o --beta 0.1 "
                                             "--epochs 1 --lr 2e-4\n"))
    assert plan.mode.kind == "lora" and plan.mode.preference_method == "dpo" and plan.objective.kind == "preference"
    assert not [f for f in findings(plan, "PD103") if f.severity == "warning"]


_HARD_CODED_MODEL_SFT = '''
import argparse
from peft import LoraConfig, get_peft_model
from transformers import AutoModelForCausalLM
from trl import SFTConfig, SFTTrainer

MODEL_NAME = "microsoft/Phi-3.5-mini-instruct"

def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--lora_rank", type=int, default=16)
    parser.add_argument("--batch_size", type=int, default=4)
    parser.add_argument("--lr", type=float, default=2e-4)
    args = parser.parse_args()
    model = AutoModelForCausalLM.from_pretrained(MODEL_NAME)
    model = get_peft_model(model, LoraConfig(r=args.lora_rank))
    config = SFTConfig(output_dir="o", per_device_train_batch_size=args.batch_size, learning_rate=args.lr)
    SFTTrainer(model=model, args=config).train()

main()
'''


def test_a_hard_coded_model_wrapped_in_lora_is_an_adapter_run(tmp_path) -> None:
    # held-out review 113, A 18 (a course project's train_sft.py): the model is a module constant, so no argument
    # names it; the program loads it and wraps it in LoRA unconditionally. The plan said "full fine-tune" (PD103 at 2e-4)
    # and left `--batch_size`, handed to SFTConfig as the per-device batch, unread.
    write(tmp_path, "train_sft.py", _HARD_CODED_MODEL_SFT)
    plan = plan_of(write(tmp_path, "run.sbatch", "#!/bin/bash\npython train_sft.py --lora_rank 32\n"))
    assert plan.mode.kind == "lora" and "mode.kind" not in (plan.program.assumed or [])
    assert plan.mode.init_from and plan.batch.micro_batch_size == 4
    assert not findings(plan, "PD103")
    write(tmp_path, "train_sft.py", _HARD_CODED_MODEL_SFT.replace("    model = get_peft_model(model, LoraConfig(r=args.lora_rank))\n", ""))
    assert plan_of(write(tmp_path, "b.sbatch", "#!/bin/bash\npython train_sft.py\n")).mode.kind == "full_finetune"


def test_an_openrlhf_style_pretrain_argument_names_the_model_it_loads(tmp_path) -> None:
    # held-out review 116, A 03 and A 05: `deepspeed --module pkg.train_sft --pretrain Qwen/Qwen2.5-1.5B-Instruct
    # --max_epochs 1 ...` (OpenRLHF's CLIs: `--pretrain` is the model path) read as pretraining from scratch
    script = write(tmp_path, "sft.sh", "deepspeed --module pkg.train_sft --pretrain Qwen/Qwen2.5-1.5B-Instruct "
                                       "--max_epochs 2 --micro_train_batch_size 8 --train_batch_size 128 "
                                       "--learning_rate 5e-6 --zero_stage 3 --max_len 1024\n")
    plan = plan_of(script)
    assert plan.dialect == "own_args" and plan.mode.kind == "full_finetune" and plan.run.epochs == 2
    assert plan.mode.init_from == "Qwen/Qwen2.5-1.5B-Instruct" and plan.model.name == "Qwen/Qwen2.5-1.5B-Instruct"
    # a bare `--pretrain`, a switch to train from scratch, stays one
    switch = plan_of(write(tmp_path, "pt.sh", "deepspeed --module pkg.train --pretrain --learning_rate 3e-4 "
                                              "--micro_train_batch_size 8 --train_batch_size 128\n"))
    assert switch.mode.kind == "pretrain" and switch.model.name is None


def test_build_nanogpts_b_and_t_are_the_micro_batch_and_the_sequence_length(tmp_path) -> None:
    # held-out review 117, A 16: `torchrun ... -m my_gpt2.source.pretrain --total_batch_size 524288 --B 8 --T 1024`
    plan = plan_of(write(tmp_path, "run.sh", "torchrun --standalone --nproc_per_node=4 -m my_gpt2.source.pretrain "
                                             "--model gpt2-xl --total_batch_size 524288 --B 8 --T 1024 "
                                             "--max_lr 1.5e-4 --warmup_steps 8000\n"))
    assert (plan.batch.micro_batch_size, plan.batch.seq_len, plan.batch.global_batch_size) == (8, 1024, 512)
    assert plan.derived.tokens_per_step.value == 524288
    alone = plan_of(write(tmp_path, "t.sh", "torchrun -m pkg.train --model gpt2 --T 2 --max_lr 1e-4 "
                                            "--micro_batch_size 4\n"), "own_args")
    assert alone.batch.seq_len is None  # a lone `--T` (a temperature, a horizon) is not read


def test_a_program_at_hand_that_freezes_nothing_makes_a_full_fine_tune_not_an_assumption(tmp_path) -> None:
    # Held-out review 120, A 04 (popai-rl's finetune.py, reduced): argparse arguments into SFTConfig, the model loaded
    # whole, no adapters: PD103 on a 32B model at 2e-4 was softened to an info by "the program may decide otherwise".
    write(tmp_path, "src/finetune.py", """\
        import argparse
        from transformers import AutoModelForCausalLM
        from trl import SFTConfig, SFTTrainer
        parser = argparse.ArgumentParser()
        parser.add_argument("--model_name", type=str, default="Qwen/QwQ-32B")
        parser.add_argument("--learning_rate", type=float, default=2e-4)
        parser.add_argument("--max_steps", type=int, default=1000)
        args = parser.parse_args()
        model = AutoModelForCausalLM.from_pretrained(args.model_name)
        trainer = SFTTrainer(model=model, args=SFTConfig(learning_rate=args.learning_rate, max_steps=args.max_steps))
        trainer.train()
        """)
    script = write(tmp_path, "finetune_dist.sh", "accelerate launch --machine_rank $1 src/finetune.py\n")
    plan = plan_of(script)
    assert plan.mode.kind == "full_finetune" and "mode.kind" not in (plan.program.assumed or {})
    assert [f.severity for f in reported(plan, "PD103")] == ["warning"]


def test_an_olmo_core_sft_launcher_counts_its_batch_in_sequences_and_loads_its_base(tmp_path) -> None:
    # held-out review 124, C 11 (an OLMo-core SFT launcher of its own, reduced): `--global_batch_seqs`,
    # `--microbatch_seqs` and `--steps` read as "not an argument", and the run as pretraining, though the `train`
    # subcommand the launch runs loads the base checkpoint
    write(tmp_path / "uva", "sft_olmo2_7b_uva.py", """\
        import argparse

        def train(checkpoint, config):
            trainer = config.trainer.build()
            trainer.load_checkpoint(checkpoint, load_trainer_state=False, load_optim_state=False)
            trainer.fit()

        def main():
            parser = argparse.ArgumentParser()
            parser.add_argument("cmd", choices=["train", "dry_run"])
            parser.add_argument("--checkpoint", required=True)
            parser.add_argument("--seq_len", type=int, default=4096)
            parser.add_argument("--global_batch_seqs", type=int, default=64)
            parser.add_argument("--microbatch_seqs", type=int, default=2)
            parser.add_argument("--steps", type=int, default=30)
            parser.add_argument("--lr", type=float, default=2e-5)
            args = parser.parse_args()
            if args.cmd == "train":
                train(args.checkpoint, None)
        """)
    launch = write(tmp_path, "01_sft.sbatch", "torchrun --standalone --nproc-per-node=4 uva/sft_olmo2_7b_uva.py train "
                   "\\\n  --checkpoint=/ckpt/model_and_optim --seq_len=4096 --global_batch_seqs=32 --microbatch_seqs=1 "
                   "--steps=30\n")
    plan = plan_of(launch)
    assert plan.dialect == "own_args"
    assert (plan.batch.global_batch_size, plan.batch.micro_batch_size, plan.run.max_steps) == (32, 1, 30)
    assert plan.mode.kind == "full_finetune" and plan.sources["mode.kind"].line == 5


def test_warmup_steps_0_beside_a_ratio_warms_up_by_the_ratio(tmp_path) -> None:
    # held-out review 126, A 01: `--warmup_steps 0 --warmup_ratio 0.1` (transformers' get_warmup_steps: the ratio where
    # the steps are 0) was "no warmup"
    launch = write(tmp_path, "train.sh", "python finetune.py --base_model m --num_epochs 3 --learning_rate 3e-4 "
                   "--warmup_steps 0 --warmup_ratio 0.1 --lora_r 8 --batch_size 128 --micro_batch_size 4\n")
    plan = plan_of(launch)
    assert plan.derived.warmup_steps.formula.startswith("warmup_ratio") and not findings(plan, "PD104")


def test_a_launch_spelling_its_settings_with_dashes_is_the_programs_own_argparse(tmp_path) -> None:
    # held-out review 126, A 18: `torchrun -m qwen3vl_sft.train --learning-rate 5e-5 --num-train-epochs 4 ...` (the
    # program not at hand) was refused: the hf dialect leaves dashed flags alone, and own_args wanted own spellings
    launch = write(tmp_path, "train.sh", "python -m torch.distributed.run --standalone --nproc_per_node 4 -m "
                   "qwen3vl_sft.train --model-name-or-path w/Qwen3-VL-4B --lora-enable true --lora-r 64 "
                   "--per-device-train-batch-size 2 --learning-rate 5e-5 --num-train-epochs 4\n")
    assert detected(launch) == "own_args"
    plan = plan_of(launch)
    assert (plan.optimizer.lr, plan.run.epochs, plan.batch.micro_batch_size, plan.parallel.world_size) == (5e-5, 4, 2, 4)


def test_grpos_num_iterations_is_no_run_length(tmp_path) -> None:
    # held-out review 128, B 15: an ms-swift GRPO subclass's `--num_iterations 1` (GRPO's passes over each generated
    # batch) read as a one-step run
    script = ("torchrun --nproc_per_node 4 grpo_main.py --model Qwen/Qwen3-VL-2B-Instruct --num_generations 8 "
              "--num_iterations 1 --learning_rate 1e-6 --per_device_train_batch_size 2 --num_train_epochs 1\n")
    plan = plan_of(write(tmp_path, "run.sh", script), "own_args")
    assert plan.run.max_steps is None and plan.run.epochs == 1
    plain = plan_of(write(tmp_path, "run2.sh", script.replace("--num_generations 8 ", "")), "own_args")
    assert plain.run.max_steps == 1


def test_a_click_command_takes_its_options_as_flags(tmp_path) -> None:
    # held-out review 130, D 05 (small-malaysian-lm's train.py): `@click.option('--batch-size', default=5)`,
    # `--grad-accumulation`; the launch `python3 train.py --batch-size 8 --grad-accumulation 4` was refused
    write(tmp_path, "train.py", """\
        import click
        from torch.utils.data import DataLoader

        @click.option('--model-name', default='Qwen3-0.6B-Base', help='Model name.')
        @click.option('--torch-compile', is_flag=True, help='Torch compile.')
        @click.option('--batch-size', default=5, help='batch size.')
        @click.option('--grad-accumulation', default=4, help='gradient accumulation.')
        @click.command()
        def main(model_name, torch_compile, batch_size, grad_accumulation):
            loader = DataLoader(dataset, batch_size=batch_size, shuffle=True)

        if __name__ == "__main__":
            main()
        """)
    path = write(tmp_path, "run.sh", "python3 train.py --model-name Qwen/Qwen3-1.7B-Base --batch-size 8 "
                                     "--grad-accumulation 4 --torch-compile\n")
    assert detected(path) == "own_args"
    plan = plan_of(path)
    assert (plan.batch.micro_batch_size, plan.batch.grad_accum) == (8, 4)


def test_an_init_checkpoint_is_the_weights_a_run_starts_from(tmp_path) -> None:
    # held-out review 132, D 03 (a looped-GPT project's sft.sh): `--task sft --init_checkpoint ckpt_fineweb.pt --ctx_len
    # 128` to its own train.py, read as pretraining from scratch with the context unknown
    script = write(tmp_path, "sft.sh", "exec python train.py --task sft --init_checkpoint ckpt_fineweb.pt --ctx_len 128 "
                                       "--steps 5000 --dtype fp16 --n_heads 8 --num_warmup_steps 10\n")
    plan = plan_of(script)
    assert plan.mode.kind == "full_finetune" and plan.mode.init_from == "ckpt_fineweb.pt"
    assert plan.batch.seq_len == 128 and plan.run.max_steps == 5000


def test_a_launch_of_a_program_not_at_hand_with_mostly_its_own_flags(tmp_path) -> None:
    # held-out review 133, A 01 (RL4GLUE sft.sh): `--learning_rate 9e-6` among a dozen flags of the program's own,
    # refused with a message saying no flag names the lr
    script = write(tmp_path, "sft.sh", "CUDA_VISIBLE_DEVICES=0 python3 sft.py --learning_rate 9e-6 --start_epoch 0 "
                                       "--end_epoch 1 --train_model_name daryl149/llama-2-7b-chat-hf --repeat_time 1 "
                                       "--batch_sentence_num 24 --checkpoint_rate 1 --load_in_8bit False\n")
    assert detected(script) == "own_args"
    plan = plan_of(script)
    assert plan.optimizer.lr == 9e-6 and plan.mode.init_from == "daryl149/llama-2-7b-chat-hf"
    # an HF program's launch with its TrainingArguments stays the hf dialect's
    hf = write(tmp_path / "b", "run.sh", "python train.py --learning_rate 2e-5 --output_dir out --num_train_epochs 3 "
                                         "--per_device_train_batch_size 4 --logging_steps 10 --my_flag 1\n")
    assert detected(hf) == "hf"


# Reduced from EIT-NLP/SkipGPT (fb2a203): main.py hands the model to a helper module that freezes every weight but
# the routers, by parameter name, under its method's condition.
_SKIPGPT_MAIN = """
import argparse
from train_processing_two_stages import train_processing_two_stages
parser = argparse.ArgumentParser()
parser.add_argument("--model_path", type=str, default="Llama-2-13b")
parser.add_argument("--method", type=str, default="router_attn_mlp")
parser.add_argument("--learning_rate", type=float, default=2e-3)
parser.add_argument("--max_steps_stage", type=int, default=10000)
args = parser.parse_args()
model = load(args.model_path)
train_processing_two_stages(args, model)
"""
_SKIPGPT_HELPER = """
from transformers import Trainer, TrainingArguments
def train_processing_two_stages(args, model):
    def freeze_parameters(model):
        for name, param in model.named_parameters():
            if 'router' not in name:
                param.requires_grad = False
    if args.method == 'router_attn_mlp' and not args.finetuned:
        freeze_parameters(model)
    Trainer(model=model, args=TrainingArguments(output_dir='o', learning_rate=args.learning_rate)).train()
"""


def test_a_program_whose_helper_freezes_weights_under_a_condition_is_only_assumed_a_full_fine_tune(tmp_path) -> None:
    # held-out review 137, B 15: router tuning at lr 2e-3 judged a full fine-tune of an 8B model (PD103, a warning)
    write(tmp_path, "main.py", _SKIPGPT_MAIN)
    write(tmp_path, "train_processing_two_stages.py", _SKIPGPT_HELPER)
    plan = plan_of(write(tmp_path, "run.sh", "python main.py --model_path models/Llama-3.1-8B --method router_attn_mlp "
                                             "--learning_rate 2e-3\n"))
    assert plan.mode.kind == "full_finetune" and "mode.kind" in plan.program.assumed
    assert "requires_grad = False" in plan.sources["mode.kind"].note
    report = check_paths([tmp_path / "run.sh"], CheckOptions(use_settings=False))
    assert [f.severity for f in report.findings if f.code == "PD103"] == ["info"]
    # the condition settled by the launch's own arguments: the helper's freezing is the run's
    write(tmp_path, "train_processing_two_stages.py", _SKIPGPT_HELPER.replace(" and not args.finetuned", ""))
    plan = plan_of(tmp_path / "run.sh")
    assert plan.mode.kind == "partial_finetune" and findings(plan, "PD103") == []
