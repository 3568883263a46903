"""Test configuration.

scikit-learn's estimator checks test array-API inputs only when SciPy's array-API support is on;
it must be switched on before SciPy is first imported.
"""

import os

os.environ.setdefault("SCIPY_ARRAY_API", "1")
