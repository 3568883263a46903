"""Fuzz tests: random argument values and types, garbled tables, damaged model files, saves
killed midway, interrupts. Seeded (hypothesis ``derandomize``) and bounded, so that CI is fast
and deterministic; ``pytest --slow`` or ``CHAINRULE_FUZZ=slow`` runs them 10x longer.
(``tests/fuzz_harness.py`` runs the same contracts for as long as wanted, counting failures.)
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import tracemalloc
import warnings

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from test_robustness import CLI, InterruptAt, copy_loss, subprocess_env

from chainrule import Callback, Network, load, set_memory_limit
from chainrule.cli import main
from chainrule.datasets import PROBLEMS

SCALE = 10 if os.environ.get("CHAINRULE_FUZZ") == "slow" else 1
XOR = PROBLEMS["xor"]


def fuzz(examples: int):
    """Hypothesis settings: deterministic, ``examples`` tries (10x with --slow)."""
    return settings(max_examples=examples * SCALE, derandomize=True, deadline=None,
                    database=None, suppress_health_check=list(HealthCheck))


@pytest.fixture(autouse=True)
def small_memory_budget():
    """2 GB: what the budget lets through is allocated for real."""
    previous = set_memory_limit("2GB")
    yield
    set_memory_limit(previous)


ODD = st.one_of(
    st.sampled_from([-1, 0, 1, 3, 10**12, -(10**12), 10**30]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([True, False, None, "", "a", "221", "nan", "sigmoid", "adam", b"x"]),
    st.lists(st.integers(-3, 5), max_size=4),
    st.sampled_from([np.float32(0.1), np.int64(3), np.array(2.0), np.array([1, 2]),
                     np.array(["a"]), np.bool_(True), object(), {"a": 1}, (2, 2.7, 1),
                     [[1, 2], [3]], np.random.default_rng(0), slice(1)]),
)
NETWORK_ARGS = ["sizes", "activation", "output_activation", "loss", "init", "seed", "dtype"]
FIT_ARGS = ["epochs", "batch_size", "optimizer", "learning_rate", "shuffle", "validation_data",
            "callbacks", "restarts", "weight_decay", "sample_weight", "max_epochs", "tol",
            "n_iter_no_change", "target_tolerance"]


def only_our_errors(call) -> None:
    """``call()`` may raise ValueError or TypeError, nothing else, and no RuntimeWarning."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            call()
        except (ValueError, TypeError) as error:
            assert "\n" not in str(error).strip() or "Traceback" not in str(error)
    runtime = [f"{w.filename}:{w.lineno}: {w.message}" for w in caught
               if issubclass(w.category, RuntimeWarning)]
    assert not runtime, runtime


def arguments(names: list[str]):
    return st.dictionaries(st.sampled_from(names), ODD, max_size=3)


@fuzz(150)
@given(arguments(NETWORK_ARGS))
def test_network_arguments_fuzz(kwargs):
    only_our_errors(lambda: Network(**{"sizes": [2, 3, 1], **kwargs}))


@fuzz(150)
@given(arguments(FIT_ARGS), st.sampled_from([None, 3, 30]))
def test_fit_arguments_fuzz(kwargs, epochs):
    net = Network([2, 2, 1], seed=0)
    only_our_errors(lambda: net.fit(XOR.X, XOR.y, **{"epochs": epochs, **kwargs}))
    assert np.all(np.isfinite(net.buffer))


FLOATS = st.floats(allow_nan=True, allow_infinity=True, width=64)
ARRAYS = st.one_of(
    hnp.arrays(st.sampled_from([np.float64, np.float32, np.int64, np.bool_, np.uint8]),
               hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=5)),
    hnp.arrays(np.float64, st.tuples(st.integers(0, 6), st.just(2)),
               elements=st.one_of(FLOATS, st.sampled_from([1e308, -1e308, 1e-320]))),
    ODD,
)


@fuzz(150)
@given(st.sampled_from(["predict", "loss", "gradients", "fit"]), ARRAYS, ARRAYS,
       st.sampled_from(["sigmoid", "relu", "exp", "softplus"]))
def test_data_fuzz(method, X, y, activation):
    net = Network([2, 3, 1], activation=activation, output_activation="identity", seed=0)
    args = (X,) if method == "predict" else (X, y)
    kwargs = {"epochs": 3} if method == "fit" else {}
    only_our_errors(lambda: getattr(net, method)(*args, **kwargs))


@fuzz(40)
@given(st.dictionaries(st.text(max_size=5).filter(str.isidentifier), ODD, max_size=3))
def test_save_and_load_fuzz(tmp_path_factory, metadata):
    path = tmp_path_factory.mktemp("save") / "m.chainrule"
    net = Network([2, 2, 1], seed=0)

    def round_trip():
        net.save(path, **metadata)
        assert np.array_equal(load(path).buffer, net.buffer)

    only_our_errors(round_trip)


# -- CLI ------------------------------------------------------------------------------------------
CELLS = st.sampled_from(["0", "1", "2.5", "-3", "", "nan", "inf", "1e308", "abc", "1,5", " 7 ",
                         "NA", "true", "-1e308", "é", '"', "0x10"])
OPTIONS = st.lists(st.sampled_from([
    ["--layers", "3"], ["--layers", "0"], ["--layers", "2.7"], ["--layers", "100000,100000"],
    ["--epochs", "2"], ["--epochs", "0"], ["--batch-size", "2"], ["--lr", "1e300"],
    ["--restarts", "1000000000"], ["--seed", "-1"], ["--validation", "0.5"],
    ["--task", "regression"], ["--task", "classification"], ["--activation", "foo"],
    ["--dtype", "float32"], ["--no-standardize"], ["--json"], ["-q"], ["--target", "zzz"],
    ["--out", "adir"], ["--out", "adir/"], ["--plot", "adir"], ["--out", "nodir/m"],
    ["--out", "/dev/null"]]), max_size=3)


@st.composite
def tables(draw) -> str:
    header = draw(st.sampled_from([["a", "b", "y"], ["a", "a", "y"], ["y"], ["a", "", "y"]]))
    rows = draw(st.lists(st.lists(st.one_of(st.sampled_from(["0", "1", "2", "-1.5"]), CELLS),
                                  min_size=len(header) - 1, max_size=len(header) + 1),
                         max_size=25))
    ending = draw(st.sampled_from(["\n", "", "\r\n"]))
    return "\n".join(",".join(row) for row in [header, *rows]) + ending


@fuzz(40)
@given(st.sampled_from(["train", "doctor", "predict", "evaluate"]), tables(), OPTIONS)
def test_cli_fuzz(tmp_path_factory, command, table, options):
    folder = tmp_path_factory.mktemp("cli")
    (folder / "adir").mkdir()
    data = folder / "t.csv"
    data.write_text(table)
    if command in ("predict", "evaluate"):
        (folder / "clean.csv").write_text("a,b,y\n" + "".join(
            f"{i % 3},{i % 5},{i % 2}\n" for i in range(30)))
        CliRunner().invoke(main, ["train", str(folder / "clean.csv"), "--target", "y", "--out",
                                  str(folder / "m.chainrule"), "-q", "--epochs", "3"])
        args = [command, str(folder / "m.chainrule"), str(data)]
        options = [o for o in options if o[0] == "--out" and command == "predict"]
    else:
        args = [command, str(data), "--target", "y", "--epochs", "3"]
        options = [o for o in options if not (command == "doctor" and o[0] == "--out")]
    cwd = os.getcwd()
    os.chdir(folder)
    try:
        result = CliRunner().invoke(main, args + [x for o in options for x in o])
    finally:
        os.chdir(cwd)
    assert result.exit_code in ({0, 1, 2} if command == "doctor" else {0, 2}), \
        (args, options, result.output, result.exc_info)
    assert "Traceback" not in result.output
    if result.exit_code == 2:
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr


# -- model files ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def model_file_bytes(tmp_path_factory) -> bytes:
    path = tmp_path_factory.mktemp("model") / "m.chainrule"
    Network([2, 3, 1], seed=0).save(path, note="fuzz")
    return path.read_bytes()


@fuzz(200)
@given(st.data())
def test_loader_fuzz(tmp_path_factory, model_file_bytes, data):
    payload = bytearray(model_file_bytes)
    for _ in range(data.draw(st.integers(1, 4))):
        kind = data.draw(st.sampled_from(["flip", "truncate", "insert", "delete"]))
        at = data.draw(st.integers(0, max(0, len(payload) - 1)))
        if kind == "flip" and payload:
            payload[at] = data.draw(st.integers(0, 255))
        elif kind == "truncate":
            del payload[at:]
        elif kind == "insert":
            payload[at:at] = data.draw(st.binary(min_size=1, max_size=8))
        elif payload:
            del payload[at:at + data.draw(st.integers(1, 8))]
    path = tmp_path_factory.mktemp("load") / "m.chainrule"
    path.write_bytes(bytes(payload))
    tracemalloc.start()
    try:
        only_our_errors(lambda: load(path))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 << 20


# -- killed saves and interrupts -------------------------------------------------------------------
SAVER = """
import sys
from chainrule import Network
net = Network([200, 400, 200, 10], seed=1)
print("saving", flush=True)
while True:
    net.save(sys.argv[1])
"""


def test_saves_killed_midway_keep_the_old_file_and_leave_no_temporaries(tmp_path):
    path = tmp_path / "m.model"
    original = Network([200, 400, 200, 10], seed=2)
    original.save(path)
    rng = random.Random(0)
    for _ in range(3 * SCALE):
        process = subprocess.Popen([sys.executable, "-c", SAVER, str(path)],
                                   env=subprocess_env(), stdout=subprocess.PIPE, text=True)
        assert process.stdout.readline() == "saving\n"
        subprocess.run(["sleep", str(rng.uniform(0.0, 0.2))])
        process.kill()
        process.wait()
        process.stdout.close()
        assert load(path).sizes == [200, 400, 200, 10]  # the old file or a whole new one
        original.save(path)
        assert not [name for name in os.listdir(tmp_path) if name.endswith(".tmp")]
        assert np.array_equal(load(path).buffer, original.buffer)


class StopAt(Callback):
    """Stops training the ordinary way (``stop_reason``) after epoch ``at``."""

    def __init__(self, at: int) -> None:
        self.at = at

    def on_epoch_end(self, training, epoch, logs):
        if epoch == self.at:
            training.stop_reason = "stopped by callback"


@fuzz(25)
@given(st.integers(0, 80), st.integers(2, 16), st.integers(0, 1000),
       st.sampled_from([None, 2]), st.booleans())
def test_interrupt_fuzz(at, restarts, seed, batch_size, validation):
    """Interrupted after epoch ``at``: the weights a callback's stop at that epoch keeps."""
    settings = dict(restarts=restarts, batch_size=batch_size, optimizer="adam",
                    validation_data=(XOR.X, XOR.y) if validation else None)
    stopped = Network([2, 2, 1], seed=seed)
    expected = stopped.fit(XOR.X, XOR.y, callbacks=[StopAt(at)], **settings)
    net = Network([2, 2, 1], seed=seed)
    initial = net.buffer.copy()
    stop = InterruptAt(at)
    try:
        history = net.fit(XOR.X, XOR.y, callbacks=[stop], **settings)
    except KeyboardInterrupt as error:
        history = error.history
        assert history.stopped_because == "interrupted" and history.epochs == at + 1
        assert history.replica == expected.replica and history.loss == expected.loss
        assert np.array_equal(net.buffer, stopped.buffer)
        assert not np.array_equal(net.buffer, initial)  # trained, not the initial weights
        if not validation:  # the copy of the lowest training loss
            losses = [copy_loss(net, weights) for weights in stop.copies]
            assert net.loss(XOR.X, XOR.y) == pytest.approx(min(losses), rel=1e-9)
    else:
        assert history.epochs <= at + 1  # it stopped by itself before the interrupt
        assert expected.stopped_because != "stopped by callback"


@pytest.mark.parametrize("round_", range(2 * SCALE))
def test_sigint_at_random_moments_of_cli_training(tmp_path, round_):
    out = tmp_path / "m.chainrule"
    process = subprocess.Popen(CLI + ["train", "spirals", "--layers", "32,32", "--epochs",
                                      "100000", "--out", str(out), "-v"], cwd=tmp_path,
                               env=subprocess_env(), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    assert process.stderr.readline().startswith("epoch ")
    subprocess.run(["sleep", str(random.Random(round_).uniform(0, 1))])
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130 and "Traceback" not in err
    assert err.strip().splitlines()[-1].startswith("interrupted after")
    assert load(out).sizes == [2, 32, 32, 1]
