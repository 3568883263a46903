"""Tests for chainrule.data (reading tables, preprocessing, Model) and the generated datasets."""

from __future__ import annotations

import numpy as np
import pytest

from chainrule import datasets
from chainrule.data import (
    Standardizer,
    build_model,
    class_labels,
    drop_missing_target,
    encode_labels,
    holdout,
    infer_task,
    output_for,
    read_table,
    split_rows,
)


def write(path, text: str):
    path.write_text(text)
    return str(path)


# -- reading -------------------------------------------------------------------------------------
@pytest.mark.parametrize("sep", [",", "\t", ";"])
def test_csv_delimiter_is_sniffed(tmp_path, sep):
    rows = [["a", "b", "label"], ["1.5", "2", "cat"], ["3", "-4e-1", "dog"], ["0", "1", "cat"]]
    path = write(tmp_path / "d.csv", "\n".join(sep.join(r) for r in rows) + "\n")
    table = read_table(path, "label")
    assert table.feature_names == ["a", "b"]
    np.testing.assert_array_equal(table.X, [[1.5, 2], [3, -0.4], [0, 1]])
    assert table.target.tolist() == ["cat", "dog", "cat"]
    assert table.target_name == "label"


def test_target_by_index_and_numeric_target(tmp_path):
    path = write(tmp_path / "d.csv", "x,y\n1,10\n2,20.5\n")
    table = read_table(path, "-1")
    assert table.target_name == "y" and table.target.dtype == float
    np.testing.assert_array_equal(table.target, [10, 20.5])


@pytest.mark.parametrize("text, message", [
    ("a,b,t\n", "header but no data rows"),
    ("a,b,t\n,,\n", "header but no data rows"),
    ("a,b,t\n1,2,3\n4,5,6,7\n", "line 3: 4 fields but the header has 3"),
    ("a,a,t\n1,2,3\n", "column name\\(s\\) a appear more than once"),
    ("a,b,t\n1,inf,0\n", "feature column 'b' .* holds inf"),
    ("a,b,t\n1,2,\n3,4,\n", "target column 't' .* is empty"),
])
def test_bad_tables_name_the_problem(tmp_path, text, message):
    with pytest.raises(ValueError, match=message):
        read_table(write(tmp_path / "d.csv", text), "t")


def test_a_short_row_is_filled_with_missing_values_as_pandas_does(tmp_path):
    table = read_table(write(tmp_path / "d.csv", "a,b,t\n1,2,0\n3,1\n"), "t")
    np.testing.assert_array_equal(table.X, [[1, 2], [3, 1]])
    assert np.isnan(table.target[1])


def test_text_and_missing_cells_are_read_not_refused(tmp_path):
    """Text stays text as written, pandas' missing markers are missing, numbers are one array."""
    path = write(tmp_path / "d.csv", "a,b,c,flag,t\n1, hello ,2020-01-03,true,x\n"
                                     "NA,,2021-05-01,false,\n3,nan,,True,y\n")
    table = read_table(path, "t")
    assert table.columns == ["a", "b", "c", "flag"] and table.numeric == ["a"]
    np.testing.assert_array_equal(table.X, [[1.0], [np.nan], [3.0]])
    assert table.text["b"].tolist() == [" hello ", None, None]
    assert table.text["c"].tolist() == ["2020-01-03", "2021-05-01", None]
    assert table.text["flag"].tolist() == [True, False, True]
    assert table.target.tolist() == ["x", None, "y"]
    table, dropped = drop_missing_target(table)
    assert dropped == 1 and table.target.tolist() == ["x", "y"] and table.n_samples == 2


@pytest.mark.parametrize("suffix", [".parquet", ".feather", ".csv.gz", ".tsv"])
def test_parquet_feather_compressed_and_tsv_read_like_csv(tmp_path, suffix):
    import pandas as pd

    frame = pd.DataFrame({"x": [1.5, None, 3.0], "colour": ["red", None, "blue"],
                          "n": [1, 2, 3], "y": ["a", "b", "a"]})
    path = str(tmp_path / f"d{suffix}")
    if suffix == ".parquet":
        frame.to_parquet(path)
    elif suffix == ".feather":
        frame.to_feather(path)
    else:
        frame.to_csv(path, index=False, sep="\t" if suffix == ".tsv" else ",")
    table = read_table(path, "y")
    assert table.numeric == ["x", "n"] and table.columns == ["x", "colour", "n"]
    np.testing.assert_array_equal(table.X, [[1.5, 1], [np.nan, 2], [3, 3]])
    assert table.text["colour"].tolist() == ["red", None, "blue"]
    assert table.target.tolist() == ["a", "b", "a"]
    assert read_table(frame, "y").text["colour"].tolist() == ["red", None, "blue"]


@pytest.mark.parametrize("late", [
    "n/a here,3.5,x",      # text further down a number column
    "12,4.5,x",            # a whole number where the first slice had one
    '"12",4.5,"x\ny"',     # quotes, with a line break inside one
])
def test_files_read_in_chunks_equal_files_read_whole(tmp_path, monkeypatch, late):
    """Chunks of ~1 kB here (16 MB in use): types from the first chunk; a change of type
    further down makes the whole file be read at once instead."""
    from chainrule.data import reading

    rows = [f"{i},{i / 4},{'ab'[i % 2]}" for i in range(3000)]
    rows[1500] = late
    rows[10] = ",,"  # an empty line of cells, dropped
    text = "size,w,code\n" + "\n".join(rows) + "\n"
    path = write(tmp_path / "d.csv", text)
    whole = read_table(path, "code")
    monkeypatch.setattr(reading, "CHUNK_BYTES", 1000)
    sliced = read_table(path, "code")
    assert sliced.columns == whole.columns and sliced.numeric == whole.numeric
    np.testing.assert_array_equal(sliced.X, whole.X)
    assert sliced.target.tolist() == whole.target.tolist() and sliced.n_samples == 2999
    for name in sliced.text:
        assert sliced.text[name].tolist() == whole.text[name].tolist()
    if late.startswith("n/a"):  # one stray text cell in 2999 numbers: a missing number
        assert "size" in sliced.numeric and np.isnan(sliced.column("size")[1499])
    else:
        assert sliced.X[1499].tolist() == [12.0, 4.5]


def test_a_column_empty_in_the_first_chunk_is_typed_from_all_rows(tmp_path, monkeypatch):
    from chainrule.data import reading

    monkeypatch.setattr(reading, "CHUNK_BYTES", 200)
    lines = [f"{i}," for i in range(100)] + [f"{i},{i * 2}" for i in range(100)]
    table = read_table(write(tmp_path / "d.csv", "a,b\n" + "\n".join(lines) + "\n"), "a")
    assert table.numeric == ["b"] and np.isnan(table.X[:100, 0]).all()
    assert table.X[-1, 0] == 198


@pytest.mark.parametrize("suffix, kind", [(".parquet", "Parquet"), (".feather", "Feather")])
def test_corrupt_arrow_files_are_one_line_errors(tmp_path, suffix, kind):
    path = tmp_path / f"d{suffix}"
    path.write_bytes(b"PAR1 this is not really a file")
    with pytest.raises(ValueError, match=f"not a readable {kind} file") as error:
        read_table(str(path), "y")
    assert "\n" not in str(error.value)


def test_missing_and_empty_files(tmp_path):
    with pytest.raises(ValueError, match="no such file"):
        read_table(str(tmp_path / "nope.csv"), "t")
    with pytest.raises(ValueError, match="is empty"):
        read_table(write(tmp_path / "e.csv", ""), "t")
    with pytest.raises(ValueError, match="target column 'zz' not found .* columns are a, t"):
        read_table(write(tmp_path / "d.csv", "a,t\n1,2\n"), "zz")


def test_binary_file_is_not_a_table(tmp_path):
    path = tmp_path / "d.csv"
    path.write_bytes(b"\xff\xfe\x00\x81" * 10)
    with pytest.raises(ValueError, match="not a text"):
        read_table(str(path), "t")


def test_npy_with_target_index_and_npz_with_X_y(tmp_path):
    data = np.arange(12.0).reshape(4, 3)
    np.save(tmp_path / "d.npy", data)
    table = read_table(str(tmp_path / "d.npy"), "1")
    np.testing.assert_array_equal(table.X, data[:, [0, 2]])
    np.testing.assert_array_equal(table.target, data[:, 1])
    with pytest.raises(ValueError, match="column index"):
        read_table(str(tmp_path / "d.npy"), "label")
    np.savez(tmp_path / "d.npz", X=data, y=np.array(["a", "b", "a", "b"]))
    table = read_table(str(tmp_path / "d.npz"), "y")
    np.testing.assert_array_equal(table.X, data)
    assert table.target.tolist() == ["a", "b", "a", "b"]


def test_npz_object_arrays_are_refused_not_unpickled(tmp_path):
    np.savez(tmp_path / "d.npz", X=np.array([{"a": 1}, 2], dtype=object), y=np.zeros(2))
    with pytest.raises(ValueError, match="without pickle"):
        read_table(str(tmp_path / "d.npz"), "y")


def test_builtin_name_and_prediction_columns(tmp_path):
    table = read_table("xor")
    assert table.X.shape == (4, 2) and table.target.tolist() == [0, 1, 1, 0]
    path = write(tmp_path / "d.csv", "b,t,a\n1,0,2\n3,1,4\n")
    table = read_table(path, features=["a", "b"])
    np.testing.assert_array_equal(table.X, [[2, 1], [4, 3]])
    with pytest.raises(ValueError, match="lacks the model's input column\\(s\\) c"):
        read_table(path, features=["a", "c"])


# -- preprocessing ---------------------------------------------------------------------------------
def test_standardizer_scales_and_keeps_constant_columns():
    X = np.array([[1.0, 5.0, 0.0], [3.0, 5.0, 10.0], [5.0, 5.0, 20.0]])
    s = Standardizer.fit(X)
    np.testing.assert_array_equal(s.scale[1], 1.0)
    Z = s.transform(X)
    np.testing.assert_allclose(Z.mean(axis=0), 0, atol=1e-15)
    np.testing.assert_allclose(Z.std(axis=0), [1, 0, 1])
    np.testing.assert_allclose(s.inverse_transform(Z), X)


@pytest.mark.parametrize("y, task", [
    (np.array(["a", "b", "a"]), "classification"),
    (np.array([0, 1, 2, 1, 0, 2.0]), "classification"),
    (np.array([0.5, 1.25, 2.0, 3.5]), "regression"),
    (np.arange(10.0), "regression"),  # 10 distinct integers in 10 rows: a quantity
    (np.arange(100) % 3 * 1.0, "classification"),
])
def test_infer_task(y, task):
    assert infer_task(y) == task


def test_labels_round_trip():
    y = np.array(["setosa", "virginica", "setosa", "versicolor"])
    classes = class_labels(y)
    assert classes == ["setosa", "versicolor", "virginica"]
    index = encode_labels(y, classes)
    assert np.array(classes)[index].tolist() == y.tolist()
    assert class_labels(np.array([2.0, 1.0, 2.0])) == [1, 2]
    with pytest.raises(ValueError, match="not seen in training"):
        encode_labels(np.array(["rose"]), classes)


def test_output_for_each_task():
    assert output_for("classification", 2) == ("sigmoid", "bce", 1)
    assert output_for("classification", 3) == ("softmax", "cross_entropy", 3)
    assert output_for("classification", 2, "cross_entropy") == ("softmax", "cross_entropy", 2)
    assert output_for("regression", 0) == ("identity", "mse", 1)
    with pytest.raises(ValueError, match="regression uses mse"):
        output_for("regression", 0, "bce")
    with pytest.raises(ValueError, match="single class"):
        output_for("classification", 1)


def test_split_rows_is_a_partition():
    train, val = split_rows(50, 0.2, np.random.default_rng(0))
    assert len(val) == 10 and sorted(np.r_[train, val].tolist()) == list(range(50))
    labels = np.array(["a"] * 40 + ["b"] * 9 + ["c"])
    train, val = split_rows(50, 0.2, np.random.default_rng(0), strata=labels)
    assert sorted(np.r_[train, val].tolist()) == list(range(50))
    assert sorted(labels[val].tolist()) == ["a"] * 8 + ["b"] * 2  # "c" keeps its only row
    assert "c" in labels[train]
    with pytest.raises(ValueError, match="validation fraction"):
        split_rows(50, 1.5, np.random.default_rng(0))


def test_classification_model_predicts_labels(tmp_path):
    rng = np.random.default_rng(1)
    X = rng.normal(5.0, 3.0, size=(90, 2))
    labels = np.array(["low", "mid", "high"])[np.digitize(X[:, 0], [3.5, 6.5])]
    table = read_table(write(tmp_path / "d.csv", "u,v,c\n" + "".join(
        f"{a},{b},{c}\n" for (a, b), c in zip(X, labels, strict=True))), "c")
    model = build_model(table, hidden=[8], seed=0)
    assert model.task == "classification" and model.network.sizes == [2, 8, 3]
    model.network.fit(model.inputs(table.X), model.targets(table.target), epochs=300)
    assert set(model.predict(table.X)) <= {"low", "mid", "high"}
    assert model.evaluate(table.X, table.target)["accuracy"] > 0.9
    proba = model.predict_proba(table.X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)


def test_regression_targets_are_scaled_and_mapped_back(tmp_path):
    rng = np.random.default_rng(2)
    X = rng.uniform(0, 100, size=(80, 2))
    y = 300.0 + 5.0 * X[:, 0] - 2.0 * X[:, 1]
    table = read_table(write(tmp_path / "d.csv", "a,b,price\n" + "".join(
        f"{a},{b},{t}\n" for (a, b), t in zip(X, y, strict=True))), "price")
    model = build_model(table, task="auto", hidden=[], seed=0)
    assert model.task == "regression" and model.network.sizes == [2, 1]
    ys = model.targets(table.target)
    assert abs(ys.mean()) < 1e-12 and abs(ys.std() - 1) < 1e-12
    model.network.fit(model.inputs(table.X), ys, epochs=200)
    np.testing.assert_allclose(model.predict(table.X), y, rtol=1e-3)
    assert model.evaluate(table.X, table.target)["r2"] > 0.999
    with pytest.raises(ValueError, match="not numeric"):
        build_model(read_table(write(tmp_path / "s.csv", "a,t\n1,x\n2,y\n"), "t"),
                    task="regression")


def test_holdout_rule_spares_truth_tables_and_tiny_tables():
    from chainrule.datasets import PROBLEMS, load_dataset

    for name in PROBLEMS:  # the questions' problems: whole domains, all rows to training
        assert holdout(read_table(name))[0] == 0.0
    for name in ("parity8", "encoder8"):
        assert holdout(read_table(name))[0] == 0.0
    X, y = load_dataset("parity8")
    assert "every combination" in holdout(read_table("parity8"))[1]
    assert holdout(read_table("spirals"))[0] == 0.2  # a sample of a larger population
    assert holdout(read_table("spirals"), 0.3) == (0.3, "30% of the rows, as asked (--validation)")
    assert holdout(read_table("spirals"), 0.0) == (0.0, "none, as asked (--validation 0)")
    grid_with_repeat = np.vstack([X, X[:1]])
    from chainrule.data import numeric_table

    repeated = numeric_table(grid_with_repeat, [f"x{i}" for i in range(8)], np.r_[y, y[:1]])
    assert holdout(repeated)[0] == 0.2


# -- generated datasets ----------------------------------------------------------------------------
def test_two_spirals_is_the_cmu_benchmark():
    X, y = datasets.spirals()
    assert X.shape == (194, 2) and y.sum() == 97
    i = np.arange(97)
    radius = 6.5 * (104 - i) / 104
    angle = i * np.pi / 16
    np.testing.assert_allclose(X[0::2], np.column_stack([radius * np.sin(angle),
                                                         radius * np.cos(angle)]))
    np.testing.assert_array_equal(X[1::2], -X[0::2])
    np.testing.assert_array_equal(y[0::2], 1)
    np.testing.assert_array_equal(y[1::2], 0)
    np.testing.assert_allclose(np.hypot(*X[-1]), 0.5)  # innermost point: r = 6.5 * 8 / 104


@pytest.mark.parametrize("make", [datasets.moons, datasets.circles, datasets.blobs])
def test_generators_are_reproducible_and_shaped(make):
    X1, y1 = make(n=101, noise=0.2, rng=np.random.default_rng(5))
    X2, y2 = make(n=101, noise=0.2, rng=np.random.default_rng(5))
    X3, _ = make(n=101, noise=0.2, rng=np.random.default_rng(6))
    assert X1.shape == (101, 2) and y1.shape == (101,)
    np.testing.assert_array_equal(X1, X2)
    np.testing.assert_array_equal(y1, y2)
    assert not np.array_equal(X1, X3)
    assert len(np.unique(y1)) >= 2


def test_circles_radii_without_noise():
    X, y = datasets.circles(n=40, noise=0.0, factor=0.3)
    np.testing.assert_allclose(np.hypot(X[:, 0], X[:, 1]), np.where(y == 1, 0.3, 1.0))


def test_load_dataset_names():
    assert datasets.load_dataset("parity5")[0].shape == (32, 5)
    assert datasets.load_dataset("encoder4")[1].shape == (4, 4)
    assert datasets.load_dataset("spirals")[0].shape == (194, 2)
    names = [row[0] for row in datasets.dataset_names()]
    assert {"xor", "spirals", "moons", "circles", "blobs", "parity", "encoder"} <= set(names)
    with pytest.raises(ValueError, match="unknown data set 'nope'"):
        datasets.load_dataset("nope")


def test_scikit_learn_bundled_data_sets_load_by_name():
    from chainrule.datasets import dataset_names, load_dataset

    X, y = load_dataset("iris")
    assert X.shape == (150, 4) and sorted(set(y)) == [0.0, 1.0, 2.0]
    X, y = load_dataset("diabetes")
    assert X.shape == (442, 10) and len(set(y)) > 100
    names = {row[0] for row in dataset_names()}
    assert {"iris", "wine", "breast_cancer", "digits", "diabetes"} <= names


def test_text_keeps_its_spaces_blank_cells_are_missing_and_none_is_a_category(tmp_path):
    """'WD ' stays 'WD ' (the ONNX graph sees the raw text), a cell of blanks is missing, and a
    category named None is a category, not pandas' missing marker."""
    path = write(tmp_path / "d.csv", "kind,improved,t\nWD ,None,None\n  ,Some,Some\nNew,NA,x\n")
    table = read_table(path, "t")
    assert table.text["kind"].tolist() == ["WD ", None, "New"]
    assert table.text["improved"].tolist() == ["None", "Some", None]
    assert table.target.tolist() == ["None", "Some", "x"]


def test_semicolon_files_with_decimal_commas_are_numbers(tmp_path):
    """A ';' file writes 0,126 for 0.126 (Excel in most of Europe): features and target are
    numbers; a name with a comma stays text; predicting reads the same numbers."""
    from chainrule.data import Preprocessor

    lines = [f"{i / 8:.3f};{-i};Smith, J{i % 3};{i / 2:.1f}".replace(".", ",") for i in range(40)]
    path = write(tmp_path / "euro.csv", "x1;x2;name;y\n" + "\n".join(lines) + "\n")
    table = read_table(path, "y")
    assert sorted(table.numeric) == ["x1", "x2"] and list(table.text) == ["name"]
    np.testing.assert_allclose(table.column("x1"), np.arange(40) / 8)
    np.testing.assert_allclose(table.target, np.arange(40) / 2)
    pre = Preprocessor.fit(table)
    again = read_table(path, features=pre.input_columns)  # predicting: the model reads them
    np.testing.assert_allclose(pre.transform(again), pre.transform(table))
    comma = write(tmp_path / "comma.csv", "x,y\n" + "".join(f'"{i},5",{i}\n' for i in range(40)))
    assert list(read_table(comma, "y").text) == ["x"]  # a ',' file: "1,5" is not a number


def test_a_number_column_with_a_few_text_cells_is_numbers_with_those_missing(tmp_path):
    """'?', '-' and '1,5' among numbers (>= 90% numbers) are missing cells, named in a warning;
    in the target, those rows are then dropped like rows without a target."""
    rows = [f"{i},{i * 2}" for i in range(30)]
    rows[3], rows[7], rows[9] = "?,6", "-,14", "1,5,18"
    rows[5] = "10,?"
    path = write(tmp_path / "d.csv", "x,y\n" + "\n".join(rows).replace("1,5,18", '"1,5",18')
                 + "\n")
    with pytest.warns(UserWarning) as caught:
        table = read_table(path, "y")
    messages = " | ".join(str(w.message) for w in caught)
    assert "column 'x'" in messages and "'?', '-', '1,5'" in messages
    assert "column 'y'" in messages and "not used" in messages
    assert table.numeric == ["x"] and np.isnan(table.X[[3, 7, 9], 0]).all()
    assert table.target.dtype == float and np.isnan(table.target[5])
    table, dropped = drop_missing_target(table)
    assert dropped == 1
    mostly_text = write(tmp_path / "t.csv", "x,y\n" + "".join(
        f"{v},{i}\n" for i, v in enumerate(["a", "b", "1", "2", "c"] * 6)))
    assert list(read_table(mostly_text, "y").text) == ["x"]  # 40% numbers: text
