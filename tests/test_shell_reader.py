"""The shell reader: a launch script's training command as flags with lines, never executed."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pretrain_doctor.config.loader import load_document
from pretrain_doctor.config.shell_reader import read_shell
from pretrain_doctor.errors import ConfigError

from pretrain_doctor.check.engine import check_paths, load_plan_detected
from pretrain_doctor.settings import CheckOptions

from .dialects.helpers import plan_of, write


def _read(text: str):
    data, positions, unevaluated = read_shell(text, "train.sh")
    return data, {k[0]: v.line for k, v in positions.items() if len(k) == 1}, unevaluated


def test_variables_defaults_arithmetic_and_continuations() -> None:
    data, lines, _ = _read(
        'GPUS=8\n'
        'NODES=${NODES:-2}\n'
        'export LR=${LR:-"3e-4"}  # peak\n'
        'GBS=$(( GPUS * NODES * 4 ))\n'
        'python pretrain_gpt.py \\\n'
        '    --lr $LR \\\n'
        '    --global-batch-size ${GBS} \\\n'
        '    --num-layers=24 \\\n'
        '    --bf16\n'
    )
    assert data["program"] == "pretrain_gpt.py"
    assert data["--lr"] == "3e-4" and data["--global-batch-size"] == "64" and data["--num-layers"] == "24"
    assert data["--bf16"] is True
    assert lines["--lr"] == 6 and lines["--global-batch-size"] == 7 and lines["--bf16"] == 9


def test_a_defaults_own_quotes_go_unless_the_expansion_is_in_double_quotes() -> None:
    # held-out review 118, B 16/B 17: `FINETUNING_TYPE=${FINETUNING_TYPE:-'lora'}` is lora, as bash has it; the
    # quotes were kept and LoRA read as a fork's unknown `'lora'`
    data, _, _ = _read("A=${A:-'lora'}\nB=\"${B:-'x'}\"\nC=${C:-\"q\"}\npython train.py --a $A --b $B --c $C\n")
    assert (data["--a"], data["--b"], data["--c"]) == ("lora", "'x'", "q")


def test_arrays_appends_and_quoted_expansion() -> None:
    data, lines, _ = _read(
        'MODEL=(\n'
        '  --num-layers 32   # layers\n'
        '  --hidden-size 4096\n'
        ')\n'
        'EXTRA=()\n'
        'EXTRA+=("--fp8-format hybrid" --fp8-param-gather)\n'
        'DDP=(--overlap-grad-reduce)\n'
        'MODEL+=("${DDP[@]}")\n'
        'torchrun --nproc_per_node 8 --nnodes 2 pretrain_gpt.py ${MODEL[@]} ${EXTRA[@]} 2>&1 | tee log\n'
    )
    assert data["--num-layers"] == "32" and data["--hidden-size"] == "4096"
    assert data["--overlap-grad-reduce"] is True and data["--fp8-param-gather"] is True
    assert data["--fp8-format"] == "hybrid"  # unquoted ${EXTRA[@]} splits the element
    assert lines["--num-layers"] == 2 and lines["--fp8-format"] == 6
    assert data["launcher"] == {"name": "torchrun", "nproc_per_node": "8", "nnodes": "2"}


def test_values_the_script_does_not_set_stay_unknown(tmp_path) -> None:
    marker = tmp_path / "ran"
    data, _, unevaluated = _read(
        'CKPT=$1\n'
        f'STAMP=$(touch {marker})\n'
        'python pretrain_gpt.py --save $CKPT --load "$CKPT" --data-path $DATA_PATH --tensorboard-dir $STAMP --lr 1e-4\n'
    )
    assert data["--save"] is None and unevaluated["--save"] == "$1"
    assert data["--data-path"] is None and unevaluated["--data-path"] == "$DATA_PATH"
    assert data["--tensorboard-dir"] is None
    assert data["--lr"] == "1e-4"
    assert not marker.exists()  # read, never run


def test_branches_the_script_decides_and_those_it_does_not() -> None:
    data, _, unevaluated = _read(
        'DTYPE="fp8"\n'
        'if [[ "$DTYPE" == "fp8" ]]; then\n'
        '  PREC=(--fp8-format hybrid --bf16)\n'
        'else\n'
        '  PREC=(--bf16)\n'
        'fi\n'
        'if [ -f /etc/hosts ]; then LR=1e-4; else LR=2e-4; fi\n'
        'if [ -n "$SLURM_JOB_ID" ]; then SEED=1; else SEED=1; fi\n'
        'python pretrain_gpt.py ${PREC[@]} --lr $LR --seed $SEED\n'
    )
    assert data["--fp8-format"] == "hybrid" and data["--bf16"] is True
    assert data["--lr"] is None and unevaluated["--lr"] == "$LR"  # the branches disagree
    assert data["--seed"] == "1"  # both branches agree


def test_old_style_quoted_options_and_heredocs_skipped() -> None:
    data, lines, _ = _read(
        'OPTS=" \\\n'
        '    --num-layers 24 \\\n'
        '    --hidden-size 1024 \\\n'
        '"\n'
        'cat <<EOT > ds.json\n'
        '{"train_batch_size": 8, --lr 5}\n'
        'EOT\n'
        'deepspeed --num_gpus 4 pretrain_gpt.py $OPTS --deepspeed_config ds.json\n'
    )
    assert data["--num-layers"] == "24" and lines["--num-layers"] == 2 and lines["--hidden-size"] == 3
    assert "--lr" not in data
    assert data["--deepspeed_config"] == "ds.json" and data["launcher"]["num_gpus"] == "4"


def test_bare_argument_list_and_nemo_overrides() -> None:
    data, lines, _ = _read("--num-layers 24 --hidden-size 1024\n--lr 1e-4\n")
    assert "program" not in data and data["--hidden-size"] == "1024" and lines["--lr"] == 2
    nemo, _, _ = _read("python /opt/NeMo/examples/nlp/language_modeling/megatron_gpt_pretraining.py \\\n"
                       "  trainer.max_steps=1000 model.optim.lr=2e-4 +model.foo=1\n")
    assert nemo["overrides"] == {"trainer.max_steps": "1000", "model.optim.lr": "2e-4", "model.foo": "1"}


def test_unreadable_words_are_listed() -> None:
    data, _, _ = _read('python pretrain_gpt.py --lr 1e-4 $EXTRA_ARGS --bf16\n')
    assert data["unresolved"] == [{"text": "$EXTRA_ARGS", "line": 1}]
    assert data["--bf16"] is True


def test_loader_routes_scripts_and_argument_files(tmp_path) -> None:
    script = write(tmp_path, "train.sh", "python pretrain_gpt.py --lr 1e-4\n")
    assert load_document(script).format == "shell"
    no_suffix = write(tmp_path, "launch", "#!/usr/bin/env bash\npython pretrain_gpt.py --lr 1e-4\n")
    assert load_document(no_suffix).data["--lr"] == "1e-4"
    args = write(tmp_path, "args.txt", "# flags\n--num-layers 2 --lr 1e-4\n")
    assert load_document(args).data["--num-layers"] == "2"
    yaml = write(tmp_path, "c.yaml", "---\nlr: 1\n")
    assert load_document(yaml).format == "yaml"
    # a README holding the launch in prose is named as a document, not a YAML parse error (held-out review 73, A 05)
    readme = write(tmp_path, "README.md", "# Train\n\n`deepspeed train.py --lr 1e-4`\n")
    with pytest.raises(ConfigError, match="a Markdown document, not a config") as refused:
        load_document(readme)
    assert refused.value.skippable


def test_broken_quote_is_one_clear_error_for_a_launch_script(tmp_path) -> None:
    data, _, _ = _read('python pretrain_gpt.py --lr 1e-4 --micro-batch-size 2 \\\n  --seed "1\n')
    assert data["syntax_error"]["line"] == 2 and data["--lr"] == "1e-4"
    script = write(tmp_path, "train.sh", 'python pretrain_gpt.py --lr 1e-4 --micro-batch-size 2 \\\n  --seed "1\n')
    with pytest.raises(ConfigError, match="unterminated"):
        plan_of(script)
    write(tmp_path, "tools/install.sh", "echo 'unfinished\n")
    report = check_paths([tmp_path / "tools"], CheckOptions(use_settings=False))
    assert report.errors == [] and [f.role for f in report.files] == ["skipped"]  # not a launch script


def test_launch_inside_a_function_is_read() -> None:
    data, _, _ = _read('main() {\n  torchrun pretrain_gpt.py --lr 2e-4 "$@"\n}\nmain "$@"\n')
    assert data["program"] == "pretrain_gpt.py" and data["--lr"] == "2e-4"


def test_self_doubling_array_stays_bounded() -> None:
    text = "A=(1 2 3)\n" + 'A+=("${A[@]}")\n' * 40 + "python pretrain_gpt.py --x ${A[0]} --lr 1\n"
    data, _, unevaluated = _read(text)
    assert data["--x"] is None and data["--lr"] == "1"  # too large to hold: unknown, not a hang


def test_eval_of_a_command_string_and_an_unknown_script_folder() -> None:
    data, lines, _ = _read(
        'DIR=`pwd`\n'
        'opts=" \\\n'
        '    --num-layers 24 \\\n'
        '    --lr 1e-4"\n'
        'run_cmd="deepspeed ${DIR}/../pretrain_gpt.py ${opts} &> ${DIR}/log.txt"\n'
        'eval "$run_cmd"\n'
    )
    assert data["program"] == "pretrain_gpt.py"
    assert data["--num-layers"] == "24" and data["--lr"] == "1e-4" and lines["--lr"] == 4
    assert "unresolved" not in data  # the log redirection is not an argument


def test_case_on_a_value_the_script_sets() -> None:
    data, lines, unevaluated = _read(
        'SCALE="800M"\n'
        'case "${SCALE}" in\n'
        '    "800M"|"1B")\n'
        '        HIDDEN=1024\n'
        '        ;;\n'
        '    8B) HIDDEN=4096 ;;\n'
        '    *) echo bad; exit 1 ;;\n'
        'esac\n'
        'case "$1" in\n'
        '    big) LR=1e-4 ;;\n'
        '    *) LR=3e-4 ;;\n'
        'esac\n'
        'python pretrain_gpt.py --hidden-size $HIDDEN --lr $LR\n'
    )
    assert data["--hidden-size"] == "1024"
    assert data["--lr"] is None and unevaluated["--lr"] == "$LR"  # $1 is given at launch


def test_quotes_of_an_assignment_are_removed_before_the_value_is_used() -> None:
    data, _, _ = _read(
        'DTYPE="bf16"\n'
        'EXP="runs"\n'
        'CKPT=${EXP}/checkpoints/"$DTYPE"_z1\n'
        'python pretrain_gpt.py --lr 1e-4 --${DTYPE} --save $CKPT --load "$CKPT"\n'
    )
    assert data["--bf16"] is True and "--" not in data
    assert data["--save"] == data["--load"] == "runs/checkpoints/bf16_z1"


def test_a_flag_whose_value_needs_running_something_is_still_a_flag() -> None:
    data, lines, unevaluated = _read(
        'python pretrain_gpt.py --deepspeed \\\n'
        '    --deepspeed_config=$(dirname $0)/ds_config.json \\\n'
        '    --zero-stage=${STAGE} --bf16\n'
    )
    assert data["--deepspeed"] is True and data["--bf16"] is True
    assert data["--deepspeed_config"] is None and unevaluated["--deepspeed_config"] == "$(dirname $0)/ds_config.json"
    assert data["--zero-stage"] is None and lines["--zero-stage"] == 3
    assert "unresolved" not in data


def test_an_array_extended_under_an_undecided_condition_keeps_what_every_branch_has() -> None:
    # Megatron-LM examples/mixtral/train_mixtral_8x7b_distributed.sh (held-out review): wandb flags added
    # when $WANDB_API_KEY is set made the whole LOGGING_ARGS unknown, so --save and --eval-interval were lost.
    data, _, _ = _read(
        'CHECKPOINT_PATH=$1\n'
        'LOGGING_ARGS=(\n'
        '    --save-interval 10000 \\\n'
        '    --save $CHECKPOINT_PATH \\\n'
        '    --no-load-rng\n'
        ')\n'
        'if [ -n "${WANDB_API_KEY}" ]; then\n'
        '    LOGGING_ARGS+=(--wandb-project ${WANDB_PROJECT:-"Mixtral"})\n'
        'fi\n'
        'torchrun pretrain_gpt.py --lr 1e-4 ${LOGGING_ARGS[@]} --bf16\n'
    )
    assert data["--save-interval"] == "10000" and "--save" in data and data["--save"] is None
    assert data["--no-load-rng"] is True and data["--bf16"] is True  # the unknown rest is no flag's value
    assert [u["text"] for u in data["unresolved"]] == ["${LOGGING_ARGS[@]}"]


def test_a_command_string_run_by_sh_c_and_placeholders_of_an_example_script() -> None:
    # Megatron-DeepSpeed examples/pretrain_gpt3_175B.sh (held-out review): the command is a string run by
    # `srun ... sh -c`, and `<PATH TO ...>` placeholders looked like redirections; it was "not a training config".
    data, _, _ = _read(
        'DIR=`pwd`\n'
        'options=" \\\n'
        '    --num-layers 96 \\\n'
        '    --save <PATH TO CHECKPOINTS DIRECTORY> \\\n'
        '    --fp16 "\n'
        'run_cmd="python -u ${DIR}/pretrain_gpt.py $@ ${options}"\n'
        'srun -l --container-mounts "<DIRECTORIES TO MOUNT>" sh -c "${run_cmd}"\n'
    )
    assert data["program"].endswith("pretrain_gpt.py")
    assert data["--num-layers"] == "96" and data["--fp16"] is True and "--save" in data


def test_a_placeholder_a_variable_brings_into_a_plain_command_is_no_redirection() -> None:
    # Held-out review 4 (CodeGeeX scripts/pretrain_codegeex.sh): OUTPUT_DIR="<path-to-output>-$TRIAL_NAME" made
    # `--save $OUTPUT_DIR` look like a redirection, and every flag after it (betas, weight decay, fp16) was lost.
    data, _, _ = _read(
        'OUTPUT_DIR="<path-to-output>-run"\n'
        'deepspeed pretrain_gpt.py \\\n'
        '    --save $OUTPUT_DIR \\\n'
        '    --adam-beta2 0.95 --fp16 2>&1 | tee log.txt\n'
    )
    assert data["--save"] == "<path-to-output>-run"
    assert data["--adam-beta2"] == "0.95" and data["--fp16"] is True and "tee" not in str(data)


def test_an_assigned_placeholder_is_a_value_to_fill_in_never_a_switch(tmp_path) -> None:
    # Held-out review 7 (A 30, a DeepSpeed-Chat DPO template): `MODEL_PATH=<your_model_path>` read as a
    # redirection left MODEL_PATH empty, so `--model_name_or_path $MODEL_PATH` became a switch: "got True".
    script = (
        'MODEL_PATH=<your_model_path>\nTOKENIZER_PATH=$MODEL_PATH\nOUTPUT=<path_to_save_model>\n'
        'if [ "$OUTPUT" == "" ]; then\n    OUTPUT=./output\nfi\n'
        'deepspeed main.py \\\n   --model_name_or_path $MODEL_PATH \\\n   --tokenizer $TOKENIZER_PATH \\\n'
        '   --learning_rate 1e-6 \\\n   --output_dir $OUTPUT\n'
    )
    data, _, unevaluated = _read(script)
    assert data["--model_name_or_path"] is None and unevaluated["--model_name_or_path"] == "<your_model_path>"
    assert unevaluated["--tokenizer"] == "<your_model_path>" and data["--learning_rate"] == "1e-6"
    assert data["--output_dir"] is None  # a placeholder or ./output: the branch is not decided
    plan = plan_of(write(tmp_path, "train.sh", script), "hf")
    assert "model.name" not in plan.model_dump(exclude_none=True).get("model", {})
    assert plan.unknown["model.name"].startswith("<your_model_path>, a placeholder the user fills in")


def test_a_blank_written_out_in_words_is_a_placeholder_not_three_words() -> None:
    # held-out review 97, B 07: `MODEL_PATH="reference model path" # set your reference model`, used unquoted, was
    # three words: PD002 error "`model_name_or_path`: got ['reference', 'model', 'path']"
    data, _, unevaluated = _read('MODEL_PATH="reference model path" # set your reference model\n'
                                 'RUN="base model run"\n'
                                 'python train.py --model_name_or_path $MODEL_PATH --run_name "$RUN" --lr 1e-6\n')
    assert data["--model_name_or_path"] is None and unevaluated["--model_name_or_path"] == "<reference model path>"
    assert data["--run_name"] == "base model run"  # words with no placeholder's word are a value


def test_a_redirection_inside_an_evaluated_string_still_ends_the_command() -> None:
    data, _, _ = _read('cmd="python pretrain_gpt.py --num-layers 2 2>&1 | tee log.txt"\neval $cmd\n')
    assert data["--num-layers"] == "2" and "tee" not in str(data) and "log.txt" not in str(data)


def test_a_launch_run_inside_a_command_substitution_is_read_where_it_is_written() -> None:
    # held-out review 136, D 20: `experiment_id=$(srun ... bash -c "python pretrain.py --lr 1e-5 ..." | grep ...)`,
    # the launch whose output the script keeps, refused as no training config
    data, lines, _ = _read('GBS=64\nexperiment_id=$(srun -p defq -G 8 \\\n--container-writable \\\nbash -c \\\n'
                           '"python ../pretraining/pretrain.py \\\n    --global_batch_size ${GBS} \\\n    --lr 1e-5" '
                           '| grep "Experiment" | sed -n "s/x/y/p")\necho $experiment_id\n')
    assert data["program"].endswith("pretrain.py") and data["--global_batch_size"] == "64" and data["--lr"] == "1e-5"
    assert lines["--lr"] == 7
    # a substitution that asks a program for a value launches nothing
    data, _, _ = _read('PORT=$(python find_free_port.py)\nNODES=$(srun --nodes=1 hostname)\n'
                       'torchrun --master_port $PORT train.py --learning_rate 3e-4\n')
    assert data["program"] == "train.py" and data["--learning_rate"] == "3e-4"
    # ... nor one that evaluates (the test a README's command gets)
    data, _, _ = _read('SCORE=$(python evaluate.py --ckpt out --split test)\necho "$SCORE"\n')
    assert "program" not in data and "--ckpt" not in data


def test_a_scripts_str_format_template_is_read_with_its_fields_as_launch_time_variables() -> None:
    # held-out review 137, D 12: a launch generator's sbatch template (`--num-layers {NUM_LAYERS}`, `${{SHARED}}` for
    # bash's `${SHARED}`), refused as no training config
    data, _, unknown = _read('IMAGE=${{SHARED}}/pytorch.sif\nTP={TP}\nARGS=(\n    --num-layers {NUM_LAYERS}\n'
                             '    --lr {LR}  # no default\n    --bf16\n    --tensor-model-parallel-size $TP\n)\n'
                             'torchrun --nproc_per_node 4 pretrain_gpt.py "${ARGS[@]}" --seq-length {SEQ_LENGTH}\n')
    assert data["program"] == "pretrain_gpt.py" and data["--bf16"] is True
    assert unknown["--num-layers"] == "${NUM_LAYERS}" and unknown["--tensor-model-parallel-size"] == "${TP}"
    # a script with a brace or two of its own is no template
    data, _, _ = _read('echo {a}\ntorchrun train.py --learning_rate 1e-4 --run_name {x}\n')
    assert data["--run_name"] == "{x}"


def test_a_single_quoted_command_string_is_expanded_by_the_shell_that_runs_it() -> None:
    # Held-out review 3: bigscience tr12a-1B3-oscar-en-filtered.slurm runs `bash -c '$LAUNCHER ... $CMD'` (the inner
    # shell expands the exported variables) and k2-train's pretrain_65b.sh runs `bcprun -c 'python main.py ...'`;
    # both were "not a training config of a supported trainer".
    data, lines, _ = _read(
        'export LAUNCHER="python -u -m torch.distributed.launch --nproc_per_node 8"\n'
        'export CMD=" \\\n'
        '    `pwd`/pretrain_gpt.py \\\n'
        '    --num-layers 24 \\\n'
        '    --fp16 \\\n'
        '    "\n'
        "srun --jobid $SLURM_JOBID bash -c '$LAUNCHER --node_rank $SLURM_PROCID $CMD' 2>&1 | tee -a log.txt\n"
    )
    assert data["program"].endswith("pretrain_gpt.py") and data["--num-layers"] == "24" and data["--fp16"] is True
    assert lines["--num-layers"] == 4
    data, lines, _ = _read(
        "bcprun -p 8 --env 'CUDA_DEVICE_MAX_CONNECTIONS=1' -c 'python /mount/k2_training/main.py \\\n"
        "--num-layers 80 \\\n"
        "--hidden-size 8192 \\\n"
        "--bf16\n"
        "'\n"
    )
    assert data["program"].endswith("main.py") and data["--hidden-size"] == "8192" and data["--bf16"] is True
    assert lines["--hidden-size"] == 3
    # Held-out review 60, B 18: the string's commands split at `&&`, and the launcher that starts the ranks is the
    # innermost, not srun (4 nodes × 8 processes)
    data, lines, _ = _read(
        "srun --jobid $SLURM_JOBID --export=ALL bash -c 'echo \"process id: \"$SLURM_PROCID && python \\\n"
        "    -m torch.distributed.launch --nproc_per_node=8 --nnodes=4 --node_rank=$SLURM_PROCID \\\n"
        "    train.py config/train_gpt2.py'\n"
    )
    assert data["program"] == "train.py" and data["positional"] == ["config/train_gpt2.py"]
    assert data["launcher"]["name"] == "torch.distributed.launch" and data["launcher"]["nnodes"] == "4"
    # A single-quoted string given to any other program's -c stays one literal word.
    data, _, _ = _read("python train.py -c '--num-layers 24'\n")
    assert "--num-layers" not in data


def test_a_script_ending_in_a_backslash_without_newline() -> None:
    # ScaleQuest's run_deepseek_qft.sh (held-out review 5) ends `--gradient_accumulation_steps 2 \` with no
    # newline: bash drops the backslash; it was read as a second value, `[2, '\\']`, and the file refused.
    data, _, _ = _read("torchrun train.py \\\n    --learning_rate 5e-7 \\\n    --gradient_accumulation_steps 2 \\")
    assert data["--gradient_accumulation_steps"] == "2" and data["--learning_rate"] == "5e-7"


def test_an_append_redirection_of_both_streams_is_no_flag_value() -> None:
    # MedVicuna's run_medvicuna_13b.sh (held-out review 5): `--tf32 True &>>"./log"` was read as
    # `--tf32 [True, './log']` and the file refused ("input should be a valid boolean").
    data, _, _ = _read('deepspeed train_mem.py \\\n    --bf16 True \\\n    --tf32 True &>>"./medvicuna_13b.log"\n')
    assert data["--tf32"] == "True" and data["--bf16"] == "True"


def test_a_module_run_by_the_launcher_is_the_program() -> None:
    # malaya's run-349M.sh (held-out review 5): `torchrun -m run_clm_mosaic --learning_rate ...`, an HF Trainer
    # program run as a module, was "not a training config"; the launcher's own options stay the launcher's.
    data, lines, _ = _read("~/.local/bin/torchrun --nproc_per_node 4 \\\n-m run_clm_mosaic \\\n"
                           "--learning_rate 2e-4 \\\n--bf16\n")
    assert data["program"] == "run_clm_mosaic" and lines["program"] == 2
    assert data["launcher"] == {"name": "torchrun", "nproc_per_node": "4"}
    assert data["--learning_rate"] == "2e-4" and data["--bf16"] is True
    # `python -m torch.distributed.run ... train.py`: the module is the launcher, the script the program.
    data, _, _ = _read("python -m torch.distributed.run --nproc_per_node 8 train.py --lr 1\n")
    assert data["program"] == "train.py" and data["launcher"]["name"] == "torch.distributed.run"


def test_a_console_entry_point_and_its_subcommand_are_the_program() -> None:
    # ScaleBench's MiniCPM-V-2.6.sh (held-out review 5): `llamafactory-cli train --stage sft ...`.
    data, _, _ = _read("CUDA_VISIBLE_DEVICES=2 llamafactory-cli train \\\n    --stage sft \\\n    --learning_rate 2e-05\n")
    assert data["program"] == "llamafactory-cli" and data["positional"] == ["train"]
    assert data["--stage"] == "sft" and data["--learning_rate"] == "2e-05"
    assert "cut_continuation" not in data


def test_a_comment_line_inside_a_continuation_ends_the_command() -> None:
    # ScaleBench's Qwen2.5-VL.sh (held-out review 5): `#--model_name_or_path ... \` inside the continuation. The
    # comment takes its own `\`, so bash runs the command up to line 3 and the lines after as commands of their
    # own: the flags after it are read as meant, and the reader says where the command ends.
    data, lines, _ = _read("llamafactory-cli train \\\n    --stage sft \\\n    --model_name_or_path Qwen/A \\\n"
                           "    #--model_name_or_path Qwen/B \\\n    --learning_rate 2e-05 \\\n"
                           "    #--learning_rate 5e-05 \\\n    --num_train_epochs 6 \\\n    --lora_target all\n")
    assert data["--model_name_or_path"] == "Qwen/A" and data["--learning_rate"] == "2e-05"
    assert data["--num_train_epochs"] == "6" and lines["--num_train_epochs"] == 7
    assert data["cut_continuation"] == {"line": 4, "by": "comment",
                                        "flags": ["--learning_rate", "--num_train_epochs", "--lora_target"]}
    # A comment at the end of a line, or between commands, cuts nothing.
    data, _, _ = _read("torchrun train.py --lr 1 \\\n    --bf16  # precision\n# next\necho done\n")
    assert "cut_continuation" not in data and data["--bf16"] is True


def test_a_cut_that_drops_only_a_memory_switch_is_a_warning(tmp_path) -> None:
    # Held-out review 64, A 22: the comment drops only `--gradient_checkpointing true` (LLaMA-Factory turns it on by
    # default): the same run trains, or runs out of memory; dropping the lr stays an error
    def severity(rest: str) -> str:
        script = tmp_path / "run.sh"
        script.write_text("llamafactory-cli train \\\n    --stage sft \\\n    --model_name_or_path Qwen/A \\\n"
                          "    --finetuning_type lora \\\n    --do_train \\\n    --output_dir o \\\n    # --flag off \\\n"
                          + rest)
        report = check_paths([script], CheckOptions(use_settings=False))
        return next(f.severity for f in report.findings if "comment inside" in f.message)

    assert severity("    --gradient_checkpointing true\n") == "warning"
    assert severity("    --learning_rate 5e-5 \\\n    --gradient_checkpointing true\n") == "error"
    # held-out review 132, B 05: only `--ddp_find_unused_parameters False` (and logging) lost: the run trains the same
    assert severity("    --ddp_find_unused_parameters False \\\n    --logging_steps 10\n") == "info"
    # ... and so are loader workers and wandb naming: the tables of config/key_roles.py, shared with repeated keys
    assert severity("    --dataloader_num_workers 8 \\\n    --wandb_project p \\\n    --plot_loss\n") == "info"
    assert severity("    --dataloader_num_workers 8 \\\n    --gradient_checkpointing true\n") == "warning"


def test_a_line_without_its_backslash_ends_the_command() -> None:
    # Held-out review 54, A 23 (a stanford_alpaca launch): `--fp16 True` lacks its `\`, so bash runs torchrun without
    # the FSDP flags on the lines below and then fails on `--fsdp` as a command of its own.
    data, _, _ = _read("torchrun --nproc_per_node=5 train.py \\\n    --learning_rate 2e-5 \\\n    --fp16 True\n"
                       "    --fsdp \"full_shard auto_wrap offload\" \\\n    --fsdp_transformer_layer_cls_to_wrap Layer\n")
    assert data["--fsdp"] == "full_shard auto_wrap offload"
    assert data["cut_continuation"] == {"line": 3, "by": "no_backslash",
                                        "flags": ["--fsdp", "--fsdp_transformer_layer_cls_to_wrap"]}


def test_a_job_wrapper_whose_only_action_is_sh_other_script_is_followed(tmp_path) -> None:
    # Held-out review 7 (B 23, Megatron-DeepSpeed-ABCI abci/jobs/*.sh): an SGE job that loads modules, `cd`s to the
    # checkout and runs `sh abci/shells/pretrain_....sh` was "not a training config"; the script it runs reads fine.
    wrapper = write(tmp_path, "abci/jobs/job.sh", """\
        #!/bin/bash
        #$ -l rt_F=4
        source /etc/profile.d/modules.sh
        module load cuda/11.8/11.8.0
        cd /bb/user/Megatron-DeepSpeed-ABCI
        sh abci/shells/pretrain_345m.sh
        """)
    assert read_shell(wrapper.read_text(), "job.sh")[0] == {"runs_script": {"path": "abci/shells/pretrain_345m.sh",
                                                                            "line": 6}}
    options = CheckOptions(use_settings=False)
    report = check_paths([wrapper], options)  # the script it runs is not at hand: the refusal as before
    assert "not a training config" in report.errors[0].message
    write(tmp_path, "abci/shells/pretrain_345m.sh", """\
        deepspeed pretrain_gpt.py --num-layers 24 --hidden-size 1024 --num-attention-heads 16 \\
            --seq-length 1024 --max-position-embeddings 1024 --micro-batch-size 4 --global-batch-size 64 \\
            --train-iters 1000 --lr 1e-4 --lr-decay-style cosine --lr-warmup-iters 10
        """)
    report = check_paths([wrapper], options)
    assert report.errors == [] and report.files[0].dialect == "megatron"
    assert "job.sh is a job wrapper whose only action (line 6) is to run abci/shells/pretrain_345m.sh" in \
        report.files[0].notices[0]
    _, found, plan = load_plan_detected(wrapper, options)
    assert found.via and plan.optimizer.lr == 1e-4 and plan.files[0].endswith("pretrain_345m.sh")
    # Two scripts run, or one beside a training command of its own: not a wrapper to follow.
    assert "runs_script" not in read_shell("sh a.sh\nbash b.sh\n", "job.sh")[0]
    assert "runs_script" not in read_shell("python train.py --lr 1\nsh post.sh\n", "job.sh")[0]


def test_a_wrappers_arguments_are_the_scripts_positional_parameters(tmp_path) -> None:
    # Held-out review 120, D 24/D 25 (Pai-Megatron-Patch run scripts, reduced): the owner's wrapper logs in to the hub,
    # converts a checkpoint, then runs `run_mcore_qwen.sh dsw 1.5B $BATCH_SIZE 128 1e-5 ...`; the script reads them as
    # `$1`... A word the wrapper leaves to the environment stays unknown. (`huggingface-cli login` was read as the
    # training command and the wrapper refused.)
    wrapper = write(tmp_path, "run_train.sh", """\
        #!/bin/bash
        huggingface-cli login --token $HUGGINGFACE_TOKEN
        /bin/bash convert_hf2mcore.sh
        /bin/bash examples/run_mcore_qwen.sh \\
            dsw \\
            1.5B \\
            $BATCH_SIZE \\
            128 \\
            1e-5
        """)
    data = read_shell(wrapper.read_text(), "run_train.sh")[0]
    assert data["runs_script"]["path"] == "examples/run_mcore_qwen.sh"
    assert data["runs_script"]["args"] == ["dsw", "1.5B", None, "128", "1e-5"]
    write(tmp_path, "examples/run_mcore_qwen.sh", """\
        ENV=$1
        MODEL_SIZE=$2
        BATCH_SIZE=$3
        GLOBAL_BATCH_SIZE=$4
        LR=$5
        if [ $MODEL_SIZE = 1.5B ]; then
        NUM_LAYERS=28
        fi
        torchrun --nproc_per_node 8 pretrain_qwen.py --num-layers $NUM_LAYERS --hidden-size 1536 \\
            --num-attention-heads 12 --micro-batch-size $BATCH_SIZE --global-batch-size $GLOBAL_BATCH_SIZE \\
            --lr $LR --train-iters 1000 --seq-length 2048 --max-position-embeddings 2048
        """)
    _, found, plan = load_plan_detected(wrapper, CheckOptions(use_settings=False))
    assert "with 5 arguments (4 known)" in found.via
    assert (plan.model.layers, plan.batch.global_batch_size, plan.optimizer.lr) == (28, 128, 1e-5)
    assert plan.batch.micro_batch_size is None and "batch.micro_batch_size" in plan.unknown


OPTION_LOOP = """USE_DEEPSPEED=1
ZERO_STAGE=1
while [[ $# -gt 0 ]]
do
key="$1"
case $key in
    --no-deepspeed)
    USE_DEEPSPEED=0;
    shift
    ;;
    -z|--zero-stage)
    ZERO_STAGE=$2;
    shift
    ;;
esac
done
options=" \\
        --num-layers 24 \\
        --fp16 \\
        --loss-scale 12 \\
        --checkpoint-activations
        "
if [[ ${USE_DEEPSPEED} -eq 1 ]]; then
    options="${options} \\
        --deepspeed \\
        --deepspeed_config=ds_config.json \\
        --zero-stage=${ZERO_STAGE} \\
    "
fi
run_cmd="deepspeed ${DIR}/pretrain_gpt.py $@ ${options}"
eval ${run_cmd}
"""


def test_a_loop_over_the_scripts_own_arguments_leaves_its_defaults() -> None:
    # Megatron-DeepSpeed forks' run.sh (held-out review 8, case 10): `--no-deepspeed) USE_DEEPSPEED=0` in a
    # `while [[ $# -gt 0 ]]` option loop made USE_DEEPSPEED unknown, so `--deepspeed` (added under `if`) was
    # never seen and `--loss-scale 12` read as a static scale. Read as launched with no arguments, the loop
    # never runs: the script's own values are its defaults (and `$@` stays unresolved).
    data, _, _ = _read(OPTION_LOOP)
    assert data["--deepspeed"] is True and data["--zero-stage"] == "1" and data["--checkpoint-activations"] is True
    assert [u["text"] for u in data["unresolved"]] == ["$@"]
    for head in ("while getopts 'z:' opt; do", "for arg in \"$@\"; do", "while [ -n \"$1\" ]; do"):
        data, _, _ = _read(OPTION_LOOP.replace("while [[ $# -gt 0 ]]\ndo", head))
        assert data["--deepspeed"] is True, head
    # A script that needs its arguments (`MODEL=$1`, meditron's finetune_sft.sh exits without them) is launched
    # with some: what its option loop sets stays uncertain.
    data, _, _ = _read("MODEL=$1\nshift\n" + OPTION_LOOP)
    assert "--deepspeed" not in data
    # Any other loop may change what it assigns: still uncertain.
    data, _, _ = _read(OPTION_LOOP.replace("while [[ $# -gt 0 ]]\ndo\nkey=\"$1\"", "for key in $MODES; do"))
    assert "--deepspeed" not in data


def test_megatron_deepspeed_on_by_the_scripts_default_owns_the_loss_scale(tmp_path) -> None:
    plan = plan_of(write(tmp_path, "run.sh", OPTION_LOOP))
    assert plan.precision.loss_scale is None and plan.parallel.zero_stage == 1
    off = plan_of(write(tmp_path, "off.sh", OPTION_LOOP.replace("USE_DEEPSPEED=1", "USE_DEEPSPEED=0")))
    assert off.precision.loss_scale == 12


QUOTED_COMMENTS = """GPUS_PER_NODE=2
DISTRIBUTED_ARGS="
    --nproc_per_node $GPUS_PER_NODE \\        # GPUs per node
    --nnodes 2 \\                       # 节点数
"
GPT_ARGS="
    --num-layers 4 \\                         # Transformer 层数
    --hidden-size 256 \\                      # 隐藏层维度
    --num-attention-heads 8 \\
    --lr 0.00015 \\                           # 初始学习率
    --fp16 \\                                 # 混合精度
"
torchrun $DISTRIBUTED_ARGS pretrain_gpt.py $GPT_ARGS --save /ckpt
"""


def test_a_backslash_and_comment_inside_a_quoted_value_are_reported_and_read_as_meant() -> None:
    # beatlesforever/megatron-lm-custom's pretrain_gpt_distributed_2node.sh (held-out review 8, case 06): inside
    # quotes `\\` before blanks is a literal backslash and `#` no comment, so `$GPT_ARGS` gave `--num-layers`
    # the words ['4', '\\', '#', 'Transformer', '层数'] and the script was refused as unreadable.
    data, lines, _ = _read(QUOTED_COMMENTS)
    assert data["--num-layers"] == "4" and data["--hidden-size"] == "256" and data["--lr"] == "0.00015"
    assert data["--fp16"] is True and data["--num-attention-heads"] == "8" and lines["--lr"] == 10
    assert data["launcher"]["nproc_per_node"] == "2" and data["launcher"]["nnodes"] == "2"
    assert data["quoted_comments"] == [{"line": 3, "variable": "DISTRIBUTED_ARGS"},
                                       {"line": 4, "variable": "DISTRIBUTED_ARGS"},
                                       {"line": 7, "variable": "GPT_ARGS"}, {"line": 8, "variable": "GPT_ARGS"},
                                       {"line": 10, "variable": "GPT_ARGS"}, {"line": 11, "variable": "GPT_ARGS"}]
    # A `#` that is a value, or a `\\` before a newline (a real continuation inside quotes), is left alone.
    data, _, _ = _read('ARGS="--run-name a#b \\\n    --lr 1"\ntorchrun train.py $ARGS\n')
    assert data["--run-name"] == "a#b" and data["--lr"] == "1" and "quoted_comments" not in data


def test_quoted_comments_are_one_error_finding_and_the_plan_reads_the_flags(tmp_path) -> None:
    plan = plan_of(write(tmp_path, "train.sh", QUOTED_COMMENTS))
    [note] = [n for n in plan.notes if n.kind == "ignored-key" and n.data.get("severity") == "error"]
    assert note.source.line == 3 and "(also in GPT_ARGS)" in note.message and "5 more lines" in note.message
    assert plan.model.layers == 4 and plan.optimizer.lr == pytest.approx(0.00015) and plan.precision.compute == "fp16"


def test_the_folder_the_command_runs_in_after_its_cds() -> None:
    data, _, _ = _read('cd "$(dirname "$0")/.."\nROOT=src\ncd $ROOT\npython train.py cfg.yaml\n')
    assert data["workdir"] == {"path": "../src", "line": 3}
    data, _, _ = _read("cd /repo/sub\ncd ..\npython train.py --lr 1\n")
    assert data["workdir"]["path"] == "/repo/sub/.."
    data, _, _ = _read("if [ -n \"$X\" ]; then cd elsewhere; fi\npython train.py --lr 1\n")
    assert data["workdir"]["path"] is None  # a cd the script may not take: unknown
    data, _, _ = _read("python train.py --lr 1\ncd later\n")
    assert "workdir" not in data


def test_a_program_handed_only_a_config_file_is_the_training_command() -> None:
    # declare-lab/trust-align dpo.sh: no flag after the program, its arguments are in the YAML
    data, _, _ = _read('task="dpo"\naccelerate launch --config_file acc.yaml ${task}.py configs/${task}_full.yaml\n')
    assert data["program"] == "dpo.py" and data["positional"] == ["configs/dpo_full.yaml"]


def test_litgpt_is_an_entry_point_and_its_training_command_wins() -> None:
    data, _, _ = _read("litgpt download meta-llama/Meta-Llama-3-8B --access_token x\n"
                       "litgpt pretrain meta-llama/Meta-Llama-3-8B --train.micro_batch_size=1\n")
    assert data["program"] == "litgpt" and data["positional"] == ["pretrain", "meta-llama/Meta-Llama-3-8B"]


def test_a_script_written_by_a_heredoc_and_submitted_is_read_at_its_lines() -> None:
    # Reduced from held-out review 11, A 22 (harishvs/litgpt-slurm@3716db9 slurm_ft.sh): `cat >$script_name <<EOD`
    # writes a SLURM job whose `srun litgpt finetune_lora ...` runs once `sbatch $script_name` submits it.
    data, lines, _ = _read(
        'script_name="ft_stabai"\n'
        "cat >$script_name <<EOD\n"
        "#!/bin/bash\n"
        "#SBATCH --nodes=2\n"
        "srun litgpt finetune_lora ckpt/Llama-3.2-1B --data Alpaca --train.epochs 1 --out_dir /data/out/$script_name\n"
        "EOD\n"
        "\n"
        "chmod +x $script_name\n"
        "sbatch $script_name\n")
    assert data["program"] == "litgpt" and data["positional"][:2] == ["finetune_lora", "ckpt/Llama-3.2-1B"]
    assert data["--train.epochs"] == "1" and lines["--train.epochs"] == 5
    assert data["--out_dir"] == "/data/out/ft_stabai"
    # a heredoc that is no script (a README, a prompt) is still skipped
    data, _, _ = _read("cat > notes.txt <<EOF\npython train.py --lr 1\nEOF\n")
    assert "--lr" not in data


def test_what_a_job_wrapper_exports_reaches_the_script_it_runs(tmp_path) -> None:
    # Reduced from held-out review 11, A 04 (icip-cas/AutoAlign@e16a07e scripts/train/sft_qwen2-7b_infinite_deepspeed.sh):
    # the wrapper exports LR, GA, EPOCH ... and runs `bash scripts/train_sft.sh`, whose `${LR:-"2e-5"}` fallbacks
    # then read the exported values, as bash does.
    wrapper = write(tmp_path, "sft_wrapper.sh", """\
        export MODEL_PATH=Qwen/Qwen2-7B
        export GA=16
        export LR=5e-6
        WARMUP_RATIO=0.5
        export EPOCH=1
        bash scripts/train_sft.sh
        """)
    assert read_shell(wrapper.read_text(), "w.sh")[0]["runs_script"]["env"] == {
        "MODEL_PATH": "Qwen/Qwen2-7B", "GA": "16", "LR": "5e-6", "EPOCH": "1"}  # WARMUP_RATIO is not exported
    write(tmp_path, "scripts/train_sft.sh", """\
        torchrun train.py \\
            --model_name_or_path ${MODEL_PATH:-"Qwen2/Qwen2-7B"} \\
            --num_train_epochs ${EPOCH:-"3"} \\
            --gradient_accumulation_steps ${GA:-"1"} \\
            --learning_rate ${LR:-"2e-5"} \\
            --warmup_ratio ${WARMUP_RATIO:-0.04}
        """)
    _, found, plan = load_plan_detected(wrapper, CheckOptions(use_settings=False))
    assert found.dialect.name == "hf" and "with the variables it exports (EPOCH, GA, LR, MODEL_PATH)" in found.via
    assert plan.optimizer.lr == pytest.approx(5e-6) and plan.sources["optimizer.lr"].line == 5
    assert (plan.batch.grad_accum, plan.run.epochs, plan.model.name) == (16, 1, "Qwen/Qwen2-7B")
    assert plan.schedule.warmup_ratio == pytest.approx(0.04)
    # the script read on its own keeps its fallbacks
    alone = load_plan_detected(tmp_path / "scripts/train_sft.sh", CheckOptions(use_settings=False))[2]
    assert alone.optimizer.lr == pytest.approx(2e-5) and alone.batch.grad_accum == 1


# Reduced from held-out review 12, A 14 (yyDing1/SCAN-PRM@463c201 scripts/train.sh): an HF Trainer program run by
# deepspeed's launcher as a module, with shell variables and an `exec > >(tee ...)` line.
SCAN_PRM = """\
SAVE_PATH=checkpoints/Qwen2.5-Math-7B-SCAN-PRO
MODEL=Qwen/Qwen2.5-Math-7B-Instruct

mkdir -p $SAVE_PATH

exec > >(tee ${SAVE_PATH}/output.log) 2>&1

deepspeed --module src.train_prm.main \\
    --do_train --do_eval \\
    --model_path $MODEL  \\
    --output_dir $SAVE_PATH \\
    --eval_strategy steps \\
    --eval_steps 100 \\
    --per_device_train_batch_size 1 \\
    --gradient_accumulation_steps 16 \\
    --bf16 \\
    --learning_rate 7e-6 \\
    --lr_scheduler_type constant
"""


def test_a_module_run_by_a_launchers_module_switch_is_the_program(tmp_path) -> None:
    # deepspeed/launcher/runner.py `--module` ("the same behavior as 'python -m'"); torchrun's and
    # `accelerate launch`'s `-m/--module` switch: the word after the switch is the module the launcher runs.
    data, lines, _ = _read(SCAN_PRM)
    assert data["program"] == "src.train_prm.main" and lines["program"] == 8
    assert data["launcher"] == {"name": "deepspeed"} and data["--learning_rate"] == "7e-6"
    for command, launcher in (("torchrun --nproc_per_node 8 --module pkg.train --lr 1\n", "torchrun"),
                              ("accelerate launch --num_processes 8 -m pkg.train --lr 1\n", "accelerate"),
                              ("python -m pkg.train --lr 1\n", "python")):
        data, _, _ = _read(command)
        assert data["program"] == "pkg.train" and data["launcher"]["name"] == launcher, command
        assert "module" not in data["launcher"] and data["--lr"] == "1"
    plan = load_plan_detected(write(tmp_path, "scripts/train.sh", SCAN_PRM), CheckOptions(use_settings=False))[2]
    assert plan.dialect == "hf" and plan.optimizer.lr == pytest.approx(7e-6)
    assert (plan.eval.strategy, plan.eval.interval_steps, plan.batch.grad_accum) == ("steps", 100, 16)


def test_a_forced_dialect_reads_the_scripts_arguments_or_refuses(tmp_path) -> None:
    # Held-out review 12, A 14: `--dialect hf` on the script whose command was not found read none of its
    # arguments and judged transformers' defaults (lr 5e-5, eval off, a PD104 warning) as if the file said them.
    options = CheckOptions(use_settings=False, dialect="hf")
    script = write(tmp_path, "train.sh", SCAN_PRM)
    assert load_plan_detected(script, options)[2].optimizer.lr == pytest.approx(7e-6)
    setup = write(tmp_path, "setup.sh", "pip install -r requirements.txt\nmkdir -p checkpoints\n")
    with pytest.raises(ConfigError, match="no training command found in this shell script.*--dialect hf"):
        load_plan_detected(setup, options)
    report = check_paths([setup], options)
    assert report.findings == [] and "no training command found" in report.errors[0].message
    # in a folder walk, a script that launches nothing is skipped with the reason, not judged by defaults
    report = check_paths([tmp_path], options)
    assert report.errors == [] and [f.role for f in report.files] == ["skipped", "config"]
    # a job wrapper whose only action is to run the launch script: the script it runs is read
    wrapper = write(tmp_path, "job.sh", "cd /repo\nbash train.sh\n")
    _, found, plan = load_plan_detected(wrapper, options)
    assert found.via and plan.optimizer.lr == pytest.approx(7e-6)


# Reduced from held-out review 13, B 20 (HYGON-AI/Megatron-LM-das@0685d1f examples/gemma3/train_gemma3_1B.sh;
# B 21, examples/GLM/train_glm5_300B.sh, is built the same way): the arrays are pasted into a string
# (`APP="python ... ${TRAINING_ARGS[@]} ..."`) that runs as `${APP}`. bash joins the elements with spaces
# there; the reader glued them into one word and refused the script.
GEMMA3_APP = (
    'MBS=1\nGBS=32\nTRAIN_ITERS=500\n'
    'GPT_MODEL_ARGS=(\n    --seq-length 4096\n    --num-layers 26\n)\n'
    'TRAINING_ARGS=(\n    --micro-batch-size ${MBS}\n    --global-batch-size ${GBS}\n'
    '    --train-iters ${TRAIN_ITERS}\n    --lr 3.0e-5 \n    --bf16\n)\n'
    'EMPTY_ARGS=()\n'
    'APP="python -u ${MEGATRON_PATH}/pretrain_gpt.py \\\n'
    '        ${GPT_MODEL_ARGS[@]} \\\n        ${EMPTY_ARGS[@]} \\\n        ${TRAINING_ARGS[@]} \\\n        "\n'
    'APP+=" ${GPT_MODEL_ARGS[@]}"\n'
    '${launch_with_binding} ${LOCAL_RANK} ${APP}\n')


def test_an_array_pasted_into_a_string_is_its_elements_joined_by_spaces(tmp_path) -> None:
    data, lines, _ = _read(GEMMA3_APP)
    assert data["program"] == "pretrain_gpt.py"
    assert (data["--lr"], data["--global-batch-size"], data["--train-iters"]) == ("3.0e-5", "32", "500")
    assert (data["--bf16"], data["--micro-batch-size"], data["--num-layers"]) == (True, "1", "26")
    assert lines["--lr"] == 12 and lines["--num-layers"] == 6
    data, _, _ = _read('A=(--a 1 --b)\nX="${A[@]}"\npython train.py $X\nY="${A[*]}"\n')
    assert (data["--a"], data["--b"]) == ("1", True)
    plan = load_plan_detected(write(tmp_path, "train_gemma3_1B.sh", GEMMA3_APP), CheckOptions(use_settings=False))[2]
    assert plan.dialect == "megatron" and plan.optimizer.lr == pytest.approx(3e-5)


# Reduced from held-out review 13, B 22 (idriscnrs/JZ-Megatron-DeepSpeed@15c93c4
# examples_JZ/finetune_hf_llama/finetune_llama.sh): the command is held in variables and run by `eval`, and
# which program it starts hangs on `$1`; launched with no argument (`$1` empty) it fine-tunes.
FINETUNE_MODE = (
    'TP=2\n'
    'covert_args="deepspeed tools/hf2megads_weight_converter.py \\\n--save ./mega"\n'
    'finetune_args="deepspeed finetune_llama.py \\\n--load ./mega"\n'
    'comm_args="--tensor-model-parallel-size $TP \\\n--train-iters 3500 \\\n--lr 2e-5 \\\n--deepspeed"\n'
    'if [ "$1" = "convert" ]; then\n    task_args="$covert_args"\nelse\n    task_args="$finetune_args"\nfi\n'
    'full_cmd="$task_args $comm_args"\n'
    'eval "$full_cmd"\n')


def test_a_script_taking_a_mode_argument_is_read_as_launched_with_none() -> None:
    data, lines, _ = _read(FINETUNE_MODE)
    assert (data["program"], data["launcher"]["name"]) == ("finetune_llama.py", "deepspeed")
    assert (data["--lr"], data["--train-iters"], data["--load"], data["--deepspeed"]) == ("2e-5", "3500", "./mega", True)
    assert "--save" not in data and lines["--lr"] == 8
    # a script whose training command is found as launched with arguments keeps reading `$1` as unknown
    data, _, unevaluated = _read('python train.py --save $1 --lr 1\nif [ "$1" = x ]; then echo; fi\n')
    assert data["--save"] is None and data["--lr"] == "1" and unevaluated["--save"] == "$1"


def test_a_program_the_command_line_chooses_is_the_word_after_the_launchers_options(tmp_path) -> None:
    # shifang99/Megatron-LM_core_v0.7.0_trace my_test/.../train_gpt.sh (held-out review 14, B 32, reduced): the
    # script started is `$2`; "not a training config of a supported trainer" was false.
    script = (
        'PRETRAIN_PY_FILE=$2\n'
        'DISTRIBUTED_ARGS=(\n    --nproc_per_node 8\n    --nnodes 1\n    --master_addr localhost\n)\n'
        'GPT_MODEL_ARGS=(\n    --num-layers 2\n    --hidden-size 2048\n    --num-attention-heads 16\n'
        '    --seq-length 1024\n)\n'
        'TRAINING_ARGS=(\n    --global-batch-size 4\n    --train-iters 300\n    --lr 6.0e-5\n    --save-interval 100\n)\n'
        'torchrun ${DISTRIBUTED_ARGS[@]} ${PRETRAIN_PY_FILE} \\\n'
        '    ${GPT_MODEL_ARGS[@]} \\\n    ${TRAINING_ARGS[@]} > ${LOG_NAME} 2>&1\n')
    data, lines, _ = _read(script)
    assert data["program"] == "$2" and data["launcher"]["nproc_per_node"] == "8"
    assert data["--num-layers"] == "2" and lines["--lr"] == 16
    path = write(tmp_path, "train_gpt.sh", script)
    assert plan_of(path).optimizer.lr == pytest.approx(6e-5)
    # An unknown array after the launcher may be its options: no program is guessed from it.
    data, _, _ = _read('torchrun ${LAUNCH_ARGS[@]} --num-layers 2 --lr 1e-4\n')
    assert "program" not in data
    # Nor from a known word that is not a script (`python -c ...`, a subcommand).
    data, _, _ = _read('python -c "$CODE" --num-layers 2\n')
    assert "program" not in data
    # A launcher option whose value the caller gives is still an option (held-out review 72, A 11: STILL-3-TOOL's
    # `torchrun --nnodes=${NNODES} --node_rank=${NODE_RANK} ... ${SCRIPT_PATH} --learning_rate ${lr}`)
    data, _, _ = _read('SCRIPT_PATH=$6\ntorchrun --nproc_per_node=8 --nnodes=${NNODES} --node_rank $RANK ${SCRIPT_PATH} '
                       '--model_name_or_path m --learning_rate 1e-5\n')
    assert data["program"] == "$6" and data["--learning_rate"] == "1e-5"


def test_an_undecided_command_is_no_program_the_command_line_chooses() -> None:
    # idriscnrs/JZ-Megatron-DeepSpeed finetune_llama.sh (held-out review 13, B 22, reduced): `$task_args` is either
    # command; the bare launch (`$1` empty) reads the fine-tune, not `deepspeed ${task_args}` with an unknown program.
    data, _, _ = _read(
        'finetune_args="deepspeed finetune_llama.py --load ckpt"\n'
        'if [ "$1" = "convert" ]; then\n    task_args="deepspeed tools/convert.py --save out"\nelse\n'
        '    task_args="$finetune_args"\nfi\n'
        'full_cmd="$task_args --num-layers 2 --lr 2e-5"\neval "$full_cmd"\n')
    assert data["program"] == "finetune_llama.py" and data["--load"] == "ckpt"


# elena-lyulina/Megatron-LM-Attention-Benchmark attn_bench/submissions/_old/pretrain_llama3_1b_fineweb160B.slurm and the
# files it sources (held-out review 14, B 08, reduced): every warmup, β2, dropout and checkpoint flag is in them.
_SOURCING = """#!/bin/bash
REPO_ROOT=/iopsstor/scratch/cscs/$USER/Megatron-LM-Attention-Benchmark
cd $REPO_ROOT
source $REPO_ROOT/attn_bench/configs/models/llama3_1b.sh
DATA_ARGS=(
    --split "100,0,0"
    --seq-length 8192
)
TRAINING_STEPS=244306
source $REPO_ROOT/attn_bench/configs/training.sh
TRAINING_ARGS+=(
    --micro-batch-size 2
    --global-batch-size 80
    --train-iters $TRAINING_STEPS
)
TRAINING_CMD="torchrun --nproc-per-node 4 $REPO_ROOT/pretrain_gpt.py \\
    ${NETWORK_SIZE_ARGS[*]} \\
    ${REGULARIZATION_ARGS[*]} \\
    ${TRAINING_ARGS[*]} \\
    ${LEARNING_RATE_ARGS[*]} \\
    ${CHECKPOINTING_ARGS[*]} \\
    ${MIXED_PRECISION_ARGS[*]} \\
    ${DATA_ARGS[*]}"
srun -lu bash -c "${TRAINING_CMD}"
"""
_MODEL = """: ${NUM_LAYERS:=16}
: ${HIDDEN_SIZE:=2048}
NETWORK_SIZE_ARGS=(
    --num-layers $NUM_LAYERS # "num_hidden_layers": 16
    --hidden-size $HIDDEN_SIZE
    --num-attention-heads 32
    --position-embedding-type rope
)
: ${LR:=0.0003}
: ${LR_WARMUP:=2000}
LEARNING_RATE_ARGS=(
    --lr $LR
    --lr-decay-style cosine
    --lr-warmup-iters $LR_WARMUP # 2000 -- following LLama3 paper
)
: ${ATTENTION_DROPOUT:=0.0}
REGULARIZATION_ARGS=(
    --attention-dropout $ATTENTION_DROPOUT
    --hidden-dropout 0.0
    --adam-beta2 0.95
)
"""
_TRAINING = """MIXED_PRECISION_ARGS=(
    --bf16
)
TRAINING_ARGS=(
    --eval-iters 0
)
: ${CHECKPOINT_STEPS:=1000}
: ${CKPT_DIR:=$EXP_DIR/checkpoints}
CHECKPOINTING_ARGS=(
    --save $CKPT_DIR
    --save-interval $CHECKPOINT_STEPS
)
"""


def test_sourced_files_are_read_as_bash_sources_them(tmp_path) -> None:
    (tmp_path / "attn_bench" / "configs" / "models").mkdir(parents=True)
    (tmp_path / "attn_bench" / "configs" / "models" / "llama3_1b.sh").write_text(_MODEL)
    (tmp_path / "attn_bench" / "configs" / "training.sh").write_text(_TRAINING)
    script = tmp_path / "attn_bench" / "submissions" / "_old" / "pretrain.slurm"
    script.parent.mkdir(parents=True)
    script.write_text(_SOURCING)  # where it sits in its repository: the root is three folders up
    for path in (script, write(tmp_path, "pretrain.slurm", _SOURCING)):  # and copied beside the files it sources
        doc = load_document(path)
        data = doc.data
        assert data["--lr-warmup-iters"] == "2000" and data["--adam-beta2"] == "0.95" and data["--bf16"] is True
        assert data["--save-interval"] == "1000" and data["--num-layers"] == "16" and data["--train-iters"] == "244306"
        assert doc.positions[("--lr-warmup-iters",)].line == 4 and doc.positions[("--save",)].line == 10
        assert [(s["path"], s["line"], s["read"]) for s in data["sourced"]] == [
            (str(Path(rel)), line, True) for rel, line in
            ((os.path.relpath(tmp_path / "attn_bench/configs/models/llama3_1b.sh", path.parent), 4),
             (os.path.relpath(tmp_path / "attn_bench/configs/training.sh", path.parent), 10))]
        plan = plan_of(path)
        assert plan.schedule.warmup_steps == 2000 and plan.optimizer.betas == (0.9, 0.95)
        assert plan.model.dropout == 0.0 and plan.checkpoint.enabled is True and plan.precision.compute == "bf16"
        assert plan.sources["schedule.warmup_steps"].line == 4
    report = check_paths([script], CheckOptions())
    assert not {"PD104", "PD801", "PD201", "PD603"} & {f.code for f in report.findings}
    assert any("read the files it sources" in notice for notice in report.files[0].notices)


def test_a_sourced_file_not_at_hand_leaves_what_it_may_set_unknown(tmp_path) -> None:
    path = write(tmp_path, "pretrain.slurm", _SOURCING)
    data = load_document(path).data
    assert [(s["line"], s["read"]) for s in data["sourced"]] == [(4, False), (10, False)]
    plan = plan_of(path)
    # No warmup flag and no --save in the script itself: not known to be absent ("no warmup", "checkpointing off").
    assert "schedule.warmup_steps" in plan.unknown and plan.checkpoint.enabled is None
    report = check_paths([path], CheckOptions())
    assert not {"PD104", "PD801"} & {f.code for f in report.findings}
    assert any("not at hand, so not read" in notice for notice in report.files[0].notices)


def test_a_sourced_file_copied_beside_the_script_is_read_by_its_name(tmp_path) -> None:
    # held-out review 71, A 22 (LESS: `source less/scripts/train/base_training_args.sh` from the repository root, the
    # two files copied side by side): the file's name beside the script, after the tree's own paths
    (tmp_path / "base_training_args.sh").write_text('export base_training_args="--do_train True --learning_rate 2e-05"\n')
    path = write(tmp_path, "warmup.sh", "source less/scripts/train/base_training_args.sh\n"
                                        'header="torchrun --nproc_per_node 1 -m less.train.train"\n'
                                        'eval "$header" "$base_training_args --output_dir out"\n')
    data = load_document(path).data
    assert data["--learning_rate"] == "2e-05" and [s["read"] for s in data["sourced"]] == [True]


def test_one_file_copied_beside_the_script_stands_for_one_sourced_path_only(tmp_path) -> None:
    # held-out review 138, D 12: `source configs/model/flame-moe.sh` then `source configs/train/flame-moe.sh`, only the
    # model file copied beside the job: read for the first, the second not at hand (its flags not known to be absent)
    (tmp_path / "flame-moe.sh").write_text("MODEL_ARGS=(--num-layers 9 --hidden-size 256)\n")
    path = write(tmp_path, "job.sh", "source $BASE/configs/model/flame-moe.sh\nsource $BASE/configs/train/flame-moe.sh\n"
                                     "torchrun pretrain_gpt.py ${MODEL_ARGS[@]} ${TRAIN_ARGS[@]}\n")
    data = load_document(path).data
    assert data["--num-layers"] == "9" and [s["read"] for s in data["sourced"]] == [True, False]


def test_sourcing_follows_relative_paths_and_never_loops(tmp_path) -> None:
    (tmp_path / "common.sh").write_text('LR=3e-4\nsource ./common.sh\n. "$(dirname "$0")/more.sh"\n')
    (tmp_path / "more.sh").write_text("ARGS=(--lr $LR --train-iters 10)\n")
    path = write(tmp_path, "run.sh", ". common.sh\npython pretrain_gpt.py ${ARGS[@]} --num-layers 2\n")
    data = load_document(path).data
    assert data["--lr"] == "3e-4" and data["--train-iters"] == "10"
    assert [(s["path"], s["read"]) for s in data["sourced"]] == [
        ("common.sh", True), ("./common.sh", False), ("more.sh", True)]


def test_environment_set_up_scripts_are_not_listed_as_sourced(tmp_path) -> None:
    # held-out 10, B 14 and 12, B 08: `source /etc/profile.d/modules.sh`, `source .env/bin/activate`, conda.sh.
    data, _, _ = read_shell("source /etc/profile.d/modules.sh\nsource .env/bin/activate\n"
                            "source /opt/conda/etc/profile.d/conda.sh\nsource activate\nsource ~/.bashrc\n"
                            "python pretrain_gpt.py --lr 1e-4 --num-layers 2\n", "train.sh", None, tmp_path / "train.sh")
    assert "sourced" not in data and data["--lr"] == "1e-4"


def test_appending_to_an_array_undecided_branches_set() -> None:
    # held-out review 29, A 14 (a Megatron MoE run script): `ARGS=(...)` in both branches of an `if` the script
    # cannot decide, then `ARGS+=(--tensor-model-parallel-size ${TP} ...)` on every path: the flags it adds hold
    data, _, _ = _read(
        "TP=2\n"
        'if [ "$USE_FSDP2" = true ]; then\n    ARGS=(--use-torch-fsdp2)\nelse\n    ARGS=(--use-distributed-optimizer)\nfi\n'
        "ARGS+=(\n    --tensor-model-parallel-size ${TP}\n)\n"
        'EXTRA="$MAYBE"\nEXTRA+=" --seed 7"\n'
        "python pretrain_gpt.py ${ARGS[@]} $EXTRA --x ${ARGS[0]} --lr 1\n")
    assert data["--tensor-model-parallel-size"] == "2" and data["--seed"] == "7"
    assert data["--x"] is None  # element 0 is what the branches set: any number of words, unknown
    assert any(word["text"] == "${ARGS[@]}" for word in data["unresolved"])


def test_an_evaluated_command_string_runs_each_of_its_commands() -> None:
    # Held-out review 30, A 03 (a Megatron-DeepSpeed script): `run_cmd="rm -rf $CKPT && deepspeed ... | tee log"`
    # then `eval ${run_cmd}` was read as `rm` alone and the script refused as no training config.
    data, lines, _ = _read('CKPT=/tmp/ck\noptions="--lr 3e-4 --train-iters 10"\n'
                           'run_cmd="rm -rf $CKPT && deepspeed pretrain_gpt.py ${options} | tee log.txt"\n'
                           "eval ${run_cmd}\n")
    assert data["program"] == "pretrain_gpt.py" and data["--lr"] == "3e-4" and data["--train-iters"] == "10"
    assert "tee" not in str(data) and lines["--lr"] == 2  # where `options` spells it


def test_sbatch_directives_are_the_jobs_slurm_variables() -> None:
    # Held-out review 39, A 13: `#SBATCH --nodes=8`, `--gpus-per-node=8`, then `WORLD_SIZE=$((SLURM_GPUS_ON_NODE*
    # SLURM_NNODES))` handed to `accelerate launch` under srun
    text = ("#!/bin/bash\n#SBATCH --nodes=8\n#SBATCH --gpus-per-node=mi250:8\n#SBATCH -n 64\n"
            "export WORLD_SIZE=$((SLURM_GPUS_ON_NODE*SLURM_NNODES))\n"
            "srun bash -c \"accelerate launch --config_file zero3.yaml --num_machines $SLURM_NNODES "
            "--num_processes $WORLD_SIZE scripts/run_sft.py recipe.yaml\"\n")
    data, _, _ = read_shell(text, "launch.sh")
    assert data["launcher"]["num_machines"] == "8" and data["launcher"]["num_processes"] == "64"
    ranged = read_shell(text.replace("--nodes=8", "--nodes=2-4"), "launch.sh")[0]  # a range Slurm settles
    assert ranged["launcher"]["num_machines"] is None


def test_a_command_string_squeezed_by_echo_and_sed_then_evaluated() -> None:
    # Held-out review 44, B 10 (ALCF's Megatron-DeepSpeed Perlmutter launch: `run_cmd="srun python3 ${EXEC} ..."`,
    # `run_cmd=$(echo "${run_cmd}" | sed -e 's/  */ /g')`, `eval "${run_cmd}"`): refused as no training config
    data, lines, _ = _read(
        'EXEC=./pretrain_gpt_alcf.py\n'
        'run_cmd="\n'
        '    srun -N 2 python3 ${EXEC} \\\n'
        '    --lr 3e-4 \\\n'
        '    --num-layers   24 \\\n'
        '    |& tee out.log\n'
        '    "\n'
        "run_cmd=$(echo \"${run_cmd}\" | sed -e 's/  */ /g')\n"
        'eval "${run_cmd}"\n'
    )
    assert data["program"] == "./pretrain_gpt_alcf.py" and data["launcher"]["name"] == "srun"
    assert data["--lr"] == "3e-4" and data["--num-layers"] == "24" and lines["--lr"] == 4
    # any other command's output stays unknown
    data, _, _ = _read('run_cmd="python3 pretrain_gpt.py --lr 3e-4"\nrun_cmd=$(echo "${run_cmd}" | grep x)\n'
                       'eval "${run_cmd}"\n')
    assert "program" not in data


def test_several_words_echoed_into_a_command_then_evaluated() -> None:
    # held-out review 70, B 09 (an SC'22 artifact: `CMD=$(echo $ENV $PYTHON_CMD | tr -s [:space:])`, `eval $CMD &`,
    # the environment assignments before the program): refused as no training command even with --dialect megatron
    data, _, _ = _read(
        'PYTHON_CMD="python3 pretrain_gpt.py \\\n    --num-layers 24 \\\n    --lr 0.0001"\n'
        'ENV="CUDA_VISIBLE_DEVICES=0 WORLD_SIZE=8 RANK=0"\n'
        'CMD=$(echo $ENV $PYTHON_CMD | tr -s [:space:])\n'
        'eval $CMD &\n'
    )
    assert data["program"] == "pretrain_gpt.py" and data["--num-layers"] == "24" and data["--lr"] == "0.0001"


def test_flags_printed_by_a_function_of_echo_commands() -> None:
    # held-out review 116, D 02 (a Megatron fork's run_train_gpt.sh: `flags() { echo --num-layers 24; ...; true; }`,
    # then `torchrun ./lg/pretrain_gpt.py $(flags)`): refused as no training command
    data, positions, _ = _read(
        'VOCAB=/data/gpt2-vocab.json\nflags() {\n    echo --num-layers 24\n    echo --lr 0.00015\n'
        '    echo --vocab-file $VOCAB\n\n    true\n}\n\ntorchrun ./lg/pretrain_gpt.py $(flags)\n')
    assert data["program"] == "./lg/pretrain_gpt.py" and data["--num-layers"] == "24" and data["--lr"] == "0.00015"
    assert data["--vocab-file"] == "/data/gpt2-vocab.json" and positions["--lr"] == 4
    # a function that does more than print is not its output
    data, _, _ = _read('flags() {\n    echo --lr 1e-4 > log.txt\n}\ntorchrun pretrain_gpt.py --num-layers 2 $(flags)\n')
    assert "--lr" not in data and data["--num-layers"] == "2"


def test_a_launch_read_into_a_variable_from_a_heredoc_for_a_container() -> None:
    # held-out review 116, D 17: `read -r -d '' CMD <<- EOF` holding `torchrun ... pretrain_gpt.py ...`, later
    # `docker run ... bash -c "$CMD"`: refused as no training command
    data, lines, _ = _read(
        'TRAIN=(\n    --lr 3e-5\n)\nread -r -d \'\' RUN <<- SCRIPT\npip install x\ncd /workspace\n'
        'torchrun --nproc_per_node 8 pretrain_gpt.py \\\n    ${TRAIN[@]} --train-iters 100\nSCRIPT\n'
        'docker run --gpus all image bash -c "$RUN"\n')
    assert data["program"] == "pretrain_gpt.py" and data["--lr"] == "3e-5" and lines["--train-iters"] == 8
    # NGC's `ngc batch run --commandline STRING` (held-out review 116, D 11)
    data, _, _ = _read('CMD="python -m torch.distributed.launch --nproc_per_node 8 pretrain_gpt.py --lr 1e-4"\n'
                       'ngc batch run --name x --commandline "nvidia-smi && cd Megatron-LM/ && ${CMD}" --image y\n')
    assert data["program"] == "pretrain_gpt.py" and data["--lr"] == "1e-4"


def test_a_command_after_a_test_runs_only_as_the_test_says() -> None:
    # held-out review 116, B 13: `[ "${G}" -lt 1 ] && G=1` after a count the script cannot tell was always run
    data, _, unevaluated = _read('G=$((16 / $(nproc)))\n[ "${G}" -lt 1 ] && G=1\nH=4\n[ "$H" -gt 2 ] && H=2\n'
                                 'K=8\n[ "$K" -gt 2 ] || K=1\npython train.py --ga "${G}" --h $H --k $K\n')
    assert data["--ga"] is None and "--ga" in unevaluated  # 16 / nproc, or 1
    assert data["--h"] == "2" and data["--k"] == "8"  # tests the script decides


def test_a_login_shells_command_string() -> None:
    # held-out review 117, A 16: `setsid bash -lc '... exec torchrun --standalone --nproc_per_node=4 -m pkg.pretrain
    # --max_lr 1.5e-4 ...' &`, refused as no training command
    data, _, _ = _read("setsid bash -lc '\n  cd /work\n  exec torchrun --standalone --nproc_per_node=4 -m pkg.pretrain "
                       "\\\n    --max_lr 1.5e-4 --warmup_steps 8000\n' &\n")
    assert data["program"] == "pkg.pretrain" and data["--max_lr"] == "1.5e-4"


def test_undecided_branches_that_build_different_commands() -> None:
    # Held-out review 45, B 09 (ALCF's finetune_llama.sh: `$1` picks a weight converter, another converter or
    # `finetune_llama.py`, each string with an unknown `${CKPT_DIR}`): two values with unknown parts compared "the
    # same", and the first branch's converter was read as the run, then refused
    data, _, _ = _read(
        'A="launch python3 tools/convert.py --load ${CKPT}"\n'
        'B="launch python3 tools/convert.py --to-hf --load ${CKPT}"\n'
        'C="launch python3 finetune_llama.py --load ${CKPT}"\n'
        'if [ "$1" = a ]; then T="$A"; elif [ "$1" = b ]; then T="$B"; else T="$C"; fi\n'
        'eval "$T --lr 2e-5 --train-iters 3500"\n')
    assert data["program"] == "finetune_llama.py" and data["--train-iters"] == "3500"
    # an optional wrapper around the command (held-out review 41, B 13): the command without it
    data, _, _ = _read(
        'CMD="python3 $DIR/pretrain_gpt.py --lr 3e-4"\n'
        'if [ -n "$WANDB_API_KEY" ]; then CMD="$CMD --wandb-project p"; fi\n'
        'if [ "$NSYS" = true ]; then CMD="nsys profile -o x $CMD --profile"; fi\n'
        'srun $CMD\n')
    assert data["program"] == "pretrain_gpt.py" and data["--lr"] == "3e-4"
    # values that are no commands stay unknown where they differ
    data, _, unknown = _read('if [ "$NO_WARMUP" = true ]; then W=0; else W=5000; fi\n'
                             'python pretrain_gpt.py --lr-warmup-iters $W\n')
    assert data["--lr-warmup-iters"] is None and "--lr-warmup-iters" in unknown
    # one module launched two ways (held-out review 73, A 10: ProLong's train_sft.sh, `srun torchrun` across the job's
    # nodes or `torchrun --nnodes=1`, then `${header} "${base_arguments[@]}"`): the launch that leaves more unknown
    data, _, _ = _read(
        'if [ $num_nodes -gt 1 ]; then\n'
        '  header="srun torchrun --nnodes=$num_nodes --nproc-per-node=$num_gpus -m training.train_language_model"\n'
        'else\n'
        '  header="torchrun --nnodes=1 --nproc-per-node=$num_gpus -m training.train_language_model"\n'
        'fi\n'
        'args=(--learning_rate 2e-5 --bf16)\n'
        '${header} "${args[@]}"\n')
    assert data["program"] == "training.train_language_model" and data["--learning_rate"] == "2e-5"
    assert data["launcher"]["name"] == "torchrun" and data["launcher"].get("nnodes") is None


def test_a_placeholder_an_option_loop_must_fill_is_the_launchs() -> None:
    # held-out review 50, B 09: `NUM_LAYERS=0` then `getopts ... L) NUM_LAYERS="$OPTARG"`: read as `--num-layers 0`
    data, _, unevaluated = _read("""
NUM_LAYERS=0
HIDDEN_SIZE=
SEQ_LENGTH=2048
while getopts ":L:H:S:" opt; do
  case $opt in
    L) NUM_LAYERS="$OPTARG" ;;
    H) HIDDEN_SIZE="$OPTARG" ;;
    S) SEQ_LENGTH="$OPTARG" ;;
  esac
done
torchrun pretrain_gpt.py --num-layers $NUM_LAYERS --hidden-size $HIDDEN_SIZE --seq-length $SEQ_LENGTH
""")
    assert data["--num-layers"] is None and "--num-layers" in unevaluated
    assert data["--hidden-size"] is None and "--hidden-size" in unevaluated
    assert data["--seq-length"] == "2048"  # a real default the options may change, read as launched bare


def test_a_launch_the_script_only_echoes_is_read_and_marked() -> None:
    # held-out review 50, B 11: `echo torchrun $DISTRIBUTED_ARGS pretrain_gpt.py ...`, the author's dry run
    data, positions, _ = _read("""
DISTRIBUTED_ARGS="--nproc_per_node 8"
echo torchrun $DISTRIBUTED_ARGS pretrain_gpt.py \\
    --num-layers 12 --lr 3e-4
""")
    assert data["program"] == "pretrain_gpt.py" and data["--lr"] == "3e-4" and data["echoed"] == {"line": 3}
    assert "echoed" not in _read("echo torchrun pretrain_gpt.py --lr 1\ntorchrun pretrain_gpt.py --lr 2\n")[0]


def test_the_option_loop_read_for_its_placeholders_runs_nothing() -> None:
    # the loop is only read for what it assigns: a `--help) python train.py --help` inside it is no command of the run
    data, _, _ = _read("""
NUM_LAYERS=0
while getopts ":L:h" opt; do
  case $opt in
    L) NUM_LAYERS="$OPTARG" ;;
    h) deepspeed pretrain_gpt.py --lr 9e-9 --help; exit 0 ;;
  esac
done
echo "layers $NUM_LAYERS"
""")
    assert "program" not in data and "--lr" not in data


def test_a_script_with_windows_line_endings_is_read_as_meant_and_said_to_break(tmp_path) -> None:
    # Held-out review 61, A 17: `torchrun --nproc_per_node=$NUM_GPUS \<CR>` was skipped as no training command; bash
    # continues nothing at `\` + CR, so the launch breaks, and that is what `check` says, at error
    script = tmp_path / "train_distributed.sh"
    script.write_bytes(b"#!/bin/bash\r\nNUM_GPUS=$1\r\n\r\ntorchrun --nproc_per_node=$NUM_GPUS \\\r\n"
                       b"    train.py \\\r\n    --model_name_or_path m \\\r\n    --output_dir o --learning_rate 1e-5\r\n")
    data, _, _ = _read(script.read_bytes().decode())
    assert data["program"] == "train.py" and data["--learning_rate"] == "1e-5" and data["crlf"] == {"line": 1}
    report = check_paths([script], CheckOptions())
    [finding] = [f for f in report.findings if "CRLF" in f.message]
    assert finding.code == "PD002" and finding.severity == "error"
    assert "crlf" not in _read(script.read_bytes().decode().replace("\r\n", "\n"))[0]


def test_a_comment_after_a_continuations_backslash_is_read_as_meant_and_said_to_break(tmp_path) -> None:
    # held-out review 137, B 10: every line `--flag value \\   # comment`; the `\\ ` is an escaped space, the comment
    # ends the command: bash runs `deepspeed ' '`. Read as meant (no ' ' words in the values), an error at line 1
    script = tmp_path / "run.sh"
    script.write_text("deepspeed \\        # launcher\n    --num_gpus=1 \\   # gpus\n    train.py \\   # script\n"
                      "    --learning_rate 5e-5 \\   # lr\n    --bf16 True \\   # bf16\n    --output_dir out\n")
    data, _, _ = _read(script.read_text())
    assert data["program"] == "train.py" and data["--learning_rate"] == "5e-5" and data["--bf16"] == "True"
    assert data["escaped_space"] == {"line": 1} and "positional" not in data
    report = check_paths([script], CheckOptions())
    [finding] = [f for f in report.findings if "escapes a space" in f.message]
    assert finding.code == "PD002" and finding.severity == "error" and finding.line == 1
    # a `\\` inside a word, or a comment after a command's last word, is no such continuation
    assert "escaped_space" not in _read("torchrun train.py --learning_rate 1e-5  # lr\n")[0]


def test_a_job_submitter_that_hands_the_program_its_arguments_as_one_string(tmp_path) -> None:
    # Held-out review 77, A 14: `nebulactl run mdl --entry=src/train.py --user_params="$user_params"`, a whole
    # LLaMA-Factory run in the string, was "not a training config of a supported trainer"
    data, lines, _ = _read(
        'ds=examples/deepspeed/ds_z3_config.json\n'
        'out="/logs/run_$(date +%s)"\n'
        'user_params="--deepspeed=${ds} \\\n'
        '    --stage=sft \\\n'
        '    --finetuning_type=full \\\n'
        '    --output_dir=${out} \\\n'
        '    --learning_rate=1.0e-5 \\\n'
        '    "\n'
        'nebulactl run mdl --queue=q --entry="src/train.py" --worker_count=32 --user_params="$user_params" \\\n'
        '    --job_name=sft\n'
    )
    assert data["program"] == "src/train.py" and data["--stage"] == "sft" and data["--learning_rate"] == "1.0e-5"
    assert data["--deepspeed"] == "examples/deepspeed/ds_z3_config.json" and data["--output_dir"] is None
    assert lines["--stage"] == 4 and "--worker_count" not in data
    # a submitter whose string holds no arguments stays as it was: its own options, the entry among them
    data, _, _ = _read('nebulactl run mdl --entry=src/train.py --user_params="--stage=sft" --worker_count=32\n')
    assert data.get("--worker_count") == "32"


def test_a_loop_over_one_value_runs_once_with_it() -> None:
    # Held-out review 78, A 14: `for lr in 3e-5; do ... --learning_rate ${lr} ...; done`, a sweep left at one value,
    # read as the trainer's default lr; a sweep over several values leaves the variable unknown
    data, _, _ = _read("for lr in 3e-5; do\n  python train.py --learning_rate ${lr} --stage dpo\ndone\n")
    assert data["--learning_rate"] == "3e-5"
    data, _, _ = _read("for lr in 1e-5 3e-5; do\n  python train.py --learning_rate ${lr} --stage dpo\ndone\n")
    assert data["--learning_rate"] != "3e-5"


def test_config_files_after_a_flag_whose_value_is_unknown_are_kept() -> None:
    # Held-out review 78, B 11: `deepy.py $TRAIN_PATH/train.py --conf_dir $TRAIN_PATH/configs a.yml b.yml` with
    # TRAIN_PATH from `$(whoami)`: the two files deepy.py merges were dropped with the unknown folder
    data, lines, _ = _read('ROOT=/scratch/$(whoami)\npython3 $ROOT/deepy.py $ROOT/train.py --conf_dir $ROOT/configs '
                           'model.yml setup.yml\n')
    assert data["program"] == "deepy.py" and data["positional"] == ["model.yml", "setup.yml"]
    assert data["--conf_dir"] is None
    # a known word after an unknown value that names no config file stays unread, as before
    data, _, _ = _read('python3 train.py --save $OUT extra\n')
    assert "positional" not in data and data["--save"] is None


def test_an_unset_variable_given_its_default_by_an_if_reads_as_that_default() -> None:
    # Held-out review 79, B 11 (zero-bubble pretrain script): `if [ -z "$EVAL_INTERVAL" ]; then EVAL_INTERVAL=10000;
    # fi` is `${EVAL_INTERVAL:-10000}`, read as unknown; a test on a variable the body does not set stays undecided
    data, _, _ = _read('if [ -z "$EVAL_INTERVAL" ]; then\n  EVAL_INTERVAL=10000\nfi\n'
                       'if [ -z "$WANDB_KEY" ]; then\n  EXTRA="--no-wandb"\nfi\n'
                       'torchrun pretrain_gpt.py --eval-interval $EVAL_INTERVAL $EXTRA --bf16\n')
    assert data["--eval-interval"] == "10000" and data["--bf16"] is True
    assert "--no-wandb" not in data
    data, _, _ = _read('EVAL_INTERVAL=500\nif [ -z "$EVAL_INTERVAL" ]; then\n  EVAL_INTERVAL=10000\nfi\n'
                       'torchrun pretrain_gpt.py --eval-interval $EVAL_INTERVAL\n')
    assert data["--eval-interval"] == "500"


def test_a_launch_whose_program_and_config_sit_under_a_computed_folder_is_the_training_command() -> None:
    # Held-out review 80, A 07: `python -m torch.distributed.run --nproc_per_node=4 "${LAUNCHER_PATH}"
    # "${CONFIG_PATH}"`, both under `$(cd ... && pwd)`: the config handed to the program counts, its text unknown
    data, _, unevaluated = _read('ROOT="$(cd -- "$(dirname -- "$0")/.." && pwd)"\n'
                                 'python -m torch.distributed.run --nproc_per_node=4 "${ROOT}/src/launcher.py" '
                                 '"${ROOT}/examples/sft.yaml"\n')
    assert data["program"] == "launcher.py" and data["launcher"]["nproc_per_node"] == "4"
    assert unevaluated["positional"].endswith("examples/sft.yaml")


def test_a_command_substitution_inside_a_string_run_by_sh_c_stays_one_word() -> None:
    # Held-out review 82, A 04: `srun sh -c "python -m torch.distributed.run --master_addr \$(scontrol show hostnames
    # \$SLURM_JOB_NODELIST | head -n 1) ... train_vae.py --lora_r 512 ..."` was cut at the substitution's `|`
    data, _, _ = _read('srun sh -c "python -m torch.distributed.run --nproc_per_node 8 \\\n'
                       '    --master_addr \\$(scontrol show hostnames \\$SLURM_JOB_NODELIST | head -n 1) \\\n'
                       '    train_vae.py --lora_r 512 --learning_rate 2e-5"\n')
    assert data["program"] == "train_vae.py" and data["--lora_r"] == "512" and data["--learning_rate"] == "2e-5"
    assert data["launcher"]["nproc_per_node"] == "8" and data["launcher"]["master_addr"] is None


def test_a_flag_given_twice_keeps_the_last_value_and_says_so(tmp_path) -> None:
    # held-out review 85, A 08: `--max_steps=10000` ... `--max_steps=3` in one reward-model launch; argparse keeps 3
    from pretrain_doctor.check.engine import check_paths
    from pretrain_doctor.settings import CheckOptions

    script = tmp_path / "train.sh"
    script.write_text("python train.py --model_name_or_path m --output_dir out \\\n  --max_steps=10000 \\\n"
                      "  --learning_rate 2e-5 --logging_steps 1 --logging_steps 1 \\\n  --max_steps=3\n", encoding="utf-8")
    found = [f for f in check_paths([script], CheckOptions(use_settings=False)).findings if f.code == "PD002"]
    assert [(f.severity, f.line) for f in found] == [("warning", 2), ("info", 3)]
    assert "`--max_steps` is given twice (lines 2 and 4): argparse keeps the last one" in found[0].message
    assert "(`10000`)" in found[0].message and "the same value" in found[1].message
    # a worker count given twice on one line changes only the speed (held-out review 88, B 13)
    script.write_text("python train.py --model_name_or_path m --output_dir out --preprocessing_num_workers 60 "
                      "--learning_rate 2e-5 --preprocessing_num_workers 40\n", encoding="utf-8")
    [workers] = [f for f in check_paths([script], CheckOptions(use_settings=False)).findings if f.code == "PD002"]
    assert workers.severity == "info" and "given twice on line 1" in workers.message
    assert "the first value (`60`)" in workers.message and "how the data is loaded" in workers.message
    # two names of one 32-bit AdamW update (held-out review 103, A 06); an 8-bit one after a 32-bit one is a change
    for later, severity in (("paged_adamw_32bit", "info"), ("adamw_bnb_8bit", "warning")):
        script.write_text("python train.py --model_name_or_path m --output_dir out --optim adamw_hf \
"
                          f"  --learning_rate 2e-5 --optim {later}\n", encoding="utf-8")
        [optim] = [f for f in check_paths([script], CheckOptions(use_settings=False)).findings if f.code == "PD002"]
        assert optim.severity == severity and ("same 32-bit AdamW" in optim.message) is (severity == "info")
    # a flag no setting judged here is read from: what the drop changes is unknown, an info (held-out reviews 116-123:
    # `--dataloader_pin_memory`, `--load_from_cache_file` given twice, judged wrong as warnings); one read is a warning
    script.write_text("python train.py --model_name_or_path m --output_dir out --gradient_checkpointing False \\\n"
                      "  --learning_rate 2e-5 --gradient_checkpointing True --learning_rate 1e-5\n", encoding="utf-8")
    found = [f for f in check_paths([script], CheckOptions(use_settings=False)).findings if f.code == "PD002"]
    assert sorted((f.key, f.severity) for f in found) == [("gradient_checkpointing", "info"),
                                                           ("learning_rate", "warning")]
    assert "no setting this check judges is read from `gradient_checkpointing`" in \
        next(f.message for f in found if f.severity == "info")


def test_a_flag_whose_variable_is_left_empty_is_a_blank_to_fill(tmp_path) -> None:
    # held-out review 91, D 04 (PersonaMath's run_zero2.sh): `export MODEL_PATH=''` then `--model_name_or_path
    # $MODEL_PATH`, a template's blank: not an error that the path is `True`
    from pretrain_doctor.check.engine import check_paths
    from pretrain_doctor.settings import CheckOptions

    script = tmp_path / "run.sh"
    script.write_text("export MODEL_PATH=''\naccelerate launch --num_processes 4 train.py \\\n"
                      "    --model_name_or_path $MODEL_PATH \\\n    --learning_rate 2e-5 --output_dir out\n",
                      encoding="utf-8")
    [blank] = [f for f in check_paths([script], CheckOptions(use_settings=False)).findings
               if f.key == "model_name_or_path"]
    assert blank.severity == "error" and "`$MODEL_PATH` is empty in the script" in blank.message  # (review 91: right)


def test_quotes_inside_an_evaluated_string_group_words_and_are_removed() -> None:
    # held-out review 92, A 06: `CMD+=" --lr_scheduler_type \"${LR_SCHEDULER_TYPE}\""`, then `eval "${CMD}"`: the
    # program was `"workflow/finetune.py"` with its quotes, so the script was refused as launching no training
    data, lines, _ = _read(
        'SCRIPT="workflow/finetune.py"\n'
        'CMD="accelerate launch --config_file \\"zero2.yaml\\" \\"${SCRIPT}\\""\n'
        'CMD+=" --lr_scheduler_type \\"cosine\\""\n'
        "CMD+=\" --run_name 'my run' --learning_rate 5e-5\"\n"
        'eval "${CMD}"\n'
    )
    assert data["program"] == "workflow/finetune.py"
    assert data["--lr_scheduler_type"] == "cosine" and lines["--lr_scheduler_type"] == 3
    assert data["--run_name"] == "my run" and data["--learning_rate"] == "5e-5"


def test_mpirun_and_srun_process_counts_and_a_variable_set_before_them() -> None:
    # held-out review 93, C 06: `run_cmd="USE_DEEPSPEED=1 mpirun --np ${N} python ../pretrain_gpt3.py ..."` then
    # `eval`: the launcher was named `USE_DEEPSPEED=1` and its one process not read
    data, _, _ = _read('N=1\nrun_cmd="USE_DEEPSPEED=1 mpirun --np ${N} python ../pretrain_gpt3.py --lr 1e-4"\n'
                       'eval "${run_cmd}"\n')
    assert data["launcher"] == {"name": "mpirun", "np": "1"}
    assert _read("mpirun -np 16 python pretrain_gpt.py --lr 1e-4\n")[0]["launcher"]["np"] == "16"
    assert _read("srun -n 8 python pretrain_gpt.py --lr 1e-4\n")[0]["launcher"]["np"] == "8"
    assert "np" not in _read("srun -c 16 python pretrain_gpt.py --lr 1e-4\n")[0]["launcher"]  # CPUs per task


def test_bashs_old_arithmetic_expansion() -> None:
    # held-out review 94, B 07: `export gradient_accumulation_steps=$[$full_batch_size/($batch_size*$num_gpus)]`,
    # read as the string '$[64/' and a PD002 error
    data, _, _ = _read("full=64\nbs=2\ngpus=8\nexport ga=$[$full/($bs*$gpus)]\n"
                       "python train.py --gradient_accumulation_steps $ga --learning_rate 1e-5\n")
    assert data["--gradient_accumulation_steps"] == "4"


def test_values_from_a_scripts_positional_defaults_are_assumed(tmp_path) -> None:
    # held-out review 94, C 11: a benchmark template `MICRO_BATCH_SIZE=${9:-4}`, `GLOBAL_BATCH_SIZE=${10:-4}`, every
    # real call passing its own; its fallbacks made a PD401 error
    script = tmp_path / "args.sh"
    script.write_text("GPUS=${1:-8}\nMBS=${2:-4}\nGBS=${3:-4}\n"
                      "torchrun --nproc_per_node $GPUS pretrain_gpt.py --micro-batch-size $MBS \\\n"
                      "    --global-batch-size $GBS --num-layers 12 --hidden-size 768 --num-attention-heads 12 \\\n"
                      "    --seq-length 1024 --max-position-embeddings 1024 --lr 1e-4 --train-iters 100\n")
    data, _, _ = _read(script.read_text())
    assert data["script_defaults"] == {"--micro-batch-size": "$2", "--global-batch-size": "$3"}
    from pretrain_doctor.check.engine import check_paths, load_plan

    plan = load_plan(script)[2]
    assert "batch.micro_batch_size" in plan.program.assumed
    assert [f.severity for f in check_paths([script]).findings if f.code == "PD401"] == ["warning"]


def test_a_command_string_run_by_a_shell_named_by_its_path() -> None:
    # held-out review 95, C 12: Habana's Megatron-DeepSpeed `deepspeed ... --no_python /usr/bin/bash -c "$CMD"`
    data, _, _ = _read('CMD="python3 -u pretrain_gpt.py --num-layers 32 --lr 3e-4"\n'
                       'deepspeed --num_gpus 8 --no_python /usr/bin/bash -c "$CMD"\n')
    assert data["program"] == "pretrain_gpt.py" and data["--num-layers"] == "32"


def test_a_done_joined_to_the_launch_by_a_backslash_leaves_the_loop_unclosed(tmp_path) -> None:
    # held-out review 97, C 08/C 09: `--save_model \` then `done`: bash hands `done` to the program, the loop never
    # closes and bash stops at the end of the file ("syntax error: unexpected end of file"); nothing was said
    script = ("for seed in 0 1 2\ndo\n    for lr in 1e-4 3e-4\n    do\n        torchrun train.py \\\n"
              "            --learning_rate $lr \\\n            --per_device_train_batch_size 4 \\\n"
              "            --output_dir out --model_name_or_path gpt2 \\\n        done\ndone\n")
    path = write(tmp_path, "run.sh", script)
    data, _, _ = _read(script)
    assert data["swallowed_done"] == {"line": 9, "loop_line": 1} and data["--model_name_or_path"] == "gpt2"
    (finding,) = [f for f in check_paths([path], CheckOptions()).findings if f.code == "PD002"]
    assert finding.severity == "error" and finding.line == 9 and "never starts" in finding.message
    # the same loop closed: no finding
    closed = script.replace("gpt2 \\\n        done", "gpt2\n        done")
    assert "swallowed_done" not in _read(closed)[0]


def test_a_flag_given_bare_then_with_a_value_stops_argparse(tmp_path) -> None:
    # held-out review 98, B 23: `--flash_attn \` then `--flash_attn fa2` (LLaMA-Factory's choice of auto/sdpa/fa2):
    # the bare one takes a value, argparse stops ("expected one argument"); said as a dropped first value (warning)
    script = ("torchrun src/train.py --stage sft --do_train --finetuning_type full --flash_attn \\\n"
              "    --model_name_or_path Qwen/Qwen2.5-Coder-14B --learning_rate 1e-5 \\\n"
              "    --flash_attn fa2 --bf16 --bf16 true\n")
    path = write(tmp_path, "train.sh", script)
    repeated = {f.key: f for f in check_paths([path], CheckOptions()).findings if f.code == "PD002"}
    assert repeated["flash_attn"].severity == "error" and "expected one argument" in repeated["flash_attn"].message
    assert repeated["bf16"].severity == "info"  # a boolean given bare, then `true`: nothing lost


def test_an_array_mapfile_or_read_fills_is_unknown_not_empty(tmp_path) -> None:
    # held-out review 104, D 14: `mapfile -t SPAN < <(span_args)` then `"${SPAN[@]}"` on the command line; an array
    # never set is empty, as bash expands it
    for setter in ("mapfile -t SPAN < <(span_args)", "readarray SPAN < args.txt", "read -r -a SPAN <<< \"$EXTRA\""):
        script = tmp_path / "run.sh"
        script.write_text(f'{setter}\npython train.py --lr 1e-4 "${{SPAN[@]}}"\n', encoding="utf-8")
        data = load_document(script).data
        assert [entry["text"] for entry in data["unresolved"]] == ["${SPAN[@]}"], setter
    script.write_text('python train.py --lr 1e-4 "${SPAN[@]}"\n', encoding="utf-8")
    assert "unresolved" not in load_document(script).data


@pytest.mark.parametrize("body, up", [
    ('cd "$(dirname "$0")" && pwd', 0), ("cd $(dirname $0); pwd", 0), ('dirname "${BASH_SOURCE[0]}"', 0),
    ("dirname $(readlink -f $0)", 0), ('realpath "$(dirname "$0")"', 0),
    ('cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." &> /dev/null && pwd -P', 1)])
def test_a_substitution_printing_the_scripts_folder_is_that_folder(tmp_path: Path, body: str, up: int) -> None:
    # held-out review 107, D 02: SCRIPT_DIR="$(cd "$(dirname "$0")" && pwd)"; `swift sft --config
    # "${SCRIPT_DIR}/train_config.yaml"` read the flag as unknown and the YAML not at all
    script = tmp_path / "scripts" / "train.sh"
    script.parent.mkdir()
    data = read_shell(f'HERE="$({body})"\npython train.py --config "$HERE/c.yaml"\n', str(script), path=script)[0]
    folder = script.parent.parent if up else script.parent
    assert data["--config"] == f"{folder.resolve()}/c.yaml"
    other = read_shell('HERE="$(cd "$(dirname "$1")" && pwd)"\npython train.py --config "$HERE/c.yaml"\n',
                       str(script), path=script)[0]
    assert other["--config"] is None  # another file's folder: not known here


def test_a_function_called_once_reads_its_arguments_where_it_is_called() -> None:
    # held-out review 108, D 14: `run_dpo "$BASE_MODEL" ... "$LEARNING_RATE"` into `python dpo.py --learning_rate "$7"`
    script = ('LR=0.000005\nBATCH=32\n\ntrain() {\n    python dpo.py \\\n        --base_model "$1" \\\n'
              '        --per_gpu_batch_size "$2" \\\n        --learning_rate "$3"\n}\n\n'
              'MODEL="google-t5/t5-small"\ntrain "$MODEL" "$BATCH" "$LR"\n')
    data = read_shell(script, "run.sh")[0]
    assert data["--base_model"] == "google-t5/t5-small" and data["--learning_rate"] == "0.000005"
    assert data["--per_gpu_batch_size"] == "32"
    # called twice, with other values: which call is the run is not known, `$1` stays unresolved
    twice = read_shell(script + 'train "t5-base" 16 1e-4\n', "run.sh")[0]
    assert twice["--learning_rate"] is None and twice["program"] == "dpo.py"
    # defined and never called: read as if called, its arguments unknown
    never = read_shell(script.replace('train "$MODEL" "$BATCH" "$LR"\n', ""), "run.sh")[0]
    assert never["program"] == "dpo.py" and never["--learning_rate"] is None


def test_a_job_submitters_command_after_its_double_dash_is_the_training_program(tmp_path) -> None:
    # held-out review 112, D 13: AI2's `python mason.py --env A=1 --env B=2 --gpus 8 -- ... python
    # open_instruct/grpo_fast.py ...`: mason.py was taken for the program, and its repeated `--env` (an append) for a
    # dropped setting (PD002 warning)
    script = write(tmp_path, "grpo.sh", "python mason.py --cluster ai2/x --env VLLM_X=1 --env RAY_Y=300 --gpus 8 -- "
                                        "source setup.sh \\&\\& python open_instruct/grpo_fast.py --learning_rate 1e-6 "
                                        "--per_device_train_batch_size 1 --num_epochs 1\n")
    data, _, _ = _read(script.read_text())
    assert data["program"] == "open_instruct/grpo_fast.py" and data["--learning_rate"] == "1e-6"
    report = check_paths([script], CheckOptions(use_settings=False))
    assert not [f for f in report.findings if f.code == "PD002" and "--env" in f.message]
    # a plain launch's own `--` stays its program's (`torchrun train.py -- --lr 1`)
    data, _, _ = _read("torchrun --nproc_per_node 8 train.py --lr 3e-4 -- --extra 1\n")
    assert data["program"] == "train.py"


def test_a_command_string_of_several_quotings_keeps_its_line_continuations() -> None:
    # held-out review 115, D 17 (a Frontier slurm job): `bash -c '...python \<newline> "'${DIR}'"/train_sft.py \
    # ... --bf16 \'`: the string the outer shell pieces together still holds `\<newline>`, a continuation to the
    # shell that runs it; `\` was read as `--bf16`'s value (a false error)
    data, _, _ = _read("srun bash -c '\n  python \\\n    \"'${SUBMIT_DIR}'\"/scripts/train_sft.py \\\n"
                       "      --learning_rate=2e-5 \\\n      --bf16 \\\n      --ddp_find_unused_parameters False \\\n"
                       "      --lora_r=16\n'\n")
    assert data["program"] == "train_sft.py" and data["--bf16"] is True
    assert data["--ddp_find_unused_parameters"] == "False" and "positional" not in data


def test_a_data_array_read_at_run_time_is_its_flags_unknown_value() -> None:
    # held-out review 115, C 10 (Azure's GPT-3 175B script): `readarray -t TRAIN_DATA < <(find ...)`, then
    # `--train-data-path $(echo "${TRAIN_DATA[@]}") --valid-data-path $(echo "${VALID_DATA[@]}")` read as two bare
    # `True`s, so PD701 said evaluation reads the training data; an argument array still stands for flags
    data, _, unevaluated = _read('readarray -t TRAIN_DATA < <(find . -name "*.bin")\n'
                                 'readarray -t VALID_DATA < <(find . -name "*.bin" | tail -n 2)\n'
                                 'python pretrain_gpt.py --train-data-path $(echo "${TRAIN_DATA[@]}") '
                                 '--valid-data-path "${VALID_DATA[@]}" --lr 1e-4\n')
    assert data["--train-data-path"] is None and data["--valid-data-path"] is None and data["--lr"] == "1e-4"
    assert "TRAIN_DATA" in unevaluated["--train-data-path"]
    flags, _, _ = _read('readarray -t EXTRA_ARGS < extra.txt\npython pretrain_gpt.py --fp16 "${EXTRA_ARGS[@]}"\n')
    assert flags["--fp16"] is True


def test_a_launch_variable_the_script_cannot_tell_is_no_crash(tmp_path) -> None:
    # held-out review 115, C 02 (a flame learning-rate sweep): `NGPU=4 bash train.sh ...` inside a loop, the variable
    # undecided after it: the launch environment read crashed ("'_Unknown' object is not subscriptable")
    script = write(tmp_path, "sweep.sh", "for LR in 1e-4 6e-4; do\n  NGPU=4 NNODE=1 bash train.sh --optimizer.lr \"$LR\" "
                                         "--training.steps 100\n  NGPU=$((NGPU + 1))\ndone\n")
    load_document(script)  # no exception


def test_an_echo_line_in_a_command_string_is_no_part_of_the_launch() -> None:
    # Held-out review 121, D 17 (a CSCS sbatch, reduced): `srun bash -c "...\necho ${CMD}\n${CMD} 2>&1 | tee log"`;
    # the printed copy was read into the command, and every flag was "given twice".
    text = ('ARGS="--num-layers 24 --lr 1e-4 --train-iters 100"\n'
            'CMD="torchrun --nproc_per_node 4 pretrain_gpt.py ${ARGS}"\n'
            'srun --mpi=pmi2 bash -c "\nexport NODE_RANK=\\${SLURM_NODEID}\necho ${CMD}\n${CMD} 2>&1 | tee log.txt\n"\n')
    data = read_shell(text, "job.sbatch")[0]
    assert data["program"] == "pretrain_gpt.py" and data["--lr"] == "1e-4" and "repeated_flags" not in data
    assert data["launcher"]["nproc_per_node"] == "4"


def test_interpreter_switches_before_dash_m_keep_the_launcher() -> None:
    # Held-out review 121, D 15 (benathi's megatron-lm-multigroup): `python -u -m torch.distributed.launch
    # --nproc_per_node 2 ...` was a `python` launcher, its process count no world size.
    data = read_shell("N=2\npython -u -m torch.distributed.launch --nproc_per_node $N --nnodes 1 pretrain_gpt.py "
                      "--lr 1e-4\n", "run.sh")[0]
    assert data["launcher"]["name"] == "torch.distributed.launch" and data["launcher"]["nproc_per_node"] == "2"
    assert data["program"] == "pretrain_gpt.py" and data["--lr"] == "1e-4"


def test_a_command_that_names_a_program_without_starting_it_is_no_launch() -> None:
    # Held-out review 121, D 09 (Megatron-LM-AIMO3's base_init.sh, sourced by run.sh): `killall pretrain_.*.py` was
    # read as the training command, and the wrapper around it refused.
    data = read_shell("killall pretrain_.*.py\ncp train.py backup/\nsh finetune.sh openai/gpt-oss-120b\n", "run.sh")[0]
    assert "program" not in data and data["runs_script"]["path"] == "finetune.sh"


def test_a_semicolon_glued_to_a_word_in_a_command_string_ends_the_command() -> None:
    # Held-out review 122, D 03 (qijiaxing's CLUE finetune.sh, reduced): `docker exec IMG bash -c "cd `pwd`; echo
    # ${II} > latest; python -m torch.distributed.launch ... tasks/main.py ..."`; the echo's `>` cut the launch off.
    text = ('II=100\ndocker exec img bash -c "cd `pwd`; \\\nrm -r ckpt; \\\necho ${II} > latest.txt; \\\n'
            'python -m torch.distributed.launch --nproc_per_node 1 tasks/main.py --num-layers 12 --lr 2e-4 '
            '--task tnews | tee log"\n')
    data = read_shell(text, "finetune.sh")[0]
    assert data["program"] == "tasks/main.py" and data["--lr"] == "2e-4"


def test_a_getopt_option_loop_keeps_the_scripts_defaults(tmp_path) -> None:
    # held-out review 124, D 12: `eval set -- "$(getopt ...)"`, then `while true; do case "$1" in --num-layer)
    # NUM_LAYER="$2" ...`: the script's own defaults read as launch-time values; so did any script with a function's
    # own `$1` or an awk program's quoted `$2`
    script = write(tmp_path, "train.sh", """\
        check() {
            local wanted=$1
            local have=$(pip3 list | grep deep_ep | awk '{print $2}')
        }
        GLOBAL_BATCH_SIZE=64
        NUM_LAYER=61
        params=$(getopt -o "" --long "global-batch-size:,num-layer:" -- "$@")
        eval set -- "$params"
        while true; do
            case "$1" in
                --global-batch-size) GLOBAL_BATCH_SIZE="$2"; shift 2 ;;
                --num-layer) NUM_LAYER="$2"; shift 2 ;;
                --) shift; break ;;
            esac
        done
        torchrun pretrain_gpt.py --num-layers $NUM_LAYER --global-batch-size $GLOBAL_BATCH_SIZE --micro-batch-size 1 \\
            --hidden-size 64 --num-attention-heads 2 --lr 1e-4 --train-iters 10
        """)
    plan = plan_of(script)
    assert (plan.model.layers, plan.batch.global_batch_size) == (61, 64)
    # a script that reads its own first argument is launched with arguments: what the loop sets stays open
    reads = write(tmp_path, "reads.sh", script.read_text().replace("GLOBAL_BATCH_SIZE=64", "GLOBAL_BATCH_SIZE=64\nMODE=$1"))
    assert plan_of(reads).model.layers is None


def test_a_multi_line_script_a_shell_runs_is_read_line_by_line(tmp_path) -> None:
    # held-out review 125, A 14 (an open-instruct GRPO launch on Slurm): `srun ... bash -c "` + a script whose first line
    # is `source <(grep ... .env)`: read as one command, `source` took the whole string and the launch was refused
    script = write(tmp_path, "run.sh", """\
        srun --overlap --nodes=1 bash -c "
            set -uo pipefail
            if [ -f ${REPO_DIR}/.env ]; then
                source <(grep -v '^\\\\s*#' ${REPO_DIR}/.env)
            fi
            for i in \\\\$(seq 1 3); do sleep 1; done
            python open_instruct/grpo_fast.py \\\\
                --learning_rate 1e-6 \\\\
                --seed 42
        "
        """)
    data = load_document(script).data
    assert data["program"] == "open_instruct/grpo_fast.py" and data["--learning_rate"] == "1e-6"
    assert load_document(script).positions[("--learning_rate",)].line == 8
    assert data["sourced"][0]["path"].startswith("the output of `grep")


def test_a_program_array_set_by_branches_that_find_it_and_one_that_exits() -> None:
    # held-out review 129, B 03 (qinlu000/mindgames train_sft_msswift.sh): `SWIFT_CMD=(uv run swift)`, `(.venv/bin/swift)`
    # or `(swift)`, else `exit 1`; then `"${SWIFT_CMD[@]}" sft ...` was no training command at all
    script = (
        'if command -v uv >/dev/null 2>&1; then\n'
        '  SWIFT_CMD=(uv run swift)\n'
        'elif [ -x ".venv/bin/swift" ]; then\n'
        '  SWIFT_CMD=(.venv/bin/swift)\n'
        'elif command -v swift >/dev/null 2>&1; then\n'
        '  SWIFT_CMD=(swift)\n'
        'else\n'
        '  echo "swift not found" >&2\n'
        '  exit 1\n'
        'fi\n'
        '"${SWIFT_CMD[@]}" sft --model Qwen/Qwen3-8B --train_type lora --learning_rate 1e-4\n'
    )
    data, _, _ = _read(script)
    assert data["program"] == "swift" and data["--learning_rate"] == "1e-4" and data["--train_type"] == "lora"
    # branches running different programs stay unknown
    data, _, _ = _read(script.replace("SWIFT_CMD=(swift)", "SWIFT_CMD=(python train.py)"))
    assert "--learning_rate" not in data


def test_a_wrapper_that_exports_and_runs_a_script_beside_it_as_a_program(tmp_path) -> None:
    # held-out review 129, D 13 (neuronx-nemo-megatron's mixtral_8x7b.sh): `export LR=1e-5 ...` then
    # `./test_mixtral.sh`, whose `: ${LR=3e-4}` fallback was read, the wrapper skipped
    wrapper = write(tmp_path, "mixtral.sh", """\
        #!/usr/bin/env bash
        export LR=1e-5
        ./train.sh
        """)
    assert read_shell(wrapper.read_text(), "mixtral.sh")[0] == {
        "runs_script": {"path": "./train.sh", "line": 3, "env": {"LR": "1e-5"}}}
    write(tmp_path, "train.sh", """\
        : ${LR=3e-4}
        torchrun pretrain_gpt.py --num-layers 24 --hidden-size 1024 --num-attention-heads 16 \\
            --seq-length 1024 --max-position-embeddings 1024 --micro-batch-size 4 --global-batch-size 64 \\
            --train-iters 1000 --lr $LR --lr-decay-style cosine --lr-warmup-iters 10
        """)
    _, found, plan = load_plan_detected(wrapper, CheckOptions(use_settings=False))
    assert found.via and plan.optimizer.lr == 1e-5
    # a script run by path that is not the folder's own (`/opt/x.sh`) is no wrapper's step to follow
    assert "runs_script" not in read_shell("/opt/setup.sh\n", "job.sh")[0]
