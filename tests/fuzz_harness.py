"""A seeded fuzz harness that counts failures: ``python tests/fuzz_harness.py --tries 2000``.

Run it against any checkout (``PYTHONPATH=src``). Each part draws random calls and checks the
contract the README promises, counting each broken promise by kind:

``api``       Network / fit / predict / loss / gradients / save / load with random argument
              values and types: only ``ValueError``/``TypeError`` may escape, never another
              exception, and NumPy's ``RuntimeWarning`` never reaches the caller.
``cli``       the CLI (in-process) on garbled tables and options: exit code 0, 1 (doctor's
              findings), 2 or 130, one line on stderr for 2, never "Traceback".
``loader``    the model loader on mutated, truncated and crafted files: only ``ValueError``,
              and the memory it allocates (tracemalloc) stays under 64 MiB for small files.
``kill``      saves killed with SIGKILL midway: the old file loads, and the next save leaves
              no temporary file.
``interrupt`` ``KeyboardInterrupt`` from a callback, restarts > 1: stopped_because is
              "interrupted", the weights are the best copy's (never the initial ones), the
              History rides on the exception; and SIGINT sent to ``chainrule train``: exit 130,
              one line, the model saved.

The process runs under a 6 GiB address-space limit with ``CHAINRULE_MEMORY_LIMIT=2GB``, so
that an allocation the budget misses fails as ``MemoryError`` instead of swapping. The
committed tests (``tests/test_fuzz.py``) check the same contracts with hypothesis, briefly.
"""

from __future__ import annotations

import argparse
import collections
import io
import math
import os
import random
import resource
import signal
import subprocess
import sys
import tempfile
import time
import traceback
import tracemalloc
import warnings
import zipfile

import numpy as np

os.environ.setdefault("CHAINRULE_MEMORY_LIMIT", "2GB")

XOR_X = [[0, 0], [0, 1], [1, 0], [1, 1]]
XOR_Y = [0, 1, 1, 0]


# -- values ----------------------------------------------------------------------------------------
def garbage(rng: random.Random):
    """A value of a random kind: the odd, the huge, the wrong type."""
    kinds = [
        lambda: rng.choice([0, 1, 2, -1, -5, 3, 7, 10**6, 10**9, 10**12, 10**30, -(10**12)]),
        lambda: rng.choice([0.0, -0.0, 0.5, 2.7, -1e300, 1e300, 1e308, math.nan, math.inf,
                            -math.inf, 1e-320, 3.0]),
        lambda: rng.choice([True, False, None]),
        lambda: rng.choice(["", "a", "221", "1e3", "nan", "sigmoid", "relu", "mse", "adam"]),
        lambda: rng.choice([[], [1], [2, 2.7, 1], [[1, 2], [3]], (2, 2, 1), {"a": 1}, {1, 2}]),
        lambda: rng.choice([np.float32(0.1), np.int64(3), np.array(2.0), np.array([1, 2]),
                            np.array(["a"]), np.array([1 + 2j]), np.array([None, 1]),
                            np.array([], dtype=float), np.bool_(True), np.uint8(250)]),
        lambda: rng.choice([object(), print, np.random.default_rng(0), slice(1), b"\x00"]),
    ]
    return rng.choice(kinds)()


def data(rng: random.Random, n_in: int = 2):
    """Inputs: mostly sensible, sometimes huge, ragged, empty, of the wrong dtype."""
    choice = rng.random()
    if choice < 0.5:
        return XOR_X
    if choice < 0.6:
        return [[1e308, -1e308], [1e308, 1e308]]
    if choice < 0.7:
        return np.random.default_rng(rng.randrange(100)).normal(size=(rng.randrange(1, 50), n_in))
    if choice < 0.75:
        return [[0, 1], [1]]
    return garbage(rng)


def targets(rng: random.Random):
    choice = rng.random()
    if choice < 0.6:
        return XOR_Y
    if choice < 0.7:
        return []
    if choice < 0.8:
        return [0, 1e308, -1e308, 2]
    return garbage(rng)


# -- api -------------------------------------------------------------------------------------------
NETWORK_ARGS = ["sizes", "activation", "output_activation", "loss", "init", "seed", "dtype"]
FIT_ARGS = ["epochs", "batch_size", "optimizer", "learning_rate", "shuffle", "validation_data",
            "callbacks", "restarts", "weight_decay", "sample_weight", "max_epochs", "tol",
            "n_iter_no_change", "target_tolerance"]


def api_try(rng: random.Random):
    from chainrule import Network, load

    kwargs = {"sizes": [2, rng.choice([1, 2, 3]), 1], "seed": rng.randrange(5)}
    for name in rng.sample(NETWORK_ARGS, rng.choice([0, 0, 1, 2])):
        kwargs[name] = garbage(rng)
    call = rng.choice(["network", "fit", "fit", "fit", "predict", "loss", "gradients", "save",
                       "parts", "load"])
    if call == "parts":
        return parts_try(rng)
    if call == "load":
        return load(garbage(rng))
    net = Network(**kwargs)
    if call == "network":
        return
    if call == "fit":
        fit_kwargs = {"epochs": rng.choice([None, 1, 5, 30])}
        for name in rng.sample(FIT_ARGS, rng.choice([1, 1, 2, 3])):
            fit_kwargs[name] = garbage(rng)
        if isinstance(fit_kwargs.get("epochs"), int) and fit_kwargs["epochs"] > 200:
            fit_kwargs["epochs"] = rng.choice([fit_kwargs["epochs"], 50])
        X = data(rng) if rng.random() < 0.3 else XOR_X
        y = targets(rng) if rng.random() < 0.3 else XOR_Y
        net.fit(X, y, **fit_kwargs)
    elif call == "predict":
        net.predict(data(rng))
    elif call in ("loss", "gradients"):
        getattr(net, call)(data(rng), targets(rng))
    else:
        with tempfile.TemporaryDirectory() as folder:
            path = os.path.join(folder, "m.chainrule")
            metadata = {"note": garbage(rng)} if rng.random() < 0.5 else {}
            net.save(path, **metadata)
            load(path)


NUMPY_WORDS = ("could not convert", "setting an array element", "inhomogeneous", "ufunc",
               "not supported between", "expected non-negative", "zero-size array",
               "could not be broadcast", "cannot reshape", "invalid literal", "data type",
               "Unable to allocate", "out of bounds", "must be real number",
               "unsupported operand", "object of type", "not understood", "integer is required")


def foreign(error: BaseException) -> bool:
    """Whether an error was not raised in chainrule's words: NumPy's or Python's own."""
    tb = error.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    where = tb.tb_frame.f_code.co_filename if tb is not None else ""
    if "fuzz_harness" in where:
        return False  # a call with the wrong number of arguments: Python's, rightly
    ours = os.sep + "chainrule" + os.sep in where
    return not ours or any(words in str(error) for words in NUMPY_WORDS)


def parts_try(rng: random.Random):
    """The public pieces' constructors, with odd arguments."""
    import chainrule

    name = rng.choice(["SGD", "Adam", "RMSprop", "Rprop", "EarlyStopping", "Uniform",
                       "LambdaCallback", "set_memory_limit"])
    part = getattr(chainrule, name)
    made = part(*[garbage(rng) for _ in range(rng.randrange(0, 3))])
    if name == "set_memory_limit":
        chainrule.set_memory_limit(None)
        return
    if name in ("SGD", "Adam", "RMSprop", "Rprop", "EarlyStopping", "LambdaCallback"):
        net = chainrule.Network([2, 2, 1], seed=0)
        key = "callbacks" if name in ("EarlyStopping", "LambdaCallback") else "optimizer"
        net.fit(XOR_X, XOR_Y, epochs=5, **{key: [made] if key == "callbacks" else made})
    if name == "Uniform":
        chainrule.Network([2, 2, 1], init=made)


def run_api(rng: random.Random, tries: int, failures: collections.Counter, examples: dict):
    for _ in range(tries):
        seed = rng.randrange(2**32)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                with _alarm(20):
                    api_try(random.Random(seed))
            except (ValueError, TypeError) as error:
                if foreign(error):
                    _count(failures, examples, f"api: {type(error).__name__} not in our words: "
                           f"{str(error)[:60]}", seed, traceback.format_exc(limit=-3))
            except _Timeout:
                _count(failures, examples, "api: slow (>20 s)", seed)
            except Exception as error:  # noqa: BLE001 (what the harness counts)
                kind = f"api: {type(error).__name__}: {str(error)[:70]}"
                _count(failures, examples, kind, seed, traceback.format_exc(limit=-3))
        for w in caught:
            if issubclass(w.category, RuntimeWarning) and "training diverged" not in str(
                    w.message):
                _count(failures, examples, f"api: RuntimeWarning: {w.message}", seed,
                       f"{w.filename}:{w.lineno}")


# -- cli -------------------------------------------------------------------------------------------
def table_text(rng: random.Random) -> str:
    """A CSV table with columns a, b, y: mostly well formed, with odd cells, sometimes broken."""
    header = ["a", "b", "y"]
    if rng.random() < 0.1:
        header = [rng.choice(["a", "b", "y", "x y", "", "é", '"q"', "1"]) for _ in range(3)]
    numbers = ["0", "1", "2.5", "-3", "7", "0.001", "1e5", "-2"]
    odd = ["", "nan", "inf", "1e308", "abc", "1,5", " 7 ", "NA", "true", "-1e308", "0x10", "é"]
    ragged = rng.random() < 0.05
    cells = odd if rng.random() < 0.3 else numbers
    rows = []
    for _ in range(rng.choice([0, 1, 2, 5, 30, 30, 100])):
        width = 3 + (rng.choice([-1, 1]) if ragged and rng.random() < 0.3 else 0)
        row = [rng.choice(numbers if rng.random() < 0.8 else cells) for _ in range(width)]
        if width == 3 and rng.random() < 0.5:
            row[2] = rng.choice(["0", "1"]) if rng.random() < 0.7 else rng.choice(cells)
        rows.append(row)
    lines = [",".join(header)] + [",".join(row) for row in rows]
    if rng.random() < 0.05:
        lines.insert(rng.randrange(len(lines)), "\x00\xff\"unterminated")
    return "\n".join(lines) + rng.choice(["", "\n", "\r\n"])


CLI_OPTIONS = [["--layers", "3"], ["--layers", "0"], ["--layers", "2.7"], ["--layers", "a,b"],
               ["--layers", "100000,100000"], ["--layers", ",,"], ["--epochs", "3"],
               ["--epochs", "0"], ["--batch-size", "2"], ["--lr", "1e300"], ["--lr", "nan"],
               ["--restarts", "2"], ["--restarts", "1000000000"], ["--seed", "-1"],
               ["--seed", "99999999999999999999999"], ["--validation", "0.5"],
               ["--task", "regression"], ["--task", "classification"], ["--loss", "mse"],
               ["--activation", "relu"], ["--activation", "foo"], ["--dtype", "float32"],
               ["--no-standardize"], ["--json"], ["-q"], ["--target", "zzz"], ["--target", "0"]]


def run_cli(rng: random.Random, tries: int, failures: collections.Counter, examples: dict):
    from click.testing import CliRunner

    from chainrule.cli import main

    codes: collections.Counter = collections.Counter()
    for _ in range(tries):
        seed = rng.randrange(2**32)
        r = random.Random(seed)
        with tempfile.TemporaryDirectory() as folder:
            csv_path = os.path.join(folder, "t.csv")
            with open(csv_path, "w", encoding="utf-8", errors="surrogateescape") as f:
                f.write(table_text(r))
            os.mkdir(os.path.join(folder, "adir"))
            command = r.choice(["train", "train", "doctor", "predict", "evaluate", "export"])
            model = os.path.join(folder, "m.chainrule")
            args = []
            if command in ("predict", "evaluate", "export"):
                clean = os.path.join(folder, "clean.csv")
                with open(clean, "w") as f:
                    f.write("a,b,y\n" + "".join(f"{i % 3},{i % 5},{i % 2}\n" for i in range(30)))
                CliRunner().invoke(main, ["train", clean, "--target", "y", "--out", model, "-q",
                                          "--epochs", "5"])
                args = [command, model] + ([] if command == "export" else [csv_path])
                if command == "evaluate" and r.random() < 0.7:
                    args += ["--target", "y"]
            else:
                args = [command, csv_path, "--target", "y"]
                for option in r.sample(CLI_OPTIONS, r.randrange(0, 4)):
                    args += option
                if r.random() < 0.3:
                    args += ["--epochs", "3"]
            if r.random() < 0.3:
                args += [r.choice(["--out", "--plot"]),
                         r.choice(["adir", "adir/", "nodir/x", "", "ok.out", "/dev/null"])]
            cwd = os.getcwd()
            os.chdir(folder)
            try:
                result = CliRunner().invoke(main, args, catch_exceptions=True)
            finally:
                os.chdir(cwd)
            codes[result.exit_code] += 1
            if os.environ.get("FUZZ_SHOW"):
                print(result.exit_code, args[0], (result.stderr or "").strip()[:150])
            error = (result.stderr if hasattr(result, "stderr") else "").strip()
            allowed = {0, 2, 130} | ({1} if command == "doctor" else set())
            if result.exit_code not in allowed or "Traceback" in result.output + error:
                kind = f"cli {command}: exit {result.exit_code}"
                if result.exception is not None and not isinstance(result.exception, SystemExit):
                    kind += f" {type(result.exception).__name__}: {str(result.exception)[:60]}"
                tb = "".join(traceback.format_exception(*result.exc_info)[-3:]) \
                    if result.exc_info else ""
                _count(failures, examples, kind, seed, f"{args}\n{tb}")
            elif result.exit_code == 2 and len(error.splitlines()) != 1:
                _count(failures, examples, f"cli {command}: exit 2 with {len(error.splitlines())} "
                       "lines", seed, f"{args}\n{error[:300]}")
    print(f"cli exit codes: {dict(codes)}")


# -- loader ----------------------------------------------------------------------------------------
def crafted_files(rng: random.Random, original: bytes) -> tuple[str, bytes]:
    """A damaged or hostile variant of a valid model file."""
    with zipfile.ZipFile(io.BytesIO(original)) as z:
        entries = {name: z.read(name) for name in z.namelist()}
    kind = rng.choice(["flip", "truncate", "bomb", "duplicate", "huge shape", "pickle",
                       "bad json", "big meta", "extra", "header lies", "many entries"])
    if kind == "flip":
        data = bytearray(original)
        for _ in range(rng.randrange(1, 20)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        return kind, bytes(data)
    if kind == "truncate":
        return kind, original[: rng.randrange(len(original))]
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        if kind == "bomb":
            entries["zeros.npy"] = b"\x00" * (300 << 20)
        if kind == "extra":
            entries["evil.txt"] = b"x"
        if kind == "huge shape":
            header = b"\x93NUMPY\x01\x00v\x00{'descr': '<f8', 'fortran_order': False, " \
                     b"'shape': (100000, 100000), }" + b" " * 49 + b"\n"
            entries["W1.npy"] = header[:128] + b"\x00" * 64
        if kind == "pickle":
            buf = io.BytesIO()
            np.save(buf, np.array([os.system], dtype=object), allow_pickle=True)
            entries["W1.npy"] = buf.getvalue()
        if kind == "bad json":
            buf = io.BytesIO()
            np.save(buf, np.array(rng.choice(["{", "[" * 10**5, "null", '{"format": 1}', "1e999"])))
            entries["meta.npy"] = buf.getvalue()
        if kind == "big meta":
            buf = io.BytesIO()
            np.save(buf, np.array('{"format": "chainrule-model", "x": "' + "a" * (50 << 20) + '"}'))
            entries["meta.npy"] = buf.getvalue()
        if kind == "header lies":
            w = entries["W1.npy"]
            entries["W1.npy"] = w + b"\x00" * rng.choice([8, 8000, 10**6])
        for name, payload in entries.items():
            z.writestr(name, payload)
        if kind == "duplicate":
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                z.writestr("W1.npy", entries["W1.npy"])
        if kind == "many entries":
            for i in range(3000):
                z.writestr(f"x{i}.npy", b"")
    return kind, out.getvalue()


def run_loader(rng: random.Random, tries: int, failures: collections.Counter, examples: dict):
    from chainrule import Network, load

    with tempfile.TemporaryDirectory() as folder:
        good = os.path.join(folder, "good.chainrule")
        Network([2, 3, 1], seed=0).save(good, note="fuzz")
        original = open(good, "rb").read()
        for _ in range(tries):
            seed = rng.randrange(2**32)
            kind, payload = crafted_files(random.Random(seed), original)
            path = os.path.join(folder, "bad.chainrule")
            with open(path, "wb") as f:
                f.write(payload)
            tracemalloc.start()
            try:
                load(path)
            except ValueError:
                pass
            except Exception as error:  # noqa: BLE001
                _count(failures, examples, f"loader {kind}: {type(error).__name__}: "
                       f"{str(error)[:60]}", seed, traceback.format_exc(limit=-3))
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            if peak > 64 << 20:
                _count(failures, examples, f"loader {kind}: peak {peak >> 20} MiB", seed)


# -- killed saves, interrupts ----------------------------------------------------------------------
SAVER = """
import sys, numpy as np
from chainrule import Network
net = Network([200, 400, 200, 10], seed=1)
while True:
    net.save(sys.argv[1])
"""

TRAINER = ["-c", "import _chainrule_entry; _chainrule_entry.main()",  # as the command does
           "train", "spirals", "--layers", "16,16", "--epochs", "20000"]


def run_kill(rng: random.Random, tries: int, failures: collections.Counter, examples: dict):
    from chainrule import Network, load

    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "m.model")
        Network([200, 400, 200, 10], seed=1).save(path)
        for _ in range(tries):
            seed = rng.randrange(2**32)
            p = subprocess.Popen([sys.executable, "-c", SAVER, path])
            time.sleep(0.6 + random.Random(seed).random() * 0.5)
            p.kill()
            p.wait()
            try:
                load(path)
            except ValueError as error:
                _count(failures, examples, f"kill: old file broken: {error}", seed)
            Network([2, 2, 1]).save(path + ".other")  # a save of another target keeps its temps
            Network([200, 400, 200, 10], seed=1).save(path)
            left = [n for n in os.listdir(folder) if n.endswith(".tmp")]
            if left:
                _count(failures, examples, f"kill: {len(left)} temporary files left", seed)
                for name in left:
                    os.unlink(os.path.join(folder, name))


def run_interrupt(rng: random.Random, tries: int, failures: collections.Counter, examples: dict):
    from chainrule import Callback, Network, load
    from chainrule.datasets import PROBLEMS

    problem = PROBLEMS["xor"]
    for _ in range(tries):
        seed = rng.randrange(2**32)
        r = random.Random(seed)
        at = r.randrange(0, 60)

        class Stop(Callback):
            def on_epoch_end(self, training, epoch, logs, at=at):
                if epoch == at:
                    raise KeyboardInterrupt

        net = Network([2, 2, 1], seed=r.randrange(100))
        initial = net.buffer.copy()
        try:
            history = net.fit(problem.X, problem.y, restarts=r.choice([2, 4, 16]),
                              callbacks=[Stop()], target_tolerance=1e-6)
            if history.epochs > at + 1:  # (a stop before the callbacks ran at epoch at)
                _count(failures, examples, "interrupt: KeyboardInterrupt swallowed", seed)
            continue
        except KeyboardInterrupt as error:
            history = getattr(error, "history", None)
        if history is None or history.stopped_because != "interrupted":
            _count(failures, examples, "interrupt: no history or reason", seed)
        elif np.array_equal(net.buffer, initial):
            _count(failures, examples, "interrupt: the initial weights kept", seed)
    with tempfile.TemporaryDirectory() as folder:
        for _ in range(max(1, tries // 20)):
            seed = rng.randrange(2**32)
            out = os.path.join(folder, "m.chainrule")
            p = subprocess.Popen([sys.executable, *TRAINER, "--out", out], cwd=folder,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            time.sleep(0.3 + random.Random(seed).random() * 3)
            p.send_signal(signal.SIGINT)
            _, err = p.communicate()
            if p.returncode not in (0, 130) or "Traceback" in err:
                _count(failures, examples, f"interrupt cli: exit {p.returncode}", seed, err[-500:])
            elif p.returncode == 130 and "saved the best model" in err:
                try:
                    load(out)
                except ValueError as error:
                    _count(failures, examples, f"interrupt cli: saved file broken {error}", seed)
            if os.path.exists(out):
                os.unlink(out)


# -- driver ---------------------------------------------------------------------------------------
class _Timeout(Exception):
    pass


class _alarm:
    def __init__(self, seconds: int) -> None:
        self.seconds = seconds

    def __enter__(self):
        def ring(*_):
            raise _Timeout

        self.previous = signal.signal(signal.SIGALRM, ring)
        signal.alarm(self.seconds)

    def __exit__(self, *exc):
        signal.alarm(0)
        signal.signal(signal.SIGALRM, self.previous)


def _count(failures, examples, kind, seed, detail=""):
    failures[kind] += 1
    examples.setdefault(kind, (seed, detail))


PARTS = {"api": run_api, "cli": run_cli, "loader": run_loader, "kill": run_kill,
         "interrupt": run_interrupt}
SHARE = {"api": 1.0, "cli": 0.25, "loader": 0.25, "kill": 0.02, "interrupt": 0.1}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tries", type=int, default=1000, help="API tries; others in proportion")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--parts", default=",".join(PARTS))
    parser.add_argument("--verbose", action="store_true", help="print one example of each")
    options = parser.parse_args()
    resource.setrlimit(resource.RLIMIT_AS, (6 << 30, 6 << 30))
    failures: collections.Counter = collections.Counter()
    examples: dict = {}
    total = 0
    for name in options.parts.split(","):
        tries = max(1, int(options.tries * SHARE[name]))
        start = time.perf_counter()
        PARTS[name](random.Random(f"{options.seed}-{name}"), tries, failures, examples)
        total += tries
        print(f"{name}: {tries} tries in {time.perf_counter() - start:.0f} s", flush=True)
    print(f"{total} tries, {sum(failures.values())} failures of {len(failures)} kinds")
    for kind, count in failures.most_common():
        seed, detail = examples[kind]
        print(f"{count:5d}  {kind}  (seed {seed})")
        if options.verbose and detail:
            print("       " + detail.strip().replace("\n", "\n       ")[:1500])
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
