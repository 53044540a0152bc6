"""Trainer integrations of the runtime monitor.

Each module imports its framework, so import the one you use:
`pretrain_doctor.integrations.hf` (transformers `Trainer`) or
`pretrain_doctor.integrations.lightning` (Lightning `Trainer`).
"""
