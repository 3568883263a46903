"""``python -m chainrule``: the command line."""

from .cli import main

main(prog_name="chainrule")
