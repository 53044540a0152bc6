"""Built-in static rules, one module per rule.

Shipped as `pretrain_doctor.builtin_rules` and imported directly by the registry;
third-party plugins register under the `pretrain_doctor.rules` entry-point group.
"""
