from __future__ import annotations

from pretrain_doctor.rule import Rule


class UnusedSuppression(Rule):
    """An inline suppression comment suppresses nothing.

    ## What it does
    After every rule has run, looks at each `# pretrain-doctor: ignore[...]` and
    `# pretrain-doctor: ignore-file[...]` comment and reports the codes in it that
    matched no finding on their line (or the line below) or in the file.

    ## Why is this bad?
    A stale suppression hides nothing today but will silently hide a real problem
    tomorrow, when someone edits that line. It also documents a problem that no
    longer exists, which misleads readers of the config.

    ## Example
    ```yaml
    learning_rate: 3.0e-4  # pretrain-doctor: ignore[PD101]
    ```
    (when PD101 does not fire on that line)

    ## Use instead
    ```yaml
    learning_rate: 3.0e-4
    ```

    ## References
    - ruff's RUF100 (unused-noqa): https://docs.astral.sh/ruff/rules/unused-noqa/
    """

    code = "PD001"
    slug = "unused-suppression"
    severity = "info"

    def check_suppressions(self, unused_or_partly, file):
        for sup in unused_or_partly:
            stale = [code for code in sup.codes if code not in sup.used]
            if not stale:
                continue
            kind = "ignore-file" if sup.file_wide else "ignore"
            yield self.finding_at(
                f"`{kind}[{', '.join(stale)}]` suppresses nothing",
                file=file, line=sup.line, column=sup.column,
                hint="remove the stale code(s) from the comment",
            )
