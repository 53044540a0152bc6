"""Errors the tool reports to users (exit code 2), never as a traceback."""

from __future__ import annotations


class DoctorError(Exception):
    """Base class for every error that is the user's input, not our bug."""


class ConfigError(DoctorError):
    """A config file that cannot be read or makes no sense.

    Carries the file and line so the CLI can print one precise line.
    """

    def __init__(self, message: str, file: str | None = None, line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.file = file
        self.line = line

    def __str__(self) -> str:
        where = self.file or "<input>"
        if self.line is not None:
            where = f"{where}:{self.line}"
        return f"{where}: {self.message}"


class NotAConfigError(ConfigError):
    """A file that reads as data but not as a mapping of settings (a JSON list of schedule events): found in a
    folder it is no training config, named on the command line it is an error."""


class UsageError(DoctorError):
    """Bad command-line arguments or settings (unknown rule code, bad flag value)."""
