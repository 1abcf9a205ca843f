"""The circuit spec: JSON in and out, its digest, and the rules that keep a spec from weakening the circuit."""

from __future__ import annotations

import dataclasses

import pytest

from zkcert.errors import CertificateError, InputError
from zkcert.spec import CircuitSpec, standard_spec

SPEC = CircuitSpec(
    layers=({"type": "Flatten"}, {"type": "Linear", "in_features": 4, "out_features": 2}), input_shape=(4,),
    num_classes=2, num_params=10, n_samples=3, n_directions=1, epsilon=0.125, threshold=5.0, input_scale=8,
)


def test_json_roundtrip_and_digest():
    again = CircuitSpec.from_json(SPEC.to_json())
    assert again == SPEC and again.digest() == SPEC.digest()
    assert dataclasses.replace(SPEC, threshold=5.5).digest() != SPEC.digest()


def test_bound_has_no_division():
    assert SPEC.bound == pytest.approx(5.0 * 3 * 1 * 0.125**2)


def test_unknown_field_and_version_rejected():
    with pytest.raises(CertificateError, match="unknown fields"):
        CircuitSpec.from_json({**SPEC.to_json(), "extra": 1})
    with pytest.raises(CertificateError, match="upgrade zkcert"):
        CircuitSpec.from_json({**SPEC.to_json(), "schema": "zkcert-circuit/v9"})


@pytest.mark.parametrize("field,value,message", [("epsilon", 0.0, "epsilon"), ("threshold", float("nan"), "threshold"), ("n_samples", 0, "n_samples")])
def test_invalid_specs_cannot_be_built(field, value, message):
    with pytest.raises(InputError, match=message):
        dataclasses.replace(SPEC, **{field: value})


def test_standard_spec_unknown_name():
    with pytest.raises(InputError, match="no standard circuit spec"):
        standard_spec("nope")


def test_epsilon_must_be_exact_in_fixed_point():
    with pytest.raises(InputError, match="not a multiple of 2\\*\\*-8"):
        dataclasses.replace(SPEC, epsilon=0.1)
    # The attack this closes: eps = 2**-10 at scale 2**8 would round to 0 in the circuit, making any model "flat".
    with pytest.raises(InputError, match="use e.g. 0.00390625"):
        dataclasses.replace(SPEC, epsilon=2**-10)
    assert dataclasses.replace(SPEC, epsilon=2**-8).epsilon == 2**-8


@pytest.mark.parametrize(
    "run_args,message",
    [
        ({"ignore_range_check_inputs_outputs": True}, "may not set"),
        ({"input_visibility": "public"}, "may not set"),
        ({"param_scale": 2}, "differs from the spec's input_scale"),
    ],
)
def test_spec_cannot_weaken_the_circuit(run_args, message):
    with pytest.raises(InputError, match=message):
        SPEC.with_run_args(run_args)


def test_the_default_commitment_scheme_leaves_the_spec_json_and_digest_unchanged():
    import dataclasses

    from zkcert.commitments import KZG
    from zkcert.spec import standard_spec

    spec = standard_spec("demo")
    assert "commitment" not in spec.to_json()  # so pinned fingerprints and cached keys of older specs still apply
    kzg = dataclasses.replace(spec, commitment=KZG)
    assert kzg.to_json()["commitment"] == KZG and kzg.digest() != spec.digest()
    assert type(spec).from_json(kzg.to_json()) == kzg


def test_graph_layout_is_named_only_when_new_and_checked():
    """Graph 1 (every row-sign spec written before layouts were numbered) is left out of the JSON and digest; 2 and 3 are written."""
    from zkcert.direction import ROW_SIGN
    from zkcert.spec import GRAPHS, SHARED_GRAPH, SIGNED_GRAPH

    old = dataclasses.replace(SPEC, direction=ROW_SIGN)
    assert "graph" not in old.to_json() and CircuitSpec.from_json(old.to_json()).graph == 1
    new = dataclasses.replace(old, graph=SHARED_GRAPH)
    assert new.to_json()["graph"] == SHARED_GRAPH and new.digest() != old.digest()
    assert CircuitSpec.from_json(new.to_json()) == new
    for g in GRAPHS:
        assert CircuitSpec.from_json({**new.to_json(), "graph": g}).graph == g
    with pytest.raises(CertificateError, match="upgrade zkcert"):
        CircuitSpec.from_json({**new.to_json(), "graph": max(GRAPHS) + 1})
    with pytest.raises(CertificateError, match="graph"):
        CircuitSpec.from_json({**new.to_json(), "graph": True})
    for g in (SHARED_GRAPH, SIGNED_GRAPH):
        with pytest.raises(InputError, match="only for row-sign"):
            dataclasses.replace(SPEC, graph=g)  # rademacher-abs perturbs every weight: nothing to share
        with pytest.raises(InputError, match="epsilon <= 1"):
            dataclasses.replace(new, graph=g, epsilon=1.5)  # 1 - eps < 0 would flip rows, and relu(s z) = s relu(z) needs s >= 0
    assert dataclasses.replace(new, epsilon=1.0).epsilon == 1.0


@pytest.mark.parametrize("graph", [4, 5, 6, 7, 8])
def test_folded_graphs_take_only_epsilons_they_hold_exactly(graph):
    """Graphs 4 to 8 need eps = 2**-k (doublings for 1/eps) with eps**2 a multiple of 2**-input_scale (else the
    constant eps**2 would round, at eps 2**-6 and scale 2**10 to 0); new specs fall back to graph 3 where they cannot."""
    from zkcert.direction import ROW_SIGN
    from zkcert.spec import FOLDED_GRAPH, LEAN_GRAPH, folds

    assert (FOLDED_GRAPH, LEAN_GRAPH) == (4, 5)
    new = dataclasses.replace(SPEC, direction=ROW_SIGN, graph=graph)  # eps 1/8 at scale 2**8
    assert new.graph == graph and folds(0.125, 6) and folds(1.0, 1)
    for eps, scale in ((2.0**-6, 10), (0.375, 10), (0.125, 5), (0.75, 8)):
        assert not folds(eps, scale)
        with pytest.raises(InputError, match=f"graph {graph} needs epsilon"):
            dataclasses.replace(new, epsilon=eps, input_scale=scale)
    assert dataclasses.replace(new, epsilon=2.0**-6, input_scale=12).epsilon == 2.0**-6


@pytest.mark.parametrize("field,value", [("reveal_value", [True]), ("salted", 1), ("n_samples", 3.0), ("epsilon", True),
                                         ("metric", ["rds/v1"])])
def test_a_field_of_the_wrong_type_is_refused(field, value):
    """Found by the certificate fuzzer: aggregation.reveal_value = [true] read as true (same circuit, another spelling)."""
    from zkcert.spec import AggregationSpec

    with pytest.raises(InputError, match=f"field {field} must be"):
        dataclasses.replace(SPEC, **{field: value})
    with pytest.raises(InputError, match="field reveal_value must be a bool"):
        AggregationSpec(3, 1.0, 10, reveal_value=[True])


def test_a_fixed_range_is_named_only_when_set_and_must_be_the_graphs_bound():
    """Specs before fixed ranges read and digest as written; a fixed-range spec's lookup range can only be the bound
    (exp's inputs in [-16, 0], ln's in [1, C], one step of slack), so it says nothing about the owner's data."""
    from zkcert.spec import graph_lookup_range

    assert "fixed_range" not in SPEC.to_json() and CircuitSpec.from_json(SPEC.to_json()).fixed_range is False
    fixed = dataclasses.replace(SPEC, fixed_range=True)
    assert fixed.lookup_bound() == graph_lookup_range(8, 2) == [-16 * 256 - 1, 2 * 256 + 1]
    assert fixed.to_json()["fixed_range"] is True and fixed.digest() != SPEC.digest()
    pinned = fixed.with_run_args({"lookup_range": fixed.lookup_bound(), "logrows": 13})
    assert CircuitSpec.from_json(pinned.to_json()) == pinned
    for other in ([-32768, 1000], [-4097, 514], (-4097, 513)):
        with pytest.raises(CertificateError, match="graph's bound"):
            CircuitSpec.from_json({**pinned.to_json(), "run_args": {**pinned.run_args, "lookup_range": other}})
    # The same run arguments under a calibrated spec are any range calibration gave.
    assert SPEC.with_run_args({"lookup_range": [-32768, 1000], "logrows": 16}).logrows == 16
    with pytest.raises(InputError, match="field fixed_range must be a bool"):
        dataclasses.replace(SPEC, fixed_range=1)
