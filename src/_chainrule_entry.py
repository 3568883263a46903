"""The ``chainrule`` command's entry point.

It lives outside the package so that it runs before the package is imported: a Ctrl-C while
NumPy and chainrule are still being imported (about half a second) is held back until the
import is done (an interrupted import of NumPy's C extensions fails with a misleading
ImportError), and then ends the command as a Ctrl-C does later: one line, exit code 130.
"""

import signal
import sys


def main() -> None:
    pressed = []
    hold = signal.getsignal(signal.SIGINT) is signal.default_int_handler
    if hold:
        signal.signal(signal.SIGINT, lambda *_: pressed.append(True))
    try:
        from chainrule.cli import main as command
    finally:
        if hold:
            signal.signal(signal.SIGINT, signal.default_int_handler)
    if pressed:
        sys.stderr.write("interrupted\n")
        raise SystemExit(130)
    command(prog_name="chainrule")
