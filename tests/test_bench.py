"""The benchmark code behind ``chainrule bench`` and ``benchmarks/``: what it measures is right.

Timings are not asserted (speed is measured in the benchmarks, not in tests); what is asserted is
that every row is produced and consistent, that the memory bound holds (tracemalloc's peak does
not depend on the machine's speed), and that the classic benchmarks learn.
"""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from chainrule import bench


def test_training_flops_count_forward_dw_and_dx_except_the_first_layers_dx() -> None:
    # 2-2-1: 4 + 2 weights; 2 FLOPs per weight forward, 2 for dW, 2 for dX of the 2 of layer 2
    assert bench.training_flops((2, 2, 1)) == 2 * 6 + 2 * 6 + 2 * 2
    assert bench.training_flops((3, 5)) == 4 * 15


def test_speed_rows_for_every_library_and_the_products_ceiling() -> None:
    """A row per library installed: JAX is a benchmark extra (``chainrule[bench]``), not a test
    dependency, so its two rows appear only where it is installed."""
    peaks, rows = bench.run_speed(repeats=1, names=["xor-step"])
    assert set(peaks) == {"float32", "float64"} and min(peaks.values()) > 0
    jax = importlib.util.find_spec("jax") is not None
    expected = [lib for lib in bench.LIBRARIES if jax or not lib.startswith("jax")]
    assert [r["library"] for r in rows] == expected
    for r in rows:
        assert r["case"] == "xor-step" and r["seconds"] > 0
        assert r["us_per_step"] == pytest.approx(r["seconds"] / 2000 * 1e6)
        assert r["samples_per_second"] == pytest.approx(2000 * 4 / r["seconds"])
    text = bench.format_speed(peaks, rows)
    assert "products" in text and text.count("x as fast") == len(expected) - 1


@pytest.mark.parametrize("name", ["small-f64", "small-f32"])
def test_training_peak_memory_stays_within_1_5x_of_what_it_needs(name: str) -> None:
    (row,) = bench.run_memory([name])
    assert row["baseline"] > 0
    assert row["peak"] <= 1.5 * row["baseline"], row


def test_classic_xor_learns_every_trial_within_the_goal() -> None:
    ((classic, outcome),) = bench.run_classic(trials=5, names=["xor"])
    assert outcome.trials == outcome.learned == 5
    assert classic.meets_goal(outcome)
    assert np.all(np.array(outcome.copy_epochs) >= np.array(outcome.epochs))
