"""The ``chainrule`` command line.

Every problem with the user's input (a missing file or column, a non-numeric feature, a corrupt
model, a bad option) ends with one line on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import functools
import json
import math
import os
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from . import __version__
from .datasets import PROBLEMS

PLOT_PROBE_EPOCHS = 200  # epochs of the probe whose gradient norms `doctor --plot` draws
WEIGHT_DECAY_ROWS = 3.0  # train's default L2 penalty: this / training rows (README)
REFIT = False  # train's default for --refit (see README, "Generalisation")


class UserError(click.ClickException):
    """A problem with the user's input: one line on stderr, exit code 2."""

    exit_code = 2

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(str(message).split()))


class Interrupted(click.ClickException):
    """Ctrl-C: one line on stderr (what was kept, if anything), exit code 130."""

    exit_code = 130

    def show(self, file=None) -> None:
        click.echo(self.message, err=True)


class _OneLineUsage:
    """Turn click's usage errors (bad option, missing argument) into one-line ``UserError``."""

    def make_context(self, info_name, args, parent=None, **extra):
        try:
            return super().make_context(info_name, args, parent=parent, **extra)
        except click.exceptions.NoArgsIsHelpError:
            raise
        except click.UsageError as error:
            command = f"chainrule {info_name}" if parent else "chainrule"
            raise UserError(f"{error.format_message()} (see `{command} --help`)") from None


class Command(_OneLineUsage, click.Command):
    pass


class Group(_OneLineUsage, click.Group):
    command_class = Command

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            raise Interrupted("interrupted") from None

    def resolve_command(self, ctx, args):
        try:
            return super().resolve_command(ctx, args)
        except click.UsageError as error:
            raise UserError(f"{error.format_message()} (see `chainrule --help`)") from None


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="chainrule")
def main() -> None:
    """Train feed-forward neural networks by backpropagation, and find out why they don't learn.

    \b
    Examples:
      chainrule datasets                              # the built-in data sets
      chainrule train spirals --layers 16,16 --plot spirals.png
      chainrule train data.csv --target species --out iris.chainrule
      chainrule predict iris.chainrule new.csv --out predictions.csv
      chainrule evaluate iris.chainrule test.csv --target species
      chainrule doctor data.csv --target price
      chainrule gradcheck mynet.py:loss_fn mynet.py:grad_fn mynet.py:params
    """


@main.command()
@click.argument("problems", nargs=-1, type=click.Choice(list(PROBLEMS)))
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True,
              help="Seed for the initial weights.")
def demo(problems: tuple[str, ...], seed: int) -> None:
    """Train the problems from our users' questions with default settings.

    \b
    Examples:
      chainrule demo            # every problem
      chainrule demo xor        # one problem
    """
    from .demo import engine_ready, format_result, run_all

    ready = engine_ready()
    if ready > 1.0:
        click.echo(f"(compiled the training engine in {ready:.1f} s: once, it is kept on disk)\n")
    results = run_all(list(problems) or None, seed=seed)
    for result in results:
        click.echo(format_result(result) + "\n")
    learned = sum(r.learned for r in results)
    total = sum(r.seconds for r in results)
    click.echo(f"{learned}/{len(results)} problems learned in {total:.2f} s")
    if learned < len(results):
        sys.exit(1)


# -- shared pieces -------------------------------------------------------------------------------
@main.command()
@click.argument("which", type=click.Choice(["learning", "classic", "restarts", "speed"]))
@click.option("--trials", type=click.IntRange(min=1), default=None,
              help="Seeds or trials per problem [default: 100; restarts: 1000].")
@click.option("--repeats", type=click.IntRange(min=1), default=5, show_default=True,
              help="Timed repeats per case (speed).")
def bench(which: str, trials: int | None, repeats: int) -> None:
    """Run a benchmark and print its table.

    \b
    learning  the questions' problems with default settings, success over seeds
    classic   XOR, 10-5-10 encoder, 8-bit parity, two spirals (40-20-40 criterion)
    restarts  XOR success over 1000 seeds, and the cost of copies trained together
    speed     chainrule beside a NumPy loop, PyTorch, scikit-learn (needs both), JAX and a
              Numba loop (when installed: pip install "chainrule[bench]")

    \b
    Examples:
      chainrule bench learning --trials 20
      chainrule bench classic
    """
    from . import bench as benchmarks

    if which == "learning":
        click.echo(benchmarks.format_learning(benchmarks.run_learning(trials or 100)))
    elif which == "classic":
        click.echo(benchmarks.format_classic(benchmarks.run_classic(trials or 100)))
    elif which == "restarts":
        click.echo(benchmarks.format_restarts(benchmarks.run_restarts(trials or 1000)))
    else:
        try:
            import sklearn  # noqa: F401
            import torch  # noqa: F401
        except ImportError:
            raise UserError("the speed benchmark needs PyTorch and scikit-learn: "
                            "pip install torch==2.13.0 scikit-learn") from None
        click.echo(benchmarks.format_speed(*benchmarks.run_speed(repeats)))
        click.echo("\n" + benchmarks.format_memory(benchmarks.run_memory()))


def user_errors(command: Callable) -> Callable:
    """Run a command body: bad input (ValueError, TypeError) becomes a one-line exit 2, and the
    library's warnings are shown as one ``warning:`` line each (none with ``--quiet``)."""

    @functools.wraps(command)
    def run(*args, **kwargs):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                result = command(*args, **kwargs)
            except (ValueError, TypeError) as error:
                raise UserError(str(error)) from None
            except OSError as error:  # a file that cannot be read or written
                where = f" ({error.filename})" if error.filename else ""
                raise UserError(f"{error.strerror or error}{where}") from None
            except MemoryError:
                raise UserError("out of memory; use a smaller network or batch, or fewer "
                                "rows") from None
            except SystemExit:  # doctor's and gradcheck's verdicts (an error: one line only)
                _echo_warnings(caught, kwargs.get("quiet"))
                raise
        _echo_warnings(caught, kwargs.get("quiet"))
        return result

    return run


def _echo_warnings(caught: list, quiet: bool) -> None:
    """One ``warning:`` line per distinct warning, in our words (NumPy's own floating-point
    warnings, "overflow encountered in ...", are said once, plainly)."""
    if quiet:
        return
    lines = []
    for w in caught:
        message = " ".join(str(w.message).split())
        if issubclass(w.category, RuntimeWarning) and "encountered in" in message:
            message = ("a computation overflowed or was undefined (values near the limits of "
                       "floating point?); scale the data")
        lines.append(message)
    for message in dict.fromkeys(lines):
        click.echo("warning: " + message, err=True)


def output_options(command: Callable) -> Callable:
    """``--quiet``, ``--verbose`` and ``--json``."""
    for decorator in reversed((
        click.option("-q", "--quiet", is_flag=True, help="Print nothing but errors."),
        click.option("-v", "--verbose", is_flag=True, help="Say more: progress lines, details."),
        click.option("--json", "as_json", is_flag=True,
                     help="Print the result as one JSON object (no progress bar)."),
    )):
        command = decorator(command)
    return command


def model_options(command: Callable) -> Callable:
    """The options that choose the network and how it is trained (train, doctor)."""
    for decorator in reversed((
        click.option("--target", "-t", metavar="COL",
                     help="Target column: a header name (CSV) or column index (NPY). Built-in "
                          "data sets have their own."),
        click.option("--task", type=click.Choice(["auto", "classification", "regression"]),
                     default="auto", show_default=True,
                     help="auto: text labels or a few distinct integers are classes."),
        click.option("--layers", default="16", show_default=True, metavar="N,N,...",
                     help="Hidden layer sizes, e.g. 16,8; 0 or '' for none."),
        click.option("--activation", default="tanh", show_default=True,
                     help="Hidden activation: sigmoid, tanh, relu, leaky_relu, elu, softplus, "
                          "identity."),
        click.option("--loss", type=click.Choice(["auto", "mse", "bce", "cross_entropy"]),
                     default="auto", show_default=True,
                     help="auto: bce for 2 classes, cross_entropy for more, mse for regression."),
        click.option("--epochs", type=click.IntRange(min=1),
                     help="Passes over the data [default: until converged]."),
        click.option("--batch-size", type=click.IntRange(min=1),
                     help="Samples per update [default: all]."),
        click.option("--optimizer", type=click.Choice(["auto", "sgd", "adam", "rmsprop", "rprop"]),
                     default="auto", show_default=True,
                     help="auto: Rprop for full batches, Adam for mini-batches."),
        click.option("--learning-rate", "--lr", type=click.FloatRange(min=0, min_open=True),
                     help="Step size [default: the optimizer's]."),
        click.option("--restarts", type=click.IntRange(min=1),
                     help="Copies trained together from different initial weights; the best "
                          "is kept [default: 16 for small problems, else 1]."),
        click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True,
                     help="Seed for the weights, the validation split and shuffling."),
        click.option("--validation", type=click.FloatRange(0, 1, max_open=True),
                     help="Fraction of rows held out for validation [default: 0.2, or none for "
                          "tables under 30 rows and truth tables; see README]."),
        click.option("--categorical", multiple=True, metavar="COL[,COL...]",
                     help="One-hot code these columns although they hold numbers (text and "
                          "true/false columns always are). Repeatable."),
        click.option("--drop", multiple=True, metavar="COL[,COL...]",
                     help="Do not use these columns. Repeatable."),
        click.option("--standardize/--no-standardize", default=True, show_default=True,
                     help="Scale inputs (and regression targets) to mean 0, std 1."),
        click.option("--dtype", type=click.Choice(["float64", "float32"]), default="float64",
                     show_default=True, help="Floating-point type of the network."),
    )):
        command = decorator(command)
    return command


def stopping_options(command: Callable) -> Callable:
    """How training generalises: stopping on held-out rows and weight decay (train, doctor)."""
    for decorator in reversed((
        click.option("--weight-decay", type=click.FloatRange(min=0),
                     help="L2 penalty on the weights [default: 3 / training rows, e.g. 0.01 for "
                          "300 rows, when rows are held out; else 0]."),
        click.option("--early-stopping/--no-early-stopping", default=True, show_default=True,
                     help="With held-out rows and no --epochs: stop where the validation loss "
                          "is lowest, and keep those weights."),
        click.option("--patience", type=click.IntRange(min=1),
                     help="Epochs without a lower validation loss before stopping [default: "
                          "10, or 100 updates' worth]."),
    )):
        command = decorator(command)
    return command


def _names(values: tuple[str, ...]) -> list[str]:
    """Column names from repeated and comma-separated options."""
    return [name.strip() for value in values for name in value.split(",") if name.strip()]


def _hidden_sizes(layers: str) -> list[int]:
    text = layers.replace(" ", "")
    if text in ("", "0"):
        return []
    try:
        sizes = [int(s) for s in text.split(",")]
    except ValueError:
        raise UserError(
            f"--layers must be comma-separated integers like 16,8, got {layers!r}") from None
    if min(sizes) < 1:
        raise UserError(f"--layers sizes must be positive, got {layers!r}")
    return sizes


def _finite(value: Any) -> Any:
    """``value`` with NaN/inf floats replaced by ``None`` throughout, for strict JSON."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    if hasattr(value, "item"):  # numpy scalars
        return _finite(value.item())
    return value


def _echo_json(value: Any) -> None:
    click.echo(json.dumps(_finite(value), indent=2))


def _echo_table(rows: list[tuple[str, str]]) -> None:
    width = max(len(key) for key, _ in rows)
    for key, value in rows:
        click.echo(f"{key:<{width}}  {value}")


def _check_plot(plot: str | None, inputs: tuple[str, ...] = ()) -> None:
    if plot is None:
        return
    from .plotting import INSTALL, require_matplotlib

    try:
        require_matplotlib()
    except ImportError:
        raise UserError(INSTALL) from None
    _check_output(plot, "--plot", inputs)


def _check_output(path: str | None, option: str, inputs: tuple[str, ...] = ()) -> None:
    """Refuse, before any work is done, an output file that cannot be written: a folder, a
    missing or read-only folder, something other than a regular file, or one of the inputs."""
    if path is None:
        return
    if not path.strip():
        raise UserError(f"{option} needs a file name, got {path!r}")
    if path.endswith(("/", os.sep)) or os.path.isdir(path):
        raise UserError(f"{option} {path} is a folder; give a file name inside it")
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise UserError(f"{option} {path}: the folder {directory} does not exist")
    if not os.access(directory, os.W_OK | os.X_OK):
        raise UserError(f"{option} {path}: the folder {directory} is not writable")
    if os.path.lexists(path) and not os.path.isfile(path):
        raise UserError(f"{option} {path} exists and is not a regular file")
    for name in inputs:
        if os.path.isfile(name) and os.path.isfile(path) and os.path.samefile(name, path):
            raise UserError(f"{option} {path} is the input {name}; it would be overwritten")


def _read(data: str, target: str | None, **kwargs):
    from .data import read_table
    from .datasets import is_dataset_name

    if target is None and not is_dataset_name(data) and "features" not in kwargs:
        raise UserError(f"--target COL is needed for the data file {data} (built-in data sets "
                        "have their own target)")
    return read_table(data, target, **kwargs)


def _prepare(data: str, options: dict[str, Any]):
    """Read ``data``, split off validation rows, build the untrained model: what train and
    doctor share. Returns ``(table, model, train_rows, validation_rows, notes)``, where
    ``notes`` holds the rows dropped for a missing target and the hold-out rule applied."""
    import numpy as np

    from .data import (
        build_model,
        check_classes,
        drop_missing_target,
        holdout,
        infer_task,
        split_rows,
        task_reason,
    )

    table, dropped = drop_missing_target(_read(data, options["target"]))
    fraction, rule = holdout(table, options["validation"])
    classes = options["task"] == "classification" or (
        options["task"] == "auto" and infer_task(table.target) == "classification")
    if classes:
        check_classes(table.target, table.target_name, fraction)
    train_rows, val_rows = split_rows(table.n_samples, fraction,
                                      np.random.default_rng(options["seed"]),
                                      strata=table.target if classes else None)
    model = build_model(table, options["task"], _hidden_sizes(options["layers"]),
                        options["activation"], options["loss"], options["seed"],
                        options["dtype"], options["standardize"], rows=train_rows,
                        categorical=_names(options["categorical"]),
                        drop=_names(options["drop"]))
    notes = {"target_rows_dropped": dropped,
             "task_reason": task_reason(table.target, options["task"]), "holdout": {
        "fraction": fraction, "rows": len(val_rows), "rule": rule}}
    return table, model, train_rows, val_rows, notes


def _train_settings(options: dict[str, Any], train_rows, val_rows) -> dict[str, Any]:
    """The ``fit`` arguments ``train`` uses (and ``doctor`` probes with): the user's, a weight
    decay of WEIGHT_DECAY_ROWS / rows when rows are held out (a prior for samples; a whole
    domain is memorised), and early stopping unless switched off. Sets
    ``options["weight_decay"]`` to the decay used."""
    if options["weight_decay"] is None:
        options["weight_decay"] = WEIGHT_DECAY_ROWS / len(train_rows) if len(val_rows) else 0.0
    fit_kwargs = _fit_kwargs(options)
    if not options["early_stopping"]:
        fit_kwargs["early_stopping"] = False
    return fit_kwargs


def _fit_kwargs(options: dict[str, Any]) -> dict[str, Any]:
    """The ``fit`` arguments the user chose (unset ones are left to ``fit``'s defaults)."""
    names = {"epochs": "epochs", "batch_size": "batch_size", "learning_rate": "learning_rate",
             "restarts": "restarts", "patience": "patience"}
    kwargs = {name: options[key] for key, name in names.items() if options.get(key) is not None}
    kwargs["optimizer"] = options["optimizer"]
    if options.get("weight_decay") is not None:
        kwargs["weight_decay"] = options["weight_decay"]
    return kwargs


def _describe_architecture(arch: dict[str, Any]) -> str:
    hidden = f"{arch['activations'][0]} hidden, " if arch["activations"] else ""
    return (f"{'-'.join(map(str, arch['sizes']))}  ({hidden}{arch['output_activation']} output, "
            f"loss {arch['loss']}, {arch['dtype']})")


def _score(metrics: dict[str, float] | None) -> str:
    if metrics is None:
        return "-"
    if "accuracy" in metrics:
        quality = f"accuracy {metrics['accuracy']:.4f}"
    else:
        quality = f"R^2 {metrics['r2']:.4f}" if math.isfinite(metrics["r2"]) else "R^2 -"
    return f"loss {metrics['loss']:<10.4g} {quality}   ({metrics['samples']} rows)"


def _task_text(model) -> str:
    if model.task == "classification":
        shown = ", ".join(map(str, model.classes[:10])) + (", ..." if len(model.classes) > 10
                                                           else "")
        return f"classification, {len(model.classes)} classes ({shown})"
    return "regression"


# -- train ---------------------------------------------------------------------------------------
@main.command()
@click.argument("data")
@model_options
@stopping_options
@click.option("--refit/--no-refit", default=REFIT, show_default=True,
              help="After early stopping, train again on all rows (training and held-out) for "
                   "the best number of epochs.")
@click.option("--out", "-o", metavar="FILE",
              help="Where to save the model [default: DATA's name + .chainrule].")
@click.option("--plot", metavar="PNG",
              help="Save loss curves (and, for 2 inputs, the decision boundary) as a PNG.")
@output_options
@user_errors
def train(data: str, out: str | None, plot: str | None, quiet: bool, verbose: bool,
          as_json: bool, **options: Any) -> None:
    """Train a network on DATA and save it as a model file.

    DATA is a CSV/TSV, Parquet or Feather file with a header row, a .npy array, an .npz with
    arrays X and y, or a built-in data set (see `chainrule datasets`). Text and true/false
    columns are one-hot coded, missing values filled (with an indicator column), identifier-like
    columns dropped; rows without a target are dropped. Unless the table is tiny or a truth
    table, 20% of the rows are held out and training stops where their loss is lowest. Prints
    the column roles and a summary: architecture, epochs, why training stopped, losses,
    accuracy or R^2, time.

    \b
    Examples:
      chainrule train penguins.csv --target species --out penguins.chainrule
      chainrule train spirals --layers 16,16 --plot spirals.png
      chainrule train cars.csv --target mpg --categorical cylinders --drop name
      chainrule train houses.parquet --target price --layers 32,16 --weight-decay 1e-3
      chainrule train data.npy --target 4 --task classification --json
    """
    out = os.path.splitext(os.path.basename(data))[0] + ".chainrule" if out is None else out
    _check_output(out, "--out", (data,))
    _check_plot(plot, (data, out))
    start = time.perf_counter()
    table, model, train_rows, val_rows, notes = _prepare(data, options)
    auto_decay = options["weight_decay"] is None
    fit_kwargs = _train_settings(options, train_rows, val_rows)
    train_table = table.take(train_rows)
    val_table = table.take(val_rows) if len(val_rows) else None
    callbacks = _progress_callbacks(options["epochs"], quiet, verbose, as_json)
    history = None
    try:
        history = model.fit(train_table, validation=val_table, callbacks=callbacks, **fit_kwargs)
        train_metrics = model.evaluate(train_table, train_table.target)
        val_metrics = (model.evaluate(val_table, val_table.target) if val_table is not None
                       else None)
    except KeyboardInterrupt as error:  # fit kept the best weights so far: save them
        _save_interrupted(model, out, getattr(error, "history", history), data, options["seed"])
    refit = None
    if options["refit"] and history.best_epoch is not None:
        refit = {"epochs": history.best_epoch + 1, "rows": table.n_samples}
        decay = WEIGHT_DECAY_ROWS / table.n_samples if auto_decay else options["weight_decay"]
        try:
            model = _refit(table, {**options, "weight_decay": decay}, refit["epochs"])
        except KeyboardInterrupt:  # the model of the first training is the best so far
            _save_interrupted(model, out, history, data, options["seed"])
    from .io import architecture

    net = model.network
    arch = architecture(net)
    model.metadata = _finite({
        "data": data, "epochs": history.epochs, "stopped_because": history.stopped_because,
        "best_epoch": history.best_epoch, "validation_rows": len(val_rows),
        "seed": options["seed"], "weight_decay": options["weight_decay"], "refit": refit,
        "train": train_metrics, "validation": val_metrics,
    })
    model.save(out)
    if plot:
        from .plotting import plot_training

        plot_training(plot, history, model, _plane_inputs(table, model), table.target,
                      title=f"{data}: {'-'.join(map(str, net.sizes))}")
    seconds = time.perf_counter() - start
    summary = {
        "model": out, "data": data, "samples": table.n_samples,
        "features": model.feature_names, "target": table.target_name, "task": model.task,
        "task_reason": notes["task_reason"],
        "columns": [{**column.to_json(), "detail": detail} for column, (_, _, detail) in
                    zip(model.preprocessor.columns, model.preprocessor.describe(), strict=True)],
        "target_rows_dropped": notes["target_rows_dropped"], "holdout": notes["holdout"],
        "classes": model.classes, "architecture": arch, "epochs": history.epochs,
        "stopped_because": history.stopped_because, "best_epoch": history.best_epoch,
        "restarts": history.restarts, "weight_decay": options["weight_decay"], "refit": refit,
        "optimizer": type(history.optimizer).__name__ if history.optimizer else None,
        "train": train_metrics, "validation": val_metrics, "plot": plot,
        "seconds": round(seconds, 4),
    }
    if as_json:
        _echo_json(summary)
        return
    if quiet:
        return
    rows = [
        ("data", f"{data}: {table.n_samples} rows, {len(table.columns)} columns, target "
                 f"{table.target_name}"
                 + (f" ({notes['target_rows_dropped']} rows without a target dropped)"
                    if notes["target_rows_dropped"] else "")),
        *_column_rows(model.preprocessor),
        ("task", f"{_task_text(model)}: {notes['task_reason']}"),
        ("architecture", _describe_architecture(arch)),
        ("held out", _holdout_text(notes["holdout"], table.n_samples)),
        ("epochs", _epochs_text(history, refit)),
        ("train", _score(train_metrics)),
        ("validation", _score(val_metrics)),
        ("time", f"{seconds:.2f} s"),
        ("model", out),
    ]
    if verbose:
        rows.insert(-4, ("optimizer", f"{summary['optimizer']}, {history.restarts} copies "
                                      f"trained together, kept copy {history.replica}, weight "
                                      f"decay {options['weight_decay']:g}"))
    if plot:
        rows.append(("plot", plot))
    _echo_table(rows)
    if verbose and history.learned is not None:
        click.echo(f"every training target met within tolerance: {history.learned}")


def _save_interrupted(model, out: str, history, data: str, seed: int) -> None:
    """After Ctrl-C in training: save the best model so far to ``out`` (atomically), say where
    and after how many epochs, and exit with code 130."""
    if history is None:  # interrupted before any training
        raise Interrupted("interrupted before training started; nothing saved")
    best = getattr(history, "best_epoch", None)
    model.metadata = _finite({"data": data, "epochs": history.epochs, "best_epoch": best,
                              "stopped_because": history.stopped_because, "seed": seed})
    model.save(out)
    kept = "" if best is None else f" (the weights of epoch {best + 1})"
    raise Interrupted(f"interrupted after {history.epochs} epochs: saved the best model so far"
                      f"{kept} to {out}")


def _progress_callbacks(epochs: int | None, quiet: bool, verbose: bool, as_json: bool) -> list:
    from .callbacks import LambdaCallback
    from .progress import format_logs, progress_bar

    callbacks = []
    bar = progress_bar(epochs, enabled=not (quiet or as_json or verbose))
    if bar is not None:
        callbacks.append(bar)
    if verbose and not (quiet or as_json):
        every = max(1, (epochs or 1000) // 20)
        callbacks.append(LambdaCallback(lambda epoch, logs: click.echo(
            f"epoch {epoch + 1}: {format_logs(logs)}", err=True) if (epoch + 1) % every == 0
            else None))
    return callbacks


def _refit(table, options: dict[str, Any], epochs: int):
    """A new model, its preprocessing fitted on all rows, trained for ``epochs`` epochs."""
    from .data import build_model

    model = build_model(table, options["task"], _hidden_sizes(options["layers"]),
                        options["activation"], options["loss"], options["seed"],
                        options["dtype"], options["standardize"],
                        categorical=_names(options["categorical"]), drop=_names(options["drop"]))
    model.fit(table, **{**_fit_kwargs(options), "epochs": epochs})
    return model


def _plane_inputs(table, model):
    """The raw inputs of a model that reads two numeric columns (for the decision boundary)."""
    pre = model.preprocessor
    names = pre.input_columns
    if pre.categorical or len(names) != 2 or not all(n in table.numeric for n in names):
        return None
    return table.X[:, [table.numeric.index(n) for n in names]]


def _column_rows(pre) -> list[tuple[str, str]]:
    """The column roles for train's summary: plain numbers on one line, the others one each."""
    described = pre.describe()
    plain = [name for name, role, detail in described if role == "numeric" and detail == "number"]
    lines = []
    if plain:
        shown = ", ".join(plain[:8]) + (f", ... ({len(plain)} in all)" if len(plain) > 8 else "")
        lines.append(f"numeric      {shown}")
    width = max([len(name) for name, role, detail in described
                 if not (role == "numeric" and detail == "number")] or [0])
    for name, role, detail in described:
        if not (role == "numeric" and detail == "number"):
            lines.append(f"{role:<12} {name:<{width}}  {detail}")
    lines.append(f"-> {pre.n_outputs} network inputs")
    return [("columns" if i == 0 else "", line) for i, line in enumerate(lines)]


def _holdout_text(holdout: dict[str, Any], n: int) -> str:
    if not holdout["rows"]:
        return holdout["rule"]
    return f"{holdout['rows']} of {n} rows: {holdout['rule']}"


def _epochs_text(history, refit: dict[str, Any] | None) -> str:
    text = f"{history.epochs} (stopped because {history.stopped_because}"
    if history.best_epoch is not None:
        text += f"; kept the weights of epoch {history.best_epoch + 1}"
    text += ")"
    if refit:
        text += f"; then refit on all {refit['rows']} rows for {refit['epochs']} epochs"
    return text


# -- predict and evaluate ------------------------------------------------------------------------
def _load(path: str):
    from .io import load_model

    model = load_model(path)
    if model.task is None:
        raise UserError(f"{path} is a bare network saved with Network.save, without the "
                        "preprocessing the CLI needs; train one with `chainrule train`")
    return model


def _model_table(model, data: str, target: str | None):
    names = model.feature_names or [f"x{i}" for i in range(model.network.n_inputs)]
    text = model.preprocessor.text_columns if model.preprocessor else []
    return _read(data, target, features=names, text=text)


@main.command()
@click.argument("model_path", metavar="MODEL")
@click.argument("data")
@click.option("--out", "-o", metavar="FILE", help="Write the predictions CSV here [default: "
                                                   "stdout].")
@click.option("--target", "-t", metavar="COL",
              help="For .npy data that still holds the target: its column index, to skip "
                   "[default: the one the model was trained with].")
@click.option("-q", "--quiet", is_flag=True, help="With --out: print nothing but errors.")
@user_errors
def predict(model_path: str, data: str, out: str | None, target: str | None,
            quiet: bool) -> None:
    """Predict the target for the rows of DATA with a trained MODEL.

    DATA needs the model's input columns (by name for CSV, Parquet and Feather; other columns,
    such as the target, are ignored). Missing values and unseen categories are handled as in
    training, with a warning. Writes CSV: a `prediction` column (class label or value) and, for
    classification, one probability column per class.

    \b
    Examples:
      chainrule predict iris.chainrule new.csv
      chainrule predict iris.chainrule new.csv --out predictions.csv
    """
    import csv
    import io as text_io

    _check_output(out, "--out", (model_path, data))
    model = _load(model_path)
    if target is None and data.lower().endswith(".npy"):
        target = model.target  # the column index it was trained with, skipped if present
    table = _model_table(model, data, target)
    import numpy as np

    if model.task == "classification":
        proba = model.predict_proba(table)
        predictions = np.array(model.classes, dtype=object)[proba.argmax(axis=1)]
    else:
        predictions = model.predict(table)
    buffer = text_io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    if model.task == "classification":
        writer.writerow(["prediction", *(f"p_{c}" for c in model.classes)])
        writer.writerows([label, *(f"{p:.6g}" for p in row)]
                         for label, row in zip(predictions, proba, strict=True))
    else:
        writer.writerow(["prediction"])
        writer.writerows([f"{v:.10g}"] for v in predictions)
    if out is None:
        click.echo(buffer.getvalue(), nl=False)
        return
    from .io import atomic_write

    atomic_write(out, lambda f: f.write(buffer.getvalue().encode()))
    if not quiet:
        click.echo(f"wrote {len(predictions)} predictions to {out}", err=True)


@main.command()
@click.argument("model_path", metavar="MODEL")
@click.argument("data")
@click.option("--target", "-t", metavar="COL",
              help="Target column: a header name (CSV) or column index (NPY).")
@output_options
@user_errors
def evaluate(model_path: str, data: str, target: str | None, quiet: bool, verbose: bool,
             as_json: bool) -> None:
    """Score a trained MODEL on labelled DATA: loss, and accuracy or R^2 (and MSE).

    \b
    Examples:
      chainrule evaluate iris.chainrule test.csv --target species
      chainrule evaluate houses.chainrule test.csv --target price --json
    """
    from .data import drop_missing_target, regression_targets

    model = _load(model_path)
    table = _model_table(model, data, target or (model.target if model.target else None))
    if table.target is None:
        raise UserError(f"--target COL is needed to evaluate on {data}")
    table, dropped = drop_missing_target(table)
    if model.task == "regression":
        regression_targets(table.target, table.target_name)
    metrics = model.evaluate(table, table.target)
    if as_json:
        _echo_json({"model": model_path, "data": data, "task": model.task,
                    "target_rows_dropped": dropped, **metrics})
    elif not quiet:
        shown = f"{data}: {table.n_samples} rows" + (
            f" ({dropped} rows without a target dropped)" if dropped else "")
        rows = [("model", model_path), ("data", shown),
                ("task", _task_text(model)), ("loss", f"{metrics['loss']:.6g}")]
        rows += [(key, f"{metrics[key]:.6g}") for key in ("accuracy", "r2", "mse")
                 if key in metrics]
        _echo_table(rows)


# -- datasets ------------------------------------------------------------------------------------
@main.command()
@click.argument("model_path", metavar="MODEL")
@click.option("--format", "fmt", type=click.Choice(["onnx"]), default="onnx", show_default=True,
              help="Format to export to.")
@click.option("--out", "-o", metavar="FILE", help="Where to write [default: MODEL with .onnx].")
@click.option("--dtype", type=click.Choice(["float32", "float64"]),
              help="Numeric type of the graph's inputs, weights and output [default: the "
                   "model's, so that it predicts what `chainrule predict` does].")
@click.option("--opset", type=click.IntRange(min=13), default=None,
              help="ONNX opset [default: 17, read by every runtime since 2022].")
@user_errors
def export(model_path: str, fmt: str, out: str | None, dtype: str, opset: int | None) -> None:
    """Export a trained MODEL for other runtimes, with its preprocessing built in.

    The ONNX graph takes the raw columns: the numeric ones together as "input" (NaN where
    missing; a date column as days since 1970-01-01, as chainrule.export.onnx_inputs gives),
    each categorical one as a string input named after it ("" where missing). It
    gives what `chainrule predict` gives: class probabilities, or regression targets in their
    own units (named "output"). Needs `pip install "chainrule[onnx]"`.

    \b
    Examples:
      chainrule export penguins.chainrule                 # writes penguins.onnx
      chainrule export penguins.chainrule --out model.onnx --dtype float64
    """
    try:
        from .export import model_to_onnx
    except ImportError as error:
        raise UserError(str(error)) from None
    out = str(Path(model_path).with_suffix(".onnx")) if out is None else out
    _check_output(out, "--out", (model_path,))
    model = _load(model_path)
    dtype = dtype or model.network.dtype.name
    try:
        model_to_onnx(model, out, dtype=dtype, opset=opset)
    except ImportError as error:
        raise UserError(str(error)) from None
    pre = model.preprocessor
    click.echo(f"wrote {out}")
    if pre.numeric:
        names = [c.name + (" (days since 1970-01-01)" if c.role == "date" else "")
                 for c in pre.numeric]
        click.echo(f"  input: {dtype} (batch, {len(pre.numeric)}), the columns "
                   f"{', '.join(names)}; NaN where missing")
    for column in pre.categorical:
        click.echo(f"  {column.name}: string (batch, 1); \"\" where missing")
    click.echo(f"  output: {_output_text(model)}")


def _output_text(model) -> str:
    if model.task == "regression":
        return f"{model.target or 'the target'} in its own units"
    if len(model.classes) == 2 and model.network.n_outputs == 1:
        return f"P({model.classes[1]}), one column"
    return "probabilities of " + ", ".join(map(str, model.classes))


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print the list as JSON.")
def datasets(as_json: bool) -> None:
    """List the built-in data sets (generated, never downloaded), usable as DATA.

    \b
    Examples:
      chainrule datasets
      chainrule train spirals --layers 16,16
      chainrule train parity5 --layers 8
    """
    from .datasets import dataset_names

    rows = dataset_names()
    if as_json:
        _echo_json([{"name": n, "description": d, "samples": s, "features": f}
                    for n, d, s, f in rows])
        return
    width = max(len(name) for name, *_ in rows)
    click.echo(f"{'name':<{width}}  samples  features  description")
    for name, description, samples, features in rows:
        click.echo(f"{name:<{width}}  {samples:>7}  {features:>8}  {description}")


# -- doctor --------------------------------------------------------------------------------------
@main.command()
@click.argument("data")
@model_options
@stopping_options
@click.option("--plot", metavar="PNG", help="Save the per-layer gradient norms of the probe.")
@output_options
@user_errors
def doctor(data: str, plot: str | None, quiet: bool, verbose: bool, as_json: bool,
           **options: Any) -> None:
    """Diagnose why a network does not learn DATA: scaling, saturation, vanishing gradients...

    Builds the network `chainrule train` would, with the rows it holds out, repeats its training
    on a copy (the probe) and short probes beside it, and reports each finding with its severity
    and a fix in command-line flags. Exit code 1 when a finding is an error.

    \b
    Examples:
      chainrule doctor data.csv --target price
      chainrule doctor xor --layers 2 --activation sigmoid --no-standardize --plot grads.png
    """
    from .explain import diagnose, format_findings

    _check_plot(plot, (data,))
    table, model, train_rows, val_rows, _ = _prepare(data, options)
    train_table = table.take(train_rows)
    X = model.inputs(train_table)
    y = model.targets(train_table.target)
    settings = _train_settings(options, train_rows, val_rows)
    if len(val_rows):  # the rows train holds out: the probe reports overfitting on them
        val_table = table.take(val_rows)
        settings["validation_data"] = (model.inputs(val_table), model.targets(val_table.target))
    result = diagnose(model.network, X, y, hints="cli", **settings)
    findings = list(getattr(result, "findings", result))
    if plot:
        from .plotting import plot_gradient_norms

        history = getattr(result, "history", None)
        if history is None:  # the diagnosis keeps no history: probe a copy for the picture
            probe = {"epochs": PLOT_PROBE_EPOCHS, **settings}
            history = model.network.copy().fit(X, y, **probe)
        plot_gradient_norms(plot, history, title=f"{data}: gradient norm per layer")
    if as_json:
        from .io import architecture

        _echo_json({"data": data, "architecture": architecture(model.network),
                    "findings": [{k: getattr(f, k, None) for k in ("severity", "code", "message",
                                                                    "hint")} for f in findings],
                    "plot": plot})
    elif not quiet:
        click.echo(format_findings(findings))
        if plot:
            click.echo(f"gradient norms: {plot}")
    if any(str(getattr(f, "severity", "")).lower() in ("error", "critical") for f in findings):
        sys.exit(1)


# -- gradcheck -----------------------------------------------------------------------------------
def _import_object(spec: str) -> Any:
    """The object named by ``file.py:name`` or ``package.module:name`` (the user's own code).

    A module name is looked up from the current folder first, as ``uvicorn`` and ``pytest``
    do: ``chainrule gradcheck mynet:loss ...`` finds ``mynet.py`` where it is run.
    """
    import importlib
    import importlib.util

    source, sep, name = spec.rpartition(":")
    if not sep or not source or not name:
        raise UserError(f"expected MODULE:NAME like mynet.py:loss_fn, got {spec!r}")
    try:
        if source.endswith(".py") or os.sep in source or "/" in source:
            if not os.path.isfile(source):
                raise UserError(f"no such Python file: {source}")
            module_name = "_chainrule_user_" + os.path.splitext(os.path.basename(source))[0]
            module = sys.modules.get(module_name)
            if module is None or getattr(module, "__file__", None) != os.path.abspath(source):
                loaded = importlib.util.spec_from_file_location(module_name,
                                                                os.path.abspath(source))
                module = importlib.util.module_from_spec(loaded)
                sys.modules[module_name] = module
                loaded.loader.exec_module(module)
        else:
            if os.getcwd() not in sys.path:
                sys.path.insert(0, os.getcwd())
            module = importlib.import_module(source)
    except UserError:
        raise
    except Exception as error:  # the user's module failed to import: report it, no traceback
        raise UserError(f"importing {source} failed: {type(error).__name__}: {error}") from None
    try:
        return getattr(module, name)
    except AttributeError:
        raise UserError(f"{source} has no {name!r}") from None


@main.command()
@click.argument("specs", nargs=-1, metavar="MODULE:LOSS_FN [MODULE:GRAD_FN] MODULE:PARAMS")
@click.option("--step", "step_spec", metavar="MODULE:STEP",
              help="Check a training step that updates the parameters in place (instead of a "
                   "gradient function); needs --learning-rate.")
@click.option("--learning-rate", "--lr", "learning_rate",
              type=click.FloatRange(min=0, min_open=True), help="The step's learning rate.")
@click.option("--x", "x_spec", metavar="MODULE:NAME",
              help="Your training inputs, to identify your network and name each mistake "
                   "[default: found where your loss reads them].")
@click.option("--y", "y_spec", metavar="MODULE:NAME", help="Your training targets (with --x).")
@click.option("--rtol", type=click.FloatRange(min=0, min_open=True), default=1e-5,
              show_default=True, help="Relative tolerance.")
@click.option("--atol", type=click.FloatRange(min=0, min_open=True), default=1e-3,
              show_default=True, help="Floor of the comparison, relative to the loss.")
@output_options
def gradcheck(specs: tuple[str, ...], step_spec: str | None, learning_rate: float | None,
              x_spec: str | None, y_spec: str | None, rtol: float, atol: float, quiet: bool,
              verbose: bool, as_json: bool) -> None:
    """Check your own backpropagation against finite differences, and name the mistake.

    Each argument names an object in your code as MODULE:NAME (a module in the current folder,
    FILE.py:NAME, or package.module:NAME): loss_fn(params) -> float, grad_fn(params) ->
    gradients in the same structure, and the parameters (a dict or list of arrays, or a
    function returning them). With --step, your training step replaces grad_fn: it must
    update the parameters in place by plain gradient descent. Your file is imported, i.e. run.
    Exit code 0 when every gradient is right, 1 when one is wrong, 2 for bad input.

    \b
    Examples:
      chainrule gradcheck mynet:loss_fn mynet:grad_fn mynet:params
      chainrule gradcheck mynet:loss mynet:grad mynet:params --x mynet:X --y mynet:y
      chainrule gradcheck --step mynet:train_step mynet:loss mynet:params --learning-rate 0.5
    """
    from .explain import check_gradients, check_update

    wanted = 2 if step_spec else 3
    if len(specs) != wanted:
        shape = ("MODULE:LOSS_FN MODULE:PARAMS with --step" if step_spec
                 else "MODULE:LOSS_FN MODULE:GRAD_FN MODULE:PARAMS")
        raise UserError(f"expected {wanted} arguments, {shape}; got {len(specs)}")
    if step_spec and learning_rate is None:
        raise UserError("--step needs --learning-rate: the rate your step updates with")
    if (x_spec is None) != (y_spec is None):
        raise UserError("give both --x and --y (your inputs and targets), or neither")
    loss_fn, params = _import_object(specs[0]), _import_object(specs[-1])
    fn = _import_object(step_spec or specs[1])
    data = {} if x_spec is None else {"X": _import_object(x_spec), "y": _import_object(y_spec)}
    try:
        if callable(params):
            params = params()
        if step_spec:
            report = check_update(fn, params, loss_fn, learning_rate, rtol=rtol, atol=atol,
                                  **data)
        else:
            report = check_gradients(loss_fn, fn, params, rtol=rtol, atol=atol, **data)
    except Exception as error:  # the user's functions failed: bad input, no traceback
        raise UserError(f"gradient check failed to run: {type(error).__name__}: {error}") from None
    if as_json:
        _echo_json({
            "ok": report.ok, "failed": [str(name) for name in report.failed],
            "mistakes": {str(name): code for name, code in report.mistakes.items()},
            "network": report.network, "points": report.points,
            "rtol": report.rtol, "atol": report.atol, "notes": report.notes,
            "parameters": [{"name": str(row.name), "shape": list(row.shape),
                            "max_abs_error": row.max_abs_error,
                            "max_rel_error": row.max_rel_error,
                            "worst_index": list(row.worst_index), "verdict": row.verdict,
                            "mistake": row.mistake, "yours": row.yours, "right": row.right,
                            "factor": row.factor, "explanation": row.explanation}
                           for row in report.rows],
        })
    elif not quiet:
        click.echo(str(report))
    sys.exit(0 if report.ok else 1)


# -- playground ----------------------------------------------------------------------------------
@main.command()
@click.argument("problem", default="xor")
@click.option("--target", "-t", metavar="COL", help="Target column of a data file.")
@click.option("--columns", metavar="A,B",
              help="Train on these two columns of a table [default: its first two principal "
                   "components when it has more than two features; 'all' for every feature].")
@click.option("--layers", metavar="N,N,...", help="Hidden layer sizes [default: the problem's].")
@click.option("--activation", help="Hidden activation [default: the problem's].")
@click.option("--samples", type=click.IntRange(min=4), help="Points of spirals, circles, moons.")
@click.option("--noise", type=click.FloatRange(min=0), help="Noise of spirals, circles, moons.")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True,
              help="Seed of the weights.")
@click.option("--port", type=click.IntRange(0, 65535), default=0,
              help="Port on 127.0.0.1 [default: a free one].")
@click.option("--no-browser", is_flag=True, help="Print the address only; do not open it.")
def playground(problem: str, no_browser: bool, **options: Any) -> None:
    """Watch a network learn PROBLEM in the browser, with the worked numbers of backprop.

    PROBLEM is a question's problem (xor, and, or, three-input, and-chain, even-odd,
    xor-deep), spirals, circles, moons, a built-in data set, or a CSV/NPY file with --target.
    The page is served on 127.0.0.1 only, behind a random token in its address. Ctrl+C stops.

    \b
    Examples:
      chainrule playground xor
      chainrule playground spirals --samples 1000 --layers 64,64 --activation tanh
      chainrule playground data.csv --target species --columns petal_length,petal_width
    """
    try:
        from .playground import launch
    except ImportError as error:
        raise UserError(f"the playground is not installed ({error}): "
                        "pip install 'chainrule[playground]'") from None
    try:
        server = launch(problem, **options)
    except (ValueError, TypeError, OSError) as error:
        raise UserError(str(error)) from None
    click.echo(f"chainrule playground: {server.url}")
    click.echo("serving on 127.0.0.1 only; press Ctrl+C to stop")
    if not no_browser:
        import webbrowser

        webbrowser.open(server.url)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        click.echo("stopped")
    finally:
        server.session.close()
        server.server_close()


if __name__ == "__main__":
    main()
