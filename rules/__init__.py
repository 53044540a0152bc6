"""Built-in static rules, one module per rule.

Shipped as `pretrain_doctor.builtin_rules` and registered through the same
`pretrain_doctor.rules` entry point that third-party plugins use.
"""
