"""The command-line flags of Megatron-LM's `pretrain_*.py` and of Megatron-DeepSpeed.

Generated from the argument definitions themselves, read statically (no torch): every
`add_argument` of `megatron/training/arguments.py` plus the dataclass fields that its
`ArgumentGroupFactory` turns into flags (`TransformerConfig`, `TrainingConfig`, `SchedulerConfig`,
... : `--field-name`, a bool field defaulting to True as `--no-field-name`/`--disable-field-name`,
`argparse_meta` overrides) at NVIDIA/Megatron-LM d98e8a6 (2026-08); the `add_argument`s of the
releases before it (v1.0 2020-03, v2.0 2021-01, v2.5 and v2.6 2021-08, d4878ef 2023-06, 1106d80 2024-03, 7c1baea 2025-05, and 72230d2^
2025-12, the last before the dataclass arguments); and those of microsoft/Megatron-DeepSpeed
f4157be `megatron/arguments.py` with DeepSpeed's own `--deepspeed`/`--deepspeed_config`.
458 switches and 641 flags that take values; plus the 7 switches and 20 valued flags that only
bigscience-workshop/Megatron-DeepSpeed 8387ae1 `megatron/arguments.py` adds (BLOOM's `--pad-vocab-size-to`,
`--embed-layernorm`, `--glu-activation`, ...: its `pretrain_gpt.py` is an upstream entry point).

A flag any of these versions reads is never reported as a typo; "did you mean" is only for a
flag none of them has. A flag missing here is never an error.
"""

# Flags that take no value (store_true / store_false).
SWITCHES = frozenset("""
--account-for-embedding-in-pipeline-split --account-for-loss-in-pipeline-split
--accumulate-allreduce-grads-in-fp32 --activation-func-fp8-input-store --add-qkv-bias --adlr-autoresume
--allow-ambiguous-pad-tokens --apply-layernorm-1p --apply-query-key-layer-scaling
--apply-residual-connection-post-layernorm --apply-rope-fusion --apply-wd-to-qk-layernorm
--async-ckpt-use-cpu-shm --async-save --attention-output-gate --attention-softmax-in-fp32
--auto-detect-ckpt-format --batch-invariant-mode --bert-no-binary-head --bf16 --bias-activation-fusion
--bias-dropout-fusion --biencoder-shared-query-context-model --cache-mla-latents --calc-ft-timeouts
--calculate-per-token-loss --check-for-large-grads --check-for-spiky-loss --checkpoint-activations
--checkpoint-in-cpu --ckpt-assume-constant-structure --ckpt-convert-update-legacy-dist-opt-format
--ckpt-drop-redundant-extra-state --ckpt-fully-parallel-load --ckpt-fully-parallel-load-per-rank-objects
--ckpt-fully-parallel-save --ckpt-pg-tensors-cache-create --contigious-checkpointing --cpu-offloading
--cpu-offloading-double-buffering --cpu-offloading-retain-pinned-cpu-buffers --cpu-offloading-weights
--cpu-optimizer --cpu_torch_adam --create-all-gather-group --create-moe-param-group --cross-entropy-loss-fusion
--cuda-graph-retain-backward-graph --data-efficiency-curriculum-learning --data-parallel-random-init
--dataloader-defer-npy-index-mmap --dataloader-fast-cache-load --dataloader-inter-document-masking
--ddp-average-in-collective --ddp-pad-buckets-for-high-nccl-busbw --ddp-reduce-scatter-with-fp32-accumulation
--deallocate-pipeline-outputs --decode-only-cuda-graphs --decrease-batch-size-if-needed --deepscale --deepspeed
--deepspeed-activation-checkpointing --deepspeed_mpi --defer-embedding-wgrad-compute
--delay-offload-until-cuda-graph --delay-param-gather --delay-wgrad-compute --deterministic-mode
--dino-norm-last-layer --disable-align-grad-reduce --disable-attention-softmax-in-fp32 --disable-batch-p2p-comm
--disable-batch-p2p-sync --disable-bf16-reduced-precision-matmul --disable-bias-linear --disable-chunked-prefill
--disable-ckpt-load-validate-sharding-integrity --disable-clone-scatter-output-in-embedding
--disable-cpu-offloading-activations --disable-cuda-graph-use-single-mempool
--disable-dsa-indexer-rotate-activation --disable-dsa-indexer-scoring-relu
--disable-flight-recorder-dump-on-timeout --disable-flight-recorder-extra-dump-on-exec
--disable-flight-recorder-include-only-active --disable-fp8-wgrad --disable-gloo-process-groups
--disable-jit-fuser --disable-log-loss-scale-to-tensorboard --disable-mamba-mem-eff-path
--disable-manual-gc-eval --disable-mem-efficient-ln --disable-moe-token-dropping
--disable-moe-top2-2nd-expert-sampling --disable-msc --disable-pad-vocab-size
--disable-parameter-transpose-cache --disable-save-tokenizer-assets --disable-straggler-on-startup
--disable-strict-fsdp-dtensor-load --disable-symmetric-registration
--disable-tokenizer-sentencepiece-ignore-extra-whitespaces --disable-tp-comm-bulk-dgrad
--disable-tp-comm-bulk-wgrad --disable-tp-comm-overlap-ag --disable-tp-comm-overlap-rs
--disable-tp-comm-split-ag --disable-tp-comm-split-rs --disable-use-tokenizer-model-from-checkpoint-args
--dist-ckpt-optim-fully-reshardable --dist-ckpt-save-pre-mcore-014
--distrib-optim-fully-reshardable-mem-efficient --distribute-checkpointed-activations
--distribute-saved-activations --ds-inference --ds-sequence-parallel-fpdt --ds-sequence-parallel-fpdt-offloading
--ds_fused_adam --dsa-indexer-k-norm-fp32 --dsa-indexer-rope-interleaved --dsa-indexer-use-sparse-loss
--embedding-weights-in-fp32 --enable-autocast --enable-chunked-prefill --enable-cuda-graph --enable-experimental
--enable-expert-tensor-parallelism --enable-ft-package --enable-full-sharding-in-hsdp --enable-mhc-connections
--enable-msc --enable-one-logger --enable-zbh1-exact-semantics --enable-zbh1-pipeline --eod-mask-loss
--ep-overlap-early-attn-memory-release --exit-on-missing-checkpoint --exit-signal-handler
--exit-signal-handler-for-dataloader --exit-signal-handler-for-training --external-cuda-graph
--fake-process-group --fim-data --fine-grained-activation-offloading --finetune --first-last-layers-bf16
--flash-decode --flight-recorder-include-stack-trace --force-ds-sequence-parallel --fp16 --fp16-lm-cross-entropy
--fp32-residual-connection --fp4-param-gather --fp8-dot-product-attention --fp8-e4m3 --fp8-hybrid
--fp8-multi-head-attention --fp8-output-proj --fp8-param --fp8-param-gather --freeze-all-layers
--fsdp-db-use-persist-buf-on-alloc-fail --fsdp-double-buffer --fsdp-manual-registration --full-validation
--fused-residual-rmsnorm --fused-single-qkv-rope --gated-linear-unit --gdp-cutedsl-kernel --grad-reduce-in-bf16
--gradient-accumulation-fusion --group-query-attention --grpo-filter-groups-with-same-reward
--gtp-expert-remat-nccl-ub --gtp-remat-nccl-ub --gtp-remat-reduce-scatter-with-fp32-accumulation
--hetereogenous-dist-checkpoint --heterogeneous-block-specs --high-priority-a2a-comm-stream
--hybrid-context-parallel --inference --inference-cuda-graph-all-prefills
--inference-disable-triton-nvls-kernels --inference-dynamic-batching
--inference-dynamic-batching-track-generated-token-events
--inference-dynamic-batching-track-paused-request-events --inference-fuse-tp-communication
--inference-moe-disable-fused-quant-kernels --inference-rng-tracker --init-method-xavier-uniform
--init-model-with-meta-device --inprocess-empty-cuda-cache --inprocess-restart --is-hybrid-model --kd
--keep-fp8-transpose-cache --keep-fp8-transpose-cache-when-using-custom-fsdp --lazy-mpu-init --legacy-tokenizer
--load-main-params-from-ckpt --log-batch-size-to-tensorboard --log-device-memory-used --log-energy
--log-max-attention-logit --log-memory-to-tensorboard --log-num-zeros-in-grad
--log-optimizer-states-to-tensorboard --log-params-norm --log-progress --log-straggler --log-throughput
--log-timers-to-tensorboard --log-validation-ppl-to-tensorboard --log-world-size-to-tensorboard
--logits-load-ignore-errors --manual-gc --masked-softmax-fusion --megatron-fsdp-enable-fine-grained-param-gather
--megatron-fsdp-max-pool-double-buffer --memory-centric-tiled-linear --memory-efficient-layer-norm
--mla-down-proj-fusion --mmap-warmup --mock-data --moe-apply-probs-on-input --moe-enable-deepep
--moe-enable-routing-replay --moe-extended-tp --moe-grouped-gemm --moe-hybridep-pad-uneven-dispatch-inputs
--moe-layer-recompute --moe-ncclep-zero-copy --moe-pad-expert-input-to-capacity
--moe-pad-experts-for-cuda-graph-inference --moe-paged-stash --moe-per-layer-logging --moe-permute-fusion
--moe-permute-fusion-into-hybridep --moe-router-enable-expert-bias --moe-router-force-load-balancing
--moe-router-fusion --moe-router-padding-for-fp8 --moe-router-padding-for-quantization --moe-router-pre-softmax
--moe-routing-trace-capture-hidden-states --moe-routing-trace-capture-logits --moe-routing-trace-dump-weights
--moe-shared-expert-gate --moe-shared-expert-overlap --moe-single-grouped-bias --moe-single-grouped-weight
--moe-token-dropping --moe-use-grouped-tensor --moe-use-legacy-grouped-gemm --moe-use-upcycling --mos
--mtp-detach-heads --mtp-hsm --mtp-standalone --mtp-use-repeated-layer --multi-latent-attention
--multi-query-attention --multiple-validation-sets --muon-nesterov --muon-no-split-qkv --muon-use-syrk
--nccl-all-reduce-for-prefill --no-align-grad-reduce --no-align-param-gather
--no-async-tensor-model-parallel-allreduce --no-attention-softmax-in-fp32 --no-barrier-with-level-1-timing
--no-batch-p2p-comm --no-batch-p2p-sync --no-bias-dropout-fusion --no-bias-gelu-fusion --no-bias-swiglu-fusion
--no-check-for-nan-in-loss-and-grad --no-ckpt-fully-parallel-save --no-ckpt-load-validate-sharding-integrity
--no-clone-scatter-output-in-embedding --no-contiguous-buffers-in-local-ddp --no-cpu-offloading-activations
--no-create-attention-mask-in-dataloader --no-cuda-graph-use-single-mempool --no-data-sharding
--no-delay-grad-reduce --no-dsa-indexer-rotate-activation --no-dsa-indexer-scoring-relu
--no-flight-recorder-dump-on-timeout --no-flight-recorder-extra-dump-on-exec
--no-flight-recorder-include-only-active --no-fp8-wgrad --no-gradient-accumulation-fusion
--no-gradient-reduce-div-fusion --no-initialization --no-load-lr-state --no-load-optim --no-load-rng
--no-log-learnig-rate-to-tensorboard --no-log-loss-scale-to-tensorboard --no-manual-gc-eval
--no-masked-softmax-fusion --no-mmap-bin-files --no-one-logger --no-overlap-p2p-communication
--no-pad-vocab-size --no-persist-layer-norm --no-pin-cpu-grads --no-pin-cpu-params --no-pipeline-parallel
--no-position-embedding --no-query-key-layer-scaling --no-rope-fusion --no-save-optim --no-save-rng
--no-save-tokenizer-assets --no-scatter-gather-tensors-in-pipeline --no-strict-fsdp-dtensor-load
--no-tokenizer-sentencepiece-ignore-extra-whitespaces --no-tp-comm-bulk-dgrad --no-tp-comm-bulk-wgrad
--no-tp-comm-overlap-ag --no-tp-comm-overlap-rs --no-tp-comm-split-ag --no-tp-comm-split-rs
--no-use-layer-wise-param-layout --no-use-tokenizer-model-from-checkpoint-args
--no-yarn-correction-range-round-to-int --nvtx-ranges --one-logger-async --openai-gelu --optimizer-cpu-offload
--optimizer-cuda-graph --otel-enabled --output-bert-embeddings --overlap-cpu-optimizer-d2h-h2d
--overlap-dispatch-backward-with-experts-wgrad --overlap-grad-reduce --overlap-moe-expert-parallel-comm
--overlap-p2p-comm --overlap-p2p-communication --overlap-p2p-communication-warmup-flush --overlap-param-gather
--overlap-param-gather-with-optimizer-step --override-lr-scheduler --override-opt-param-scheduler
--override-opt_param-scheduler --partition-activations --perform-rl-step --persist-layer-norm --profile
--profile-backward --pytorch-profiler-collect-callstack --pytorch-profiler-collect-chakra
--pytorch-profiler-collect-shapes --qk-clip --qk-l2-norm --qk-layernorm --quick-geglu --random-ltd
--recompute-activations --record-memory-history --record-shapes --repeated-dataloader --replication
--reset-attention-mask --reset-iteration --reset-position-ids --retriever-score-scaling --retro-add-retriever
--retro-no-verify-neighbor-count --retro-return-doc-ids --return-data-index --reuse-grad-buf-for-mxfp8-param-ag
--rl-durable-rollout-bank --rl-offload-optimizer-during-inference --rl-profile --rotary-interleaved
--run-workload-inspector-server --scattered-embeddings --sequence-parallel --sft --skip-train
--split-transformers --squared-relu --standalone-embedding-stage --swiglu --synchronize-each-layer
--te-rng-tracker --test-mode --tokenizer-hf-include-special-tokens --tokenizer-hf-no-include-special-tokens
--tokenizer-hf-no-use-fast --tokenizer-hf-use-fast --tokenizer-sentencepiece-legacy
--torch-fsdp2-no-reshard-after-forward --tp-comm-atomic-ag --tp-comm-atomic-rs --tp-comm-overlap
--tp-comm-overlap-disable-fc1 --tp-comm-overlap-disable-qkv --tp-comm-overlap-rs-dgrad --tp-only-amax-red
--trust-remote-code --universal-checkpoint --untie-embeddings-and-output-weights --use-checkpoint-args
--use-checkpoint-lr-scheduler --use-checkpoint-opt-param-scheduler --use-checkpoint-opt_param-scheduler
--use-cpu-initialization --use-custom-fsdp --use-dist-ckpt --use-distributed-optimizer --use-flash-attn
--use-flash-attn-builder --use-flash-attn-triton --use-flash-attn-v1 --use-flash-attn-v2
--use-fused-weighted-squared-relu --use-gigatoken --use-gpu-initialization --use-grouped-gemm-for-dense-mlp
--use-grouped-gemm-for-shared-expert --use-inference-optimized-layers --use-kitchen --use-kitchen-attention
--use-legacy-models --use-legacy-static-engine --use-mcore-models --use-megatron-fsdp
--use-mp-args-from-checkpoint-args --use-mup --use-nccl-ub --use-one-sent-docs --use-persistent-ckpt-worker
--use-pin-memory --use-precision-aware-optimizer --use-pytorch-profiler --use-ring-exchange-p2p
--use-rope-scaling --use-rotary-position-embeddings --use-same-sampling-seed-across-dp-ranks --use-sharp
--use-te-activation-func --use-te-rng-tracker --use-torch-fsdp2 --use-torch-optimizer-for-cpu-offload
--use-tp-pp-dp-mapping --use-transformer-engine-op-fuser --use-tutel --variable-seq-lengths --verify-integrity
--vision-pretraining --yarn-correction-range-round-to-int --zero-contigious-gradients --zero-reduce-scatter
""".split())

# Flags followed by one or more values.
VALUED = frozenset("""
---cpu-offloading-context --DDP-impl --activation-func --activation-func-clamp-value
--activation-offload-fraction --activations-checkpoint-method --activations-checkpoint-num-layers --adam-beta1
--adam-beta2 --adam-eps --adlr-autoresume-interval --aml-data-download-path --app-tag-run-name
--app-tag-run-version --async-ckpt-cpu-priority --async-ckpt-io-priority --async-strategy --attention-backend
--attention-dropout --autocast-dtype --batch-invariant-backend --batch-size --bert-embedder-type --bert-load
--biencoder-projection-dim --block-data-path --chat-template --check-weight-hash-across-dp-replicas-interval
--checkpoint-num-layers --ckpt-convert-format --ckpt-convert-save --ckpt-format
--ckpt-fully-parallel-load-exchange-algo --ckpt-fully-parallel-load-process-group
--ckpt-fully-parallel-save-process-group --ckpt-pg-tensors-cache-path --ckpt-step --classes-fraction --clip-grad
--config-logger-dir --context-parallel-size --cp-comm-type --cpu-offloading-num-layers
--cross-entropy-fusion-impl --cuda-graph-impl --cuda-graph-modules --cuda-graph-scope --cuda-graph-warmup-steps
--data-args-path --data-cache-path --data-impl --data-parallel-sharding-strategy --data-path
--data-per-class-fraction --dataloader-type --ddp-bucket-size --ddp-num-buckets
--ddp-param-name-patterns-for-fp32-local-accumulation --decoder-first-pipeline-num-layers
--decoder-last-pipeline-num-layers --decoder-num-layers --decoder-seq-length --decoupled-lr --decoupled-min-lr
--deepscale_config --deepspeed_config --delta-offload-bytes-across-pp-ranks --dino-bottleneck-size
--dino-freeze-last-layer --dino-head-hidden-size --dino-local-crops-number --dino-local-img-size
--dino-teacher-temp --dino-warmup-teacher-temp --dino-warmup-teacher-temp-epochs --dist-ckpt-format
--dist-ckpt-strictness --dist-ckpt-workers --distributed-backend --distributed-timeout-minutes
--distributed-timeout-seconds-after-init --ds-sequence-parallel-fpdt-chunk-size --ds-sequence-parallel-size
--dsa-indexer-head-dim --dsa-indexer-k-norm-epsilon --dsa-indexer-loss-coeff --dsa-indexer-n-heads
--dsa-indexer-skip-topk-offset --dsa-indexer-topk --dsa-indexer-topk-freq --dsa-kernel-backend
--dump-param-to-param-group-map --embedding-init-method --embedding-init-method-std --embedding-path
--empty-unused-memory-level --encoder-num-layers --encoder-pipeline-model-parallel-size --encoder-seq-length
--encoder-tensor-model-parallel-size --end-weight-decay --error-injection-rate --error-injection-type
--eval-global-batch-size --eval-interval --eval-iters --eval-micro-batch-size --evidence-data-path
--exit-duration-in-mins --exit-interval --exit-signal --exp-avg-dtype --exp-avg-sq-dtype
--experimental-attention-variant --experimental-attention-variant-loss-scale-func --expert-gtp-weight-remat-size
--expert-interval --expert-model-parallel-size --expert-tensor-parallel-num-weight-shards
--expert-tensor-parallel-size --fault-injector-delay-start-iteration --fault-injector-fault-delay
--fault-injector-fault-probabilities --fault-injector-fault-types --fault-injector-mtti-seconds
--fault-injector-num-ranks --fault-injector-offset-seconds --fault-injector-ranks --fault-injector-seed
--ffn-hidden-size --fim-eod-token --fim-fragment-rate --fim-middle-token --fim-no-prefix --fim-pad-token
--fim-prefix-token --fim-rate --fim-split-sample --fim-spm-rate --fim-suffix-token --finalize-model-grads-func
--fine-grained-offloading-max-inflight-offloads --flash-attention-version --flight-recorder-dump-path
--flight-recorder-trace-buffer-size --fp4-format --fp4-quantizer-factory --fp4-recipe --fp8-amax-compute-algo
--fp8-amax-history-len --fp8-format --fp8-interval --fp8-margin --fp8-quantizer-factory --fp8-recipe
--ft-num-warmup-iters --gdp-num-chunk-states-to-recompute --gdp-num-householder --global-batch-size
--glu-linear-offset --gpu-sniff-test-interval --grad-scale-func --grad-sync-func --grpo-clamp-eps-lower
--grpo-clamp-eps-upper --grpo-default-temperature --grpo-default-top-p --grpo-entropy-term-weight
--grpo-group-size --grpo-iterations --grpo-kl-beta --grpo-prompts-per-step --gtp-remat-opt-in-modules
--gtp-weight-remat-size --head-lr-mult --heterogeneous-layers-config-encoded-json
--heterogeneous-layers-config-path --hidden-dropout --hidden-size --hidden-size-teacher
--hierarchical-context-parallel-sizes --high-priority-stream-groups --hybrid-attention-ratio
--hybrid-layer-pattern --hybrid-mlp-ratio --hybrid-override-pattern --hysteresis --ict-head-size --ict-load
--img-dim --img-h --img-w --indexer-batch-size --indexer-log-interval --inference-batch-times-seqlen-threshold
--inference-coordinator-port --inference-cuda-graph-max-tokens --inference-cuda-graph-scope
--inference-disable-ep-consensus --inference-dynamic-batching-async-sched-mode
--inference-dynamic-batching-block-size --inference-dynamic-batching-buffer-guaranteed-fraction
--inference-dynamic-batching-buffer-overflow-factor --inference-dynamic-batching-buffer-size-gb
--inference-dynamic-batching-chunk-size --inference-dynamic-batching-cuda-graph-max-tokens
--inference-dynamic-batching-cuda-graph-mixed-prefill-count
--inference-dynamic-batching-cuda-graph-sizing-distribution --inference-dynamic-batching-logprobs-mode
--inference-dynamic-batching-mamba-memory-ratio --inference-dynamic-batching-max-requests
--inference-dynamic-batching-max-requests-override --inference-dynamic-batching-max-tokens
--inference-dynamic-batching-max-tokens-override --inference-dynamic-batching-num-cuda-graphs
--inference-dynamic-batching-paused-buffer-size-gb --inference-dynamic-batching-prefix-caching
--inference-dynamic-batching-prefix-caching-coordinator-policy
--inference-dynamic-batching-prefix-caching-eviction-policy --inference-dynamic-batching-prefix-caching-mamba-gb
--inference-dynamic-batching-prefix-caching-routing-alpha --inference-dynamic-batching-sampling-backend
--inference-dynamic-batching-unified-memory-level --inference-grouped-gemm-backend
--inference-logging-step-interval --inference-max-batch-size --inference-max-requests --inference-max-seq-length
--inference-moe-token-dispatcher-type --inference-sampling-seed --inference-shards
--inference-text-gen-server-logging --inference-use-synchronous-zmq-collectives --inference-wandb-logging
--inference-wandb-logging-step-interval --init-method --init-method-std --initial-loss-scale
--inprocess-active-world-size --inprocess-barrier-timeout --inprocess-completion-timeout --inprocess-granularity
--inprocess-hard-timeout --inprocess-heartbeat-interval --inprocess-heartbeat-timeout --inprocess-last-call-wait
--inprocess-max-iterations --inprocess-monitor-process-interval --inprocess-monitor-thread-interval
--inprocess-progress-watchdog-interval --inprocess-soft-timeout --inprocess-termination-grace-time
--iter-per-epoch --iterations-to-skip --kd-alpha-ce --kd-beta-ce --kd-temp --kill-switch-file
--kitchen-attention-backend --kitchen-config-file --kitchen-recipe-number --kv-channels --kv-lora-rank
--langrl-env-config --langrl-external-server --langrl-inference-server-conversation-template
--langrl-inference-server-type --layernorm-epsilon --linear-attention-freq --linear-conv-kernel-dim
--linear-key-head-dim --linear-num-key-heads --linear-num-value-heads --linear-value-head-dim --lion-beta1
--lion-beta2 --load --load-tag --load-teacher --local-rank --local_rank --log-interval --log-memory-interval
--logging-level --logits-load-decode-threads --logits-load-dir --logits-load-kd-loss-alpha
--logits-load-msc-prefetch-depth --logits-load-prefetch-factor --logits-save-dir --logits-save-dtype
--logits-save-top-k --logits-save-top-p --logits-save-top-p-min-k --loss-scale --loss-scale-window --lr
--lr-decay-iters --lr-decay-samples --lr-decay-style --lr-decay-tokens --lr-warmup-fraction --lr-warmup-init
--lr-warmup-iters --lr-warmup-samples --lr-warmup-tokens --lr-wsd-decay-iters --lr-wsd-decay-samples
--lr-wsd-decay-style --main-grads-dtype --main-params-dtype --make-vocab-size-divisible-by --mamba-head-dim
--mamba-inference-conv-states-dtype --mamba-inference-ssm-states-dtype --mamba-num-groups --mamba-num-heads
--mamba-state-dim --mamba-training-ssm-states-dtype --manual-gc-interval --mask-factor --mask-prob --mask-type
--max-position-embeddings --max-seqlen-per-dp-cp-rank --max-tokens-to-oom --megatron-fsdp-grad-comm-dtype
--megatron-fsdp-main-grads-dtype --megatron-fsdp-main-params-dtype --megatron-fsdp-version
--memory-snapshot-path --merge-file --mhc-init-gating-factor --mhc-num-residual-streams
--mhc-recompute-layer-num --mhc-sinkhorn-iterations --micro-batch-size
--microbatch-group-size-per-virtual-pipeline-stage --mid-level-dataset-surplus --min-loss-scale --min-lr
--min-offloaded-tensor-size --mlp-chunks-for-prefill --mlp-chunks-for-training --mlp-type --model-parallel-size
--moe-aux-loss-coeff --moe-combine-bwd-dtype --moe-deepep-num-sms --moe-dispatch-fwd-dtype
--moe-eval-capacity-factor --moe-expert-capacity-factor --moe-expert-parallel-size
--moe-expert-rank-capacity-factor --moe-ffn-hidden-size --moe-flex-dispatcher-backend
--moe-flex-dispatcher-num-sms --moe-grad-scale-func --moe-hybridep-num-blocks-permute
--moe-hybridep-num-blocks-unpermute --moe-hybridep-num-sms --moe-hybridep-num-sms-preprocessing
--moe-input-jitter-eps --moe-latent-size --moe-layer-freq --moe-loss-coeff --moe-min-capacity
--moe-mlp-glu-interleave-size --moe-paged-stash-buffer-size-factor-cpu --moe-paged-stash-buffer-size-factor-cuda
--moe-paged-stash-page-size --moe-router-bias-update-rate --moe-router-dtype --moe-router-force-biased
--moe-router-group-topk --moe-router-load-balancing-type --moe-router-num-groups
--moe-router-quantile-balancing-ema --moe-router-score-function --moe-router-topk
--moe-router-topk-limited-devices --moe-router-topk-scaling-factor --moe-routing-trace-max-training-iters
--moe-routing-trace-path --moe-shared-expert-glu-interleave-size --moe-shared-expert-intermediate-size
--moe-token-dispatcher-type --moe-token-drop-policy --moe-train-capacity-factor --moe-upcycling-granularity
--moe-z-loss-coeff --mrope-section --mscale --mscale-all-dim --mtp-grad-scale-func --mtp-hybrid-override-pattern
--mtp-loss-scaling-factor --mtp-num-layers --muon-coefficient-type --muon-extra-scale-factor
--muon-fp32-matmul-prec --muon-momentum --muon-num-ns-steps --muon-scalar-optimizer --muon-scale-mode
--muon-tp-mode --mup-attn-scale-power --mup-base-head-dim --mup-base-hidden-size --mup-embedding-mult
--mup-output-mult --mup-width-mult --nccl-communicator-config-path --no-rope-freq --no-sync-func
--no-weight-decay-cond-type --non-persistent-ckpt-type --non-persistent-global-ckpt-dir
--non-persistent-local-ckpt-algo --non-persistent-local-ckpt-dir --non-persistent-save-interval --norm-epsilon
--normalization --null-tokenizer-eod-id --null-tokenizer-pad-id --num-attention-heads
--num-attention-heads-teacher --num-channels --num-classes --num-dataset-builder-threads
--num-distributed-optimizer-instances --num-experts --num-experts-switch --num-experts-teacher
--num-key-value-heads --num-layers --num-layers-at-end-in-bf16 --num-layers-at-start-in-bf16
--num-layers-in-first-pipeline-stage --num-layers-in-last-pipeline-stage --num-layers-per-virtual-pipeline-stage
--num-layers-teacher --num-microbatches-with-partial-activation-checkpoints --num-moe-experts --num-query-groups
--num-speculative-tokens --num-virtual-stages-per-pipeline-rank --num-workers --object-storage-cache-path
--offload-modules --one-logger-entity --one-logger-project --one-logger-run-name --onnx-safe --optimizer
--optimizer-offload-fraction --otel-service-name --otel-span-groups --outer-dp-sharding-strategy
--output-layer-init-method --output-logit-dtype --override-ckpt-iteration --padded-vocab-size --param-sync-func
--params-dtype --patch-dim --per-dataset-sequences-path --per-split-data-args-path --persistent-save-interval
--phase-transition-iterations --pipeline-dtype --pipeline-model-parallel-comm-backend
--pipeline-model-parallel-layout --pipeline-model-parallel-size --pipeline-model-parallel-split-rank
--position-embedding-type --pretrained-checkpoint --profile-ranks --profile-step-end --profile-step-start
--profile_steps --q-lora-rank --qk-clip-alpha --qk-clip-threshold --qk-head-dim --qk-pos-emb-head-dim
--quant-recipe --query-in-block-prob --rampup-batch-size --recompute-granularity --recompute-method
--recompute-modules --recompute-num-layers --refit-method --relative-attention-max-distance
--relative-attention-num-buckets --remote-device --replication-factor --replication-jump --rerun-mode
--result-rejected-tracker-filename --retriever-report-topk-accuracies --retriever-seq-length
--retro-attention-gate --retro-cyclic-train-iters --retro-encoder-attention-dropout
--retro-encoder-hidden-dropout --retro-encoder-layers --retro-num-neighbors --retro-num-retrieved-chunks
--retro-project-dir --retro-workdir --rl-calculate-intra-group-similarity --rl-consumption-granularity
--rl-default-temperature --rl-default-top-k --rl-default-top-p --rl-generation-lag
--rl-importance-sampling-truncation-coef --rl-inference-expert-model-parallel-size
--rl-inference-expert-tensor-model-parallel-size --rl-inference-logprobs-is-correction
--rl-inference-model-unified-memory-level --rl-inference-parsers --rl-inference-pipeline-model-parallel-size
--rl-inference-tensor-model-parallel-size --rl-kv-cache-management-mode --rl-max-inflight-requests
--rl-offload-inference-model-weights-when-idle --rl-offload-kv-cache-during-training --rl-partial-rollouts
--rl-persist-cuda-graphs --rl-profile-dir --rl-prompts-per-eval --rl-remove-kv-cache-during-training
--rl-reset-cuda-graphs --rl-rollout-bank-dir --rl-rollout-bank-max-bytes --rl-sequence-packing-algo
--rl-sequence-packing-bin-size --rl-sequence-packing-max-sequences-per-bin --rl-skip-bos-token
--rl-submission-granularity --rl-training-cuda-graphs --rl-use-sequence-packing --rl-verify-model-weights-swap
--rope-scaling-factor --rope-type --rotary-base --rotary-percent --rotary-position-embeddings-theta
--rotary-scaling-factor --rotary-seq-len-interpolation-factor --sample-rate --save --save-activations-interval
--save-dgrads-interval --save-interval --save-params-interval --save-retain-interval
--save-tokens-per-expert-interval --save-wgrads-interval --seed --seq-length --sft-tokenizer-prompt-format
--sgd-momentum --sharp-enabled-group --short-seq-prob --softmax-scale --softmax-type --spec --split
--start-eval-at-iter --start-weight-decay --step-batch-size-schedule --straggler-ctrlr-port
--straggler-minmax-count --suggested-communication-unit-size --swin-backbone-type --symmetric-ar-type
--te-precision-config-file --tensor-model-parallel-size --tensor-parallel-num-weight-shards --tensorboard-dir
--tensorboard-log-interval --tensorboard-queue-size --test-data-path --tiktoken-num-special-tokens
--tiktoken-pattern --tiktoken-special-tokens --tile-factor --timers --timing-log-level --timing-log-option
--titles-data-path --tokenizer-metadata --tokenizer-model --tokenizer-special-tokens --tokenizer-type --topk
--tp-comm-bootstrap-backend --tp-comm-overlap-cfg --train-data-exact-num-epochs --train-data-path
--train-desc-path --train-doc-idx-path --train-idx-path --train-iters --train-sample-idx-path --train-samples
--train-shuffle-idx-path --train-sync-interval --train-tokens --transformer-impl --use-dataset-only --v-head-dim
--valid-data-path --validation-set-names --virtual-pipeline-model-parallel-size --vision-backbone-type
--vision-pretraining-type --vocab-extra-ids --vocab-file --vocab-size --wandb-entity --wandb-exp-name
--wandb-project --wandb-save-dir --warmup --weight-decay --weight-decay-incr-style --wgrad-deferral-limit
--window-attn-skip-freq --window-size --yaml-cfg --yarn-beta-fast --yarn-beta-slow
--yarn-original-max-position-embeddings --zero-allgather-bucket-size --zero-reduce-bucket-size --zero-stage
""".split())

# bigscience-workshop/Megatron-DeepSpeed 8387ae1 megatron/arguments.py, the add_arguments none of the above has.
_BIGSCIENCE_SWITCHES = frozenset("""
--abort-on-unmet-fused-kernel-constraints --embed-layernorm --loss-on-targets-only
--reweight-loss-based-on-position-frequency --sync-tp-duplicated-parameters --use-bnb-optimizer
--use-contiguous-buffers-in-ddp
""".split())
_BIGSCIENCE_VALUED = frozenset("""
--codecarbon-dir --eval-only --glu-activation --kill-switch-path --log-level --log-level-replica --log-path
--mean-noise-span-length --noise-density --pad-vocab-size-to --pp-partition-method --skip-train-iteration-range
--test-weighted-split-paths --test-weighted-split-paths-path --tokenizer-name-or-path --train-weighted-split-paths
--train-weighted-split-paths-path --valid-num-workers --valid-weighted-split-paths --valid-weighted-split-paths-path
""".split())
# The LLM-jp / Swallow forks of Megatron-DeepSpeed (llm-jp/Megatron-DeepSpeed branches feature/fujii/abci,
# llmjp0/dev and hpc/fujii/new-mds; okoge-kaz/megatron-deepspeed-turing-techblog; kojimano/Megatron-DeepSpeed-ABCI),
# megatron/arguments.py, the add_arguments none of the above has (held-out review 48, B 02-03: `--use-mpi`).
_LLMJP_SWITCHES = frozenset(("--use-mpi", "--use-relu"))
_LLMJP_VALUED = frozenset(("--wandb-id", "--wandb-name"))
# The `add_argument`s of NVIDIA/Megatron-LM v1.0 (2020-03), v2.0 (2021-01) and v2.5 (2021-08) that v2.6 no longer
# has (held-out review 120, D 20: a January 2021 fork's `--no-scaled-masked-softmax-fusion`, "most likely a fork's").
_EARLY_SWITCHES = frozenset(("--faiss-use-gpu", "--fp32-allreduce", "--no-scaled-masked-softmax-fusion"))
_EARLY_VALUED = frozenset(("--min-scale", "--report-topk-accuracies", "--scaled-upper-triang-masked-softmax-fusion"))
# The negations argparse adds to the `action=argparse.BooleanOptionalAction` flags of 0.12-d98e8a6 (the RL and
# inference switches: `--no-rl-use-sequence-packing`; held-out review 124, D 18 "not a key of any version").
_NEGATED_SWITCHES = frozenset(f"--no-{flag}" for flag in """
inference-disable-ep-consensus inference-dynamic-batching-prefix-caching inference-text-gen-server-logging
inference-use-synchronous-zmq-collectives inference-wandb-logging langrl-external-server
rl-calculate-intra-group-similarity rl-inference-logprobs-is-correction rl-offload-inference-model-weights-when-idle
rl-offload-kv-cache-during-training rl-partial-rollouts rl-persist-cuda-graphs rl-remove-kv-cache-during-training
rl-reset-cuda-graphs rl-skip-bos-token rl-training-cuda-graphs rl-use-sequence-packing rl-verify-model-weights-swap
""".split())
SWITCHES = SWITCHES | _BIGSCIENCE_SWITCHES | _LLMJP_SWITCHES | _EARLY_SWITCHES | _NEGATED_SWITCHES
VALUED = VALUED | _BIGSCIENCE_VALUED | _LLMJP_VALUED | _EARLY_VALUED

KNOWN_FLAGS = SWITCHES | VALUED
