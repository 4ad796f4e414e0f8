"""One error hierarchy for learnexport.

Every error knows where it is: a file with line and column (from YAML node marks or
the JSON decoder), the policy rule it concerns, and the path into the document. It
renders as one parsable paragraph::

    policies/x.yaml:12:5: rule "task-ids": unknown option "lenght" (did you mean "length"?)

The command line maps each class to its exit code; nothing else decides exit codes.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass

INTERRUPTED = "interrupted; nothing was written"  # said on Ctrl-C, wherever it lands


@dataclass(frozen=True)
class Location:
    """A place in a file; line and column are 1-based, as editors show them."""

    file: str
    line: int | None = None
    column: int | None = None

    def __str__(self) -> str:
        parts = [self.file]
        if self.line is not None:
            parts.append(str(self.line))
            if self.column is not None:
                parts.append(str(self.column))
        return ":".join(parts)


class LearnexportError(Exception):
    """Base of every error learnexport reports to a person."""

    exit_code = 1

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        location: Location | None = None,
        rule: str | None = None,
        path: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.location = location
        self.rule = rule
        self.path = path

    def render(self) -> str:
        """The one-paragraph form: ``file:line:col: rule "id": at path: message. hint``."""
        head = []
        if self.location is not None:
            head.append(str(self.location))
        if self.rule is not None:
            head.append(f'rule "{self.rule}"')
        if self.path is not None:
            head.append(f"at {self.path}")
        text = ": ".join([*head, self.message])
        if self.hint:
            text = f"{text.rstrip('.')}. {self.hint[:1].upper()}{self.hint[1:]}"
        return text

    def __str__(self) -> str:
        return self.render()


class PolicyError(LearnexportError):
    """The policy file is not a valid policy (syntax, schema, options, selectors)."""


class InputError(LearnexportError):
    """An input document or project file cannot be read or is not what it must be."""


class ApplyError(LearnexportError):
    """Applying the policy failed: an action met a value it cannot treat, or
    ``unmatched: error`` found uncovered paths."""


class OutputError(LearnexportError):
    """The result could not be written (permissions, disk full, a folder in the way)."""


class UsageError(LearnexportError):
    """The command was called wrongly, or consent was not given."""

    exit_code = 2


class SchemaCheckError(LearnexportError):
    """The result does not pass its cerberus schema. ``problems`` lists the failures shown
    (the first 50, then a line saying how many more); ``count``: how many there are."""

    exit_code = 3

    def __init__(self, message: str, problems: Iterable[str] = (), count: int | None = None,
                 **kwargs: object) -> None:
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        self.problems = list(problems)
        self.count = len(self.problems) if count is None else count

    def render(self) -> str:
        text = super().render()
        if self.problems:
            text += "\n" + "\n".join(f"  - {p}" for p in self.problems)
        return text


class LeakError(LearnexportError):
    """The leak check found a sensitive value in the output; nothing was written."""

    exit_code = 4

    def __init__(self, message: str, findings: Iterable[str] = (), **kwargs: object) -> None:
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        self.findings = list(findings)

    def render(self) -> str:
        text = super().render()
        if self.findings:
            text += "\n" + "\n".join(f"  - {f}" for f in self.findings)
        return text


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` when a close choice exists, else an empty string."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""
