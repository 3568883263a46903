"""Robustness: Ctrl-C keeps the work, the memory budget, model files that lie, output paths,
arguments checked at the door, stale temporary files. (Randomised versions: test_fuzz.py.)"""

from __future__ import annotations

import io
import os
import re
import signal
import subprocess
import sys
import time
import tracemalloc
import warnings
import zipfile

import numpy as np
import pytest
from click.testing import CliRunner

import chainrule
from chainrule import Callback, Network, load, load_model, set_memory_limit
from chainrule.checks import ArgumentError, NumericalWarning, memory_limit
from chainrule.cli import main
from chainrule.datasets import PROBLEMS

XOR = PROBLEMS["xor"]
SRC = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "src")
CLI = [sys.executable, "-c", "import _chainrule_entry; _chainrule_entry.main()"]  # the command


def subprocess_env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}


# -- Ctrl-C ----------------------------------------------------------------------------------------
class InterruptAt(Callback):
    """Raises KeyboardInterrupt after epoch ``at``, having noted every copy's weights then."""

    def __init__(self, at: int) -> None:
        self.at = at
        self.copies = None

    def on_epoch_end(self, training, epoch, logs):
        if epoch == self.at:
            self.copies = [[(W.copy(), b.copy()) for W, b in training.copy_of(k)]
                           for k in range(training.n_copies)]
            raise KeyboardInterrupt


def copy_loss(net: Network, weights) -> float:
    other = net.copy()
    for layer, (W, b) in zip(other.layers, weights, strict=True):
        layer.weights[...], layer.bias[...] = W, b
    return other.loss(XOR.X, XOR.y)


@pytest.mark.parametrize(("restarts", "at"), [(16, 12), (4, 0), (8, 40), (1, 5)])
def test_interrupt_keeps_the_best_copy_and_reraises_with_the_history(restarts, at):
    net = Network([2, 2, 1], seed=3)
    initial = net.loss(XOR.X, XOR.y)
    stop = InterruptAt(at)
    with pytest.raises(KeyboardInterrupt) as caught:
        net.fit(XOR.X, XOR.y, restarts=restarts, callbacks=[stop], target_tolerance=1e-9)
    history = caught.value.history
    assert history is net.history_
    assert history.stopped_because == "interrupted"
    assert history.epochs == at + 1 and len(history.loss) == at + 1
    losses = [copy_loss(net, weights) for weights in stop.copies]
    kept = net.loss(XOR.X, XOR.y)
    assert kept == pytest.approx(min(losses), rel=1e-12)
    assert history.replica == int(np.argmin(losses))
    assert kept < initial  # never the initial weights


@pytest.mark.parametrize("validation", [False, True])
def test_interrupted_fit_keeps_what_a_stop_at_that_epoch_keeps(validation):
    """Interrupted after epoch 30 of 100: the same copy and weights as a fit of 30 epochs."""
    extra = dict(validation_data=(XOR.X + 0.1, XOR.y)) if validation else {}
    stopped = Network([2, 2, 1], seed=5)
    history = stopped.fit(XOR.X, XOR.y, epochs=30, restarts=8, target_tolerance=0.3, **extra)
    interrupted = Network([2, 2, 1], seed=5)
    with pytest.raises(KeyboardInterrupt) as caught:
        interrupted.fit(XOR.X, XOR.y, epochs=100, restarts=8, target_tolerance=0.3,
                        callbacks=[InterruptAt(29)], **extra)
    assert caught.value.history.replica == history.replica
    assert caught.value.history.loss == history.loss
    assert np.array_equal(interrupted.buffer, stopped.buffer)


def test_ctrl_c_while_the_kept_copy_is_chosen_waits_until_it_is_written(monkeypatch):
    """SIGINT during the pass that judges the copies: held back until the weights are in."""
    import chainrule.training.fitting as training  # (where fit's last steps find evaluate)

    plain = Network([2, 2, 1], seed=4)
    expected = plain.fit(XOR.X, XOR.y, epochs=20, restarts=4, target_tolerance=0.2)
    judge = training.evaluate

    def evaluate_after_ctrl_c(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGINT)  # the default handler would raise right here
        return judge(*args, **kwargs)

    monkeypatch.setattr(training, "evaluate", evaluate_after_ctrl_c)
    net = Network([2, 2, 1], seed=4)
    with pytest.raises(KeyboardInterrupt) as caught:
        net.fit(XOR.X, XOR.y, epochs=20, restarts=4, target_tolerance=0.2)
    assert caught.value.history.replica == expected.replica
    assert caught.value.history.stopped_because == "epochs done"  # it had finished
    assert np.array_equal(net.buffer, plain.buffer)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def _train_until_started(args, tmp_path):
    """Start ``chainrule train`` with -v, wait for its first progress line, send SIGINT."""
    process = subprocess.Popen(CLI + args + ["-v"], cwd=tmp_path, env=subprocess_env(),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    first = process.stderr.readline()
    assert first.startswith("epoch "), first
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    return process.returncode, (first + err).strip().splitlines()


def test_sigint_during_cli_training_saves_the_best_model_and_exits_130(tmp_path):
    out = tmp_path / "m.chainrule"
    code, lines = _train_until_started(
        ["train", "spirals", "--layers", "32,32", "--epochs", "200000", "--out", str(out)],
        tmp_path)
    assert code == 130
    assert re.fullmatch(rf"interrupted after (\d+) epochs: saved the best model so far to "
                        rf"{re.escape(str(out))}", lines[-1]), lines[-1]
    assert not any("Traceback" in line for line in lines)
    epochs = int(re.search(r"after (\d+) epochs", lines[-1]).group(1))
    model = load_model(out)
    assert model.metadata["stopped_because"] == "interrupted"
    assert model.metadata["epochs"] == epochs > 0
    assert not [n for n in os.listdir(tmp_path) if n.endswith(".tmp")]


def test_sigint_while_the_command_is_still_importing_exits_130_in_one_line(tmp_path):
    script = ("import sys, _chainrule_entry; sys.stderr.write('started\\n'); "
              "sys.stderr.flush(); _chainrule_entry.main()")
    process = subprocess.Popen([sys.executable, "-c", script, "train", "xor"], cwd=tmp_path,
                               env=subprocess_env(), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    assert process.stderr.readline() == "started\n"
    time.sleep(0.03)  # inside the import now: numpy and chainrule take 0.15 s or more
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert (process.returncode, err) == (130, "interrupted\n"), err


def test_ctrl_c_in_train_with_held_out_rows_saves_the_best_validation_epoch(tmp_path,
                                                                          monkeypatch):
    monkeypatch.setattr("chainrule.cli._progress_callbacks", lambda *args: [InterruptAt(30)])
    out = tmp_path / "m.chainrule"
    result = CliRunner().invoke(main, ["train", "spirals", "--layers", "16", "--out", str(out)])
    assert result.exit_code == 130
    model = load_model(out)
    best = model.metadata["best_epoch"]
    assert 0 <= best <= 30 and model.metadata["stopped_because"] == "interrupted"
    assert result.stderr.strip() == (f"interrupted after 31 epochs: saved the best model so far "
                                     f"(the weights of epoch {best + 1}) to {out}")


def test_ctrl_c_in_any_command_exits_130_in_one_line(monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("chainrule.explain.diagnose", interrupted)
    result = CliRunner().invoke(main, ["doctor", "xor"])
    assert result.exit_code == 130
    assert result.stderr.strip() == "interrupted"
    monkeypatch.setattr("chainrule.datasets.dataset_names", interrupted)
    result = CliRunner().invoke(main, ["datasets"])
    assert (result.exit_code, result.stderr.strip()) == (130, "interrupted")


# -- memory budget ---------------------------------------------------------------------------------
@pytest.fixture
def limit_1gb():
    previous = set_memory_limit("1GB")
    yield
    set_memory_limit(previous)


def budget_error(call) -> str:
    with pytest.raises(ValueError) as caught:
        call()
    message = str(caught.value)
    assert re.search(r"would need about [\d.]+ [KMGTP]iB of memory, over the limit of "
                     r"[\d.]+ [KMGTP]iB", message), message
    return message


def test_huge_networks_are_refused_before_allocating(limit_1gb):
    message = budget_error(lambda: Network([10**5, 10**5, 1]))
    assert "sizes [100000, 100000, 1]" in message and "limit of 953.7 MiB" in message
    Network([1000, 1000, 1])  # 8 MB: fine


@pytest.mark.parametrize("kwargs", [dict(restarts=10**9), dict(n_iter_no_change=10**12),
                                    dict(epochs=10**9), dict(batch_size=10**12, restarts=10**5)])
def test_huge_training_settings_are_refused_before_allocating(limit_1gb, kwargs):
    net = Network([2, 2, 1], seed=0)
    before = net.buffer.copy()
    budget_error(lambda: net.fit(XOR.X, XOR.y, **kwargs))
    assert np.array_equal(net.buffer, before)


def test_memory_limit_settings(monkeypatch):
    previous = set_memory_limit(None)
    try:
        monkeypatch.setenv("CHAINRULE_MEMORY_LIMIT", "512MiB")
        assert memory_limit() == 512 * 2**20
        monkeypatch.setenv("CHAINRULE_MEMORY_LIMIT", "2e9")
        assert memory_limit() == 2e9
        monkeypatch.setenv("CHAINRULE_MEMORY_LIMIT", "off")
        assert memory_limit() == float("inf")
        monkeypatch.setenv("CHAINRULE_MEMORY_LIMIT", "50%")
        assert 0 < memory_limit() < float("inf")
        monkeypatch.setenv("CHAINRULE_MEMORY_LIMIT", "lots")
        with pytest.raises(ValueError, match="CHAINRULE_MEMORY_LIMIT must be"):
            memory_limit()
        monkeypatch.delenv("CHAINRULE_MEMORY_LIMIT")
        assert 0 < memory_limit() < float("inf")  # half of the memory available
        set_memory_limit(10**6)
        assert memory_limit() == 10**6
        with pytest.raises(ValueError, match="memory limit"):
            set_memory_limit(-1)
    finally:
        set_memory_limit(previous)


def test_cli_layers_over_the_budget_is_one_line_exit_2(tmp_path, monkeypatch):
    monkeypatch.setenv("CHAINRULE_MEMORY_LIMIT", "1GB")
    result = CliRunner().invoke(main, ["train", "xor", "--layers", "100000,100000",
                                       "--out", str(tmp_path / "m.chainrule")])
    assert result.exit_code == 2
    assert len(result.stderr.strip().splitlines()) == 1 and "over the limit" in result.stderr


def test_predict_goes_through_large_inputs_in_blocks(monkeypatch):
    net = Network([3, 50, 2], output_activation="softmax", loss="cross_entropy", seed=0)
    X = np.random.default_rng(0).normal(size=(5000, 3))
    whole = net.predict(X)
    monkeypatch.setattr("chainrule.core.network.PREDICT_BLOCK", 1000)  # (where predict reads it)
    np.testing.assert_allclose(net.predict(X), whole, rtol=1e-12, atol=0)


# -- model files -----------------------------------------------------------------------------------
@pytest.fixture
def model_bytes(tmp_path):
    path = tmp_path / "good.chainrule"
    Network([2, 3, 1], seed=0).save(path)
    with zipfile.ZipFile(path) as z:
        return {name: z.read(name) for name in z.namelist()}


def write_zip(path, entries, extra=()):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, payload in [*entries.items(), *extra]:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # zipfile warns about the duplicate name
                z.writestr(name, payload)


def npy(array) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=True)
    return buffer.getvalue()


def load_peak(path) -> tuple[str, int]:
    """The loader's error message, and the peak of memory it allocated meanwhile."""
    tracemalloc.start()
    try:
        load(path)
    except ValueError as error:
        return str(error), tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    raise AssertionError("loaded")


def test_zip_bomb_entry_is_refused_before_inflating(tmp_path, model_bytes):
    path = tmp_path / "bomb.chainrule"
    write_zip(path, model_bytes, [("zeros.npy", b"\0" * (100 << 20))])
    assert os.path.getsize(path) < 200_000
    message, peak = load_peak(path)
    assert "unexpected" in message and "zeros" in message
    assert peak < 1 << 20


def test_inflated_weights_entry_is_refused_by_its_declared_size(tmp_path, model_bytes):
    path = tmp_path / "fat.chainrule"
    write_zip(path, {**model_bytes, "W1.npy": model_bytes["W1.npy"] + b"\0" * (100 << 20)})
    message, peak = load_peak(path)
    assert "W1 declares" in message
    assert peak < 1 << 20


def test_duplicate_entries_are_refused(tmp_path, model_bytes):
    path = tmp_path / "twice.chainrule"
    write_zip(path, model_bytes, [("W1.npy", npy(np.ones((2, 3))))])
    assert "appears twice" in load_peak(path)[0]


def test_huge_declared_shape_is_refused_before_allocating(tmp_path, model_bytes):
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<f8", "fortran_order": False, "shape": (99999, 99999)})
    path = tmp_path / "huge.chainrule"
    write_zip(path, {**model_bytes, "W1.npy": header.getvalue() + b"\0" * 48})
    message, peak = load_peak(path)
    assert "W1 has shape (99999, 99999)" in message and "needs (2, 3)" in message
    assert peak < 1 << 20


def test_huge_architecture_is_refused_by_the_budget(tmp_path, model_bytes, limit_1gb):
    meta = str(np.load(io.BytesIO(model_bytes["meta.npy"])))
    path = tmp_path / "big.chainrule"
    big = meta.replace('"sizes": [2, 3, 1]', '"sizes": [2, 100000, 100000, 1]')
    arrays = {f"{p}{i}.npy": b"" for i in (1, 2, 3) for p in "Wb"}
    write_zip(path, {**arrays, "meta.npy": npy(np.array(big))})
    message, peak = load_peak(path)
    assert "over the limit" in message and peak < 1 << 20


def test_pickled_objects_and_big_or_bad_meta_are_refused(tmp_path, model_bytes):
    path = tmp_path / "m.chainrule"
    write_zip(path, {**model_bytes, "W1.npy": npy(np.array([os.system], dtype=object))})
    assert "pickled objects are never loaded" in load_peak(path)[0]
    write_zip(path, {**model_bytes, "meta.npy": npy(np.array("x" * (5 << 20)))})
    message, peak = load_peak(path)
    assert "meta declares" in message and peak < 1 << 20
    for text in ("{", "[" * 100_000, '{"format": "chainrule-model", "format_version": true}'):
        write_zip(path, {**model_bytes, "meta.npy": npy(np.array(text))})
        assert re.search("not valid JSON|bad format_version", load_peak(path)[0])


def test_archives_listing_too_many_entries_are_refused_unread(tmp_path, model_bytes):
    path = tmp_path / "many.chainrule"
    write_zip(path, model_bytes, [(f"x{i}.npy", b"") for i in range(2500)])
    assert "lists 2505 entries" in load_peak(path)[0]


# -- output paths ----------------------------------------------------------------------------------
@pytest.mark.parametrize(("args", "message"), [
    (["train", "xor", "--out", "adir"], "--out adir is a folder"),
    (["train", "xor", "--out", "adir/"], "--out adir/ is a folder"),
    (["train", "xor", "--plot", "adir"], "--plot adir is a folder"),
    (["train", "xor", "--out", "nowhere/m.chainrule"], "folder .*nowhere does not exist"),
    (["train", "xor", "--out", ""], "--out needs a file name"),
    (["train", "data.csv", "--target", "y", "--out", "data.csv"], "is the input data.csv"),
    (["doctor", "xor", "--plot", "adir/"], "--plot adir/ is a folder"),
    (["predict", "m.chainrule", "xor", "--out", "adir"], "--out adir is a folder"),
    (["export", "m.chainrule", "--out", "adir"], "--out adir is a folder"),
    (["export", "m.chainrule", "--out", "m.chainrule"], "is the input m.chainrule"),
])
def test_output_paths_are_checked_before_any_work(tmp_path, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "adir").mkdir()
    (tmp_path / "data.csv").write_text("a,y\n1,0\n2,1\n")
    CliRunner().invoke(main, ["train", "xor", "--out", "m.chainrule", "-q"])

    def no_training(*args, **kwargs):
        raise AssertionError("trained before checking the output path")

    monkeypatch.setattr(Network, "fit", no_training)
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and re.search(message, lines[0]), lines


# -- arguments -------------------------------------------------------------------------------------
@pytest.mark.parametrize(("kwargs", "error", "message"), [
    (dict(weight_decay=-1e300), ValueError, "weight_decay must be non-negative"),
    (dict(weight_decay=float("nan")), ValueError, "weight_decay must be non-negative"),
    (dict(max_epochs=-3), ValueError, "max_epochs must be a positive integer or None, got -3"),
    (dict(n_iter_no_change=-5), ValueError, "n_iter_no_change must be a positive integer"),
    (dict(n_iter_no_change=2.5), TypeError, "n_iter_no_change must be a positive integer"),
    (dict(tol=float("nan")), ValueError, "tol must be non-negative"),
    (dict(tol="small"), TypeError, "tol must be non-negative"),
    (dict(epochs=True), TypeError, "epochs must be a positive integer or None, got True (bool)"),
    (dict(batch_size=True), TypeError, "batch_size must be a positive integer"),
    (dict(restarts=False), TypeError, "restarts must be a positive integer"),
    (dict(learning_rate="a"), TypeError, "learning_rate must be positive"),
    (dict(learning_rate=float("inf")), ValueError, "learning_rate must be positive"),
    (dict(target_tolerance="a"), TypeError, "target_tolerance must be positive"),
    (dict(shuffle="yes"), TypeError, "shuffle must be True or False"),
    (dict(callbacks=[3]), TypeError, "callbacks must be Callback objects"),
    (dict(callbacks="progress"), TypeError, "callbacks must be a list of Callback objects"),
    (dict(callbacks=[Callback]), TypeError, "not classes: pass Callback(), not Callback"),
])
def test_fit_arguments_are_checked_at_the_door(kwargs, error, message):
    net = Network([2, 2, 1], seed=0)
    with pytest.raises(error, match=re.escape(message)):
        net.fit(XOR.X, XOR.y, **kwargs)


@pytest.mark.parametrize(("kwargs", "message"), [
    (dict(sizes=[2, 2.7, 1]), "sizes[1] is 2.7 (float)"),
    (dict(sizes="221"), "sizes must be a sequence of integers"),
    (dict(sizes=[2, True, 1]), "sizes[1] is True (bool)"),
    (dict(seed=-1), "seed must be a non-negative integer, got -1"),
    (dict(seed=1.5), "seed must be a non-negative integer"),
    (dict(dtype=None), "dtype must be float32 or float64, got None"),
    (dict(dtype="floaty"), "dtype must be float32 or float64, got 'floaty'"),
])
def test_network_arguments_are_checked_at_the_door(kwargs, message):
    with pytest.raises((ValueError, TypeError), match=re.escape(message)):
        Network(**{"sizes": [2, 2, 1], **kwargs})


def test_type_errors_are_value_errors_too():
    """As scikit-learn's InvalidParameterError: either except clause catches a wrong type."""
    for bad in (dict(epochs="10"), dict(restarts=1.5)):
        with pytest.raises(ValueError):
            Network([2, 2, 1]).fit(XOR.X, XOR.y, **bad)
        with pytest.raises(TypeError):
            Network([2, 2, 1]).fit(XOR.X, XOR.y, **bad)
    assert issubclass(ArgumentError, ValueError) and issubclass(ArgumentError, TypeError)


@pytest.mark.parametrize(("X", "y", "message"), [
    ([[0, 1], [1]], [0, 1], "X must be a rectangular array of numbers"),
    ([[0, 1], [1, 0]], [], "X has 2 samples but y has 0"),
    ([[0, 1], ["a", 0]], [0, 1], "X must be numeric"),
    ([[0, 1], [None, 0]], [0, 1], "X must be a rectangular array of numbers"),
])
def test_bad_data_is_refused_in_our_words(X, y, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        Network([2, 2, 1]).fit(X, y)


def test_overflowing_inputs_warn_in_our_words_not_numpys():
    net = Network([2, 3, 1], activation="relu", output_activation="identity", seed=0)
    net.layers[0].weights[...] = 10.0
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = net.predict([[1e308, 1e308]])
        net.loss([[1e308, 1e308]], [1.0])
        net.gradients([[1e308, -1e308]], [1.0])
    assert not np.all(np.isfinite(out))
    assert caught and all(w.category is NumericalWarning for w in caught), \
        [(w.category, str(w.message)) for w in caught]
    assert "overflowed float64 (inputs as large as 1e+308)" in str(caught[0].message)


def test_training_on_huge_inputs_diverges_with_our_warning_only():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        Network([2, 2, 1], seed=0).fit([[1e308, -1e308], [1e308, 1e308]], [0, 1], epochs=3)
    assert all(issubclass(w.category, NumericalWarning) for w in caught), \
        [(w.category, str(w.message), w.filename) for w in caught]


# -- temporary files -------------------------------------------------------------------------------
def test_next_save_removes_the_temporaries_of_killed_writers(tmp_path):
    target = tmp_path / "m.chainrule"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()
    stale = tmp_path / f".m.chainrule.{dead}-abcd1234.tmp"
    alive = tmp_path / f".m.chainrule.{os.getppid()}-abcd1234.tmp"  # a running writer's
    other = tmp_path / f".m.chainrule.x.{dead}-abcd1234.tmp"  # another target's
    for path in (stale, alive, other):
        path.write_bytes(b"partial")
    Network([2, 2, 1]).save(target)
    assert not stale.exists() and alive.exists() and other.exists()
    assert load(target).sizes == [2, 2, 1]


def test_public_names():
    assert chainrule.set_memory_limit is set_memory_limit
    assert chainrule.NumericalWarning is NumericalWarning


# -- data files (.npy / .npz as DATA) --------------------------------------------------------------
def read_peak(path) -> tuple[str, int]:
    """The data reader's error message, and the peak of memory it allocated meanwhile."""
    from chainrule.data import read_table

    tracemalloc.start()
    try:
        read_table(str(path), "y")
    except ValueError as error:
        return str(error), tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    raise AssertionError("read")


def test_a_crafted_data_archive_is_refused_before_inflating(tmp_path, limit_1gb):
    X, y = npy(np.ones((4, 2))), npy(np.arange(4.0))
    bomb = tmp_path / "bomb.npz"
    write_zip(bomb, {"X.npy": X, "y.npy": y}, [("z.npy", b"\0" * (100 << 20))])
    assert os.path.getsize(bomb) < 200_000
    message, peak = read_peak(bomb)
    assert "z" in message and peak < 1 << 20
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<f8", "fortran_order": False, "shape": (10**6, 10**5)})
    huge = tmp_path / "huge.npz"
    write_zip(huge, {"X.npy": header.getvalue() + b"\0" * 64, "y.npy": y})
    message, peak = read_peak(huge)
    assert "over the limit" in message and peak < 1 << 20
    pickled = tmp_path / "pickled.npz"
    write_zip(pickled, {"X.npy": npy(np.array([{"a": 1}], dtype=object)), "y.npy": y})
    assert "not numbers or text" in read_peak(pickled)[0]


def test_a_crafted_npy_data_file_is_refused_before_allocating(tmp_path, limit_1gb):
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<f8", "fortran_order": False, "shape": (10**6, 10**4)})
    path = tmp_path / "huge.npy"
    path.write_bytes(header.getvalue() + b"\0" * 64)  # declares 80 GB, holds 64 bytes
    message, peak = read_peak(path)
    assert ("over the limit" in message or "declares" in message) and peak < 1 << 20
    short = tmp_path / "short.npy"
    np.lib.format.write_array_header_1_0(
        header := io.BytesIO(), {"descr": "<f8", "fortran_order": False, "shape": (100, 3)})
    short.write_bytes(header.getvalue() + b"\0" * 64)
    assert "declares 2400 bytes" in read_peak(short)[0]
