"""Tests for chainrule.io: model files round-trip bit for bit, and bad files are refused."""

from __future__ import annotations

import json
import os
import stat
import zipfile

import numpy as np
import pytest

from chainrule import Network
from chainrule.data import Model, Preprocessor, Standardizer, numeric_table
from chainrule.io import atomic_write, load, load_model, save_model, save_network

X4 = np.array([[0, 0], [0, 1], [1, 0], [1, 1.0]])


def trained(dtype: str = "float64", sizes=(2, 3, 1), **kwargs) -> Network:
    net = Network(list(sizes), activation="tanh", seed=1, dtype=dtype, **kwargs)
    net.fit(X4, np.array([0, 1, 1, 0.0]), epochs=50, restarts=1)
    return net


@pytest.fixture
def model_file(tmp_path):
    path = str(tmp_path / "m.chainrule")
    net = trained()
    net.save(path)
    return path, net


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_network_round_trip_is_bit_exact(tmp_path, dtype):
    net = trained(dtype, sizes=(2, 4, 3, 1))
    path = tmp_path / "net.chainrule"
    net.save(path, note="xor", epochs=50)
    back = load(path)
    assert back.sizes == net.sizes and back.dtype == net.dtype
    assert repr(back) == repr(net)
    for a, b in zip(net.parameters(), back.parameters(), strict=True):
        assert a.dtype == b.dtype
        assert a.tobytes() == b.tobytes()
    X = np.random.default_rng(0).random((7, 2))
    assert net.predict(X).tobytes() == back.predict(X).tobytes()
    for a, b in zip(net.input_range_, back.input_range_, strict=True):
        np.testing.assert_array_equal(a, b)
    assert load_model(path).metadata == {"note": "xor", "epochs": 50}
    assert os.listdir(tmp_path) == ["net.chainrule"]  # written as named, no temp files left


def test_poisson_network_round_trip(tmp_path):
    net = trained(output_activation="exp", loss="poisson")
    net.save(tmp_path / "counts.chainrule")
    back = load(tmp_path / "counts.chainrule")
    assert repr(back) == repr(net) and back.loss_function.name == "poisson"
    assert back.predict(X4).tobytes() == net.predict(X4).tobytes()


def test_file_is_plain_numpy_and_json(model_file):
    path, net = model_file
    with np.load(path, allow_pickle=False) as z:
        assert sorted(z.files) == ["W1", "W2", "b1", "b2", "meta"]
        meta = json.loads(str(z["meta"]))
        np.testing.assert_array_equal(z["W2"], net.layers[1].weights)
    assert meta["format"] == "chainrule-model" and meta["format_version"] == 2
    assert meta["architecture"] == {"sizes": [2, 3, 1], "activations": ["tanh"],
                                    "output_activation": "sigmoid", "loss": "mse",
                                    "dtype": "float64"}
    assert meta["chainrule_version"]


def test_model_bundle_round_trip(tmp_path):
    net = Network([2, 5, 3], activation="relu", output_activation="softmax",
                  loss="cross_entropy", seed=3)
    pre = Preprocessor.scaling(["a", "b"], np.array([1.0, -2]), np.array([0.5, 3]))
    model = Model(net, "classification", pre, None, ["cat", "dog", "emu"], "animal",
                  {"epochs": 3})
    path = tmp_path / "m.chainrule"
    model.save(path)
    back = load_model(path)
    assert back.classes == ["cat", "dog", "emu"] and back.task == "classification"
    assert back.feature_names == ["a", "b"] and back.target == "animal"
    assert back.preprocessor.to_json() == pre.to_json()
    X = np.random.default_rng(1).normal(size=(6, 2))
    assert model.predict(X).tolist() == back.predict(X).tolist()
    assert model.predict_proba(X).tobytes() == back.predict_proba(X).tobytes()


def test_regression_bundle_keeps_target_scaling(tmp_path):
    net = Network([1, 2, 1], output_activation="identity", seed=0)
    model = Model(net, "regression", Preprocessor.scaling(["x"], [3.0], [2.0]),
                  Standardizer(np.array([100.0]), np.array([10.0])))
    save_model(model, tmp_path / "r.chainrule")
    back = load_model(tmp_path / "r.chainrule")
    X = np.array([[1.0], [2.0]])
    assert back.predict(X).tobytes() == model.predict(X).tobytes()
    np.testing.assert_array_equal(back.target_scaler.scale, [10.0])


def test_column_roles_round_trip_as_json(tmp_path):
    """Numeric, categorical (with gaps) and dropped columns come back exactly, and the loaded
    model preprocesses and predicts a table as the saved one did."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 2))
    X[3, 1] = np.nan
    colour = np.array(["red", "blue", None, "green"] * 10, dtype=object)
    table = numeric_table(X, ["u", "v"])
    table.text["colour"] = colour
    table.text["id"] = np.array([f"row{i}" for i in range(40)], dtype=object)
    table.columns = ["u", "id", "v", "colour"]
    pre = Preprocessor.fit(table)
    assert [c.role for c in pre.columns] == ["numeric", "dropped", "numeric", "categorical"]
    net = Network([pre.n_outputs, 3, 1], output_activation="identity", seed=0)
    model = Model(net, "regression", pre, Standardizer(np.array([1.0]), np.array([2.0])))
    save_model(model, tmp_path / "m.chainrule")
    back = load_model(tmp_path / "m.chainrule")
    assert back.preprocessor.to_json() == pre.to_json()
    assert back.feature_names == ["u", "v", "colour"]
    assert back.predict(table).tobytes() == model.predict(table).tobytes()
    with np.load(tmp_path / "m.chainrule", allow_pickle=False) as z:
        meta = json.loads(str(z["meta"]))
    roles = {c["name"]: c for c in meta["preprocessing"]["inputs"]["columns"]}
    assert roles["colour"]["categories"] == ["blue", "green", "red"] and roles["colour"][
        "indicator"] is True
    assert roles["id"]["role"] == "dropped" and "identifier" in roles["id"]["reason"]


def test_format_1_files_still_load(tmp_path):
    """A model file of format 1 (a plain input scaling) loads as numeric columns."""
    net = Network([2, 3, 1], output_activation="identity", seed=0)
    net.save(tmp_path / "m.chainrule")
    rewrite(tmp_path / "m.chainrule", lambda a, m: m.update(
        format_version=1, task="regression", feature_names=["a", "b"],
        preprocessing={"inputs": {"mean": [1.0, 2.0], "scale": [2.0, 4.0]}, "targets": None}))
    model = load_model(tmp_path / "m.chainrule")
    assert model.feature_names == ["a", "b"]
    X = np.array([[3.0, 6.0], [1.0, 2.0]])
    np.testing.assert_allclose(model.predict(X), net.predict([[1.0, 1.0], [0.0, 0.0]])[:, 0])


def test_custom_activation_and_bad_metadata_are_refused(tmp_path):
    class Cube:
        def forward(self, Z):
            return Z**3

        def derivative(self, Z, A):
            return 3 * Z**2

    with pytest.raises(ValueError, match="custom activation"):
        Network([2, 2, 1], activation=Cube()).save(tmp_path / "c.chainrule")
    with pytest.raises(ValueError, match="JSON-serialisable"):
        Network([2, 1]).save(tmp_path / "c.chainrule", when=object())
    with pytest.raises(ValueError, match="JSON-serialisable and finite"):
        Network([2, 1]).save(tmp_path / "c.chainrule", score=float("nan"))
    assert not os.listdir(tmp_path)


# -- atomic writes --------------------------------------------------------------------------------
def test_crash_during_write_keeps_the_old_file(model_file, monkeypatch):
    path, net = model_file
    before = open(path, "rb").read()

    def crash(f):
        f.write(b"PK\x03\x04 half a model")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        atomic_write(path, crash)
    assert open(path, "rb").read() == before
    assert os.listdir(os.path.dirname(path)) == ["m.chainrule"]

    def refuse(*args):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(OSError, match="disk full"):
        trained(sizes=(2, 5, 1)).save(path)
    assert open(path, "rb").read() == before
    assert os.listdir(os.path.dirname(path)) == ["m.chainrule"]


def test_missing_directory_is_a_value_error(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        Network([2, 1]).save(tmp_path / "no" / "m.chainrule")


# -- refusing bad files ---------------------------------------------------------------------------
def rewrite(path, change) -> None:
    """Apply ``change(arrays, meta)`` to a model file's content and write it back with savez."""
    with np.load(path, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    meta = json.loads(str(arrays.pop("meta")))
    change(arrays, meta)
    if meta is not None:
        arrays["meta"] = np.array(json.dumps(meta))
    with open(path, "wb") as f:
        np.savez(f, **arrays)


TAMPERING = {
    "shape inconsistent with sizes": (
        lambda a, m: a.update(W1=np.zeros((3, 3))), "W1 has shape \\(3, 3\\)"),
    "sizes inconsistent with arrays": (
        lambda a, m: m["architecture"].update(sizes=[2, 4, 1]), "W1 has shape"),
    "NaN weights": (lambda a, m: a["b2"].__setitem__(0, np.nan), "b2 holds NaN"),
    "wrong dtype": (lambda a, m: a.update(W2=a["W2"].astype(np.float32)), "dtype float32"),
    "missing array": (lambda a, m: a.pop("b1"), "missing b1"),
    "extra array": (lambda a, m: a.update(W3=np.zeros((1, 1))), "unexpected W3"),
    "newer format": (lambda a, m: m.update(format_version=3), "newer than this chainrule"),
    "bad version": (lambda a, m: m.update(format_version="1"), "bad format_version"),
    "not chainrule": (lambda a, m: m.update(format="keras"), "not a chainrule model file"),
    "unknown activation": (
        lambda a, m: m["architecture"].update(activations=["os.system"]), "activations must"),
    "softmax hidden": (
        lambda a, m: m["architecture"].update(activations=["softmax"]), "output layer only"),
    "bad loss pair": (lambda a, m: m["architecture"].update(loss="cross_entropy"), "needs"),
    "sizes not ints": (lambda a, m: m["architecture"].update(sizes=[2, 3.5, 1]), "sizes"),
    "wrong class count": (
        lambda a, m: m.update(task="classification", classes=["a", "b", "c"]), "3 classes"),
    "format 1 scaler length": (
        lambda a, m: (m.update(format_version=1),
                      m["preprocessing"].update(inputs={"mean": [0], "scale": [1]})), "2 numbers"),
    "preprocessing makes too few inputs": (
        lambda a, m: m["preprocessing"].update(inputs=Preprocessor.scaling(
            ["a"], [0.0], [1.0]).to_json()), "makes 1 inputs but the network takes 2"),
    "zero scale": (
        lambda a, m: m["preprocessing"].update(inputs=Preprocessor.scaling(
            ["a", "b"], [0.0, 0.0], [1.0, 0.0]).to_json()), "positive"),
    "unknown role": (
        lambda a, m: m["preprocessing"].update(inputs={"columns": [
            {"name": "a", "role": "exec", "reason": ""}]}), "role in"),
    "fill not a category": (
        lambda a, m: m["preprocessing"].update(inputs={"columns": [
            {"name": "a", "role": "categorical", "reason": "", "fill": "z", "indicator": False,
             "categories": ["x", "y"]}]}), "fill must be one of its categories"),
    "unknown field": (lambda a, m: m.update(code="import os"), "unknown meta field"),
    "meta not an object": (lambda a, m: (m.clear(), m.update(format=[1])), "not a chainrule"),
}


@pytest.mark.parametrize("case", list(TAMPERING))
def test_tampered_files_are_refused(model_file, case):
    path, _ = model_file
    change, message = TAMPERING[case]
    rewrite(path, change)
    with pytest.raises(ValueError, match=message):
        load(path)


def test_meta_not_json_and_object_arrays(model_file):
    path, _ = model_file
    with np.load(path, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    with open(path, "wb") as f:
        np.savez(f, **{**arrays, "meta": np.array("{not json")})
    with pytest.raises(ValueError, match="meta is not valid JSON"):
        load(path)
    with open(path, "wb") as f:
        np.savez(f, **{**arrays, "meta": np.array("[" * 100_000)})
    with pytest.raises(ValueError, match="meta is not valid JSON"):
        load(path)
    with open(path, "wb") as f:
        np.savez(f, **{**arrays, "W1": np.array([os.system], dtype=object)})
    with pytest.raises(ValueError, match="pickled objects are never loaded"):
        load(path)
    with open(path, "wb") as f:
        np.savez(f, **{**arrays, "meta": np.array(b"{}")})
    with pytest.raises(ValueError, match="no JSON 'meta' string"):
        load(path)


@pytest.mark.parametrize("content, message", [
    (b"", "not an .npz archive"),
    (b"hello, world\n", "not an .npz archive"),
    (np.lib.format.MAGIC_PREFIX + b"\x01\x00", "not an .npz archive"),
    (b"PK\x03\x04" + b"\x00" * 50, "unreadable archive"),
])
def test_non_model_files_are_refused(tmp_path, content, message):
    path = tmp_path / "x.chainrule"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=message):
        load(path)


def test_missing_file_and_plain_npz(tmp_path):
    with pytest.raises(ValueError, match="no such model file"):
        load(tmp_path / "none.chainrule")
    np.savez(tmp_path / "data.npz", X=np.zeros((2, 2)))
    with pytest.raises(ValueError, match="not a chainrule model file"):
        load(tmp_path / "data.npz")


def test_fuzzed_files_load_cleanly_or_raise_value_error(model_file, tmp_path):
    """Random byte flips and truncations: a clean load of valid content, or one ValueError."""
    path, net = model_file
    good = open(path, "rb").read()
    rng = np.random.default_rng(12345)
    target = tmp_path / "fuzzed.chainrule"
    outcomes = {"loaded": 0, "refused": 0}
    for trial in range(400):
        data = bytearray(good)
        if trial % 4 == 0:
            data = data[: rng.integers(0, len(data))]
        else:
            for i in rng.integers(0, len(data), size=rng.integers(1, 4)):
                data[i] ^= int(rng.integers(1, 256))
        target.write_bytes(bytes(data))
        try:
            model = load_model(target)
        except ValueError as error:
            assert "\n" not in str(error)
            outcomes["refused"] += 1
            continue
        outcomes["loaded"] += 1
        back = model.network
        assert back.sizes == net.sizes
        for p in back.parameters():
            assert np.all(np.isfinite(p))
        assert np.all(np.isfinite(back.predict(X4)))
    assert outcomes["refused"] > 300 and sum(outcomes.values()) == 400


def test_zip_with_a_different_compression_still_loads(model_file, tmp_path):
    """Any zip writer will do: the format is the arrays and meta, not the bytes of savez."""
    path, net = model_file
    again = tmp_path / "deflated.chainrule"
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(again, "w", zipfile.ZIP_DEFLATED) as dst:
        for name in src.namelist():
            dst.writestr(name, src.read(name))
    back = load(again)
    assert back.layers[0].weights.tobytes() == net.layers[0].weights.tobytes()
    save_network(back, again)
    assert load(again).layers[1].bias.tobytes() == net.layers[1].bias.tobytes()


def test_a_save_never_replaces_a_device_or_pipe_and_writes_through_a_link(tmp_path):
    """An atomic save renames its temporary file over the target: onto /dev/null (as root) that
    would replace the device with a file. Anything that exists and is not a regular file is
    refused; a symbolic link is written through, and stays a link."""
    net = Network([2, 2, 1], seed=0)
    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    with pytest.raises(ValueError, match="not a regular file"):
        net.save(pipe)
    assert stat.S_ISFIFO(os.lstat(pipe).st_mode)
    target, link = tmp_path / "real.npz", tmp_path / "link.npz"
    net.save(target)
    link.symlink_to(target)
    Network([2, 3, 1], seed=1).save(link)
    assert link.is_symlink() and load(target).sizes == [2, 3, 1]
