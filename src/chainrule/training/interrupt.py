"""Ctrl-C during ``fit``: training stops, the best weights so far are kept, the interrupt is
raised again (with the History as its ``history`` attribute)."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class Interrupt:
    """Catches a ``KeyboardInterrupt`` (Ctrl-C) in the training loop, so that ``fit`` can keep
    the best weights so far before raising it again (``error``); :meth:`deferred` holds a
    Ctrl-C back while the kept weights are chosen and written."""

    def __init__(self) -> None:
        self.error: KeyboardInterrupt | None = None

    def __enter__(self) -> Interrupt:
        return self

    def __exit__(self, kind, error, traceback) -> bool:
        if kind is not None and issubclass(kind, KeyboardInterrupt):
            self.error = error
            return True
        return False

    @contextmanager
    def deferred(self) -> Iterator[None]:
        """A Ctrl-C during the block is raised (as ``error``) only after it; a second one at
        once."""
        if (threading.current_thread() is not threading.main_thread()
                or signal.getsignal(signal.SIGINT) is not signal.default_int_handler):
            yield  # only the main thread receives SIGINT, and only this handler raises
            return
        pressed = []

        def hold(*_) -> None:
            if pressed:  # pressed twice: the user insists
                raise KeyboardInterrupt
            pressed.append(True)

        previous = signal.signal(signal.SIGINT, hold)
        try:
            yield
        finally:
            signal.signal(signal.SIGINT, previous)
        if pressed and self.error is None:
            self.error = KeyboardInterrupt()
