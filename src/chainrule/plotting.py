"""Pictures of training: loss curves, decision boundaries, gradient norms per layer.

Needs matplotlib (``pip install chainrule[plot]``). Figures are drawn with matplotlib's Agg
canvas directly (no pyplot, no change to the global backend) and saved as PNG files of a fixed
size: ``PANEL_INCHES`` per panel at ``DPI``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from .data import Model
    from .training import History

DPI = 100
PANEL_INCHES = (6.0, 4.5)  # one panel: 600 x 450 pixels
GRID = 200  # decision-boundary grid points per axis
INSTALL = "plots need matplotlib: pip install chainrule[plot]"


def require_matplotlib() -> None:
    """Raise ``ImportError`` with the install command when matplotlib is missing."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise ImportError(INSTALL) from None


def _figure(panels: int):
    require_matplotlib()
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    width, height = PANEL_INCHES
    fig = Figure(figsize=(width * panels, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig, fig.subplots(1, panels, squeeze=False)[0]


def _save(fig, path: str | os.PathLike) -> tuple[int, int]:
    from .io import atomic_write

    atomic_write(path, lambda f: fig.savefig(f, format="png", dpi=DPI))
    width, height = fig.get_size_inches() * DPI
    return round(width), round(height)


def plot_training(path: str | os.PathLike, history: History, model: Model | None = None,
                  X: np.ndarray | None = None, y: np.ndarray | None = None,
                  title: str = "") -> tuple[int, int]:
    """Save the loss curves, and beside them the decision boundary for 2-D inputs.

    Parameters
    ----------
    path : str or path
        PNG file to write.
    history : History
        ``loss`` and ``val_loss`` per epoch are drawn (log scale when all positive).
    model, X, y : optional
        A trained :class:`~chainrule.data.Model` and its raw data: with two input columns, a
        second panel shows the model's output over the plane and the data points on it.

    Returns
    -------
    (width, height) of the image in pixels.
    """
    boundary = model is not None and X is not None and np.asarray(X).ndim == 2 and (
        np.asarray(X).shape[1] == 2)
    fig, axes = _figure(2 if boundary else 1)
    _loss_curves(axes[0], history)
    if boundary:
        _decision_boundary(axes[1], model, np.asarray(X, dtype=float), y)
    if title:
        fig.suptitle(title)
    return _save(fig, path)


def plot_gradient_norms(path: str | os.PathLike, history: History,
                        title: str = "") -> tuple[int, int]:
    """Save ``||dW||`` of every layer per epoch (``history.gradient_norms``), log scale.

    Vanishing gradients show up as the first layers' curves lying decades below the last one's;
    exploding ones as curves that climb.
    """
    fig, (ax,) = _figure(1)
    norms = np.array(history.gradient_norms, dtype=float)
    if norms.size:
        epochs = np.arange(1, len(norms) + 1)
        for layer in range(norms.shape[1]):
            ax.plot(epochs, norms[:, layer], label=f"layer {layer + 1}")
        if np.all(norms > 0):
            ax.set_yscale("log")
        ax.legend()
    else:
        ax.text(0.5, 0.5, "no epochs recorded", ha="center", transform=ax.transAxes)
    ax.set_xlabel("epoch")
    ax.set_ylabel("gradient norm ||dW||")
    ax.set_title(title or "gradient norm per layer")
    return _save(fig, path)


def _loss_curves(ax, history: History) -> None:
    curves: Sequence[tuple[str, list[float]]] = [("train", history.loss),
                                                 ("validation", history.val_loss)]
    drawn = [(label, np.asarray(values)) for label, values in curves if len(values)]
    for label, values in drawn:
        ax.plot(np.arange(1, len(values) + 1), values, label=label)
    if drawn and all(np.all(values > 0) for _, values in drawn):
        ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.set_title(f"loss ({history.epochs} epochs, {history.stopped_because or 'not trained'})")
    if drawn:
        ax.legend()


def _decision_boundary(ax, model: Model, X: np.ndarray, y: Any) -> None:
    low, high = X.min(axis=0), X.max(axis=0)
    margin = 0.05 * np.maximum(high - low, 1e-9)
    u = np.linspace(low[0] - margin[0], high[0] + margin[0], GRID)
    v = np.linspace(low[1] - margin[1], high[1] + margin[1], GRID)
    U, V = np.meshgrid(u, v)
    plane = np.column_stack([U.ravel(), V.ravel()])
    names = model.feature_names or ["x0", "x1"]
    if model.task == "classification":
        proba = model.predict_proba(plane)
        k = proba.shape[1]
        if k == 2:
            surface = ax.contourf(U, V, proba[:, 1].reshape(U.shape), levels=np.linspace(0, 1, 11),
                                  cmap="RdBu_r", alpha=0.6)
            ax.contour(U, V, proba[:, 1].reshape(U.shape), levels=[0.5], colors="k")
            ax.figure.colorbar(surface, ax=ax, label=f"P({model.classes[1]})")
        else:
            ax.contourf(U, V, proba.argmax(axis=1).reshape(U.shape), levels=np.arange(k + 1) - 0.5,
                        cmap="tab10", vmin=0, vmax=9, alpha=0.35)
        if y is not None:
            from .data import encode_labels

            index = encode_labels(y, model.classes)
            for c, label in enumerate(model.classes):
                rows = index == c
                color = ("tab:blue", "tab:red")[c] if k == 2 else f"C{c}"
                ax.scatter(X[rows, 0], X[rows, 1], s=14, color=color, edgecolors="k",
                           linewidths=0.4, label=str(label))
            ax.legend(loc="best", fontsize="small")
        ax.set_title("decision boundary")
    else:
        out = np.asarray(model.predict(plane), dtype=float).reshape(-1, GRID * GRID)[0]
        surface = ax.contourf(U, V, out.reshape(U.shape), levels=20, cmap="viridis", alpha=0.7)
        ax.figure.colorbar(surface, ax=ax, label=model.target or "prediction")
        if y is not None:
            ax.scatter(X[:, 0], X[:, 1], c=np.asarray(y, dtype=float), cmap="viridis",
                       norm=surface.norm, s=14, edgecolors="k", linewidths=0.4)
        ax.set_title("prediction surface")
    ax.set_xlabel(names[0])
    ax.set_ylabel(names[1])
