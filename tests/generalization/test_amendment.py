"""The issue-21 amendment (benchmarks/generalization/PROTOCOL-2.md): its fast row-sign perturbations, spread, decision
rule, zoo and witness-level gap, on small cases (the full run is benchmarks/generalization/amendment.py)."""

from __future__ import annotations

import math
import sys
import zlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks" / "generalization"))

import amendment as A  # noqa: E402
from zkcert.data import load_bundled  # noqa: E402
from zkcert.direction import expand_unit_signs  # noqa: E402
from zkcert.metric import flat_params, loss_normalized_sharpness, second_differences  # noqa: E402
from zkcert.models import layer_configs, mlp, small_cnn  # noqa: E402


@pytest.fixture(scope="module")
def digits60():
    return load_bundled("digits", "train").head(60)


@pytest.mark.parametrize("arch", ["mlp2", "cnn"])
def test_fast_row_sign_perturbations_equal_zkcert_metric(digits60, arch):
    """Scaling each unit's output by (1 +/- eps a_j) (shared first layer, ReLU/pool commuted) is theta +/- eps d exactly."""
    torch.manual_seed(1)
    model = mlp(64, [16, 12], 10) if arch == "mlp2" else small_cnn(digits60.x.shape[1:], 4, 10)
    signs = A.unit_signs(b"s" * 32, model, 3)
    d = expand_unit_signs(signs, layer_configs(model)) * flat_params(model)
    for eps in (0.125, 0.5):
        delta, flips, l0 = A.perturbed_stats(model, digits60, signs, eps, chunk=2)
        np.testing.assert_allclose(delta, second_differences(model, digits60, d, eps), rtol=0, atol=1e-12)
        assert set(np.unique(flips)) <= {0, 1, 2}
    # rds of the first K directions is zkcert's rds/v1 along those directions
    vals = A.draw_values(delta, flips, l0, 1)
    assert vals[A.name("rds", 1, 2)] == pytest.approx(loss_normalized_sharpness(model, digits60, d[:2], 0.5), rel=1e-10)
    assert 0.0 <= vals[A.name("flips", 1, 1)] <= 1.0


def test_spread_known_cases():
    p10, p90, ratio = A.spread_of(np.arange(1.0, 31.0))
    assert (p10, p90) == pytest.approx((3.9, 27.1))
    assert ratio == pytest.approx(27.1 / 3.9)
    assert A.spread_of([-1.0] + [1.0] * 29)[2] == 1.0  # p10 is still 1 here
    assert A.spread_of([-1.0, -1.0, -1.0, -1.0] + [1.0] * 26)[2] == math.inf  # p10 <= 0 fails
    assert A.spread_of([0.0] * 30)[2] == math.inf
    assert A.spread_of([1.0, math.nan])[2] == math.inf


def _table(primary: dict[str, float]) -> pd.DataFrame:
    return pd.DataFrame({"measure": list(primary), "primary": list(primary.values())})


def test_decision_rule_picks_cheapest_feasible():
    t = _table({"rds:rsign:e3:k1": 0.40, "rds:rsign:e1:k4": 0.50, "rds:rsign:e3:k4": 0.49, "rds:rsign:e2:k8": 0.495,
                "rds:rsign:e1:k16": 0.60})
    ok = {m: m != "rds:rsign:e1:k16" for m in t.measure}  # the best fails spread: never considered
    tried = []

    def gap(m):
        tried.append(m)
        return m != "rds:rsign:e1:k4"  # the cheapest of the tied set fails its gap

    chosen, log = A.decide(t, ok, gap)
    # tied within 0.02 of 0.50: k4 e1, k4 e3, k8 e2 -> cost order k4/e1, k4/e3, k8/e2; e1 fails the gap -> k4/e3
    assert tried == ["rds:rsign:e1:k4", "rds:rsign:e3:k4"] and chosen == "rds:rsign:e3:k4"
    assert [g["gap_passes"] for g in log] == [False, True]
    # every tied one fails: the rule drops them and moves on to the next best (k1 at 0.40)
    chosen, _ = A.decide(t, ok, lambda m: m == "rds:rsign:e3:k1")
    assert chosen == "rds:rsign:e3:k1"
    # nothing feasible, or the cap reached: none
    assert A.decide(t, ok, lambda m: False)[0] is None
    assert A.decide(t, ok, lambda m: None)[0] is None
    assert A.decide(t, {m: False for m in ok}, lambda m: True) == (None, [])


def test_cost_order_is_rows_then_larger_eps():
    names = A.names("rds")
    ordered = sorted(names, key=A.cost_key)
    assert ordered[:3] == ["rds:rsign:e1:k1", "rds:rsign:e2:k1", "rds:rsign:e3:k1"] and ordered[-1] == "rds:rsign:e3:k16"


def test_zoo_fresh_replicates():
    """108 models, 54 per half, the digits families' configurations, seeds not those of the issue-11 replicates."""
    specs = A.amendment_zoo("full")
    assert len(specs) == 108 and {A.half_of(s) for s in specs} == {"selection", "confirmation"}
    assert sum(A.half_of(s) == "selection" for s in specs) == 54
    assert all(s.name.endswith("-rep2") == (A.half_of(s) == "selection") for s in specs)
    old = {zlib.crc32(s.name.replace("-rep2", f"-rep{r}").replace("-rep3", f"-rep{r}").encode()) % 2**31 for s in specs for r in (0, 1)}
    assert not old & {s.seed for s in specs} and len({s.seed for s in specs}) == 108


def test_witness_gap_small_model(digits60):
    """The witness-level gap of the fast statement (K 1, eps 1/8, scale 2^12, graph 5) where it is weakest.

    The model of tests/circuit/test_build.py (64-8-10 trained to a loss below 0.01 on its 16 samples): both the
    default circuit and the one with decomp_legs = 3 (addendum A1) calibrate, and agree with the float value
    within that test's 2 % bound. A circuit ezkl cannot calibrate is recorded as an error, never raised.
    """
    from zkcert.metric import mean_loss
    from zkcert.training import TrainConfig, train

    torch.manual_seed(0)
    data = digits60.head(16)
    model = train(mlp(64, [8], 10), data, TrainConfig(epochs=300, seed=0))
    assert mean_loss(model, data) < 0.01
    signs = A.unit_signs(b"g" * 32, model, 1)
    for run_args in (None, A.VARIANTS["legs3"]):
        res = A.witness_gap(model, data, signs, 0.125, run_args)
        assert res["graph"] == 5 and res["error"] == "" and res["logrows"] > 0, res
        assert res["float"] > 0 and res["gap"] < 0.02
    bad = A.witness_gap(model, data, signs, 0.125, {"decomp_legs": 1})  # far too small a range: recorded, not raised
    assert bad["error"] != "" and math.isnan(bad["gap"])
