"""`check --fix` / `--diff`: rules attach key edits to findings (`pretrain_doctor.rule.Fix`);
`resolve` ties them to the file's keys during `check`; `runner` applies them with the
round-trip editors of `editors`. Nothing is imported here: `check` loads `resolve` alone."""
