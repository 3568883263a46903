"""Rules about the units of the network: identical, saturated or dead units, and an error
signal that vanishes or explodes on its way back."""

from __future__ import annotations

import numpy as np

from ....activations import activation_name
from ....network import Network, backward, forward
from ..case import Case
from . import rule

SATURATION_Z = {"sigmoid": 4.0, "tanh": 2.0}  # |z| beyond which f'(z) < 7% of its maximum
SATURATED_SAMPLES = 0.9  # a unit is saturated when it is so on this fraction of samples
SATURATED_UNITS = 0.25  # ... and a layer is reported when this fraction of its units are
DEAD_UNITS = 0.25  # share of a layer's ReLU units dead that makes a warning (all: an error)
VANISHING = 1e-3  # rms dL/dz of the first layer / of the output layer
EXPLODING = 1e3


def vector(values) -> str:
    """A few numbers, briefly: ``0.25`` or ``[0.1, 0.2, ...]``."""
    values = np.ravel(np.asarray(values, dtype=np.float64))
    shown = ", ".join(f"{v:.3g}" for v in values[:6])
    more = ", ..." if values.size > 6 else ""
    return shown + more if values.size == 1 else f"[{shown}{more}]"


@rule("symmetric-units", needs=("network",))
def symmetric_units(case: Case) -> None:
    """(error) 2 or more hidden units of a layer with identical incoming weights, bias and
    outgoing weights (to float32 precision), e.g. ``init="zeros"``: they stay identical."""
    parts = []
    net = case.net
    if not all(np.all(np.isfinite(p)) and np.abs(p).max(initial=0) < 1e6
               for p in net.parameters()):
        return  # a diverged network: its units are overflowed, not symmetric by design
    for i, (layer, after) in enumerate(zip(net.layers[:-1], net.layers[1:], strict=True)):
        if layer.n_out < 2:
            continue
        key = np.concatenate([layer.weights.T, layer.bias[:, None], after.weights], axis=1)
        _, groups, counts = np.unique(key.astype(np.float32), axis=0, return_inverse=True,
                                      return_counts=True)
        twins = int(counts[counts > 1].sum())
        if twins:
            parts.append(
                f"{twins} of {layer.n_out} hidden units in layer {i + 1} are copies of each other "
                f"({len(counts)} distinct unit(s) left; incoming weights e.g. "
                f"{vector(layer.weights[:, int(np.argmax(counts[groups]))])})")
    if parts:
        case.add(
            "symmetric-units", "error",
            "; ".join(parts) + ". Units with identical incoming and outgoing weights get identical "
            "gradients and stay identical forever, so the layer works like fewer units",
            case.hints.init_auto() + "; never start all weights at the same constant such as 0")


def check_units(case: Case, net: Network, when: str) -> None:
    """Saturated sigmoid/tanh units and dead ReLU units of ``net`` on the training inputs."""
    layers = net.layers
    forward(layers, case.X)
    saturated, dead, dead_share = [], [], 0.0
    for i, layer in enumerate(layers):
        name = activation_name(layer.activation)
        output = i == len(layers) - 1
        where = "the output layer" if output else f"layer {i + 1}"
        kind = "output units" if output else "hidden units"
        Z = layer.Z
        if name in SATURATION_Z and not (output and case.loss_name != "mse"):
            z = SATURATION_Z[name]
            share = (np.abs(Z) > z).mean(axis=0)
            units = share >= SATURATED_SAMPLES
            if units.sum() >= max(1, SATURATED_UNITS * layer.n_out):
                saturated.append(f"{units.sum()} of {layer.n_out} {kind} in {where} are "
                                 f"saturated (|z| > {z:g}) on {share[units].mean():.0%} of samples")
        if name == "relu":
            units = (Z <= 0).all(axis=0)
            if units.any():
                dead.append(f"{units.sum()} of {layer.n_out} ReLU {kind} in {where}")
                dead_share = max(dead_share, float(units.mean()))
    start = when == "at the start"
    if saturated:
        case.add(  # at the start saturation is a cause; after a failed run mostly a symptom
            "saturated-units", "warning" if start else "info",
            f"{when}, " + "; ".join(saturated) + ": there the derivative is under 7% of its "
            "maximum, so their gradients vanish and they barely learn",
            "scale the inputs and initialise with init='auto' (Glorot), which keeps |z| near 1"
            + ("" if start else "; lower the learning rate, large steps drive units into "
                                "saturation"))
    if dead:
        case.add(
            "dead-units",
            "error" if dead_share == 1 else "warning" if dead_share >= DEAD_UNITS else "info",
            f"{when}, " + "; ".join(dead) + f" are inactive (z <= 0) on all {case.n} samples: "
            "they output 0, get no gradient and never recover"
            + (", so the layer passes nothing on" if dead_share == 1 else ""),
            f"use {case.hints.activation('leaky_relu')}, whose units cannot die, or a smaller "
            "learning rate with scaled inputs")


@rule("saturated-units", "dead-units", needs=("start",))
def units_at_the_start(case: Case) -> None:
    """(warning) at least a quarter of a sigmoid/tanh layer's units (the output layer too, with
    mse) have ``|z| > 4`` (sigmoid) or ``|z| > 2`` (tanh), where ``f'`` is below 7% of its
    maximum, on at least 90% of the samples, at the start; ``dead-units``: ReLU units with
    ``z <= 0`` on every sample, (error) a whole layer, (warning) a quarter, (info) fewer."""
    check_units(case, case.start_net(), "at the start" if case.history is None else
                "at a fresh start (weights drawn again as your init draws them)")


def errors_and_grads(case: Case, net: Network) -> tuple[list[float], list[float]]:
    """RMS of the error ``dL/dz`` and ``||dW||`` per layer, by backpropagation."""
    layers, out = net.layers, net.layers[-1]
    forward(layers, case.X)
    delta = net.loss_function.delta(out.Z, out.A, case.Y, case.c, out.activation)
    dZ = delta
    rms = [float(np.sqrt(np.mean(dZ * dZ)))]
    for i in range(len(layers) - 1, 0, -1):
        dZ = layers[i - 1].error_from_output_gradient(dZ @ layers[i].weights.T)
        rms.append(float(np.sqrt(np.mean(dZ * dZ))))
    grads = backward(layers, delta)
    return rms[::-1], [float(np.linalg.norm(dW)) for dW, _ in grads]


@rule("vanishing-gradients", "exploding-gradients", needs=("start",))
def gradient_flow(case: Case) -> None:
    """(warning) the rms error signal ``dL/dz`` of the first layer is below 1e-3 of the output
    layer's at the start (unless saturated or dead units explain it); ``exploding-gradients``:
    (warning) that ratio above 1e3, (error) gradients that are not finite."""
    net = case.start_net()
    if len(net.layers) < 2 or any(not np.any(layer.weights) for layer in net.layers):
        return  # all-zero weights carry nothing back yet: symmetric-units says why
    rms, norms = errors_and_grads(case, net)
    listed = f"rms dL/dz per layer, first to output: {vector(rms)}; ||dW|| per layer: " \
             f"{vector(norms)}"
    if not np.isfinite(rms).all() or not np.isfinite(norms).all():
        case.add("exploding-gradients", "error",
                 f"the gradients are not finite at the start ({listed})",
                 "scale the inputs and targets, and initialise with init='auto'")
        return
    if rms[-1] == 0:
        return
    ratio = rms[0] / rms[-1]
    if ratio < VANISHING and not case.has("saturated-units", "dead-units"):
        shrinks = f"shrinks {1 / ratio:.3g}x" if ratio > 0 else "vanishes"
        case.add(
            "vanishing-gradients", "warning",
            f"the error signal {shrinks} on its way back from the output to layer 1 ({listed}): "
            "the first layers barely learn",
            f"use fewer layers, or {case.hints.activation('leaky_relu')} for deep nets, or "
            f"{case.hints.activation('tanh')} instead of sigmoid; scale the inputs")
    elif ratio > EXPLODING:
        case.add(
            "exploding-gradients", "warning",
            f"the error signal grows {ratio:.3g}x on its way back from the output to layer 1 "
            f"({listed}): steps that suit the output layer blow up the first layers",
            "initialise with init='auto' (weights scaled to the layer sizes), use fewer or "
            "narrower layers, and lower the learning rate")
