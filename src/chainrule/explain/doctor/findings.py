"""What the doctor says: a :class:`Finding` per problem, and the table they print as."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from dataclasses import dataclass

SEVERITIES = ("error", "warning", "info")
RANK = {s: i for i, s in enumerate(SEVERITIES)}


@dataclass(frozen=True)
class Finding:
    """One thing :func:`~chainrule.explain.diagnose` found.

    Attributes
    ----------
    code : str
        Stable identifier, e.g. ``"symmetric-units"`` (see :data:`CODES`).
    severity : {"error", "warning", "info"}
        ``error``: the network cannot learn like this; ``warning``: it learns badly, only by
        luck, or memorises; ``info``: worth knowing.
    message : str
        What was found, in plain language, with the numbers that triggered it.
    hint : str
        A concrete fix, in Python or as command-line flags (whichever the caller speaks).
    """

    code: str
    severity: str
    message: str
    hint: str

    def __post_init__(self) -> None:
        if self.severity not in SEVERITIES:
            raise ValueError(f"severity must be one of {SEVERITIES}, got {self.severity!r}")

    def __str__(self) -> str:
        return f"{self.severity}: {self.code}: {self.message} Fix: {self.hint}"


def format_findings(findings: Sequence[Finding], width: int = 100) -> str:
    """The findings as a text table: severity, code, and the message with its fix below it.

    Parameters
    ----------
    findings : sequence of Finding
    width : int
        Line width the message column is wrapped to.

    Returns
    -------
    str
        The table, and a last line counting errors, warnings and infos.
    """
    if not findings:
        return "No findings."
    sev = max(len("severity"), *(len(f.severity) for f in findings))
    code = max(len("code"), *(len(f.code) for f in findings))
    indent = " " * (sev + code + 4)
    text_width = max(30, width - len(indent))
    lines = [f"{'severity'.ljust(sev)}  {'code'.ljust(code)}  message / fix"]
    for f in findings:
        message = textwrap.wrap(f.message, text_width) or [""]
        hint = textwrap.wrap("fix: " + f.hint, text_width)
        lines.append(f"{f.severity.ljust(sev)}  {f.code.ljust(code)}  {message[0]}")
        lines += [indent + line for line in message[1:] + hint]
    counts = {s: sum(f.severity == s for f in findings) for s in SEVERITIES}
    lines.append(", ".join(f"{k} {s}{'s' if k != 1 else ''}" for s, k in counts.items()))
    return "\n".join(lines)
