"""The last rules: an output that ignores its input (after the causes are known), what the
probes could not see, and a healthy verdict when nothing is wrong."""

from __future__ import annotations

import numpy as np

from ....network import forward
from ..case import Case
from . import rule
from .probes import PROBLEMS
from .units import vector


@rule("constant-output", needs=("run",))
def constant_output(case: Case) -> None:
    """(error) after a run that did not learn, the standard deviation of every output across
    samples is below 10% of the targets'."""
    run = case.run()
    if run.fitted or not run.complete:
        return  # a partial run cannot tell
    A = forward(run.net.layers, case.X)
    spread = A.std(axis=0)
    target = case.Y.std(axis=0)
    ratio = float((spread / np.maximum(target, 1e-30)).max())
    if ratio >= 0.1:
        return
    causes = sorted(code for code, f in case.findings.items() if f.severity != "info"
                    and code != "constant-output")
    why = (f"the other findings say why ({', '.join(causes)})" if causes else
           "its usual causes are too few hidden units, saturated or identical units, and too "
           "few updates")
    case.add("constant-output", "error",
             f"after {run.source} the network outputs almost the same value for every input: "
             f"about {vector(A.mean(axis=0))} for all {case.n} samples (output std "
             f"{vector(spread)} vs target std {vector(target)}, ratio {ratio:.2g}): it ignores "
             "its input", why)


@rule("probe-truncated", needs=("run",))
def probe_truncated(case: Case) -> None:
    """(info) the probe could not run all your epochs (findings about the end of training then
    come from the other probes)."""
    ran, asked = case.cache.get("probe epochs", (None, None))
    run = case.run()
    if case.history is None and not run.complete and asked is not None:
        case.add("probe-truncated", "info",
                 f"the probe ran {ran} of your {asked} epochs to stay quick; findings about the "
                 "end of training come from the other probes",
                 f"nothing to fix; {case.hints.full_run()}")


@rule("healthy", "not-learning")
def healthy(case: Case) -> None:
    """(info) no error or warning. (error ``not-learning``) a truth table the run did not fit,
    when no other finding says why."""
    if case.has(*PROBLEMS, "constant-targets", "not-learning"):
        return
    run = case.run() if case.probing or case.history is not None else None
    if run is not None and case.truth_table and not run.fitted:
        case.add("not-learning", "error",
                 f"{run.source} did not learn the truth table: {case.rows_right(run.net)} of "
                 f"{case.n} rows right after {run.history.epochs} epochs (loss "
                 f"{run.loss_ratio:.0%} of a constant prediction's), and no cause was found",
                 f"{case.hints.restarts(16, case.default_copies)}; "
                 f"{case.hints.train_longer()}; or try a larger network")
        return
    if run is None:
        message = "no problems found in the data and the network (no probe training was run)"
    else:
        learned = "fitted the training set" if run.fitted else \
            f"reached {run.loss_ratio:.0%} of a constant prediction's loss"
        message = f"no errors or warnings: {run.source} {learned} in {run.history.epochs} epochs"
        if case.validation is not None:
            Xv, Yv, _ = case.validation
            message += f" (validation loss of the weights kept {float(run.net.loss(Xv, Yv)):.4g})"
    case.add("healthy", "info", message, "nothing to fix")
