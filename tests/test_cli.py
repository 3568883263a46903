"""Tests for the `chainrule` command line: the real entry point on temporary files."""

from __future__ import annotations

import csv
import importlib.util
import io
import json
import shutil
import subprocess
import sys

import numpy as np
import pytest
from click.testing import CliRunner

from chainrule import __version__
from chainrule.cli import main
from chainrule.data import read_table
from chainrule.io import load_model
from chainrule.progress import ProgressBar, progress_bar

COMMANDS = ["train", "predict", "evaluate", "demo", "datasets", "doctor", "gradcheck"]


def run(*args: str):
    return CliRunner().invoke(main, [str(a) for a in args])


def write_csv(path, header, rows) -> str:
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return str(path)


@pytest.fixture
def flowers(tmp_path):
    """Three classes with text labels, separable by the first two of three features."""
    rng = np.random.default_rng(0)
    centres = {"setosa": (0, 0), "versicolor": (4, 0), "virginica": (2, 4)}
    rows = []
    for label, (u, v) in centres.items():
        for a, b, c in rng.normal(0, 0.6, (30, 3)):
            rows.append([f"{u + a:.4f}", f"{v + b:.4f}", f"{100 + 20 * c:.4f}", label])
    return write_csv(tmp_path / "flowers.csv", ["length", "width", "noise", "species"], rows)


@pytest.fixture
def houses(tmp_path):
    rng = np.random.default_rng(1)
    X = rng.uniform(0, 10, (120, 2))
    price = 1000 + 300 * X[:, 0] - 50 * X[:, 1] ** 2
    return write_csv(tmp_path / "houses.csv", ["rooms", "age", "price"],
                     np.column_stack([X, price]).round(5).tolist())


def test_train_predict_evaluate_round_trip_on_csv(flowers, tmp_path):
    model_path = tmp_path / "flowers.chainrule"
    result = run("train", flowers, "--target", "species", "--layers", "8", "--seed", "3",
                 "--out", model_path)
    assert result.exit_code == 0, result.output
    for word in ("architecture", "3-8-3", "stopped because", "train", "validation", "accuracy",
                 "time", str(model_path)):
        assert word in result.stdout
    model = load_model(model_path)
    assert model.classes == ["setosa", "versicolor", "virginica"]
    assert model.feature_names == ["length", "width", "noise"]

    out = tmp_path / "predictions.csv"
    result = run("predict", model_path, flowers, "--out", out)
    assert result.exit_code == 0, result.output
    with open(out) as f:
        rows = list(csv.DictReader(f))
    with open(flowers) as f:
        truth = [row["species"] for row in csv.DictReader(f)]
    assert list(rows[0]) == ["prediction", "p_setosa", "p_versicolor", "p_virginica"]
    predicted = [row["prediction"] for row in rows]
    accuracy = np.mean([p == t for p, t in zip(predicted, truth, strict=True)])
    assert accuracy > 0.9
    for row in rows:
        assert abs(sum(float(row[f"p_{c}"]) for c in model.classes) - 1) < 1e-4

    result = run("evaluate", model_path, flowers, "--target", "species", "--json")
    assert result.exit_code == 0, result.output
    metrics = json.loads(result.stdout)
    assert metrics["samples"] == 90 and metrics["accuracy"] == pytest.approx(accuracy)

    stdout_predictions = run("predict", model_path, flowers).stdout
    assert stdout_predictions == open(out).read()


def test_regression_round_trip_in_target_units(houses, tmp_path):
    model_path = tmp_path / "houses.chainrule"
    result = run("train", houses, "-t", "price", "--layers", "16", "--epochs", "400",
                 "--out", model_path, "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["task"] == "regression" and summary["classes"] is None
    assert summary["architecture"]["output_activation"] == "identity"
    assert summary["validation"]["samples"] == 24 and summary["validation"]["r2"] > 0.95
    predicted = np.array(run("predict", model_path, houses).stdout.split()[1:], dtype=float)
    true = np.loadtxt(houses, delimiter=",", skiprows=1)[:, 2]
    assert np.corrcoef(predicted, true)[0, 1] > 0.98
    assert abs(np.mean(predicted) - np.mean(true)) < 0.05 * np.std(true)  # not standardized
    result = run("evaluate", model_path, houses, "--target", "price")
    assert result.exit_code == 0 and "r2" in result.stdout and "mse" in result.stdout


def test_train_json_and_options(tmp_path):
    out = tmp_path / "x.chainrule"
    result = run("train", "xor", "--layers", "4", "--activation", "sigmoid", "--optimizer",
                 "adam", "--learning-rate", "0.05", "--epochs", "30", "--batch-size", "2",
                 "--seed", "7", "--validation", "0", "--out", out, "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["epochs"] == 30 and summary["stopped_because"] == "epochs done"
    assert summary["architecture"]["sizes"] == [2, 4, 1]
    assert summary["optimizer"] == "Adam" and summary["validation"] is None
    assert summary["model"] == str(out) and out.exists()
    assert result.stderr == ""


def test_task_override_and_npy_data(tmp_path):
    data = np.column_stack([np.arange(40.0), np.arange(40.0) % 4])
    np.save(tmp_path / "d.npy", data)
    out = tmp_path / "d.chainrule"
    auto = json.loads(run("train", tmp_path / "d.npy", "--target", "1", "--epochs", "5",
                          "--out", out, "--json").stdout)
    assert auto["task"] == "classification" and auto["classes"] == [0, 1, 2, 3]
    forced = json.loads(run("train", tmp_path / "d.npy", "--target", "1", "--epochs", "5",
                            "--task", "regression", "--out", out, "--json").stdout)
    assert forced["task"] == "regression"
    result = run("predict", out, tmp_path / "d.npy", "--target", "1")
    assert result.exit_code == 0 and len(result.stdout.split()) == 41
    np.save(tmp_path / "inputs.npy", data[:, :1])  # without the target column
    for path in ("d.npy", "inputs.npy"):  # the model's target column is skipped when present
        assert run("predict", out, tmp_path / path).stdout == result.stdout


def test_quiet_prints_nothing(tmp_path):
    result = run("train", "and", "--quiet", "--out", tmp_path / "a.chainrule")
    assert result.exit_code == 0 and result.output == ""


def test_verbose_prints_epoch_lines(tmp_path):
    result = run("train", "and", "--epochs", "40", "--verbose", "--out", tmp_path / "a.chainrule")
    assert result.exit_code == 0
    assert "epoch 40: loss" in result.stderr and "optimizer" in result.stdout


@pytest.fixture
def bad_files(tmp_path, flowers):
    (tmp_path / "empty.csv").write_text("")
    write_csv(tmp_path / "text.csv", ["a", "b", "t"], [[1, "red", 0], [2, "blue", 1]])
    (tmp_path / "ragged.csv").write_text("a,b,t\n1,2,0\n3,4,5,6\n")
    (tmp_path / "corrupt.chainrule").write_bytes(b"PK\x03\x04 not really a zip archive")
    (tmp_path / "text.chainrule").write_text("W1 = [1, 2]\n")
    return tmp_path


BAD_INPUTS = {
    "missing data file": (["train", "{d}/nope.csv", "--target", "t"], "no such file"),
    "missing target column": (["train", "{flowers}", "--target", "colour"],
                              "target column 'colour' not found"),
    "no target given": (["train", "{flowers}"], "--target COL is needed"),
    "unknown --categorical column": (["train", "{flowers}", "--target", "species",
                                      "--categorical", "colour"],
                                     "--categorical names column\\(s\\) colour, not among"),
    "every column dropped": (["train", "{flowers}", "--target", "species", "--drop",
                              "length,width", "--drop", "noise"], "no usable feature column"),
    "ragged csv": (["train", "{d}/ragged.csv", "--target", "t"],
                   "line 3: 4 fields but the header has 3"),
    "bad --patience": (["train", "xor", "--patience", "0"], "'--patience'"),
    "negative --weight-decay": (["train", "xor", "--weight-decay", "-1"], "'--weight-decay'"),
    "bad export --dtype": (["export", "{model}", "--dtype", "int8"], "'--dtype'"),
    "empty file": (["train", "{d}/empty.csv", "--target", "t"], "empty.csv is empty"),
    "corrupt model": (["predict", "{d}/corrupt.chainrule", "{flowers}"],
                      "not a chainrule model file"),
    "text as model": (["evaluate", "{d}/text.chainrule", "{flowers}", "--target", "species"],
                      "not a chainrule model file"),
    "missing model": (["predict", "{d}/none.chainrule", "{flowers}"], "no such model file"),
    "bad --layers": (["train", "xor", "--layers", "4,x"], "--layers must be"),
    "bad --epochs": (["train", "xor", "--epochs", "0"], "'--epochs': 0 is not in the range"),
    "unknown option": (["train", "xor", "--colour", "red"],
                       "No such option '--colour'.*chainrule train --help"),
    "unknown command": (["fly"], "No such command 'fly'"),
    "bad --task": (["train", "xor", "--task", "ranking"], "'--task'"),
    "text target regressed": (["train", "{flowers}", "--target", "species", "--task",
                               "regression"], "cannot be regressed"),
    "unseen label": (["evaluate", "{model}", "{d}/other.csv", "--target", "species"],
                     "not seen in training"),
    "missing input column": (["predict", "{model}", "{d}/text.csv"],
                             "lacks the model's input column"),
    "bare network": (["predict", "{d}/bare.chainrule", "{flowers}"], "bare network"),
    "missing output directory": (["train", "xor", "--out", "{d}/no/dir/m.chainrule"],
                                 "does not exist"),
    "bad gradcheck spec": (["gradcheck", "loss", "grad", "params"], "expected MODULE:NAME"),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_exits_2_with_one_line(bad_files, flowers, case):
    from chainrule import Network

    d = bad_files
    model = d / "flowers.chainrule"
    if not model.exists():
        assert run("train", flowers, "--target", "species", "--epochs", "3", "--out",
                   model).exit_code == 0
        Network([2, 1]).save(d / "bare.chainrule")
        write_csv(d / "other.csv", ["length", "width", "noise", "species"],
                  [[1, 2, 3, "rose"]])
    args, message = BAD_INPUTS[case]
    result = run(*(a.format(d=d, flowers=flowers, model=model) for a in args))
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: ")
    assert result.exception is None or isinstance(result.exception, SystemExit)
    import re

    assert re.search(message, lines[0]), lines[0]


def test_version_and_help():
    result = run("--version")
    assert result.exit_code == 0 and __version__ in result.stdout
    for command in COMMANDS:
        result = run(command, "--help")
        assert result.exit_code == 0
        assert "Examples:" in result.stdout and f"chainrule {command}" in result.stdout


def test_datasets_lists_builtins():
    result = run("datasets")
    assert result.exit_code == 0
    for name in ("xor", "even-odd", "spirals", "moons", "circles", "blobs", "parity", "encoder"):
        assert name in result.stdout
    listed = json.loads(run("datasets", "--json").stdout)
    assert {"name": "spirals", "samples": 194, "features": 2}.items() <= next(
        d for d in listed if d["name"] == "spirals").items()


def test_demo_still_works():
    result = run("demo", "xor")
    assert result.exit_code == 0
    assert "xor (2-2-1)" in result.stdout and "1/1 problems learned" in result.stdout


def test_doctor_json(tmp_path):
    from chainrule.diagnose import SEVERITIES

    result = run("doctor", "xor", "--layers", "2", "--activation", "sigmoid", "--epochs", "50",
                 "--no-standardize", "--json")
    assert result.exit_code in (0, 1), result.output
    report = json.loads(result.stdout)
    assert report["findings"]
    for finding in report["findings"]:
        assert finding["severity"] in SEVERITIES and finding["code"] and finding["hint"]
    errors = any(f["severity"] == "error" for f in report["findings"])
    assert result.exit_code == (1 if errors else 0)
    text = run("doctor", "xor", "--layers", "2", "--epochs", "50")
    assert "severity" in text.stdout and "code" in text.stdout


def test_doctor_finds_an_error(tmp_path):
    """Unscaled inputs and targets in the hundreds, 20 epochs: an error finding, exit code 1."""
    rows = [[i, 100 + 10 * i] for i in range(30)]
    data = write_csv(tmp_path / "r.csv", ["x", "y"], rows)
    result = run("doctor", data, "--target", "y", "--task", "regression", "--no-standardize",
                 "--epochs", "20", "--json")
    assert result.exit_code == 1, result.output
    codes = {f["code"]: f["severity"] for f in json.loads(result.stdout)["findings"]}
    assert "error" in codes.values() and "unscaled-inputs" in codes


USER_CODE = '''
import numpy as np

X = np.array([[1.0, 2.0], [3.0, -1.0], [0.5, 0.5]])
t = np.array([1.0, 0.0, 2.0])
params = {{"w": np.array([0.3, -0.2]), "b": 0.1}}


def loss_fn(p):
    r = X @ p["w"] + p["b"] - t
    return float(np.mean(r ** 2))


def grad_fn(p):
    r = X @ p["w"] + p["b"] - t
    return {{"w": {factor} * X.T @ r / len(t), "b": 2 * r.mean()}}


def broken(p):
    raise RuntimeError("oops")
'''


@pytest.fixture
def user_module(tmp_path):
    (tmp_path / "right.py").write_text(USER_CODE.format(factor=2))
    (tmp_path / "wrong.py").write_text(USER_CODE.format(factor=1))
    (tmp_path / "crash.py").write_text("raise ImportError('no such thing')\n")
    return tmp_path


def test_gradcheck_right_and_wrong(user_module):
    right = [f"{user_module}/right.py:{name}" for name in ("loss_fn", "grad_fn", "params")]
    result = run("gradcheck", *right)
    assert result.exit_code == 0, result.output
    assert "all correct" in result.stdout
    wrong = [f"{user_module}/wrong.py:{name}" for name in ("loss_fn", "grad_fn", "params")]
    result = run("gradcheck", *wrong)
    assert result.exit_code == 1
    assert "1 of 2 parameters wrong" in result.stdout
    report = json.loads(run("gradcheck", *wrong, "--json").stdout)
    assert report["ok"] is False and report["failed"] == ["w"]
    assert {row["name"]: row["verdict"] for row in report["parameters"]}["b"] == "ok"


@pytest.mark.parametrize("args, message", [
    (["{d}/none.py:loss_fn", "{d}/right.py:grad_fn", "{d}/right.py:params"], "no such Python"),
    (["{d}/right.py:nope", "{d}/right.py:grad_fn", "{d}/right.py:params"], "has no 'nope'"),
    (["{d}/crash.py:f", "{d}/right.py:grad_fn", "{d}/right.py:params"],
     "importing .*crash.py failed: ImportError: no such thing"),
    (["{d}/right.py:broken", "{d}/right.py:grad_fn", "{d}/right.py:params"],
     "RuntimeError: oops"),
    (["{d}/right.py:loss_fn", "{d}/right.py:grad_fn", "{d}/right.py:X"], "failed to run"),
    (["no_such_module_xyz:f", "{d}/right.py:grad_fn", "{d}/right.py:params"],
     "importing no_such_module_xyz failed"),
])
def test_gradcheck_bad_input(user_module, args, message):
    import re

    result = run("gradcheck", *(a.format(d=user_module) for a in args))
    assert result.exit_code == 2, result.output
    assert len(result.stderr.strip().splitlines()) == 1
    assert re.search(message, result.stderr), result.stderr


def test_gradcheck_module_name(user_module, monkeypatch):
    monkeypatch.syspath_prepend(str(user_module))
    result = run("gradcheck", "right:loss_fn", "right:grad_fn", "right:params")
    assert result.exit_code == 0, result.output


STEP_CODE = '''
import math

LEARNING_RATE = 0.5
x, target = [0.5], [1.0]
params = {"w1": 0.3, "b1": 0.1, "w2": -0.4, "b2": 0.2}


def sigmoid(z):
    return 1 / (1 + math.exp(-z))


def loss(p):
    h = sigmoid(x[0] * p["w1"] + p["b1"])
    return (sigmoid(h * p["w2"] + p["b2"]) - target[0]) ** 2


def step(p):  # question 004's mistake: the weight where the input belongs
    h = sigmoid(x[0] * p["w1"] + p["b1"])
    y = sigmoid(h * p["w2"] + p["b2"])
    d_y = 2 * (y - target[0]) * y * (1 - y)
    d_h = d_y * p["w2"] * h * (1 - h)
    p["w1"] -= LEARNING_RATE * d_h * p["w1"]
    p["b1"] -= LEARNING_RATE * d_h
    p["w2"] -= LEARNING_RATE * d_y * p["w2"]
    p["b2"] -= LEARNING_RATE * d_y
'''


def test_gradcheck_finds_a_module_in_the_current_folder(tmp_path, monkeypatch):
    (tmp_path / "cwd_right.py").write_text(USER_CODE.format(factor=2))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", str(tmp_path))])
    result = run("gradcheck", "cwd_right:loss_fn", "cwd_right:grad_fn", "cwd_right:params")
    assert result.exit_code == 0, result.output


def test_gradcheck_checks_a_training_step_and_names_the_mistake(tmp_path, monkeypatch):
    (tmp_path / "learner.py").write_text(STEP_CODE)
    monkeypatch.chdir(tmp_path)
    args = ["gradcheck", "--step", "learner:step", "learner:loss", "learner:params",
            "--learning-rate", "0.5"]
    result = run(*args)
    assert result.exit_code == 1, result.output
    assert "wrong-input" in result.stdout and "yours: dw1 = δ1·w1" in result.stdout
    report = json.loads(run(*args, "--json").stdout)
    assert report["mistakes"] == {"w1": "wrong-input", "w2": "wrong-input"}
    assert report["network"].startswith("1-1-1, sigmoid then sigmoid")
    with_data = json.loads(run(*args, "--x", "learner:x", "--y", "learner:target",
                               "--json").stdout)
    assert with_data["mistakes"] == report["mistakes"]


@pytest.mark.parametrize("args, message", [
    (["--step", "learner:step", "learner:loss", "learner:params"], "--step needs --learning-rate"),
    (["--step", "learner:step", "learner:loss", "learner:grad", "learner:params", "--lr", "1"],
     "expected 2 arguments"),
    (["learner:loss", "learner:params"], "expected 3 arguments"),
    (["learner:loss", "learner:step", "learner:params", "--x", "learner:x"],
     "give both --x and --y"),
])
def test_gradcheck_bad_combinations_are_one_line(tmp_path, monkeypatch, args, message):
    (tmp_path / "learner.py").write_text(STEP_CODE)
    monkeypatch.chdir(tmp_path)
    result = run("gradcheck", *args)
    assert result.exit_code == 2
    assert len(result.stderr.strip().splitlines()) == 1 and message in result.stderr


def test_doctor_speaks_command_line_flags():
    result = run("doctor", "xor", "--layers", "2", "--activation", "sigmoid", "--epochs", "10",
                 "--restarts", "1", "--no-standardize", "--json")
    findings = {f["code"]: f for f in json.loads(result.stdout)["findings"]}
    assert "too-few-updates" in findings
    assert "--epochs" in findings["too-few-updates"]["hint"]
    for finding in findings.values():
        assert "fit(" not in finding["hint"] and "Network(" not in finding["hint"]


def test_installed_script_in_a_subprocess(flowers, tmp_path):
    script = shutil.which("chainrule")
    command = [script] if script else [sys.executable, "-c",
                                       "from chainrule.cli import main; main()"]
    out = tmp_path / "s.chainrule"
    done = subprocess.run([*command, "train", flowers, "--target", "species", "--epochs", "20",
                           "--out", str(out), "--json"], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["model"] == str(out)
    assert done.stderr == ""  # not a terminal: no progress bar
    done = subprocess.run([*command, "evaluate", str(out), str(tmp_path / "missing.csv"),
                           "--target", "species"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"Error: no such file: {tmp_path / 'missing.csv'} (nor a built-in data set; see "
        "`chainrule datasets`)"]
    assert "Traceback" not in done.stderr


# -- progress bar ---------------------------------------------------------------------------------
class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_only_on_a_terminal():
    assert progress_bar(10, stream=io.StringIO()) is None
    assert progress_bar(10, enabled=False, stream=Terminal()) is None
    assert isinstance(progress_bar(10, stream=Terminal()), ProgressBar)


def test_progress_bar_shows_epochs_and_losses():
    from chainrule import Network

    stream = Terminal()
    net = Network([2, 2, 1], seed=0)
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1.0]])
    net.fit(X, [0, 1, 1, 0], epochs=5, restarts=1, validation_data=(X, [0, 1, 1, 0]),
            callbacks=[ProgressBar(5, stream, backend="rich")])
    shown = stream.getvalue()
    assert "5/5" in shown and "val_loss" in shown


def test_without_rich_or_tqdm_there_is_no_bar(monkeypatch):
    import chainrule.progress

    monkeypatch.setattr(chainrule.progress, "available_backend", lambda: None)
    assert progress_bar(10, stream=Terminal()) is None
    with pytest.raises(ImportError, match=r"pip install chainrule\[progress\]"):
        ProgressBar(10, Terminal())


@pytest.mark.parametrize("dataset, target", [("flowers", "species"), ("houses", "price")])
def test_export_to_onnx_runs_in_onnxruntime_on_raw_features(dataset, target, request, tmp_path):
    import onnxruntime

    data = request.getfixturevalue(dataset)
    model_path = tmp_path / "model.chainrule"
    assert run("train", data, "--target", target, "--dtype", "float32", "--out", model_path,
               "--quiet").exit_code == 0
    result = run("export", model_path)
    assert result.exit_code == 0, result.output
    onnx_path = tmp_path / "model.onnx"
    assert onnx_path.stat().st_size > 0

    model = load_model(model_path)
    names = model.feature_names
    with open(data) as f:
        X = np.array([[float(row[n]) for n in names] for row in csv.DictReader(f)], np.float32)
    session = onnxruntime.InferenceSession(str(onnx_path))
    got = session.run(None, {"input": X})[0]
    if model.task == "classification":  # probabilities; one sigmoid output for two classes
        expected = model.predict_proba(X)[:, -got.shape[1]:]
    else:  # regression targets in their own units
        expected = model.predict(X).reshape(got.shape)
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)


def test_export_refuses_a_corrupt_model_with_exit_code_2(tmp_path):
    bad = tmp_path / "bad.chainrule"
    bad.write_bytes(b"not a model")
    result = run("export", bad)
    assert result.exit_code == 2
    assert len(result.output.strip().splitlines()) == 1


def test_export_into_a_missing_folder_is_one_line_and_exit_2(flowers, tmp_path):
    model_path = tmp_path / "model.chainrule"
    assert run("train", flowers, "--target", "species", "--out", model_path,
               "--quiet").exit_code == 0
    result = run("export", model_path, "--out", tmp_path / "missing" / "model.onnx")
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "does not exist" in lines[0]


def test_generalisation_options_and_the_hold_out_rule(tmp_path):
    rng = np.random.default_rng(5)
    rows = [[f"{rng.normal():.4f}", int(rng.integers(1, 4)), f"id{i}", ("a", "b")[i % 2],
             int(rng.normal() > 0)] for i in range(120)]
    data = write_csv(tmp_path / "d.csv", ["x", "code", "name", "group", "y"], rows)
    out = tmp_path / "m.chainrule"
    summary = json.loads(run("train", data, "--target", "y", "--categorical", "code",
                             "--drop", "group", "--patience", "5", "--restarts", "1", "--refit",
                             "--out", out, "--json").stdout)
    roles = {c["name"]: (c["role"], c["reason"]) for c in summary["columns"]}
    assert roles["code"] == ("categorical", "asked (--categorical)")
    assert roles["group"] == ("dropped", "asked (--drop)")
    assert roles["name"][0] == "dropped" and "identifier-like" in roles["name"][1]
    assert summary["holdout"]["rows"] == 24 and "20%" in summary["holdout"]["rule"]
    assert summary["stopped_because"] == "early stopping"
    assert summary["best_epoch"] + 1 < summary["epochs"] <= summary["best_epoch"] + 1 + 5
    assert summary["refit"] == {"epochs": summary["best_epoch"] + 1, "rows": 120}
    assert summary["weight_decay"] == pytest.approx(3 / 96)
    assert load_model(out).metadata["refit"]["rows"] == 120
    plain = json.loads(run("train", data, "--target", "y", "--no-early-stopping",
                           "--weight-decay", "0", "--epochs", "7", "--out", out, "--json").stdout)
    assert plain["stopped_because"] == "epochs done" and plain["best_epoch"] is None
    assert plain["weight_decay"] == 0
    text = run("train", "xor", "--out", out).stdout
    assert "every combination of the inputs" not in text  # 4 rows: too few, said first
    assert "4 rows are too few to hold any out" in text and "targets met" in text
    text = run("train", "parity8", "--out", out).stdout
    assert "the 256 rows are every combination of the inputs' values" in text


def test_a_date_column_is_a_feature_in_train_predict_and_export(tmp_path):
    """aids2's diagnosis date was dropped as identifier-like text: it is a date feature (days
    since 1970-01-01), listed by train, applied by predict, described by export."""
    rng = np.random.default_rng(2)
    days = rng.integers(0, 4000, 80)
    dates = np.datetime64("1982-01-01") + days
    rows = [[str(d), f"{rng.normal():.3f}", "late" if v > 2000 else "early"]
            for d, v in zip(dates, days, strict=True)]
    data = write_csv(tmp_path / "d.csv", ["diag", "age", "status"], rows)
    model_path = tmp_path / "m.chainrule"
    summary = json.loads(run("train", data, "--target", "status", "--out", model_path,
                             "--json").stdout)
    diag = next(c for c in summary["columns"] if c["name"] == "diag")
    assert diag["role"] == "date" and diag["format"] == "ISO8601"
    text = run("train", data, "--target", "status", "--out", model_path).stdout
    assert "date         diag" in text and "days since 1970-01-01" in text
    predicted = run("predict", model_path, data)
    assert predicted.exit_code == 0 and "warning" not in predicted.output
    labels = [r["prediction"] for r in csv.DictReader(io.StringIO(predicted.stdout))]
    truth = [r[2] for r in rows]
    assert np.mean(np.array(labels) == np.array(truth)) > 0.9  # the date is what decides
    if importlib.util.find_spec("onnx") is not None:
        exported = run("export", model_path, "--out", tmp_path / "m.onnx")
        assert "diag (days since 1970-01-01)" in exported.stdout


def test_targets_say_why_the_task_and_refuse_or_warn_in_plain_words(houses, tmp_path):
    """Whole-number scores are classes, and train says why and how to change it; a target that
    differs on every row, text given to a regression model, and one row are one clear line;
    more classes than half the rows is a warning."""
    rng = np.random.default_rng(3)
    x = rng.normal(size=60)
    scores = write_csv(tmp_path / "s.csv", ["x", "score"],
                       [[f"{v:.3f}", int(np.clip(round(5 + 2 * v), 0, 10))] for v in x])
    out = tmp_path / "m.chainrule"
    text = run("train", scores, "--target", "score", "--out", out).stdout
    assert "whole numbers with at most 20 distinct values are classes; --task regression" in text
    summary = json.loads(run("train", scores, "--target", "score", "--task", "regression",
                             "--out", out, "--json").stdout)
    assert summary["task"] == "regression" and summary["task_reason"] == "asked (--task regression)"

    ids = write_csv(tmp_path / "ids.csv", ["x", "y"], [[f"{v:.3f}", f"c{i}"]
                                                       for i, v in enumerate(x)])
    result = run("train", ids, "--target", "y", "--out", out)
    assert result.exit_code == 2 and "like an identifier" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1

    many = write_csv(tmp_path / "many.csv", ["x", "y"],
                     [[f"{v:.3f}", f"{min(i, 29 + i % 2) * 0.37:.2f}"]
                      for i, v in enumerate(x)])
    result = run("train", many, "--target", "y", "--task", "classification", "--out", out)
    assert result.exit_code == 0
    assert "31 classes in 60 rows" in result.stderr and "--task regression" in result.stderr

    assert run("train", houses, "--target", "price", "--out", out, "--quiet").exit_code == 0
    with open(houses) as f:
        rows = list(csv.reader(f))
    texts = write_csv(tmp_path / "t.csv", rows[0], [[*r[:2], "high"] for r in rows[1:]])
    result = run("evaluate", out, texts, "--target", "price")
    assert result.exit_code == 2 and len(result.stderr.strip().splitlines()) == 1
    assert "target column 'price' holds text ('high')" in result.stderr
    assert "could not convert" not in result.stderr

    one = write_csv(tmp_path / "one.csv", ["a", "y"], [[1, 2]])
    result = run("train", one, "--target", "y", "--out", out)
    assert result.exit_code == 2 and "--task regression" in result.stderr


def test_a_model_with_categories_predicts_from_a_files_path(tmp_path):
    """Its error for an array says 'give it a table (a file or a DataFrame)': a path works."""
    import palmerpenguins

    data = tmp_path / "penguins.csv"
    palmerpenguins.load_penguins().to_csv(data, index=False)
    model_path = tmp_path / "p.chainrule"
    assert run("train", data, "--target", "species", "--out", model_path).exit_code == 0
    model = load_model(model_path)
    table = read_table(data)
    np.testing.assert_array_equal(model.predict_proba(str(data)), model.predict_proba(table))
    np.testing.assert_array_equal(model.predict(data), model.predict(table))


def test_category_codes_keep_their_leading_zeros_in_new_files(tmp_path):
    """A model's categorical column is read as text: a new file with only number-like codes
    ('01', '02') must not turn them into 1 and 2, unseen categories."""
    rng = np.random.default_rng(0)
    codes = rng.choice(["01", "02", "10", "A1"], 120)
    x = rng.normal(size=120)
    y = x + (codes == "02") * 2
    train = tmp_path / "train.csv"
    with open(train, "w") as f:
        f.write("code,x,y\n" + "".join(f"{c},{v},{t}\n" for c, v, t in zip(codes, x, y,
                                                                       strict=True)))
    new = tmp_path / "new.csv"
    with open(new, "w") as f:
        f.write("code,x\n01,0.5\n02,0.5\n")
    model_path = tmp_path / "m.chainrule"
    assert run("train", train, "--target", "y", "--out", model_path).exit_code == 0
    out = tmp_path / "p.csv"
    result = run("predict", model_path, new, "--out", out)
    assert result.exit_code == 0 and "not seen in training" not in result.output


def test_a_text_class_model_evaluates_a_column_that_reads_as_numbers(tmp_path):
    """Classes '1', '2', '3', 'x': a new file holding only 1..3 reads as numbers; evaluate must
    compare labels as text, not leak "could not convert string to float"."""
    rng = np.random.default_rng(1)
    labels = rng.choice(["1", "2", "3", "x"], 100)
    x = rng.normal(size=100) + (labels == "x")
    train, new = tmp_path / "train.csv", tmp_path / "new.csv"
    train.write_text("x,y\n" + "".join(f"{v},{t}\n" for v, t in zip(x, labels, strict=True)))
    new.write_text("x,y\n0.1,1\n0.2,2\n0.3,3\n")
    model_path = tmp_path / "m.chainrule"
    assert run("train", train, "--target", "y", "--out", model_path).exit_code == 0
    result = run("evaluate", model_path, new, "--target", "y")
    assert result.exit_code == 0, result.output
    assert "accuracy" in result.output
