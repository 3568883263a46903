"""The ``chainrule`` command line."""

from __future__ import annotations

import sys

import click

from . import __version__
from .datasets import PROBLEMS


class UserError(click.ClickException):
    """A problem with the user's input: one line on stderr, exit code 2."""

    exit_code = 2


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="chainrule")
def main() -> None:
    """Train feed-forward neural networks by backpropagation, and find out why they don't learn."""


@main.command()
@click.argument("problems", nargs=-1, type=click.Choice(list(PROBLEMS)))
@click.option("--seed", default=0, show_default=True, help="Seed for the initial weights.")
def demo(problems: tuple[str, ...], seed: int) -> None:
    """Train the problems from our users' questions with default settings.

    \b
    Examples:
      chainrule demo            # every problem
      chainrule demo xor        # one problem
    """
    from .demo import format_result, run_all

    results = run_all(list(problems) or None, seed=seed)
    for result in results:
        click.echo(format_result(result) + "\n")
    learned = sum(r.learned for r in results)
    total = sum(r.seconds for r in results)
    click.echo(f"{learned}/{len(results)} problems learned in {total:.2f} s")
    if learned < len(results):
        sys.exit(1)
