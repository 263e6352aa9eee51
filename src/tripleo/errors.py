"""The one error tree of tripleo.

::

    TripleoError                  root: everything tripleo raises on purpose
    ├── InputError                bad input from the operator (exit code 2, nothing changed)
    │   ├── TemplateError         a template, environment or parameter is wrong (file + YAML path)
    │   └── UsageError            bad command-line arguments
    └── OperationError            a run failed (exit code 1)

Every error carries the file and the YAML path (dotted, as Heat prints them) where known, and renders as
one line: ``file: path: message``.
"""

from __future__ import annotations

__all__ = ["InputError", "OperationError", "TemplateError", "TripleoError", "UsageError"]


class TripleoError(Exception):
    """Root of every error tripleo raises on purpose.

    :param message: what went wrong and what was expected.
    :param file: the file at fault, as the operator named it (relative paths stay relative).
    :param path: the dotted YAML path inside that file, e.g. ``resources.Foo.properties.bar``.
    """

    exit_code = 1

    def __init__(self, message: str, *, file: str | None = None, path: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.file = file
        self.path = path

    def __str__(self) -> str:
        parts = [p for p in (self.file, self.path) if p]
        text = " ".join(self.message.split())
        return ": ".join([*parts, text])


class InputError(TripleoError):
    """Bad operator input: templates, environments, node files, arguments. Changes no state."""

    exit_code = 2


class TemplateError(InputError):
    """A template, environment or parameter value is invalid."""


class UsageError(InputError):
    """Bad command-line arguments."""


class OperationError(TripleoError):
    """An operation ran and failed."""
