"""scikit-learn's own MLP tests, run against chainrule.sklearn.

The installed scikit-learn ships ``sklearn/neural_network/tests/test_mlp.py``. It is copied into a
temporary folder with one change, ``from sklearn.neural_network import MLPClassifier,
MLPRegressor`` becoming ``from chainrule.sklearn import ...``, and run by pytest in a subprocess
with scikit-learn's own ``conftest`` as a plugin (its ``global_random_seed`` fixture). Every test
must pass except those in :data:`EXCLUDED`: tests that call a private scikit-learn function by
name, which a drop-in replacement has no reason to have. Nothing of scikit-learn's is committed
here.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest

sklearn = pytest.importorskip("sklearn")

import chainrule  # noqa: E402

SOURCE = Path(sklearn.__file__).parent / "neural_network" / "tests" / "test_mlp.py"
IMPORT = "from sklearn.neural_network import MLPClassifier, MLPRegressor"
REPLACEMENT = "from chainrule.sklearn import MLPClassifier, MLPRegressor"

# test name -> (the private scikit-learn function it calls, why it cannot run on chainrule)
EXCLUDED = {
    "test_gradient": (
        "_loss_grad_lbfgs",
        "compares MLPClassifier._loss_grad_lbfgs, scikit-learn's private loss-and-gradient "
        "function over packed parameters and its private activation buffers, with finite "
        "differences; chainrule computes gradients in Network.gradients, which "
        "tests/test_network.py checks against finite differences and tests/test_torch_parity.py "
        "against PyTorch",
    ),
}
# in scikit-learn 1.9.1's test_mlp.py (the test extra pins that version), parametrised cases
# counted: another version's file is another contract, to be read before this number changes
EXPECTED_TESTS = 59


# After scikit-learn's conftest, which sets BLAS to a thread per physical core: its matrices are
# tiny, and on a small shared machine a threaded BLAS spins waiting for busy cores (the run took
# 15-18 s with 2 OpenBLAS threads while other work ran, 6-7 s with 1).
ONE_BLAS_THREAD = """
import pytest
from threadpoolctl import threadpool_limits


@pytest.hookimpl(trylast=True)
def pytest_configure(config):
    threadpool_limits(1, user_api="blas")
"""


def rewritten_copy(folder: Path) -> Path:
    """scikit-learn's test file in ``folder``, importing the estimators from chainrule."""
    text = SOURCE.read_text(encoding="utf-8")
    assert text.count(IMPORT) == 1, "scikit-learn's import line changed; update IMPORT"
    text = text.replace(IMPORT, REPLACEMENT)
    # nothing else imports scikit-learn's MLP
    assert not re.search(r"^\s*(from|import)\s+sklearn\.neural_network", text, re.M)
    path = folder / "test_mlp.py"
    path.write_text(text, encoding="utf-8")
    return path


def test_exclusions_call_private_sklearn_functions_by_name():
    """Each excluded test exists and calls the private function its reason names."""
    source = SOURCE.read_text(encoding="utf-8")
    for name, (function, reason) in EXCLUDED.items():
        body = re.search(rf"^def {name}\(.*?(?=^def |^@|\Z)", source, re.S | re.M)
        assert body is not None, f"{name} is no longer in scikit-learn's test_mlp.py"
        assert function.startswith("_") and f".{function}(" in body.group(0), name
        assert function in reason


def test_sklearn_mlp_suite_passes_on_chainrule(tmp_path):
    path = rewritten_copy(tmp_path)
    report = tmp_path / "report.xml"
    env = dict(os.environ)
    src = str(Path(chainrule.__file__).resolve().parents[1])  # this chainrule, not another
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [src, env.get("PYTHONPATH")]))
    env.pop("SKLEARN_TESTS_GLOBAL_RANDOM_SEED", None)  # scikit-learn's default seed, 42
    (tmp_path / "conftest.py").write_text(ONE_BLAS_THREAD, encoding="utf-8")
    command = [
        sys.executable, "-m", "pytest", path.name, "-q", "-p", "no:cacheprovider",
        "-p", "sklearn.conftest", f"--rootdir={tmp_path}", f"--junitxml={report}",
        *(f"--deselect={path.name}::{name}" for name in EXCLUDED),
    ]
    result = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True,
                            timeout=600)
    cases = ElementTree.parse(report).getroot().iter("testcase")
    outcomes = {}
    for case in cases:
        failed = [child.tag for child in case if child.tag in ("failure", "error", "skipped")]
        outcomes[case.get("name")] = failed[0] if failed else "passed"
    not_passed = {name: outcome for name, outcome in outcomes.items() if outcome != "passed"}
    assert not not_passed, f"{not_passed}\n{result.stdout[-6000:]}"
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert len(outcomes) + len(EXCLUDED) == EXPECTED_TESTS, sorted(outcomes)
    assert chainrule.__file__.startswith(src)
