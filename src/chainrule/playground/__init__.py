"""The playground: watch a network learn in the browser, with the worked numbers of backprop.

``chainrule playground xor`` starts a local web server (:mod:`.server`, the standard library's,
on 127.0.0.1 with a random token: :mod:`.security`), and the page shows the network, its
decision boundary or truth table, the losses, the gradient norms and the doctor's findings while
it trains, and the worked backward pass of one sample (:mod:`.worked`). Training runs on its own
thread through ``Network.fit`` and a callback (:mod:`.session`). The page itself is plain
HTML, CSS and JavaScript in ``static/``: no build step, nothing fetched from the network.

>>> from chainrule.playground import launch
>>> server = launch("xor")          # doctest: +SKIP
>>> server.start(); print(server.url)  # doctest: +SKIP
"""

from __future__ import annotations

from .problems import PlaygroundData, load_problem, problem_names
from .server import PlaygroundServer
from .session import Session
from .settings import Settings, SettingsError, default_settings, parse_settings
from .worked import WorkedPass, worked_pass

__all__ = ["PlaygroundData", "PlaygroundServer", "Session", "Settings", "SettingsError",
           "WorkedPass", "launch", "load_problem", "worked_pass"]


def launch(problem: str = "xor", *, target: str | None = None, columns: str | None = None,
           samples: int | None = None, noise: float | None = None, layers: str | None = None,
           activation: str | None = None, seed: int = 0, port: int = 0,
           token: str | None = None) -> PlaygroundServer:
    """Make the playground's server for ``problem`` (not yet serving: call ``serve_forever()``
    or ``start()``).

    Parameters
    ----------
    problem : str
        A question's problem (``xor``, ...), ``spirals``/``circles``/``moons``, a built-in data
        set, or a CSV/TSV/NPY/NPZ file (then ``target`` names its target column).
    target, columns, samples, noise
        See :func:`~chainrule.playground.problems.load_problem`.
    layers : str, optional
        Hidden layer sizes, ``"4,4"``; default: the problem's own.
    activation : str, optional
        Hidden activation; default: the problem's own (sigmoid for the questions' problems).
    seed : int
        Seed of the initial weights.
    port : int
        0 takes a free port.
    token : str, optional
        The secret in the address; a new random one by default.

    Raises
    ------
    ValueError
        For a bad problem, setting or port, with a message naming it.
    """
    data = load_problem(problem, target=target, columns=columns, samples=samples, noise=noise)
    chosen = {"seed": seed}
    if layers is not None:
        chosen["layers"] = layers
    if activation is not None:
        chosen["activation"] = activation
    try:
        settings = parse_settings(chosen, default_settings(data), data)
    except SettingsError as error:
        raise ValueError(f"--{error.field.replace('_', '-')}: {error}") from None

    def loader(name: str) -> PlaygroundData:
        return data if name == data.name else load_problem(name)

    session = Session(data, settings, loader, problem_names(data.name))
    try:
        return PlaygroundServer(session, port, token)
    except OSError as error:
        session.close()
        raise ValueError(f"cannot listen on 127.0.0.1:{port} ({error.strerror or error}); "
                         "choose another --port, or leave it out for a free one") from None
