from __future__ import annotations

from pretrain_doctor.rule import Rule

# How each trainer resumes when a checkpoint exists and starts afresh when none does.
_AUTO_HINTS = {
    "axolotl": "`auto_resume_from_checkpoints: true` resumes from the latest checkpoint when there is one",
    "litgpt": "`resume: auto` resumes from the latest checkpoint when there is one and starts afresh otherwise",
    "llamafactory": "leave `resume_from_checkpoint` unset: LLaMA-Factory resumes from the latest checkpoint in "
                    "`output_dir` by itself when there is one",
}
_HF_HINT = ("leave `resume_from_checkpoint` unset and resume from `get_last_checkpoint(output_dir)` when there is "
            "one, as the transformers example scripts do; or name the checkpoint folder to resume from")
_ERRORS = {
    "litgpt": 'FileNotFoundError: "You passed `--resume=True`, but no checkpoint file was found"',
    # AxolotlInputConfig: `resume_from_checkpoint: str | None` since the pydantic schema (0.4)
    "axolotl": 'before axolotl 0.4, ValueError: "No valid checkpoint found in output directory"; '
               'its pydantic schema since takes a checkpoint path here and refuses a bool at start-up',
}
_HF_ERROR = 'ValueError: "No valid checkpoint found in output directory"'


class ResumeNeedsCheckpoint(Rule):
    """The run resumes from "the latest checkpoint" and stops at start-up where there is none yet.

    ## What it does
    Reports (at `info`) a config that asks to resume from the latest checkpoint in the
    output folder without naming one: HF `resume_from_checkpoint: true` (a YAML or JSON
    bool, passed by LLaMA-Factory and the TRL and transformers scripts to
    `Trainer.train`; axolotl before its pydantic schema of 0.4, which refuses the bool since)
    and litgpt `resume: true`. Silent for a named checkpoint folder,
    for litgpt's `resume: auto`, and for LLaMA-Factory's reward-model and PPO stages of
    full and freeze runs, which drop the key.

    Warns where GPT-NeoX's `load` or Megatron's `--load` names one saved step's folder
    (`checkpoints/global_step20000`, `iter_0001000`) instead of the folder that holds the
    steps: the trainer reads the step to load from a tracker file inside `load` (DeepSpeed's
    `latest`, Megatron's `latest_checkpointed_iteration.txt`), finds none in a step folder,
    and silently trains from scratch at iteration 0 (Megatron-LM's
    `--exit-on-missing-checkpoint` makes it stop instead).

    ## Why is this bad?
    `Trainer.train(resume_from_checkpoint=True)` looks up the last `checkpoint-*` folder
    in `output_dir` and raises `ValueError: No valid checkpoint found in output directory`
    when there is none; litgpt's `find_resume_path` raises `FileNotFoundError`. The
    first launch of the config, or any launch with a new `output_dir`, therefore stops
    after the model has loaded, before a single step. The setting belongs on the command
    line of a restart, not in the config a run starts from. (LLaMA-Factory already
    resumes from the latest checkpoint in `output_dir` by itself when the key is unset.)

    ## Example
    ```yaml
    model_name_or_path: Qwen/Qwen2.5-7B-Instruct
    stage: sft
    output_dir: saves/qwen2.5-7b/sft
    resume_from_checkpoint: true   # "always resume if checkpoints exist"
    ```

    ## Use instead
    ```yaml
    model_name_or_path: Qwen/Qwen2.5-7B-Instruct
    stage: sft
    output_dir: saves/qwen2.5-7b/sft
    # unset: LLaMA-Factory resumes from the latest checkpoint in output_dir when there is one
    ```

    ## References
    - transformers `Trainer.train(resume_from_checkpoint=...)`: https://huggingface.co/docs/transformers/main_classes/trainer#transformers.Trainer.train
    - litgpt `find_resume_path` (litgpt/utils.py): https://github.com/Lightning-AI/litgpt/blob/main/litgpt/utils.py
    - LLaMA-Factory's automatic resume (hparams/parser.py, `get_last_checkpoint`): https://github.com/hiyouga/LLaMA-Factory/blob/main/src/llamafactory/hparams/parser.py
    """

    code = "PD804"
    slug = "resume-needs-checkpoint"
    severity = "info"

    def check(self, plan):
        yield from self.tagged_note_findings(plan)  # a `load` naming one step's folder (dialects/neox.py, megatron.py)
        if not plan.checkpoint.resume_latest:
            return
        field = "checkpoint.resume_latest"
        yield self.finding(
            plan, field,
            "the run resumes from the latest checkpoint in its output folder and stops at start-up where there is "
            f"none, as on its first launch ({_ERRORS.get(plan.dialect, _HF_ERROR)})",
            hint=_AUTO_HINTS.get(plan.dialect, _HF_HINT),
        )
