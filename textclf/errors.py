"""The errors textclf raises on purpose, and the exit code each maps to.

Every message is written for the person at the terminal: it names the file, line, column or key that is
wrong, what was received, what was expected, and what to do about it. ``cli.py`` prints the message
without a traceback and exits with ``exit_code``.

Exit codes: 0 ok, 1 internal error, 2 usage or config, 3 data, 4 model rejected, 5 out of a resource
(memory, disk), 6 training diverged, 130/143 interrupted (SIGINT/SIGTERM).
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_USAGE = 2
EXIT_DATA = 3
EXIT_MODEL = 4
EXIT_RESOURCE = 5
EXIT_DIVERGED = 6
EXIT_SIGINT = 130
EXIT_SIGTERM = 143


class TextclfError(Exception):
    """Base class: a problem the user can fix, reported without a traceback."""

    exit_code = EXIT_INTERNAL


class UsageError(TextclfError):
    """A bad command-line argument (exit 2)."""

    exit_code = EXIT_USAGE


class ConfigError(TextclfError):
    """One or more problems in a config file or ``--set`` override (exit 2).

    ``problems`` holds every problem found, so that a user fixes them all in one go.
    """

    exit_code = EXIT_USAGE

    def __init__(self, problems: list[str] | str, source: str | None = None):
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        self.source = source
        head = f"{source}: " if source else ""
        if len(self.problems) == 1:
            message = head + self.problems[0]
        else:
            lines = [f"{head}{len(self.problems)} problems in the config:"]
            lines += [f"  - {p}" for p in self.problems]
            message = "\n".join(lines)
        super().__init__(message)


class DataError(TextclfError):
    """A data file that cannot be used as it is (exit 3)."""

    exit_code = EXIT_DATA


class ModelRejected(TextclfError):
    """A run directory that is incomplete, tampered with or inconsistent (exit 4)."""

    exit_code = EXIT_MODEL


class ResourceError(TextclfError):
    """Out of memory or disk (exit 5)."""

    exit_code = EXIT_RESOURCE


class DivergedError(TextclfError):
    """The loss became NaN or infinite during training (exit 6)."""

    exit_code = EXIT_DIVERGED


class Interrupted(TextclfError):
    """Training was stopped by SIGINT or SIGTERM at a batch boundary (exit 130 or 143)."""

    def __init__(self, message: str, exit_code: int):
        super().__init__(message)
        self.exit_code = exit_code


class Terminated(BaseException):
    """SIGTERM arrived while a command ran (exit 143).

    A BaseException, like KeyboardInterrupt, so that no ``except Exception`` swallows it on the way out, while
    every ``finally`` and cleanup handler (temporary files) still runs.
    """


def closest(value: str, choices, cutoff: float = 0.6) -> str | None:
    """The choice ``value`` most likely meant, for a "did you mean": the same text but for case and surrounding
    spaces first, then the closest spelling (difflib, ``cutoff``); None when nothing is close."""
    import difflib

    choices = [str(c) for c in choices]
    folded = str(value).strip().casefold()
    same = [c for c in choices if c.strip().casefold() == folded]
    if same:
        return same[0]
    close = difflib.get_close_matches(folded, [c.casefold() for c in choices], n=1, cutoff=cutoff)
    return next((c for c in choices if c.casefold() == close[0]), None) if close else None
