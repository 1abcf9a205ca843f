"""The demo proves zkcert's default statement: circuits/demo.json must follow the defaults when they change."""

from zkcert.demo import DEMO
from zkcert.direction import DEFAULT_FAMILY
from zkcert.metric import DEFAULT_METRIC
from zkcert.spec import DEFAULT_DIRECTIONS, DEFAULT_EPSILON, DEFAULT_INPUT_SCALE, standard_spec


def test_demo_spec_is_the_default_statement():
    spec = standard_spec(DEMO["spec"])
    assert (spec.metric, spec.direction, spec.epsilon, spec.n_directions, spec.input_scale) == (
        DEFAULT_METRIC, DEFAULT_FAMILY, DEFAULT_EPSILON, DEFAULT_DIRECTIONS, DEFAULT_INPUT_SCALE)
    assert spec.n_samples == DEMO["samples"] and spec.threshold == DEMO["threshold"]
    assert spec.calibrated and spec.logrows <= 18  # about 12 GB to prove: the most this 24 GB machine can hold twice
