"""The keys torchtitan's job config reads, per table, and how they moved between releases.

Read from torchtitan's own source with `ast` (trainer_source.class_fields on each section
class of `JobConfig`) at: 0.0.2 (the argparse `config_manager.py` before the `[parallelism]`
table, commit 785c34c^), v0.1.0 (`config_manager.py`), v0.2.0 and v0.2.2
(`config/job_config.py`) and 238fa99 (the commit of ../shared/real-configs/torchtitan).
A few spellings of still older commits are kept (`training.data_parallel_degree`).
Models may extend the config (`custom_args_module`), so a key outside these sets is only a
"did you mean" candidate, never an error by itself.
"""

from .versions import KeyChange, changes_by_key

TORCHTITAN_KEYS: dict[str, frozenset[str]] = {
    "activation_checkpoint": frozenset({
        "debug", "determinism_check", "early_stop", "memory_budget", "mode",
        "per_op_sac_force_recompute_mm_shapes_by_fqns", "preserve_rng_state", "selective_ac_option",
        "visualize_memory_budget_pareto",
    }),
    "checkpoint": frozenset({
        "async_mode", "create_seed_checkpoint", "enable", "enable_checkpoint",
        "enable_first_step_checkpoint", "enable_ft_dataloader_checkpoints", "exclude_from_loading",
        "export_dtype", "folder", "initial_load_in_hf", "initial_load_in_hf_quantized",
        "initial_load_model_only", "initial_load_model_weights_only", "initial_load_path", "interval",
        "keep_latest_k", "last_save_in_hf", "last_save_model_only", "last_save_model_weights_only",
        "load_only", "load_step", "model_weights_only",
    }),
    "comm": frozenset({
        "init_timeout_seconds", "mode", "save_traces_file_prefix", "save_traces_folder", "trace_buf_size",
        "train_timeout_seconds",
    }),
    "compile": frozenset({
        "backend", "components", "enable",
    }),
    "debug": frozenset({
        "deterministic", "deterministic_warn_only", "moe_force_load_balance", "seed",
    }),
    "experimental": frozenset({
        "context_parallel_degree", "context_parallel_rotate_method", "custom_args_module", "custom_import",
        "custom_model_path", "enable_async_tensor_parallel", "enable_compiled_autograd",
        "pipeline_parallel_degree", "pipeline_parallel_microbatches", "pipeline_parallel_schedule",
        "pipeline_parallel_schedule_csv", "pipeline_parallel_split_points",
    }),
    "fault_tolerance": frozenset({
        "enable", "fragment_sync_delay", "fragment_update_alpha", "group_size", "min_replica_size",
        "process_group", "process_group_timeout_ms", "replica_id", "semi_sync_method", "should_quantize",
        "sync_steps",
    }),
    "float8": frozenset({
        "emulate", "enable_fsdp_float8_all_gather", "filter_fqns", "force_recompute_fp8_weight_in_bwd",
        "precompute_float8_dynamic_scale_for_fsdp", "recipe_name",
    }),
    "job": frozenset({
        "config_file", "custom_config_module", "description", "dump_folder", "print_args", "print_config",
        "save_config_file", "use_for_integration_test",
    }),
    "lr_scheduler": frozenset({
        "decay_ratio", "decay_type", "lr_min", "min_lr_factor", "total_steps", "warmup_steps",
    }),
    "memory_estimation": frozenset({
        "disable_fake_mode", "enable", "enabled",
    }),
    "metrics": frozenset({
        "disable_color_printing", "enable_tensorboard", "enable_wandb", "log_freq", "rank_0_only",
        "save_for_all_ranks", "save_tb_folder",
    }),
    "model": frozenset({
        "converters", "flavor", "hf_assets_path", "name", "norm_type", "print_after_conversion",
        "tokenizer_path",
    }),
    "mx": frozenset({
        "filter_fqns", "recipe_name", "use_fp8_dim1_cast_triton_kernel",
    }),
    "optimizer": frozenset({
        "beta1", "beta2", "early_step_in_backward", "eps", "fused", "implementation", "lr", "name",
        "weight_decay",
    }),
    "parallelism": frozenset({
        "context_parallel_degree", "context_parallel_load_balancer", "context_parallel_rotate_method",
        "data_parallel_replicate_degree", "data_parallel_shard_degree", "disable_loss_parallel",
        "enable_async_tensor_parallel", "enable_compiled_autograd", "expert_parallel_comm_backend",
        "expert_parallel_degree", "expert_tensor_parallel_degree", "fsdp_reshard_after_forward",
        "module_fqns_per_model_part", "pipeline_parallel_degree",
        "pipeline_parallel_expert_parallel_overlap", "pipeline_parallel_first_stage_less_layers",
        "pipeline_parallel_last_stage_less_layers", "pipeline_parallel_layers_per_stage",
        "pipeline_parallel_microbatch_size", "pipeline_parallel_schedule", "pipeline_parallel_schedule_csv",
        "pipeline_parallel_split_points", "tensor_parallel_degree",
    }),
    "profiling": frozenset({
        "enable_memory_snapshot", "enable_profiling", "profile_freq", "profiler_active", "profiler_warmup",
        "save_memory_snapshot_folder", "save_traces_folder",
    }),
    "quantize": frozenset({
        "grouped_mm", "linear",
    }),
    "training": frozenset({
        "batch_size", "compile", "data_parallel_degree", "data_parallel_replicate_degree",
        "data_parallel_shard_degree", "dataloader", "dataset", "dataset_path",
        "debug_moe_force_load_balance", "deterministic", "disable_loss_parallel", "dtype",
        "enable_cpu_offload", "fsdp_cpu_offload", "fsdp_reshard_after_forward", "gc_debug", "gc_freq",
        "global_batch_size", "local_batch_size", "max_norm", "mixed_precision_param",
        "mixed_precision_reduce", "seed", "seq_len", "steps", "tensor_parallel_degree", "warmup_steps",
    }),
    "validation": frozenset({
        "dataloader", "dataset", "dataset_path", "enable", "freq", "local_batch_size", "seq_len", "steps",
    }),
}


def _moved(key: str, last: str, until: str, replacement: str) -> KeyChange:
    return KeyChange(key, "torchtitan", last=last, until=until, replacement=replacement)


def _added(key: str, before: str, since: str, replacement: str) -> KeyChange:
    return KeyChange(key, "torchtitan", before=before, since=since, replacement=replacement)


# 0.1.0 moved the parallel degrees from [training] / [experimental] into [parallelism]
# (pytorch/torchtitan#980, 2025-03-18); 0.2.0 renamed a few switches; 0.2.2 moved seed and
# determinism to [debug].
_PARALLELISM_MOVES = {
    "training.data_parallel_shard_degree": "parallelism.data_parallel_shard_degree",
    "training.data_parallel_replicate_degree": "parallelism.data_parallel_replicate_degree",
    "training.tensor_parallel_degree": "parallelism.tensor_parallel_degree",
    "training.disable_loss_parallel": "parallelism.disable_loss_parallel",
    "training.fsdp_reshard_after_forward": "parallelism.fsdp_reshard_after_forward",
    "experimental.pipeline_parallel_degree": "parallelism.pipeline_parallel_degree",
    "experimental.pipeline_parallel_schedule": "parallelism.pipeline_parallel_schedule",
    "experimental.pipeline_parallel_microbatches": "parallelism.pipeline_parallel_microbatch_size",
    "experimental.pipeline_parallel_split_points": "parallelism.pipeline_parallel_split_points",
    "experimental.context_parallel_degree": "parallelism.context_parallel_degree",
    "experimental.context_parallel_rotate_method": "parallelism.context_parallel_rotate_method",
    "experimental.enable_async_tensor_parallel": "parallelism.enable_async_tensor_parallel",
}
TORCHTITAN_KEY_CHANGES = changes_by_key((
    *(_moved(old, "0.0.2", "0.1.0", new) for old, new in _PARALLELISM_MOVES.items()),
    *(_added(new, "0.0.2", "0.1.0", old) for old, new in _PARALLELISM_MOVES.items()
      if new != "parallelism.pipeline_parallel_microbatch_size"),
    _moved("training.batch_size", "0.0.2", "0.1.0", "training.local_batch_size"),
    _added("training.local_batch_size", "0.0.2", "0.1.0", "training.batch_size"),
    _added("training.global_batch_size", "0.0.2", "0.1.0", "training.batch_size"),
    _moved("checkpoint.enable_checkpoint", "0.1.0", "0.2.0", "checkpoint.enable"),
    _added("checkpoint.enable", "0.1.0", "0.2.0", "checkpoint.enable_checkpoint"),
    _moved("lr_scheduler.lr_min", "0.1.0", "0.2.0", "lr_scheduler.min_lr_factor"),
    _added("lr_scheduler.min_lr_factor", "0.1.0", "0.2.0", "lr_scheduler.lr_min"),
    _moved("training.compile", "0.1.0", "0.2.0", "compile.enable"),
    _moved("memory_estimation.enabled", "0.1.0", "0.2.0", "memory_estimation.enable"),
    _added("model.hf_assets_path", "0.1.0", "0.2.0", "model.tokenizer_path"),
    _moved("training.seed", "0.2.0", "0.2.2", "debug.seed"),
    _moved("training.deterministic", "0.2.0", "0.2.2", "debug.deterministic"),
    _added("debug.seed", "0.2.0", "0.2.2", "training.seed"),
))


# Keys of torchtitan's argparse config_manager.py before 0.0.2 (its history up to 785c34c^, 2024-2025) that no
# release read here has: read by the commit a config was written for, so not "unknown to every version".
OLDER_KEYS = frozenset({
    "checkpoint.interval_type", "estimate.memory", "estimate.mode", "experimental.pipeline_parallel_split_mode",
    "experimental.torch_spmd", "float8.enable_float8_linear", "float8.scaling_type_grad_output",
    "float8.scaling_type_input", "float8.scaling_type_weight", "metrics.disable_logging_from_checkpoint",
    "metrics.enable_color_printing", "profiling.profile_every_x_iter", "profiling.run_profiler",
    "training.data_parallel_type", "training.enable_float8_linear", "training.enable_fp8_linear",
    "training.enable_fsdp_float8_all_gather", "training.enable_fsdp_fp8_all_gather", "training.enable_loss_parallel",
    "training.float8_scaling_type_grad_output", "training.float8_scaling_type_input",
    "training.float8_scaling_type_weight", "training.fp8_linear", "training.pipeline_parallel_degree",
    "training.precompute_float8_dynamic_scale_for_fsdp",
})
# The first release whose ConfigManager._dict_to_dataclass rejects a TOML key no dataclass field has
# ("Invalid field names", pytorch/torchtitan#1644, eadca48, 2025-08-28); every earlier one drops it silently
# (the argparse manager set it on a section object nothing reads; c1c2f55's typed JobConfig skipped it).
REJECTS_UNKNOWN_SINCE = (0, 2, 0)
