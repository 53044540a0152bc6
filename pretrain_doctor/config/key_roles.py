"""Keys grouped by what they touch, across trainers: those that only log, keep, save, place or feed a run change no
step of training. Shared by the repeated-key notes (check/engine.py) and a launch's dropped flags (dialects/base.py),
so that both say the same of a key. Names are compared in their destination spelling (`--save-interval` is
`save_interval`)."""
from __future__ import annotations

# Keys that decide only what a run logs and where: a dropped value changes no step of training (held-out review 57,
# A 22: TRL's `logging_steps` 1, then 100).
REPORTING_KEYS = frozenset({
    "logging_steps", "logging_strategy", "logging_first_step", "logging_dir", "logging_nan_inf_filter", "log_level",
    "log_on_each_node", "report_to", "run_name", "disable_tqdm", "log_interval", "log_every", "logging_interval",
    "wandb_project", "wandb_name", "wandb_entity", "wandb_run_id", "wandb_watch", "wandb_log_model", "project_name",
    "experiment_name",
    # console chatter (held-out review 136, C 01: a chess nanoGPT fork's `verbose`, declared and never read)
    "verbose", "quiet",
    # LLaMA-Factory's loss curve drawn after training
    "plot_loss",
    # GPT-NeoX/Megatron/DeepSpeed timing and logging (held-out review 69, B 02: NeoX's `wall_clock_breakdown` twice)
    "wall_clock_breakdown", "steps_per_print", "tensorboard_dir", "log_dir", "use_wandb", "wandb_group", "wandb_team",
    "wandb_host", "log_grad_norm", "log_param_norm", "log_grad_pct_zeros", "log_optimizer_states"})

# Name prefixes of reporting keys that the table above cannot list one by one (`logging_*`, `wandb_*`, `log_*`).
REPORTING_PREFIXES = ("logging_", "wandb_", "log_")

# Keys that decide only how many saved checkpoints are kept: a dropped value changes no step of training.
RETENTION_KEYS = frozenset({"save_total_limit", "keep_last_n_checkpoints", "save_num_checkpoints_to_keep",
                            "save_num_unsharded_checkpoints_to_keep", "keep_checkpoint_max", "save_last_n"})

# Keys that decide only when checkpoints are written (held-out review 113, D 02: `--save_strategy` epoch, then steps):
# a dropped value changes no step of training; a run left with no checkpoint at all is PD801's.
SAVING_KEYS = frozenset({"save_strategy", "save_steps", "save_interval", "save_every", "save_freq",
                         "checkpoint_interval", "checkpoint_every", "save_epochs", "save_only_model",
                         "save_safetensors", "save_on_each_node"})

# Keys that only say where the run writes: a dropped value moves the checkpoints, not a step of training.
OUTPUT_KEYS = frozenset({"output_dir", "out_dir", "save_dir", "checkpoint_dir", "ckpt_dir", "output_path",
                         "save_folder", "save_path"})

# Keys that only set how the data is prepared or loaded (workers, pinned memory): a dropped value changes the speed,
# not a step of training (held-out review 88, B 13: `--preprocessing_num_workers` 60, then 40, in one LLaMA-Factory
# launch).
WORKER_KEYS = frozenset({"preprocessing_num_workers", "dataloader_num_workers", "dataset_num_proc", "num_proc",
                         "num_workers", "dataloader_prefetch_factor", "dataloader_persistent_workers",
                         # (held-out review 116, A 06: `--dataloader_pin_memory` True, then False)
                         "dataloader_pin_memory", "pin_memory",
                         # ... and whether the prepared dataset is taken from the cache (held-out review 122, B 03:
                         # ms-swift's `--load_from_cache_file` true, then false)
                         "load_from_cache_file", "overwrite_cache"})

# Keys that tune how DDP waits or walks the graph, or whether an old output folder may be written over: the steps of
# training are the same either way (review 132, B 05: `--ddp_find_unused_parameters False` alone, on one DeepSpeed
# process).
HOUSEKEEPING_KEYS = frozenset({"ddp_timeout", "ddp_find_unused_parameters", "overwrite_output_dir"})


def is_reporting(name: str) -> bool:
    """Whether a key only decides what the run logs (its destination spelling, `logging_steps`)."""
    return name in REPORTING_KEYS or name.startswith(REPORTING_PREFIXES)


def changes_no_training_step(name: str) -> bool:
    """Whether losing this key leaves every step of training as it was: logging, workers and DDP housekeeping."""
    return is_reporting(name) or name in WORKER_KEYS or name in HOUSEKEEPING_KEYS
