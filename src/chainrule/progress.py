"""A progress bar for training, as a :class:`~chainrule.callbacks.Callback`.

Uses `rich <https://rich.readthedocs.io>`_ when installed (``pip install chainrule[progress]``),
else ``tqdm`` when installed, else shows nothing. :func:`progress_bar` only makes a bar for an
interactive terminal, so redirected output, logs and ``--json`` stay clean.
"""

from __future__ import annotations

import sys
from typing import IO, TYPE_CHECKING

from .callbacks import Callback

if TYPE_CHECKING:
    from .training import Training


class ProgressBar(Callback):
    """Show epoch, loss and validation loss after every epoch, on ``stream`` (stderr).

    Parameters
    ----------
    total : int, optional
        Epochs planned; ``None`` (training until it converges) shows a running count.
    stream : file, optional
        Where to draw; ``sys.stderr`` by default.
    backend : {"rich", "tqdm"}, optional
        Which library draws the bar; by default the first installed one. ``ImportError`` when
        neither is installed.
    """

    def __init__(self, total: int | None = None, stream: IO[str] | None = None,
                 backend: str | None = None) -> None:
        self.total = total
        self.stream = stream if stream is not None else sys.stderr
        self.backend = backend or available_backend()
        if self.backend is None:
            raise ImportError("a progress bar needs rich or tqdm: pip install chainrule[progress]")
        self._bar = None

    def on_train_begin(self, training: Training) -> None:
        if self.backend == "rich":
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
            )

            self._bar = Progress(TextColumn("epoch"), MofNCompleteColumn(), BarColumn(),
                                 TextColumn("{task.fields[losses]}"), TimeElapsedColumn(),
                                 console=Console(file=self.stream), transient=True)
            self._bar.start()
            self._task = self._bar.add_task("train", total=self.total, losses="")
        else:
            from tqdm import tqdm

            self._bar = tqdm(total=self.total, file=self.stream, unit="epoch", leave=False)

    def on_epoch_end(self, training: Training, epoch: int, logs: dict[str, float]) -> None:
        text = format_logs(logs)
        if self.backend == "rich":
            self._bar.update(self._task, completed=epoch + 1, losses=text)
        else:
            self._bar.set_postfix_str(text, refresh=False)
            self._bar.update(1)

    def on_train_end(self, training: Training) -> None:
        if self._bar is not None:
            (self._bar.stop if self.backend == "rich" else self._bar.close)()
            self._bar = None


def format_logs(logs: dict[str, float]) -> str:
    """``loss 0.1234  val_loss 0.2345``."""
    return "  ".join(f"{key} {value:.4g}" for key, value in logs.items())


def available_backend() -> str | None:
    """``"rich"`` or ``"tqdm"``, whichever is installed first, else ``None``."""
    import importlib.util

    for name in ("rich", "tqdm"):
        if importlib.util.find_spec(name) is not None:
            return name
    return None


def progress_bar(total: int | None = None, enabled: bool = True,
                 stream: IO[str] | None = None) -> ProgressBar | None:
    """A :class:`ProgressBar` when ``enabled``, ``stream`` is a terminal and rich/tqdm exist."""
    stream = stream if stream is not None else sys.stderr
    if not enabled or available_backend() is None:
        return None
    try:
        interactive = stream.isatty()
    except (AttributeError, ValueError):
        return None
    return ProgressBar(total, stream) if interactive else None
