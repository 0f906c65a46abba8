"""One exception hierarchy; the CLI maps each class to a message and an exit status."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Exit statuses of the `unseen` command, documented in the README."""

    OK = 0
    FAILURE = 1
    USAGE = 2
    BAD_INPUT = 3
    MODEL_UNAVAILABLE = 4
    VERIFICATION_FAILED = 5
    OUTPUT_FAILED = 6
    INTERRUPTED = 130


class UnseenError(Exception):
    """Base of every error unseen raises on purpose. The message says what to do."""

    exit_code: ExitCode = ExitCode.FAILURE


class ConfigError(UnseenError, ValueError):
    """An option or argument has a value unseen cannot use."""

    exit_code = ExitCode.USAGE


class InputFileError(UnseenError):
    """An input file is missing, unreadable, corrupt or of an unsupported kind."""

    exit_code = ExitCode.BAD_INPUT


class ModelUnavailableError(UnseenError):
    """A model's package (and so its weights) is not installed."""

    exit_code = ExitCode.MODEL_UNAVAILABLE


class VerificationFailedError(UnseenError):
    """A redacted output still shows a detectable or matchable face."""

    exit_code = ExitCode.VERIFICATION_FAILED


class OutputError(UnseenError):
    """An output could not be written (a full disk, a read-only or forbidden folder); what was
    written before stays, originals are untouched, and a rerun finishes the rest."""

    exit_code = ExitCode.OUTPUT_FAILED


class Interrupted(UnseenError):
    """The user stopped a run (Ctrl-C); what was finished is kept and a rerun resumes."""

    exit_code = ExitCode.INTERRUPTED


def unknown_choice(argument: str, value: object, valid: list[str] | tuple[str, ...]) -> ConfigError:
    """The error for a mode or model name that is not one of the valid ones."""
    return ConfigError(f"{argument}: unknown value {value!r}; choose one of: {', '.join(valid)}")
