"""Test configuration.

scikit-learn's estimator checks test array-API inputs only when SciPy's array-API support is on;
it must be switched on before SciPy is first imported.
"""

import os

os.environ.setdefault("SCIPY_ARRAY_API", "1")


def pytest_addoption(parser):
    parser.addoption("--slow", action="store_true",
                     help="run the fuzz tests 10x longer (also CHAINRULE_FUZZ=slow)")


def pytest_configure(config):
    if config.getoption("--slow", default=False):
        os.environ["CHAINRULE_FUZZ"] = "slow"
