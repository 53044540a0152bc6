"""Issue 14 ("The monitor on the loops people really run"): a test per numbered item of its
"Why". This table says where each one is; the tests below are the ones that were missing
when the table was made (2026-12-03). Node ids are relative to tests/.

| item | what was seen | tests |
| --- | --- | --- |
| intro | HF Trainer logged the post-clip norm (0.99999 for 1.5012) | integrations/test_hf_callback.py::test_healthy_run_writes_a_run_log_and_raises_nothing |
| 1 | clip_grad_norm_ imported before attach, get_total_norm + clip_grads_with_norm_, HF Trainer, accelerate: norm logged as 1.0 | monitor/test_clipping.py::test_the_pre_clip_norm_is_recorded_however_the_loop_clips, ::test_accelerate_clip_grad_norm_is_seen, integrations/test_hf_callback.py::test_healthy_run_writes_a_run_log_and_raises_nothing |
| 1 | ... and no alert for 927 -> 4151 | monitor/test_issue14_audit.py::test_an_exploding_gradient_under_an_early_imported_clip_is_an_alert (here) |
| 1 | DeepSpeed's and FSDP's own clipping | monitor/test_deepspeed_clip_tap.py::test_a_deepspeed_fp32_engine_gives_its_pre_clip_norm, monitor/test_clipping.py::test_a_deepspeed_style_optimizer_gives_its_pre_clip_norm, monitor/test_deepspeed_mixed_precision.py (fp16, unfused fp16, bf16), distributed/test_distributed.py::test_fsdp1_clipping_with_its_own_method_records_the_pre_clip_global_norm, ::test_fsdp1_with_use_orig_params_records_the_norm_its_clip_grad_norm_returns |
| 2 | LoRA with the frozen base in AdamW: PDM303/PDM306, stopped at step 31 | monitor/test_real_loops.py::test_lora_with_the_whole_model_in_adamw_runs_without_alerts |
| 2 | two optimizers: PDM305 at attach | monitor/test_real_loops.py::test_duck_typed_and_several_optimizers_are_watched_as_one_step |
| 2 | 20k steps: PDM401 x26, PDM501 x55 | detectors/test_attention.py::test_a_collapse_hovering_around_the_bound_over_a_long_run_is_one_alert_per_layer, ::test_a_logit_hovering_around_the_bound_is_one_warning, detectors/test_system.py::test_a_step_time_hovering_around_the_factor_is_one_incident, ::test_a_slowdown_that_escalates_is_said_again_and_a_new_one_after_recovery |
| 3 | accelerate / duck-typed optimizer crash | monitor/test_real_loops.py::test_an_accelerate_optimizer_is_unwrapped, ::test_duck_typed_and_several_optimizers_are_watched_as_one_step |
| 3 | a raising on_alert callable escapes optimizer.step and drops the update | monitor/test_real_loops.py::test_a_raising_callback_fails_alone_with_one_warning_and_changes_no_update, monitor/test_actions.py::test_a_raising_callback_is_reported_once_and_still_called |
| 3 | full disk: annotate, stop, detach raise OSError | monitor/test_real_loops.py::test_a_full_disk_never_reaches_the_loop |
| 3 | a failed attach leaves its hooks | monitor/test_real_loops.py::test_a_failed_attach_leaves_no_hook, monitor/test_doctor_api.py::test_raise_at_attach_for_parameters_outside_the_optimizer_leaves_no_hooks, monitor/test_options.py::test_an_unknown_keyword_to_attach_is_a_type_error |
| 4 | break on NaN inside `with attach(...)` leaves 34 forward hooks | monitor/test_real_loops.py::test_a_loop_that_breaks_on_nan_inside_with_leaves_nothing_behind, monitor/test_safety.py::test_detach_removes_every_hook_and_patch |
| 4 | attached twice, detached in attach order: clip_grad_norm_ 22 deep; models kept alive | monitor/test_clipping.py::test_taps_are_installed_once_and_hold_no_doctor_alive, monitor/test_safety.py::test_an_armed_doctor_never_detached_leaves_no_attention_patch_once_collected |
| 5 | torch.compile: training changed from step 201, graph breaks 3 -> 31 | monitor/test_compile.py::test_compiled_training_is_bit_identical_with_the_doctor_and_unbroken, ::test_micro_batch_losses_are_averaged_inside_the_compiled_graph_without_recompiling, ::test_inductor_training_is_bit_identical_with_the_doctor (slow), monitor/test_safety.py::test_attaching_changes_neither_losses_nor_parameters |
| 6 | float64 model | monitor/test_real_loops.py::test_a_float64_model_is_measured |
| 6 | model.to(dtype) after attach | monitor/test_model_state.py::test_a_cast_after_attach_is_followed |
| 6 | training in model.eval(): no loss | monitor/test_model_state.py::test_training_in_eval_mode_records_the_loss_and_says_so_once, ::test_a_nan_is_located_in_eval_mode_too |
| 6 | add_param_group after attach | monitor/test_real_loops.py::test_add_param_group_after_attach_is_followed |
| 6 | non-reentrant checkpointing counts attention twice | monitor/test_attention_sampling.py::test_each_layer_is_logged_once_per_sampled_step[*-non-reentrant] |
| 7 | should_skip_step stalls syncing; raise never raises | monitor/test_skipping_and_interrupts.py::test_a_skipped_step_never_stalls_syncing, ::test_raise_comes_out_of_the_loop_at_the_first_sync_after_a_skipped_step |
| 7 | skip median never updated: 97 of 200 skipped after an lr jump | monitor/test_skipping_and_interrupts.py::test_a_new_level_of_the_grad_norm_is_not_skipped_for_long, monitor/test_records.py::test_the_skip_median_needs_twenty_norms_and_survives_a_rebuild |
| 7 | raise for an alert in the last window; stop writes 31 lines after `end` | monitor/test_real_loops.py::test_raise_for_an_alert_in_the_last_window_comes_out_of_detach, ::test_stop_writes_the_end_record_after_the_last_step_line |
| 7 | KeyboardInterrupt during a sync write loses the window | monitor/test_skipping_and_interrupts.py::test_a_keyboard_interrupt_during_a_sync_loses_no_line |
| 8 | NaN origin named wrong without skipping, even at sync_every=1 | monitor/test_origin_and_latency.py::test_a_nan_weight_is_located_at_its_step_although_the_update_spreads_it, ::test_when_the_host_learns_after_the_update_the_alert_says_the_origin_is_unknown, ::test_on_the_accelerator_path_the_device_flags_name_the_first_bad_step_and_parameter, monitor/test_fault_injection.py::test_nan_parameter_is_named_before_the_update_spreads_it |
| 8 | ... with `optimizer.step(closure)` (Lightning, LBFGS) and on GradScaler-skipped steps | realloops/test_closure_step.py::test_closure_step_reads_this_steps_gradients_and_names_the_poisoned_weight, realloops/test_realloops.py::test_fault_is_caught_at_its_step_and_delivered_by_the_next_sync |
| 9 | nanoGPT q/k x30: PDM401 never fired | monitor/test_attention_sampling.py::test_an_attention_collapse_is_said_within_two_samples_on_a_nanogpt_style_loop, detectors/test_attention.py::test_entropy_collapse_within_two_samples_even_before_a_baseline_exists |
| 9 | PDM402 info at 400, warning only at 600 | detectors/test_attention.py::test_a_saturating_logit_is_a_warning_at_first_sight_and_once_per_episode, monitor/test_fault_injection.py::test_query_key_weights_times_30_blow_up_attention_logits |
| 9 | attention logged twice with accumulation / checkpointing | monitor/test_attention_sampling.py::test_each_layer_is_logged_once_per_sampled_step |
| 10 | max logit 1.66e7 is info | detectors/test_attention.py::test_a_saturating_logit_is_a_warning_at_first_sight_and_once_per_episode |
| 10 | a 1000x lr jump named by no alert | monitor/test_fault_injection.py::test_lr_spike_diverges (PDM206 at the fault step), detectors/test_schedule.py |
| 10 | no hint; print(doctor) lists 2 of 5; explain has no "What to do"; no run id | monitor/test_reporting.py::test_every_alert_carries_a_hint_into_the_run_log_and_the_console, ::test_print_lists_every_alert_it_counts, ::test_explain_pages_of_runtime_codes_say_what_to_do_and_how_to_suppress_at_runtime, ::test_every_built_in_detector_has_a_what_to_do_section, ::test_a_run_id_is_in_the_header_and_on_every_line_of_a_shared_log, monitor/test_actions.py::test_the_report_lists_every_alert_it_counts |
| Build | vanishing gradients said within 2 steps | monitor/test_origin_and_latency.py::test_vanishing_gradients_are_said_within_two_steps_at_defaults |
| Build | attach's options explicit | monitor/test_options.py |
| Acceptance | held-out real-loop cases on loops reduced from public projects (LoRA, accelerate, clip by name, two optimizers, raising callbacks, full disk, sweeps, eval mode, float64) | realloops/test_realloops.py::test_healthy_loop_quiet_identical_right_norm_and_clean_detach, ::test_fault_is_caught_at_its_step_and_delivered_by_the_next_sync, realloops/test_realloops_cases.py::test_sweep_attach_detach_many_times_leaves_nothing, ::test_raising_on_alert_callable_neither_stops_nor_changes_training, ::test_full_disk_neither_raises_nor_changes_training, ::test_float64_model_is_watched_and_its_nan_origin_found, ::test_long_healthy_lora_run_is_not_stopped |
"""

from __future__ import annotations

import re
from pathlib import Path

import torch
from torch.nn.utils import clip_grad_norm_  # imported before any attach, as the loop did

import pretrain_doctor


def test_an_exploding_gradient_under_an_early_imported_clip_is_an_alert():
    """Item 1: a loop clipping to 1.0 with `clip_grad_norm_` imported before attach, whose
    true pre-clip norm grows geometrically (the issue's 927 -> 4151 over a few steps), gets
    an exploding-gradient alert at default detectors: the clipped 1.0 would say nothing."""
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(8, 32), torch.nn.Tanh(), torch.nn.Linear(32, 1))
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-6)
    generator = torch.Generator().manual_seed(1)
    pre_clip = []
    with pretrain_doctor.attach(model, optimizer, sync_every=1, console=False) as doctor:
        for step in range(1, 41):
            # steady for 30 steps, then x1.7 per step: about 1000 -> 14000 over the last 10
            factor = 1.0 if step <= 30 else 1.7 ** (step - 30)
            loss = 100.0 * factor * model(torch.randn(16, 8, generator=generator)).square().mean()
            loss.backward()
            pre_clip.append(float(clip_grad_norm_(model.parameters(), 1.0)))
            optimizer.step()
            optimizer.zero_grad()
    assert pre_clip[-1] > 100 * pre_clip[29] and min(pre_clip) > 1.0  # clipped on every step
    exploding = [a for a in doctor.alerts if a.code in ("PDM301", "PDM302") and a.severity != "info"]
    assert exploding, [(a.step, a.code, a.severity) for a in doctor.alerts]
    assert 31 <= exploding[0].step <= 36  # within a few steps of the growth's start
    assert not [a for a in doctor.alerts if a.step <= 30 and a.severity != "info"]  # nothing before it


def test_every_test_the_table_names_exists():
    """The table above rots when a test is renamed: each named test is defined in its file."""
    tests = Path(__file__).resolve().parents[1]
    named, module = [], None
    for row in __doc__.splitlines():
        if not row.startswith("| ") or row.startswith(("| item", "| ---")):
            continue
        for part in row.rstrip(" |").split(" | ")[-1].split(", "):
            found = re.match(r"([\w/]+\.py)?(?:::(\w+))?", part.strip())
            module = found.group(1) or module
            if found.group(1) or found.group(2):
                named.append((module, found.group(2)))
    assert len(named) > 60
    missing = [f"{path}::{name}" for path, name in named
               if not (tests / path).is_file() or (name and f"def {name}(" not in (tests / path).read_text())]
    assert missing == []
